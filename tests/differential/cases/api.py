"""``wandb.Api()`` queries over runs the case made: filters (MongoDB-style) and orders.

Offline, the real wandb cannot answer a query at all (``wandb.Api()`` needs a server and an API key:
``UsageError``); turbotrack answers from its local storage root. So each case is an intended difference:
what the oracle still checks is everything before the query (the runs stored), and ``expect`` checks
turbotrack's answer.
"""

from __future__ import annotations

from typing import Any

from differential.harness import Case, Outcome, case

WHY = "offline wandb cannot query runs (wandb.Api() needs a server); turbotrack's Api reads the local root"

SETUP = """
import wandb
for i, (lr, acc, tag) in enumerate([(0.1, 0.7, "a"), (0.01, 0.9, "b"), (0.001, 0.8, "a")]):
    r = wandb.init(project="diffapi", name=f"run{i}", config={"lr": lr}, tags=[tag], group="g" if i < 2 else "h")
    r.log({"acc": acc})
    r.finish()
api = wandb.Api()
path = f"{r.entity}/{r.project}" if r.entity else r.project
"""


def answers(**want: Any):  # type: ignore[no-untyped-def]
    def expect(o: Outcome) -> None:
        assert o.error is None, f"raised {o.error}"
        for label, value in want.items():
            assert o.shown.get(label) == value, f"{label}: {o.shown.get(label)!r}, expected {value!r}"

    return expect


def query(name: str, body: str, differs: tuple[str, ...] = ("error", "shown"), **want: Any) -> Case:
    return case(name, SETUP + body, intended_difference=WHY, differs=differs, expect=answers(**want))


CASES = [
    query(
        "api_runs_default_order", "show('names', [x.name for x in api.runs(path)])\n", names=["run0", "run1", "run2"]
    ),
    query(
        "api_runs_filter_config_gt",
        "show('names', [x.name for x in api.runs(path, filters={'config.lr': {'$gt': 0.005}})])\n",
        names=["run0", "run1"],
    ),
    query(
        "api_runs_order_summary_desc",
        "show('names', [x.name for x in api.runs(path, order='-summary_metrics.acc')])\n",
        names=["run1", "run2", "run0"],
    ),
    query(
        "api_runs_filter_tags_in",
        "show('names', [x.name for x in api.runs(path, filters={'tags': {'$in': ['a']}})])\n",
        names=["run0", "run2"],
    ),
    query(
        "api_runs_filter_or_group_config",
        "show('names', [x.name for x in api.runs(path, filters={'$or': [{'group': 'h'}, {'config.lr': 0.1}]})])\n",
        names=["run0", "run2"],
    ),
    query(
        "api_runs_filter_regex_display_name",
        "show('names', [x.name for x in api.runs(path, filters={'display_name': {'$regex': 'run[12]'}})])\n",
        names=["run1", "run2"],
    ),
    query(
        "api_runs_filter_state_and_order",
        "show('names', [x.name for x in api.runs(path, filters={'state': 'finished'}, order='+config.lr')])\n",
        names=["run2", "run1", "run0"],
    ),
    query(
        "api_runs_unknown_operator",
        "try:\n    list(api.runs(path, filters={'config.lr': {'$near': 1}}))\nexcept ValueError:\n    show('refused', True)\n",
        refused=True,
    ),
    query(
        "api_run_history_and_summary",
        "x = api.run(f'{path}/{r.id}')\nshow('acc', [row['acc'] for row in x.history(pandas=False)])\nshow('scan', [row['acc'] for row in x.scan_history()])\nshow('summary', x.summary['acc'])\nshow('lr', x.config['lr'])\n",
        acc=[0.8],
        scan=[0.8],
        summary=0.8,
        lr=0.001,
    ),
    query(
        "api_summary_update_persists",
        "x = api.run(f'{path}/{r.id}')\nx.summary['note'] = 'checked'\nx.summary.update()\nshow('note', wandb.Api().run(f'{path}/{r.id}').summary['note'])\n",
        differs=("error", "shown", "stored"),  # the stored summary holds the note that wandb could not add
        note="checked",
    ),
]
