"""``summary`` idioms: assignment, update, attribute access, nested metrics, the hand-set rule."""

from __future__ import annotations

from differential.harness import all_of, case, shows, summary_as_stored

#: Why a logged None leaves the last value in turbotrack's run.summary.
NONE_IN_SUMMARY = (
    "after log({'val_loss': None}) wandb's in-process run.summary says None while the summary it stores keeps "
    "the last value (0.4); turbotrack keeps the last non-null value in both (the CONTRACT), so what a script "
    "reads is what is stored"
)


def summ(name: str, body: str, **kwargs):  # type: ignore[no-untyped-def]
    return case(name, "import wandb\nrun = wandb.init(project='diff')\n" + body, **kwargs)


CASES = [
    summ(
        "summary_best_accuracy_pattern",
        """
best_accuracy = 0
for epoch, acc in enumerate([0.5, 0.8, 0.7]):
    wandb.log({"test_accuracy": acc})
    if acc > best_accuracy:
        wandb.run.summary["best_accuracy"] = acc
        best_accuracy = acc
""",
    ),
    summ("summary_update", "run.log({'loss': 1.0})\nwandb.summary.update({'final_loss': 0.1, 'epochs': 3})\n"),
    summ(
        "summary_attribute_access",
        "run.summary.acc = 0.5\nshow('acc', run.summary.acc)\nshow('item', run.summary['acc'])\n",
    ),
    summ(
        "summary_nested_logged",
        "run.log({'train': {'loss': 0.1, 'acc': 0.9}})\nshow('nested', run.summary['train']['loss'])\n",
    ),
    summ("summary_set_then_logged_again", "run.log({'a': 1})\nrun.summary['a'] = 5\nrun.log({'a': 2})\n"),
    summ("summary_set_after_last_log", "run.log({'a': 1})\nrun.log({'a': 2})\nrun.summary['a'] = 10\n"),
    summ("summary_assign_dict", "run.summary['cfg'] = {'x': 1, 'y': {'z': 2}}\nrun.summary['cfg'] = {'w': 3}\n"),
    summ(
        "summary_module_level",
        "wandb.log({'loss': 2.0})\nwandb.summary['best_loss'] = 1.5\nwandb.run.summary.update({'done': True})\n",
    ),
    summ(
        "summary_none_keeps_last",
        "run.log({'val_loss': 0.4})\nrun.log({'val_loss': None})\nshow('val_loss', run.summary.get('val_loss'))\n",
        intended_difference=NONE_IN_SUMMARY,
        differs=("summary", "shown"),
        expect=all_of(shows(val_loss=0.4), summary_as_stored),
    ),
    summ("summary_delete_key", "run.summary['x'] = 1\nrun.summary['y'] = 2\ndel run.summary['x']\n"),
    summ(
        "summary_read_idioms",
        "run.log({'a': 1.5})\nshow('contains', 'a' in run.summary.keys())\nshow('get_default', run.summary.get('zz', 0))\nshow('keys', sorted(k for k in run.summary.keys() if not k.startswith('_')))\n",
    ),
    summ("summary_string_and_list", "run.summary['status'] = 'done'\nrun.summary['classes'] = ['cat', 'dog']\n"),
    summ(
        "summary_numpy_scalar",
        "import numpy as np\nrun.summary['best'] = np.float32(0.75)\nrun.summary['n'] = np.int64(4)\n",
    ),
    summ(
        "summary_in_operator",
        "run.log({'a': 1.5})\nshow('contains', 'a' in run.summary)\nshow('absent', 'zz' in run.summary)\n",
        intended_difference="wandb's summary has no __contains__, so `key in run.summary` raises KeyError(0); "
        "turbotrack's summary is a mutable mapping (the CONTRACT) and answers",
        differs=("error", "shown", "stored"),
        expect=shows(contains=True, absent=False),
    ),
    summ(
        "summary_dotted_access",
        "run.log({'train': {'loss': 0.1}})\ntry:\n    value = run.summary['train.loss']\nexcept KeyError:\n    value = 'KeyError'\nshow('dotted', value)\n",
        intended_difference="a metric logged as a nested dict reads both ways in turbotrack (the CONTRACT): "
        "run.summary['train.loss'] as well as run.summary['train']['loss']; wandb knows only the nested form",
        differs=("shown",),
        expect=shows(dotted=0.1),
    ),
]
