"""``Api().runs(path, filters=, order=)`` gives the same runs in the same order locally (``Api(dir=)``)
and through a real ``turbotrack server`` on loopback, over SQLite and PostgreSQL: runs with varied
config, summaries (dicts, NaN, strings beside numbers, missing keys), tags, groups and states, and
queries using every operator, nested, in both directions and the default order."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import NO_CAPTURE, run_child
from serverkit import ServerProc, drop_postgres_schema, make_key, postgres_schema_url

import turbotrack

NAN = float("nan")
#: (config, summary, tags, group, job_type, how it ends); summary "loss" is logged with min,max.
RUNS: list[tuple[dict[str, Any], dict[str, Any], list[str], Any, Any, str]] = [
    (
        {"lr": 0.1, "opt": {"name": "adam", "beta": 0.9}, "bs": 32},
        {"acc": 0.91, "loss": [0.5, 0.2], "val/acc": {"max": 0.9, "last": 0.2}},
        ["base"],
        "sweep",
        "train",
        "ok",
    ),
    (
        {"lr": 0.01, "opt": {"name": "sgd"}, "bs": 64},
        {"acc": 0.85, "loss": [0.4, 0.3], "val/acc": {"max": 0.6, "last": 0.6}},
        ["base", "fast"],
        "sweep",
        "train",
        "ok",
    ),
    ({"lr": 1, "bs": "64", "layers": [1, 2, 3]}, {"acc": "n/a"}, ["fast"], "sweep", "eval", "fail"),
    ({"lr": True, "layers": [2, 4]}, {"acc": NAN, "loss": [0.9]}, [], None, "eval", "ok"),
    ({"lr": None, "note": "baseline"}, {"acc": 0.5, "best": {"step": 3}}, ["Base"], "solo", None, "crash"),
    (
        {"bs": 16, "a.b": 1, "a": {"b": 2}},
        {"acc": 0.7, "loss": [0.1, 0.6], "val/acc": {"max": 0.95, "last": 0.3}},
        ["x", "y", "z"],
        "solo",
        "train",
        "ok",
    ),
    ({"lr": 0.001, "opt": {"name": "adam"}}, {"acc": 1, "flag": True, "val/acc": 0.7}, ["fast"], None, None, "ok"),
    ({"lr": "0.1", "opt": "adam"}, {"flag": False}, ["base"], "sweep", "train", "fail"),
]

FILTERS: list[Any] = [
    None,
    {},
    {"group": "sweep"},
    {"summary_metrics.val/acc.max": {"$gt": 0.7}},
    {"summary_metrics.val/acc": {"$exists": True}},
    {"group": None},
    {"job_type": {"$in": ["eval", "nope"]}},
    {"state": "finished"},
    {"state": {"$ne": "finished"}},
    {"state": {"$in": ["failed", "crashed"]}},
    {"config.lr": 0.1},
    {"config.lr": 1},
    {"config.lr": True},
    {"config.lr": "0.1"},
    {"config.lr": None},
    {"config.lr": {"$gt": 0.005}},
    {"config.lr": {"$gte": 0.01, "$lte": 0.1}},
    {"config.lr": {"$lt": 1}},
    {"config.lr": {"$exists": True}},
    {"config.lr": {"$exists": False}},
    {"config.lr": {"$nin": [0.1, 1]}},
    {"config.lr": {"$not": {"$lt": 0.05}}},
    {"config.lr.value": 0.01},
    {"config.bs": 64},
    {"config.bs": {"$in": [64, "64"]}},
    {"config.opt.name": "adam"},
    {"config.opt": "adam"},
    {"config.opt": {"name": "sgd"}},
    {"config.a.b": 1},
    {"config.layers": 2},
    {"config.layers": [1, 2, 3]},
    {"config.layers": {"$gte": 4}},
    {"config.note": {"$regex": "^base"}},
    {"summary_metrics.acc": {"$gt": 0.8}},
    {"summary_metrics.acc": {"$gte": 1}},
    {"summary_metrics.acc": {"$lt": "z"}},
    {"summary_metrics.acc": None},
    {"summary_metrics.acc": {"$ne": 0.5}},
    {"summary_metrics.loss.min": {"$lt": 0.25}},
    {"summary_metrics.loss.max": {"$gte": 0.5}},
    {"summary_metrics.loss": {"$exists": True}},
    {"summary_metrics.best.step": 3},
    {"summary_metrics.flag": True},
    {"summary_metrics.flag": {"$ne": True}},
    {"summary.acc": {"$lte": 0.7}},
    {"tags": "base"},
    {"tags": {"$in": ["x", "Base"]}},
    {"tags": {"$nin": ["base", "fast"]}},
    {"tags": {"$regex": "^b", "$options": "i"}},
    {"tags": []},
    {"tags": ["base", "fast"]},
    {"name": {"$regex": "-[0-3]$"}},
    {"display_name": "run-5"},
    {"created_at": {"$gt": "2000-01-01T00:00:00"}},
    {"created_at": {"$lt": "2000-01-01T00:00:00Z"}},
    {"$or": [{"config.lr": {"$gt": 0.05}}, {"tags": "x"}]},
    {"$and": [{"group": "sweep"}, {"$or": [{"job_type": "eval"}, {"summary_metrics.acc": {"$gt": 0.9}}]}]},
    {"$nor": [{"group": "sweep"}, {"state": "crashed"}]},
    {"$not": {"tags": "fast"}},
    {"group": "sweep", "config.opt.name": {"$ne": "adam"}, "state": {"$nin": ["crashed"]}},
]
ORDERS = [
    None,
    "+created_at",
    "-created_at",
    "created_at",
    "-summary_metrics.acc",
    "+summary_metrics.acc",
    "summary_metrics.loss.min",
    "-summary_metrics.loss.max",
    "-config.lr",
    "config.lr",
    "config.bs",
    "-config.opt.name",
    "name",
    "-display_name",
    "state",
    "-group",
    "-id",
    "summary_metrics.flag",
    "-summary_metrics.val/acc.max",  # the README's: a summary dict's word, as define_metric makes it
    "summary_metrics.val/acc.last",
    "-summary_metrics.val/acc",  # a dict (three runs) and a number (one): numbers first, then missing
]


def _make_runs(root: Path) -> list[str]:
    ids = []
    for i, (config, summary, tags, group, job_type, end) in enumerate(RUNS):
        kw = {"project": "parity", "id": f"p{(i * 5) % 8}{'AbC'[i % 3]}", "name": f"run-{i}", "config": config}
        kw.update(tags=tags, group=group, job_type=job_type)
        if end == "crash":
            out = run_child(
                f"""
                import os, turbotrack
                run = turbotrack.init(dir={str(root)!r}, settings={NO_CAPTURE!r}, **{kw!r})
                os._exit(0)
                """
            )
            assert out.returncode == 0, out.stderr
            turbotrack.Api(dir=root).run(f"local/parity/{kw['id']}").summary.update(summary)
        else:
            run = turbotrack.init(dir=root, settings=NO_CAPTURE, **kw)
            summary = dict(summary)
            loss = summary.pop("loss", None)
            if loss is not None:
                run.define_metric("loss", summary="min,max")
                for v in loss:
                    run.log({"loss": v})
            run.summary.update(summary)
            run.finish(exit_code=1 if end == "fail" else 0)
        ids.append(kw["id"])
    other = turbotrack.init(dir=root, project="other", id="q0", settings=NO_CAPTURE, config={"lr": 0.1})
    other.finish()
    return ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def apis(request, tmp_path_factory) -> Iterator[tuple[Any, Any]]:
    root = tmp_path_factory.mktemp("parity")
    _make_runs(root)
    db = postgres_schema_url("parity") if request.param == "postgresql" else None
    srv = ServerProc(root, db=db)
    key = make_key(root, "local", db=db)[1]
    srv.start()
    try:
        yield turbotrack.Api(dir=root), turbotrack.Api(base_url=srv.url, api_key=key)
    finally:
        assert srv.stop() == 0
        if db:
            drop_postgres_schema(db)


def _ids(runs: Any) -> list[str]:
    return [r.id for r in runs]


def test_the_runs_are_as_made(apis):
    local, _ = apis
    runs = local.runs("local/parity")
    assert len(runs) == len(RUNS)
    assert sorted(r.state for r in runs) == ["crashed", "failed", "failed"] + ["finished"] * 5
    by_name = {r.name: r for r in runs}
    assert by_name["run-0"].summary["loss"] == {"min": 0.2, "max": 0.5}


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_same_runs_same_order_locally_and_remotely(apis, filters):
    local, remote = apis
    picked = set()
    for order in ORDERS:
        want = _ids(local.runs("local/parity", filters=filters, order=order))
        assert _ids(remote.runs("local/parity", filters=filters, order=order)) == want, order
        picked.add(tuple(want))
    assert len(picked) >= 1


def test_every_query_selects_something_and_not_everything_somewhere(apis):
    """The queries above are not vacuous: most select a proper, non-empty subset."""
    local, _ = apis
    sizes = [len(local.runs("local/parity", filters=f)) for f in FILTERS]
    assert sum(0 < n < len(RUNS) for n in sizes) >= len(FILTERS) - 6


def test_known_answers(apis):
    """A few answers worked out by hand, on both sides."""
    for api in apis:
        runs = api.runs("local/parity")
        assert [r.name for r in runs] == [f"run-{i}" for i in range(len(RUNS))]  # oldest first
        assert [r.name for r in api.runs("parity", order="-created_at")] == [f"run-{i}" for i in reversed(range(8))]
        assert [r.name for r in api.runs("parity", order="-summary_metrics.acc")] == [
            "run-6",  # 1
            "run-0",  # 0.91
            "run-1",
            "run-5",
            "run-4",  # 0.5
            "run-2",  # "n/a": strings after numbers
            *sorted(["run-3", "run-7"], key=lambda n: runs[int(n[-1])].id),  # NaN and absent: missing, by id
        ]
        assert {r.name for r in api.runs("parity", {"config.lr": {"$ne": 0.1}})} == {f"run-{i}" for i in range(1, 8)}
        assert {r.name for r in api.runs("parity", {"tags": "base", "state": "failed"})} == {"run-7"}
        assert {r.name for r in api.runs("parity", {"summary_metrics.loss.min": {"$lt": 0.25}})} == {"run-0", "run-5"}
        assert [r.name for r in api.runs("parity", {"state": "crashed"})] == ["run-4"]


def test_every_project_in_one_order(apis):
    local, remote = apis
    for order in (None, "-config.lr", "name"):
        want = [(r.project, r.id) for r in local.runs(order=order)]
        assert [(r.project, r.id) for r in remote.runs(order=order)] == want
        assert ("other", "q0") in want


def test_runs_is_list_like(apis):
    from turbotrack.store.base import RunStore, StoredRun

    for api in apis:
        assert isinstance(api.store, RunStore)
        assert all(isinstance(r, StoredRun) for r in api.runs("local/parity"))
        runs = api.runs("local/parity", order="name")
        assert len(runs) == 8 and runs[0].name == "run-0" and runs[-1].name == "run-7"
        assert [r.name for r in runs[2:4]] == ["run-2", "run-3"]
        assert [r.name for r in runs] == [f"run-{i}" for i in range(8)]
        assert bool(api.runs("parity", {"group": "none such"})) is False


@pytest.mark.parametrize(
    ("filters", "order", "named"),
    [
        ({"config.lr": {"$near": 1}}, None, "'$near'"),
        ({"$where": "true"}, None, "'$where'"),
        ({"colour": "red"}, None, "'colour'"),
        ({"tags": {"$in": "base"}}, None, "$in takes a list"),
        (None, "-summary_metric.acc", "'summary_metric.acc'"),
    ],
)
def test_a_bad_query_is_a_value_error_on_both_sides(apis, filters, order, named):
    for api in apis:
        with pytest.raises(ValueError) as e:
            api.runs("local/parity", filters=filters, order=order)
        assert named in str(e.value)


def test_the_readmes_order_sorts_by_the_summary_word_on_both_sides(apis):
    for api in apis:
        best = api.runs("local/parity", order="-summary_metrics.val/acc.max")
        assert [r.name for r in best[:3]] == ["run-5", "run-0", "run-1"]  # 0.95, 0.9, 0.6
        assert best[0].summary["val/acc"]["max"] == 0.95
        assert [r.name for r in api.runs("parity", order="-summary_metrics.val/acc")][:1] == ["run-6"]  # a number


PAGES = [(3, 0), (3, 3), (3, 6), (0, 0), (None, 5), (100, 2), (1, 8), (2, 100)]


@pytest.mark.parametrize("order", [None, "-summary_metrics.val/acc.max", "config.lr", "-state"])
def test_limit_and_offset_page_the_same_runs_locally_and_remotely(apis, order):
    """The stores' ``runs(limit=, offset=)``: the server pages in SQL, the local store after sorting;
    the pages are the slices of the whole answer, on both sides, one project's and every project's."""
    local, remote = apis
    for project in (("local", "parity"), None):
        for filters in (None, {"group": "sweep"}):
            whole = _ids(local.store.runs(project, filters, order))
            assert _ids(remote.store.runs(project, filters, order)) == whole
            for limit, offset in PAGES:
                want = whole[offset:] if limit is None else whole[offset : offset + limit]
                assert _ids(local.store.runs(project, filters, order, limit, offset)) == want, (limit, offset)
                assert _ids(remote.store.runs(project, filters, order, limit, offset)) == want, (limit, offset)


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (None, -2), (1.5, 0), (True, 0)])
def test_a_bad_page_is_a_value_error_on_both_sides(apis, limit, offset):
    for api in apis:
        with pytest.raises(ValueError, match=r"limit|offset"):
            api.store.runs(("local", "parity"), None, None, limit, offset)
