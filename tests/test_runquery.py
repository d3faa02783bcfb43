"""The runs query (store/query.py): what each operator, a missing field and mixed types mean (on
hand-made runs, through its one evaluator, the SQL of store/sql.py over an in-memory table), the
errors of a malformed query, and the server's index on SQLite and PostgreSQL giving the same runs in
the same order as that in-memory evaluation, paged with LIMIT/OFFSET."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from serverkit import drop_postgres_schema, postgres_schema_url

from turbotrack.server.db import Database
from turbotrack.server.index import Index
from turbotrack.store import query, sql

# ---- the meaning, on hand-made runs ----

RUNS: dict[str, dict[str, Any]] = {
    "a": {"config": {"lr": 0.1, "opt": {"name": "adam"}}, "summary": {"acc": 0.9, "loss": {"min": 0.1}}, "tags": ["x"]},
    "b": {"config": {"lr": 1, "opt": {"name": "sgd"}}, "summary": {"acc": "n/a"}, "tags": ["x", "y"]},
    "c": {"config": {"lr": True}, "summary": {"acc": float("nan")}, "tags": []},
    "d": {"config": {"lr": None, "layers": [1, 2]}, "summary": {"acc": 0.5, "loss": {"min": 0.3}}, "tags": ["y"]},
    "e": {"config": {}, "summary": {"acc": 2**70}, "tags": ["Z"], "group": "g"},
}


def _rows(run_id: str) -> list[tuple[Any, ...]]:
    r = RUNS[run_id]
    fields = query.plain_fields(
        run_id=run_id,
        name=f"run-{run_id}",
        state="crashed" if run_id == "c" else "finished",
        group=r.get("group"),
        job_type=None,
        notes=None,
        tags=r["tags"],
        created=1_700_000_000.0 + ord(run_id),
    )
    return query.key_rows(fields, r["config"], r["summary"])


def _select(filters: Any, order: Any = None) -> list[str]:
    return sql.select(list(RUNS), lambda k: ("e", "p", k), _rows, query.parse(filters), query.parse_order(order))


@pytest.mark.parametrize(
    ("filters", "want"),
    [
        (None, "abcde"),
        ({}, "abcde"),
        ({"config.lr": 1}, "b"),  # 1 == 1.0, never True
        ({"config.lr": 1.0}, "b"),
        ({"config.lr": True}, "c"),
        ({"config.lr": None}, "de"),  # null and absent are both missing
        ({"config.lr": {"$ne": 1}}, "acde"),  # $ne matches a missing field
        ({"config.lr": {"$exists": True}}, "abc"),
        ({"config.lr": {"$exists": False}}, "de"),
        ({"config.lr": {"$gt": 0}}, "ab"),  # a bool is not a number
        ({"config.lr": {"$gte": 0.1, "$lt": 1}}, "a"),
        ({"config.lr": {"$lte": 0.1}}, "a"),
        ({"config.lr": {"$in": [0.1, True]}}, "ac"),
        ({"config.lr": {"$in": [None]}}, "de"),
        ({"config.lr": {"$in": []}}, ""),
        ({"config.lr": {"$nin": [0.1, True]}}, "bde"),
        ({"config.lr": {"$not": {"$gt": 0.5}}}, "acde"),
        ({"config.opt.name": "adam"}, "a"),
        ({"config.opt": {"name": "sgd"}}, "b"),  # a dict equals the same dict
        ({"config.opt.name.value": "adam"}, "a"),  # wandb's config.K.value
        ({"config.layers": [1, 2]}, "d"),
        ({"config.layers": 2}, "d"),  # an element of a list
        ({"config.layers": {"$gt": 1}}, "d"),
        ({"summary_metrics.acc": {"$gt": 0.6}}, "ae"),  # "n/a" and NaN never compare
        ({"summary_metrics.acc": {"$lt": "o"}}, "b"),  # strings with strings only
        ({"summary_metrics.acc": None}, "c"),  # NaN is missing
        ({"summary_metrics.acc": {"$exists": True}}, "abde"),
        ({"summary_metrics.acc": {"$gte": 2**70}}, "e"),
        ({"summary_metrics.loss.min": {"$lt": 0.2}}, "a"),
        ({"summary.loss.min": {"$lt": 0.2}}, "a"),
        ({"summary_metrics.loss": {"$gt": 0}}, ""),  # a dict is not a number
        ({"tags": "x"}, "ab"),
        ({"tags": {"$in": ["y", "Z"]}}, "bde"),
        ({"tags": {"$nin": ["x"]}}, "cde"),
        ({"tags": ["x", "y"]}, "b"),
        ({"tags": []}, "c"),
        ({"tags": {"$regex": "^[A-Z]$"}}, "e"),
        ({"tags": {"$regex": "^z$", "$options": "i"}}, "e"),
        ({"name": {"$regex": "run-[ab]"}}, "ab"),
        ({"display_name": "run-c"}, "c"),
        ({"id": {"$in": ["a", "e"]}}, "ae"),
        ({"run_id": "b"}, "b"),
        ({"state": "crashed"}, "c"),
        ({"state": {"$ne": "finished"}}, "c"),
        ({"group": "g"}, "e"),
        ({"group": {"$exists": False}}, "abcd"),
        ({"created_at": {"$gte": "2023-11-14T22:14:59"}}, "cde"),  # 1_700_000_000 + ord(id): 99, 100, 101
        ({"created_at": {"$lte": "2023-11-14T22:14:58Z"}}, "ab"),
        ({"created_at": {"$gt": "2023-11-14T23:14:59+01:00"}}, "de"),
        ({"created_at": {"$lt": 1_700_000_098.5}}, "ab"),
        ({"$or": [{"config.lr": 1}, {"tags": "Z"}]}, "be"),
        ({"$and": [{"tags": "x"}, {"config.lr": {"$lt": 1}}]}, "a"),
        ({"$nor": [{"tags": "x"}, {"tags": "y"}]}, "ce"),
        ({"$not": {"tags": "x"}}, "cde"),
        ({"tags": "x", "config.lr": 1}, "b"),  # the keys of a dict are and-ed
        ({"$or": [{"$and": [{"tags": "y"}, {"summary_metrics.acc": {"$lt": 0.6}}]}, {"state": "crashed"}]}, "cd"),
    ],
)
def test_what_a_query_means(filters, want):
    assert "".join(sorted(_select(filters))) == want


@pytest.mark.parametrize(
    ("order", "want"),
    [
        (None, "abcde"),  # +created_at: oldest first
        ("created_at", "abcde"),
        ("-created_at", "edcba"),
        ("+config.lr", "abcde"),  # 0.1, 1, then the bool, then missing (d, e by id)
        ("-config.lr", "bacde"),
        ("summary_metrics.acc", "daebc"),  # numbers, the string, then NaN (missing)
        ("-summary_metrics.acc", "eadbc"),
        ("-summary_metrics.loss.min", "dabce"),
        ("summary_metrics.loss", "abcde"),  # dicts never sort: all missing, by id
        ("-name", "edcba"),
        ("group", "eabcd"),
    ],
)
def test_order_kinds_then_values_missing_last(order, want):
    assert "".join(_select(None, order)) == want


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"config.lr": {"$foo": 1}}, "'$foo'"),
        ({"$where": "1"}, "'$where'"),
        ({"colour": 1}, "'colour'"),
        ({"config.": 1}, "'config.'"),
        ({"config.lr": {"$in": 1}}, "$in takes a list"),
        ({"config.lr": {"$gt": [1]}}, "$gt must be"),
        ({"config.lr": {"$gt": None}}, "$gt must be"),
        ({"config.lr": {"$exists": 1}}, "$exists takes true or false"),
        ({"config.lr": {"$regex": "("}}, "not a regular expression"),
        ({"config.lr": {"$regex": "a", "$options": "g"}}, "$options 'g'"),
        ({"config.lr": {"$gt": 1, "x": 2}}, "mixed"),
        ({"config.lr": {"$not": 1}}, "$not takes"),
        ({"$or": {"a": 1}}, "$or takes a non-empty list"),
        ({"$and": []}, "$and takes a non-empty list"),
        ({"$not": [1]}, "$not takes a query dict"),
        ({"created_at": {"$gt": "yesterday"}}, "'yesterday' is not an ISO 8601 time"),
        ([1], "filters must be a dict"),
    ],
)
def test_a_malformed_query_is_a_value_error_naming_it(filters, named):
    with pytest.raises(ValueError) as e:
        query.parse(filters)
    assert named in str(e.value)


def test_a_bad_order_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"'summary_metric\.acc'"):
        query.parse_order("-summary_metric.acc")
    assert query.parse_order("summary_metrics.acc") == query.Order("s.acc", False, "summary_metrics.acc")
    assert query.parse_order("") == query.parse_order(None) == query.Order("created", False, "created_at")


# ---- the index on SQLite and PostgreSQL gives what the in-memory evaluation gives ----


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request, tmp_path: Path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    else:
        url = postgres_schema_url("runquery")
    db = Database(url)
    yield Index(db, tmp_path)
    db.close()
    if request.param == "postgresql":
        drop_postgres_schema(url)


def _random_runs(n: int = 60) -> list[dict[str, Any]]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        acc = rnd.choice([rnd.random(), rnd.randint(0, 5), float("nan"), None, "x", {"min": 1}, True, False, 0.5])
        summary = {"acc": acc, "loss": rnd.random(), "name": rnd.choice(["b", "a", "c", "é", "B", "Ab"])}
        if acc is None:
            del summary["acc"]
        config = {"lr": rnd.choice([0.1, 0.01, 1, "1"]), "opt": {"lr": rnd.choice([1, 2])}, "a.b": rnd.choice([3, 4])}
        config["layers"] = rnd.choice([[1, 2], [2, 3], 2, [True, "x"]])
        out.append(
            {
                "id": rnd.choice("aAbB_") + f"{i:03d}",  # ids that sort differently in a locale's collation
                "state": rnd.choice(["finished", "failed", "crashed"]),
                "config": config,
                "summary": summary,
                "name": f"run-{rnd.randint(0, 9)}",
                "tags": rnd.sample(["x", "y", "z"], rnd.randint(0, 3)),
                "group": rnd.choice(["g1", "g2", None]),
                "created": float(rnd.randint(0, 20)),
            }
        )
    return out


def _fill(index: Index, runs: list[dict[str, Any]]) -> None:
    for r in runs:
        index.put(
            "e",
            "p",
            r["id"],
            infos=[{"state": r["state"], "end_time": 100.0}],
            config=r["config"],
            summary=r["summary"],
            name=r["name"],
            tags=r["tags"],
            group=r["group"],
            created=r["created"],
            updated=200.0,
        )
    index.put("e", "other", "r999", infos=[], config={}, summary={"acc": 0.5})


def _in_memory(runs: list[dict[str, Any]], filters: Any, order: Any) -> list[str]:
    def rows(r: dict[str, Any]) -> list[tuple[Any, ...]]:
        fields = query.plain_fields(
            run_id=r["id"],
            name=r["name"],
            state=r["state"],
            group=r["group"],
            job_type=None,
            notes=None,
            tags=r["tags"],
            created=r["created"],
        )
        return query.key_rows(fields, r["config"], r["summary"])

    node, sort = query.parse(filters), query.parse_order(order)
    return [r["id"] for r in sql.select(runs, lambda r: ("e", "p", r["id"]), rows, node, sort)]


FILTERS: list[Any] = [
    None,
    {"group": "g1"},
    {"group": None},
    {"config.lr": 0.1},
    {"config.lr": 1},
    {"config.lr": "1"},
    {"config.lr": {"$gte": 0.1}},
    {"config.lr": {"$ne": 1}},
    {"config.opt.lr": 2},
    {"config.a.b": 3},
    {"config.layers": 2},
    {"config.layers": True},
    {"config.layers": [1, 2]},
    {"config.layers": {"$nin": [2, "x"]}},
    {"state": "failed"},
    {"state": {"$in": ["failed", "crashed"]}},
    {"tags": "x"},
    {"tags": {"$regex": "^[xy]$"}},
    {"summary_metrics.name": {"$in": ["a", "é"]}, "group": "g2"},
    {"summary_metrics.name": {"$regex": "^a", "$options": "i"}},
    {"summary_metrics.name": {"$gt": "B"}},
    {"summary_metrics.acc": True},
    {"summary_metrics.acc": {"$gt": False}},
    {"summary_metrics.acc": {"$lt": 3}},
    {"summary_metrics.acc": {"$exists": False}},
    {"summary_metrics.acc": {"$in": []}},
    {"summary_metrics.acc.min": 1},
    {"$or": [{"tags": "z"}, {"summary_metrics.loss": {"$lt": 0.3}}], "$not": {"state": "crashed"}},
    {"$nor": [{"group": "g1"}, {"config.lr": {"$in": [1, "1"]}}]},
]
ORDERS = [None, "-created_at", "+summary_metrics.loss", "name", "-summary_metrics.acc", "summary_metrics.acc", "id"]


@pytest.mark.parametrize("filters", FILTERS)
def test_sql_matches_in_memory(index, filters):
    runs = _random_runs()
    _fill(index, runs)
    for order in ORDERS:
        got = [r["id"] for r in index.runs("e", "p", filters, order)]
        assert got == _in_memory(runs, filters, order), (filters, order)


@pytest.mark.parametrize("order", ["-summary_metrics.loss", "summary_metrics.name", "-summary_metrics.name", "-id"])
def test_sql_order_pages(index, order):
    runs = _random_runs()
    _fill(index, runs)
    want = _in_memory(runs, None, order)
    total, page = index.page("e", "p", None, order, limit=7, offset=10)
    assert total == len(want) and [r["id"] for r in page] == want[10:17]
    total, page = index.page("e", "p", {"tags": "x"}, order, limit=3, offset=1)
    assert [r["id"] for r in page] == _in_memory(runs, {"tags": "x"}, order)[1:4]
    total, page = index.page("e", "p", None, order, limit=7, offset=1000)
    assert (total, page) == (len(want), [])


@pytest.mark.parametrize("desc", [False, True])
def test_sql_mixed_values_numbers_strings_bools_then_missing(index, desc):
    _fill(index, _random_runs())
    got = index.runs("e", "p", None, ("-" if desc else "+") + "summary_metrics.acc")
    values = [r["summary"].get("acc") for r in got]

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if v is None or isinstance(v, dict) or (isinstance(v, float) and math.isnan(v)):
            return "missing"
        return "str" if isinstance(v, str) else "num"

    kinds = [kind(v) for v in values]
    assert kinds == sorted(kinds, key=["num", "str", "bool", "missing"].index)
    assert {"num", "str", "bool", "missing"} <= set(kinds)
    nums = [float(v) for v, k in zip(values, kinds) if k == "num"]
    assert nums == sorted(nums, reverse=desc)


def test_sql_refuses_a_bad_query(index):
    with pytest.raises(ValueError, match="'\\$bogus'"):
        index.runs("e", "p", {"config.lr": {"$bogus": 1}})
    with pytest.raises(ValueError, match="'nope'"):
        index.runs("e", "p", None, "-nope")


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


def test_an_index_of_an_older_server_is_migrated_not_dropped(tmp_path: Path) -> None:
    """An index made before schema versions (index_meta, no schema_version) is taken over by
    migrations: its rows emptied (re-read from the files), its tables kept."""
    import sqlite3

    from turbotrack.server.db import INDEX_MIGRATIONS, open_database

    path = tmp_path / "index.sqlite"
    old = sqlite3.connect(path)
    for stmt in INDEX_MIGRATIONS[0].steps:
        assert isinstance(stmt, str)
        old.execute(stmt.replace("{COLLATE}", ""))
    old.execute("CREATE TABLE index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    old.execute("INSERT INTO index_meta VALUES ('version', '2')")
    old.execute(
        "CREATE TABLE api_keys (id TEXT PRIMARY KEY, entity TEXT NOT NULL, hash TEXT NOT NULL, "
        "read_only INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)"
    )
    old.execute("CREATE TABLE sessions (hash TEXT PRIMARY KEY, created DOUBLE PRECISION, expires DOUBLE PRECISION)")
    old.execute("INSERT INTO run_keys VALUES ('e', 'p', 'r1', 'id', 0, NULL, 'r1', NULL)")
    old.commit()
    old.close()
    db = open_database(None, tmp_path)
    assert db.query("SELECT COUNT(*) FROM run_keys") == [(0,)]
    assert db.query("SELECT version FROM schema_version WHERE store = 'index'") == [(INDEX_MIGRATIONS[-1].version,)]
    assert db.table_exists("index_meta")  # nothing dropped
    Index(db, tmp_path).put("e", "p", "r1", infos=[], config={"flag": True}, summary={"big": 10**309})
    assert Index(db, tmp_path).runs("e", "p", {"summary_metrics.big": {"$gt": 1e308}})[0]["summary"] == {"big": 10**309}
    db.close()
    db = open_database(None, tmp_path)  # opened again: no migration left, the rows stay
    assert db.query("SELECT COUNT(*) FROM runs") == [(1,)]
    db.close()


def test_the_keys_of_an_older_server_move_to_auth_sqlite(tmp_path: Path) -> None:
    import sqlite3

    from turbotrack.server.auth import Keys
    from turbotrack.server.db import open_auth_database

    old = sqlite3.connect(tmp_path / "index.sqlite")
    old.execute(
        "CREATE TABLE api_keys (id TEXT PRIMARY KEY, entity TEXT NOT NULL, hash TEXT NOT NULL, "
        "read_only INTEGER NOT NULL, created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)"
    )
    key = "tt_abc123_secret"
    import hashlib

    old.execute(
        "INSERT INTO api_keys VALUES ('abc123', 'e', ?, 0, 1.0, NULL)", (hashlib.sha256(key.encode()).hexdigest(),)
    )
    old.commit()
    old.close()
    auth = open_auth_database(None, tmp_path)
    who = Keys(auth).check(key)
    auth.close()
    assert who is not None and who.entity == "e"
