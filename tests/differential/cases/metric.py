"""``define_metric``: summaries, goals, globs, custom x-axes."""

from __future__ import annotations

from differential.harness import case, raises, stores

BEST = (
    "wandb 0.31 removed summary='best' and goal= from define_metric (TypeError, then 'Unhandled define_metric() arg'); "
    "turbotrack keeps them, with best_step, as the CONTRACT says"
)


def metric(name: str, body: str, **kwargs):  # type: ignore[no-untyped-def]
    return case(name, "import wandb\nrun = wandb.init(project='diff')\n" + body, **kwargs)


ASPECTS_ALL = ("error", "run", "summary", "stored")
LOSSES = "for v in (0.5, 0.2, 0.9):\n    run.log({'loss': v})\n"

CASES = [
    metric("metric_summary_min", "run.define_metric('loss', summary='min')\n" + LOSSES),
    metric("metric_summary_max", "wandb.define_metric('loss', summary='max')\n" + LOSSES),
    metric("metric_summary_mean", "wandb.define_metric('loss', summary='mean')\n" + LOSSES),
    metric("metric_summary_last", "wandb.define_metric('loss', summary='last')\n" + LOSSES),
    metric("metric_summary_none", "wandb.define_metric('loss', summary='none')\n" + LOSSES + "run.log({'acc': 1})\n"),
    metric("metric_summary_min_max", "wandb.define_metric('loss', summary='min,max')\n" + LOSSES),
    metric(
        "metric_best_minimize",
        "wandb.define_metric('loss', summary='best', goal='minimize')\n" + LOSSES,
        intended_difference=BEST,
        differs=ASPECTS_ALL,
        expect=stores(summary={"loss.best": 0.2, "loss.best_step": 1}),
    ),
    metric(
        "metric_best_maximize",
        "wandb.define_metric('acc', summary='best', objective='maximize')\nfor v in (0.5, 0.9, 0.7):\n    run.log({'acc': v})\n",
        intended_difference=BEST,
        differs=ASPECTS_ALL,
        expect=stores(summary={"acc.best": 0.9, "acc.best_step": 1}),
    ),
    metric(
        "metric_best_without_goal",
        "wandb.define_metric('loss', summary='best')\n" + LOSSES,
        intended_difference="wandb 0.31 refuses 'best' itself (wandb.Error); turbotrack knows it and asks for an "
        "objective (a DefineMetricError: a wandb.Error, as wandb raises, and the ValueError the CONTRACT names)",
        differs=("error",),
        expect=raises("library error", 2),
    ),
    metric(
        "metric_unknown_summary_word",
        "wandb.define_metric('loss', summary='median')\n" + LOSSES,
        intended_difference="wandb raises its own wandb.Error for an unknown summary word; turbotrack a DefineMetricError, "
        "both that wandb.Error and the ValueError the CONTRACT names, with its own message",
        differs=("error",),
        expect=raises("library error", 2),
    ),
    metric(
        "metric_glob_summary",
        "wandb.define_metric('train/*', summary='max')\nfor v in (1, 3, 2):\n    run.log({'train/acc': v, 'train/f1': v * 2, 'other': v})\n",
    ),
    metric(
        "metric_step_metric_epoch",
        """
wandb.define_metric("epoch")
wandb.define_metric("val/*", step_metric="epoch")
for step in range(4):
    wandb.log({"train/loss": 1.0 / (step + 1)})
    if step % 2 == 1:
        wandb.log({"val/loss": 0.5 / (step + 1), "epoch": step // 2})
""",
    ),
    metric(
        "metric_step_sync_fills_axis",
        "wandb.define_metric('val_acc', step_metric='epoch')\nwandb.log({'epoch': 1})\nwandb.log({'val_acc': 0.5})\nwandb.log({'epoch': 2, 'val_acc': 0.7})\n",
    ),
    metric(
        "metric_star_step_metric",
        "wandb.define_metric('*', step_metric='global_step')\nfor gs in (10, 20):\n    wandb.log({'global_step': gs, 'loss': 1.0 / gs})\n",
    ),
    metric(
        "metric_returns_object",
        "m = wandb.define_metric('loss', summary='min')\nshow('name', m.name)\nrun.log({'loss': 1.0})\n",
    ),
    metric("metric_hidden", "wandb.define_metric('debug', hidden=True)\nrun.log({'debug': 1, 'loss': 0.5})\n"),
    metric(
        "metric_min_skips_nan",
        "wandb.define_metric('loss', summary='min')\nfor v in (0.5, float('nan'), 0.3):\n    run.log({'loss': v})\n",
        intended_difference="wandb's min is NaN once a NaN was logged; turbotrack's min, max, mean and best skip NaN (the CONTRACT), so one bad batch does not hide the best value",
        differs=("summary", "stored.summary"),
        expect=stores(summary={"loss.min": 0.3}),
    ),
    metric(
        "metric_min_then_hand_set",
        "wandb.define_metric('loss', summary='min')\n" + LOSSES + "run.summary['loss'] = {'min': 0.01}\n",
    ),
]
