"""An example training loop: a small NumPy logistic-regression model trained with SGD, logging a
few thousand steps to a local turbotrack run, then printing the run's folder and summary.

    python examples/train.py [--steps 3000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import turbotrack as wandb  # the drop-in: the same calls as wandb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dir", default=None, help="where turbotrack/ goes (default: current folder)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    true_w = rng.normal(size=20)
    x_all = rng.normal(size=(20_000, 20))
    y_all = (x_all @ true_w + rng.normal(scale=0.5, size=len(x_all)) > 0).astype(np.float64)
    x_val, y_val = x_all[-2000:], y_all[-2000:]

    run = wandb.init(project="examples", config=vars(args), dir=args.dir, settings={"system_interval": 2})
    wandb.define_metric("val/*", step_metric="epoch")
    wandb.define_metric("train/loss", summary="min,last")
    wandb.define_metric("val/acc", summary="max,last", goal="maximize")

    w = np.zeros(20)
    steps_per_epoch = 250
    for step in range(args.steps):
        idx = rng.integers(0, len(x_all) - 2000, size=args.batch)
        x, y = x_all[idx], y_all[idx]
        p = 1 / (1 + np.exp(-(x @ w)))
        loss = float(-np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        grad = x.T @ (p - y) / len(y)
        w -= args.lr * grad
        if (step + 1) % steps_per_epoch == 0:
            acc = float(np.mean(((x_val @ w) > 0) == y_val))
            # merged into this step's row; a multi-element array is logged as a histogram
            wandb.log({"epoch": (step + 1) // steps_per_epoch, "val/acc": acc, "weights": w}, commit=False)
        wandb.log({"train/loss": loss, "train/grad_norm": float(np.linalg.norm(grad)), "lr": args.lr})

    run.summary["final_weights"] = w
    print(f"run folder: {run.dir}")
    summary = {k: v for k, v in run.summary.items() if not (isinstance(v, dict) and "_type" in v)}
    wandb.finish()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
