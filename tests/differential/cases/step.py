"""``step=`` and ``commit=``: the patterns of epoch loops, callbacks and evaluators."""

from __future__ import annotations

from differential.harness import case, summary_as_stored

PENDING = dict(
    intended_difference="turbotrack's run.summary includes the pending (not yet committed) step, as its design says; "
    "wandb's shows committed rows only until the step is committed",
    differs=("summary",),
    expect=summary_as_stored,
)


def steps(name: str, body: str, **kwargs):  # type: ignore[no-untyped-def]
    return case(name, "import wandb\nrun = wandb.init(project='diff')\n" + body, **kwargs)


CASES = [
    steps(
        "step_commit_false_then_log",
        "run.log({'lr': 0.1}, commit=False)\nrun.log({'loss': 1.0})\nrun.log({'loss': 0.5})\n",
    ),
    steps(
        "step_commit_false_same_key_twice",
        "run.log({'a': 1}, commit=False)\nrun.log({'a': 2}, commit=False)\nrun.log({'b': 3})\n",
    ),
    steps("step_commit_false_then_finish", "run.log({'loss': 1.0})\nrun.log({'tail': 2.0}, commit=False)\n", **PENDING),
    steps("step_explicit_increasing", "for s in (0, 2, 5):\n    run.log({'loss': 1.0 / (s + 1)}, step=s)\n", **PENDING),
    steps(
        "step_explicit_same_step_merges",
        "run.log({'a': 1}, step=3)\nrun.log({'b': 2}, step=3)\nrun.log({'c': 3}, step=4)\n",
        **PENDING,
    ),
    steps(
        "step_backwards_dropped",
        "run.log({'a': 1}, step=5)\nrun.log({'a': 2}, step=2)\nrun.log({'a': 3}, step=6)\n",
        **PENDING,
    ),
    steps("step_then_plain_log", "run.log({'a': 1}, step=10)\nrun.log({'b': 2})\nrun.log({'c': 3})\n"),
    steps("step_commit_true", "run.log({'a': 1}, step=3, commit=True)\nrun.log({'b': 2})\n"),
    steps("step_attribute", "show('step0', run.step)\nrun.log({'a': 1})\nrun.log({'a': 2})\nshow('step2', run.step)\n"),
    steps(
        "step_keras_callback_style",
        "for epoch in range(3):\n    wandb.log({'lr': 0.01 / (epoch + 1)}, commit=False)\n    wandb.log({'epoch': epoch, 'loss': 1.0 / (epoch + 1)})\n",
    ),
    steps("step_log_empty_dict", "run.log({'a': 1})\nrun.log({})\nrun.log({'a': 2})\n"),
    steps(
        "step_global_step_per_batch",
        "global_step = 0\nfor epoch in range(2):\n    for batch in range(3):\n        global_step += 1\n        wandb.log({'train/loss': 1.0 / global_step}, step=global_step)\n    wandb.log({'val/loss': 0.5 / (epoch + 1)}, step=global_step)\n",
        **PENDING,
    ),
    steps("step_commit_none", "run.log({'a': 1}, commit=None)\nrun.log({'a': 2}, step=4, commit=None)\n", **PENDING),
    steps("step_log_after_finish", "run.log({'a': 1})\nrun.finish()\nrun.log({'a': 2})\n"),
]
