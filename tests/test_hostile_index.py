"""Hostile input for the server's index, keys and queries (issue 17): no run's content stops the
index, a lost or damaged index loses no key or session and is rebuilt, one slow query blocks no
one, and a query over the limits is refused. A real `turbotrack server` on loopback, real files."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from serverkit import ServerProc, cli, drop_postgres_schema, make_key, postgres_schema_url, raw

import turbotrack

BIG = 10**309  # beyond float64's range


def _finished(new_run: Callable[..., Any], **kw: Any) -> Any:
    run = new_run(**kw)
    run.log({"loss": 0.5})
    run.finish()
    return run


def _runs(s: ServerProc, key: str, project: str = "tests", filters: Optional[dict[str, Any]] = None) -> Any:
    path = f"/api/v1/runs/local/{project}"
    if filters is not None:
        path += "?filters=" + urllib.parse.quote(json.dumps(filters))
    status, data, _ = raw(s.url, "GET", path, key)
    assert status == 200, data
    return json.loads(data)["runs"]


def _wait_for(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _stderr_after_stop(s: ServerProc) -> str:
    """Stop the server and return what it wrote on stderr."""
    assert s.stop() == 0
    return s.log_text()


# ---- no run's content stops the index ----


def test_a_huge_int_posted_to_a_summary_keeps_the_index_and_the_restart(root: Path, new_run) -> None:
    target = _finished(new_run, name="target")
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        status, data, _ = raw(
            s.url, "POST", f"/api/v1/runs/{target.path}/summary", key, b'{"big": 1' + b"0" * 309 + b"}"
        )
        assert status == 200, data
        later = _finished(new_run, name="later")  # the scan goes on indexing other runs
        _wait_for("the later run", lambda: later.id in {r["id"] for r in _runs(s, key)})
        s.restart()  # and the server starts again
        runs = {r["id"]: r for r in _runs(s, key)}
        assert runs[target.id]["summary"]["big"] == BIG and "index_error" not in runs[target.id]
        assert [r["id"] for r in _runs(s, key, filters={"summary_metrics.big": {"$gt": 1e308}})] == [target.id]
        order = [r.id for r in turbotrack.Api(base_url=s.url, api_key=key).runs("local/tests", order="-summary.big")]
        assert order[0] == target.id
    finally:
        s.stop()


def test_a_huge_int_in_a_summary_json_on_disk_is_indexed(root: Path, new_run) -> None:
    target = _finished(new_run, name="target")
    other = _finished(new_run, name="other")
    summary = Path(target.dir) / "summary.json"
    summary.write_text('{"big": -1' + "0" * 309 + ', "loss": 0.5}')
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()  # today: OverflowError in the first scan, the server never starts
    try:
        runs = {r["id"]: r for r in _runs(s, key)}
        assert runs[target.id]["summary"] == {"big": -BIG, "loss": 0.5} and other.id in runs
        assert [r["id"] for r in _runs(s, key, filters={"summary_metrics.big": {"$lt": 0}})] == [target.id]
    finally:
        s.stop()


def test_a_run_that_cannot_be_indexed_is_listed_with_its_error_and_logged_once(root: Path, new_run) -> None:
    bad = _finished(new_run, name="bad")
    info = json.loads((Path(bad.dir) / "run.json").read_text())
    info["start_time"] = BIG  # not a time any float holds
    (Path(bad.dir) / "run.json").write_text(json.dumps(info))
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        runs = {r["id"]: r for r in _runs(s, key)}
        assert "start_time" in runs[bad.id]["index_error"] or "float" in runs[bad.id]["index_error"]
        assert runs[bad.id]["index_error"].startswith("cannot read the run's files")
        for name in ("after1", "after2"):  # scans go on, several ticks pass
            run = _finished(new_run, name=name)
            _wait_for(name, lambda run=run: run.id in {r["id"] for r in _runs(s, key)})
        status, data, _ = raw(s.url, "GET", f"/api/v1/runs/{bad.path}", key)
        assert status == 200 and "index_error" in json.loads(data)
    finally:
        err = _stderr_after_stop(s)
    assert err.count(f"run {bad.dir} is not indexed in full") == 1, err


def test_a_lone_surrogate_in_a_summary_does_not_stop_the_index(root: Path, new_run) -> None:
    bad = _finished(new_run, name="bad")
    (Path(bad.dir) / "summary.json").write_text('{"s": "\\ud800", "loss": 0.25}')  # valid JSON, not UTF-8
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        runs = {r["id"]: r for r in _runs(s, key)}
        assert runs[bad.id]["summary"]["loss"] == 0.25 and "index_error" in runs[bad.id]
        later = _finished(new_run, name="later")
        _wait_for("the later run", lambda: later.id in {r["id"] for r in _runs(s, key)})
    finally:
        s.stop()


# ---- keys and sessions apart from the index ----


def test_keys_and_sessions_survive_the_index_being_deleted(root: Path, new_run) -> None:
    run = _finished(new_run)
    made = cli("keys", "create", "local", "--dir", str(root))  # before the server ever started
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    s = ServerProc(root).start()
    try:
        status, _, headers = raw(s.url, "GET", f"/?token={s.token}")
        assert status == 302
        cookie = {"Cookie": headers["set-cookie"].split(";")[0]}
        assert raw(s.url, "GET", "/api/v1/projects", key)[0] == 200
        s.stop()
        for p in (root / "turbotrack").glob("index.sqlite*"):
            p.unlink()
        s.start()
        assert raw(s.url, "GET", "/api/v1/projects", key)[0] == 200
        assert raw(s.url, "GET", "/api/v1/projects", headers=cookie)[0] == 200
        assert [r["id"] for r in _runs(s, key)] == [run.id]  # rebuilt from the files
    finally:
        s.stop()
    listed = cli("keys", "list", "--dir", str(root))
    assert listed.returncode == 0 and key.split("_")[1] in listed.stdout


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database, " * 200)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (x TEXT)")
    conn.execute("INSERT INTO runs VALUES ('something else')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("damage", [_garbage, _truncated, _foreign], ids=["garbage", "truncated", "foreign"])
def test_a_damaged_index_is_moved_aside_and_rebuilt_at_start(root: Path, new_run, damage) -> None:
    runs = [_finished(new_run, name=f"r{i}") for i in range(40)]
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    assert len(_runs(s, key)) == 40
    s.stop()
    index = root / "turbotrack" / "index.sqlite"
    for p in (root / "turbotrack").glob("index.sqlite-*"):
        p.unlink()
    if damage is _foreign:
        index.unlink()
    damage(index)
    s.start()  # today: a traceback, the server does not start
    try:
        assert sorted(r["id"] for r in _runs(s, key)) == sorted(r.id for r in runs)
    finally:
        err = _stderr_after_stop(s)
    lines = [line for line in err.splitlines() if "was damaged" in line]
    assert len(lines) == 1 and str(index) in lines[0] and "rebuilding" in lines[0], err
    assert "Traceback" not in err
    aside = [p for p in (root / "turbotrack").glob("index.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1


def test_a_damaged_auth_file_is_an_error_with_a_hint(root: Path, new_run) -> None:
    _finished(new_run)
    auth = root / "turbotrack" / "auth.sqlite"
    auth.parent.mkdir(parents=True, exist_ok=True)
    auth.write_bytes(b"garbage " * 1000)
    s = ServerProc(root)
    try:
        with pytest.raises(RuntimeError, match="server exited") as info:
            s.start()
    finally:
        s.stop()
    text = str(info.value)
    assert "auth.sqlite" in text and "hint:" in text and "backup" in text and "Traceback" not in text
    out = cli("keys", "list", "--dir", str(root))
    assert out.returncode == 2 and "hint:" in out.stderr and "backup" in out.stderr and "Traceback" not in out.stderr
    assert auth.read_bytes() == b"garbage " * 1000  # never replaced


# ---- one query blocks no one ----


def _slow_filters() -> str:
    return urllib.parse.quote(json.dumps({"config.lr": {"$in": list(range(300))}}))


def _in_threads(s: ServerProc, key: str, n: int) -> tuple[list[threading.Thread], list[int]]:
    statuses: list[int] = []

    def slow() -> None:
        statuses.append(raw(s.url, "GET", f"/api/v1/runs/local/tests?filters={_slow_filters()}", key)[0])

    threads = [threading.Thread(target=slow, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads, statuses


def test_queries_held_by_a_postgresql_lock_do_not_block_a_cheap_request(
    root: Path, new_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setenv("TURBOTRACK_QUERY_TIMEOUT", "120")  # the held queries are not cancelled meanwhile
    url = postgres_schema_url("hostile")
    _finished(new_run, config={"lr": 3})
    s = ServerProc(root, db=url)
    key = make_key(root, "local", db=url)[1]
    s.start()
    holder = psycopg.connect(url)
    try:
        assert len(_runs(s, key)) == 1
        holder.execute("LOCK TABLE run_keys IN ACCESS EXCLUSIVE MODE")  # the two queries wait on it
        threads, statuses = _in_threads(s, key, 2)
        with psycopg.connect(url, autocommit=True) as watch:

            def waiting() -> int:
                sql = (
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%run_keys%' AND pid <> pg_backend_pid()"
                )
                return int(watch.execute(sql).fetchone()[0])  # type: ignore[index]

            _wait_for("both queries to wait on the lock", lambda: waiting() >= 2)
            status, data, _ = raw(s.url, "GET", "/api/v1/projects", key)  # today: waits behind them
            assert status == 200 and json.loads(data)["projects"][0]["run_count"] == 1
            assert waiting() >= 2 and all(t.is_alive() for t in threads)  # still held
        holder.rollback()
        for t in threads:
            t.join(60)
        assert statuses == [200, 200]
    finally:
        holder.close()
        s.stop()
        drop_postgres_schema(url)


def test_writes_held_by_a_sqlite_lock_do_not_block_reads(root: Path, new_run) -> None:
    run = _finished(new_run, config={"lr": 3})
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    holder = sqlite3.connect(root / "turbotrack" / "index.sqlite", isolation_level=None)
    statuses: list[int] = []
    try:
        assert len(_runs(s, key)) == 1
        holder.execute("BEGIN IMMEDIATE")  # the index's write lock: the server's writes wait on it

        def post(body: bytes) -> None:
            statuses.append(raw(s.url, "POST", f"/api/v1/runs/{run.path}/summary", key, body)[0])

        threads = [threading.Thread(target=post, args=(b,), daemon=True) for b in (b'{"a": 1}', b'{"b": 2}')]
        for t in threads:
            t.start()
        summary = Path(run.dir) / "summary.json"
        # both handlers wrote the file: each is now indexing it, waiting on the lock
        _wait_for("both summaries on disk", lambda: {"a", "b"} <= set(json.loads(summary.read_text() or "{}")))
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=15)
        conn.request(
            "GET", "/api/v1/runs/local/tests?filters=" + _slow_filters(), headers={"Authorization": f"Bearer {key}"}
        )
        resp = conn.getresponse()  # today: waits behind the writes for the one connection
        assert resp.status == 200 and [r["id"] for r in json.loads(resp.read())["runs"]] == [run.id]
        conn.close()
        assert all(t.is_alive() for t in threads)  # the writes are still held
        holder.execute("ROLLBACK")
        for t in threads:
            t.join(60)
        assert statuses == [200, 200]
    finally:
        holder.close()
        s.stop()


# ---- bounded queries ----


@pytest.mark.parametrize(
    ("filters", "limit"),
    [
        ({"config.lr": {"$in": list(range(1001))}}, "MAX_IN_VALUES"),
        ({"config.lr": {"$nin": list(range(1001))}}, "MAX_IN_VALUES"),
        ({f"config.k{i}": 1 for i in range(101)}, "MAX_QUERY_FIELDS"),
        ({"$or": [{"config.a": 1}] * 101}, "MAX_QUERY_FIELDS"),
        ({"config.lr": {"$in": ["x" * 150] * 70}}, "MAX_QUERY_BYTES"),
        ({"display_name": {"$regex": "x" * 300}}, "MAX_REGEX_CHARS"),
    ],
    ids=["in", "nin", "fields", "or-fields", "bytes", "regex-length"],
)
def test_a_query_over_a_limit_is_400_naming_it(root: Path, new_run, filters: dict[str, Any], limit: str) -> None:
    run = _finished(new_run, config={"lr": 3})
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        path = "/api/v1/runs/local/tests?filters=" + urllib.parse.quote(json.dumps(filters))
        status, data, _ = raw(s.url, "GET", path, key)
        assert status == 400 and limit in json.loads(data)["error"], data
        assert [r["id"] for r in _runs(s, key, filters={"config.lr": {"$in": [1, 2, 3]}})] == [run.id]
    finally:
        s.stop()
    with pytest.raises(ValueError, match=limit):  # the same limits locally
        turbotrack.Api(dir=root).runs("local/tests", filters=filters)


def test_a_query_nested_too_deep_is_400(root: Path, new_run) -> None:
    _finished(new_run)
    deep: dict[str, Any] = {"config.a": 1}
    for _ in range(40):
        deep = {"$and": [deep]}
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        path = "/api/v1/runs/local/tests?filters=" + urllib.parse.quote(json.dumps(deep))
        status, data, _ = raw(s.url, "GET", path, key)
        assert status == 400 and "MAX_QUERY_DEPTH" in json.loads(data)["error"], data
    finally:
        s.stop()


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(\\w+\\s?)+$", "(x*)*y"])
def test_a_catastrophic_regex_is_refused_before_it_holds_the_server(root: Path, new_run, pattern: str) -> None:
    """Python's ``re`` cannot be interrupted: on a run named 'aaaa...!' these patterns backtrack for
    hours, holding the server (SQLite runs ``$regex`` in-process). They are refused instead."""
    run = _finished(new_run, name="a" * 40 + "!")
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        path = "/api/v1/runs/local/tests?filters=" + urllib.parse.quote(
            json.dumps({"display_name": {"$regex": pattern}})
        )
        status, data, _ = raw(s.url, "GET", path, key)
        assert status == 400 and "$regex" in json.loads(data)["error"], data
        assert [r["id"] for r in _runs(s, key, filters={"display_name": {"$regex": "^a+!$"}})] == [run.id]
    finally:
        s.stop()
