"""``turbotrack import wandb`` of a big run: a transaction log of N steps (default 1,000,000) with
5 metrics a step (4 floats, 1 int), written here by a fast writer of wandb's log format (wandb's
own protobuf classes, LevelDB-style 32 KiB blocks; CRCs left zero: turbotrack's reader does not
check them), then imported through the CLI. Prints the log's size, the wall time and rows/s.

    PYTHONPATH=python python benches/import_wandb.py [--steps N]

Aim's ``aim convert wandb`` reads runs through wandb's public API (``wandb.Api()``, a wandb server):
it cannot read an offline folder, so it has no figure to stand beside this one here.
"""

from __future__ import annotations

import argparse
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCK = 32 * 1024


def write_log(path: Path, steps: int, start: float) -> None:
    from wandb.proto import wandb_internal_pb2 as pb

    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))

    def put(body: bytes) -> None:
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out.extend(b"\0" * left)
                left = BLOCK
            room = left - 7
            piece, body = body[:room], body[room:]
            kind = (1 if first else 4) if not body else (2 if first else 3)
            out.extend(struct.pack("<IHB", 0, len(piece), kind))
            out.extend(piece)
            first = False
            if not body:
                return

    rec = pb.Record()
    rec.run.run_id = "bench1m"
    rec.run.project = "bench"
    rec.run.display_name = "one million steps"
    rec.run.start_time.seconds = int(start)
    put(rec.SerializeToString())
    h = pb.Record()
    items = [h.history.item.add() for _ in range(8)]
    for item, key in zip(items, ("loss", "acc", "lr", "grad_norm", "epoch", "_step", "_timestamp", "_runtime")):
        item.nested_key.append(key)
    for i in range(steps):
        t = start + i * 0.01
        values = (1.0 / (i + 1), i / steps, 0.001 * (1 - i / steps), 0.5 + (i % 97) / 97, i // 1000, i, t, t - start)
        for item, v in zip(items, values):
            item.value_json = repr(v)
        h.history.step.num = i
        put(h.SerializeToString())
    e = pb.Record()
    e.exit.exit_code = 0
    e.exit.runtime = int(steps * 0.01)
    put(e.SerializeToString())
    path.write_bytes(bytes(out))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        run = Path(d) / "wandb" / "offline-run-20250101_000000-bench1m"
        run.mkdir(parents=True)
        t0 = time.perf_counter()
        write_log(run / "run-bench1m.wandb", args.steps, 1.7e9)
        made = time.perf_counter() - t0
        size = (run / "run-bench1m.wandb").stat().st_size
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "turbotrack", "import", "wandb", str(run), "--dir", d],
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR_BAR": "1"},
        )
        took = time.perf_counter() - t0
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            return 1
        import turbotrack

        (r,) = turbotrack.Api(dir=d).runs("local/bench")
        cols = r.history(keys=["loss"], pandas=False)
        assert len(cols) == args.steps, len(cols)
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        print(f"source log: {args.steps:,} steps, {size / 1e6:,.1f} MB (written in {made:.1f}s)")
        print(
            f"turbotrack import wandb: {took:.1f}s wall, {args.steps / took:,.0f} rows/s (read back: {len(cols):,} rows)"
        )
        print("aim convert wandb: n/a (reads through wandb's server API; cannot read an offline run folder)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
