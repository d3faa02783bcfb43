"""The runs table's filters and order run in SQL (SQLite and PostgreSQL) with the semantics of the
Python reference (``index.field``/``_matches``/``sort_runs``), and page with LIMIT/OFFSET."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
from serverkit import fresh_postgres_schema, postgres_url

from turbotrack.server.db import Database
from turbotrack.server.index import Index, _matches, field, sort_runs


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    else:
        url = postgres_url()
        fresh_postgres_schema(url)
    db = Database(url)
    yield Index(db, tmp_path)
    db.close()


def _fill(index: Index, n: int = 60) -> None:
    rnd = random.Random(7)
    for i in range(n):
        acc = rnd.choice([rnd.random(), rnd.randint(0, 5), float("nan"), None, "x", {"min": 1}, True, 0.5])
        summary = {"acc": acc, "loss": rnd.random(), "name": rnd.choice(["b", "a", "c", "é", "B"])}
        if acc is None:
            del summary["acc"]
        config = {"lr": rnd.choice([0.1, 0.01, 1]), "opt": {"lr": rnd.choice([1, 2])}, "a.b": rnd.choice([3, 4])}
        config["layers"] = rnd.choice([[1, 2], [2, 3], 2])
        state = rnd.choice(["finished", "failed", "crashed"])
        index.put(
            "e",
            "p",
            f"r{i:03d}",
            infos=[{"state": state, "end_time": 100.0 + i}],
            config=config,
            summary=summary,
            name=f"run-{rnd.randint(0, 9)}",
            tags=rnd.sample(["x", "y", "z"], rnd.randint(0, 3)),
            group=rnd.choice(["g1", "g2", None]),
            created=float(rnd.randint(0, 20)),
            updated=200.0,
        )
    index.put("e", "other", "r999", infos=[], config={}, summary={"acc": 0.5})


def _reference(index: Index, filters, order):
    runs = sorted(index.runs("e", "p"), key=lambda r: r["id"])
    runs = [r for r in runs if all(_matches(field(r, k), v) for k, v in (filters or {}).items())]
    return [r["id"] for r in sort_runs(runs, order)]


@pytest.mark.parametrize(
    "filters",
    [
        None,
        {"group": "g1"},
        {"group": None},
        {"config.lr": 0.1},
        {"config.lr": 1},
        {"config.opt.lr": 2},
        {"config.a.b": 3},
        {"config.layers": 2},
        {"config.layers": [1, 2]},
        {"state": "failed"},
        {"state": {"$in": ["failed", "crashed"]}},
        {"tags": "x"},
        {"summary_metrics.name": {"$in": ["a", "é"]}, "group": "g2"},
        {"summary_metrics.acc": True},
        {"summary_metrics.acc": {"$in": []}},
        {"no_such_field": 1},
    ],
)
def test_filters_match_the_python_reference(index, filters):
    _fill(index)
    for order in ("-created", "+summary_metrics.loss", "name"):
        want = _reference(index, filters, order)
        got = [r["id"] for r in index.runs("e", "p", filters, order)]
        assert got == want, (filters, order)


@pytest.mark.parametrize(
    "order", ["-summary_metrics.loss", "summary_metrics.loss", "-summary_metrics.name", "summary_metrics.name", "name"]
)
def test_order_matches_the_python_reference_and_pages(index, order):
    _fill(index)
    want = _reference(index, None, order)
    assert [r["id"] for r in index.runs("e", "p", None, order)] == want
    total, page = index.page("e", "p", None, order, limit=7, offset=10)
    assert total == len(want) and [r["id"] for r in page] == want[10:17]
    total, page = index.page("e", "p", None, order, limit=7, offset=1000)
    assert (total, page) == (len(want), [])


@pytest.mark.parametrize("desc", [False, True])
def test_mixed_values_numbers_then_strings_missing_last(index, desc):
    _fill(index)
    got = index.runs("e", "p", None, ("-" if desc else "+") + "summary_metrics.acc")
    values = [r["summary"].get("acc") for r in got]
    kinds = [
        "missing"
        if v is None or isinstance(v, dict) or (isinstance(v, float) and math.isnan(v))
        else "str"
        if isinstance(v, str)
        else "num"
        for v in values
    ]
    assert kinds == sorted(kinds, key=["num", "str", "missing"].index)
    nums = [float(v) for v, k in zip(values, kinds) if k == "num"]
    assert nums == sorted(nums, reverse=desc)


def test_the_index_scan_reads_only_runs_whose_folder_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import shutil
    import time

    import turbotrack

    settings = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
    for i in range(3):
        run = turbotrack.init(dir=tmp_path, project="scan", id=f"r{i}", settings=settings)
        run.log({"acc": i / 10})
        run.finish()
    root = tmp_path / "turbotrack"
    past = time.time() - 60
    for d in (root / "local" / "scan").iterdir():
        os.utime(d, (past, past))  # settled folders: their mtime is trusted
    db = Database(f"sqlite:///{tmp_path / 'index.sqlite'}")
    index = Index(db, root)
    calls: list[str] = []
    real = Index.refresh
    monkeypatch.setattr(
        Index, "refresh", lambda self, rp, force=False: calls.append(rp.run_id) or real(self, rp, force)
    )
    assert index.rebuild() == 3 and sorted(calls) == ["r0", "r1", "r2"]
    calls.clear()
    assert index.rebuild() == 3 and calls == []  # nothing changed: no run read again
    api_run = turbotrack.Api(dir=tmp_path).run("local/scan/r1")
    api_run.summary["acc"] = 0.99
    api_run.summary.update()  # an atomic replace: the folder's mtime moves
    index.rebuild()
    assert calls == ["r1"]
    assert index.runs("local", "scan", run_id="r1")[0]["summary"]["acc"] == 0.99
    shutil.rmtree(root / "local" / "scan" / "r2")
    assert index.rebuild() == 2
    assert sorted(r["id"] for r in index.runs("local", "scan")) == ["r0", "r1"]
    db.close()
