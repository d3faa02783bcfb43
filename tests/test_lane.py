"""The append lane (server/lane.py) in process: a replica's ServerApp (an object store in a folder,
SQLite) driven through ASGI with many requests at once, so that batches form. What the lane answers
is what the ordinary path answers; what it cannot answer (a refused key, a stale offset, a run.json)
the ordinary path answers as it always did. Through real server processes, S3 and PostgreSQL the
same requests are tests/test_replicas.py's."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlencode

import pytest

from turbotrack.server.asgi import ServerApp
from turbotrack.server.db import open_auth_database, open_database
from turbotrack.server.state import ServerState


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ServerApp]:
    root = tmp_path / "cache"
    root.mkdir()
    state = ServerState(
        root, open_database(None, root), open_auth_database(None, root), store=f"file://{tmp_path / 'bucket'}"
    )
    a = ServerApp(state, scan=False)
    assert a._lane is not None
    try:
        yield a
    finally:
        a._lane.close()
        state.close()


async def _call(
    app: ServerApp, method: str, path: str, key: Optional[str], body: bytes = b"", **query: Any
) -> tuple[int, Any]:
    headers = [(b"host", b"test"), (b"content-length", str(len(body)).encode())]
    if key is not None:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query).encode(),
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "scheme": "http",
    }
    sent = [False]

    async def receive() -> dict[str, Any]:
        if sent[0]:
            await asyncio.sleep(3600)
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    out: dict[str, Any] = {"body": b""}

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            out["status"] = msg["status"]
        else:
            out["body"] += msg.get("body", b"")

    await app(scope, receive, send)
    return out["status"], json.loads(out["body"] or b"null")


def _run(app: ServerApp, *calls: tuple[Any, ...]) -> list[tuple[int, Any]]:
    async def go() -> list[tuple[int, Any]]:
        return list(await asyncio.gather(*(_call(app, *c[:4], **(c[4] if len(c) > 4 else {})) for c in calls)))

    return asyncio.run(go())


def _info(rid: str, name: Optional[str] = None) -> bytes:
    """A running run's run.json."""
    return json.dumps({"id": rid, "name": name or rid, "state": "running", "created_at": time.time()}).encode()


def _start(app: ServerApp, key: str, runs: list[str]) -> None:
    got = _run(app, *[("PUT", f"/api/v1/runs/local/p/{r}/files/run.json", key, _info(r)) for r in runs])
    assert [s for s, _ in got] == [200] * len(runs), got


def _started(app: ServerApp, runs: list[str]) -> tuple[str, Any]:
    """A key of entity ``local``, the ``runs`` started with it, and the replica's lane."""
    key = app.state.keys.create("local")[1]
    _start(app, key, runs)
    assert app._lane is not None
    return key, app._lane


def test_appends_at_once_are_answered_by_the_lane_and_held(app: ServerApp) -> None:
    runs = [f"r{i}" for i in range(24)]
    key, lane = _started(app, runs)
    before = lane.answered
    lines = [f"line of {r}\n".encode() for r in runs]
    got = _run(
        app,
        *[("PUT", f"/api/v1/runs/local/p/{r}/files/output.log", key, b, {"offset": 0}) for r, b in zip(runs, lines)],
    )
    assert got == [(200, {"size": len(b)}) for b in lines]
    assert lane.answered - before == len(runs)  # every one by the lane
    for r, b in zip(runs, lines):
        assert (app.state.root / "local" / "p" / r / "output.log").read_bytes() == b  # in the cache
        assert app.state.ingest.has(app.state.root / "local" / "p" / r / "output.log")  # in the store
    # the next appends, each carrying the run's heartbeat
    got = _run(
        app,
        *[
            ("PUT", f"/api/v1/runs/local/p/{r}/files/output.log", key, b, {"offset": len(b), "heartbeat": 30})
            for r, b in zip(runs, lines)
        ],
    )
    assert got == [(200, {"size": 2 * len(b), "heartbeat": True}) for b in lines]
    rows = app.state.index_db.query(
        "SELECT run_id, heartbeat_ttl FROM runs WHERE project = 'p' AND heartbeat IS NOT NULL"
    )
    assert sorted(rows) == sorted((r, 30.0) for r in runs)


def test_what_the_lane_cannot_answer_is_answered_as_ever(app: ServerApp) -> None:
    keys = app.state.keys
    key = keys.create("local")[1]
    ro = keys.create("local", read_only=True)[1]
    other = keys.create("someone")[1]
    revoked_id, revoked = keys.create("local")
    assert keys.revoke(revoked_id)
    _start(app, key, ["r1", "r2"])
    base = "/api/v1/runs/local/p/r1/files/output.log"
    assert _run(app, ("PUT", base, key, b"abc", {"offset": 0})) == [(200, {"size": 3})]
    lane = app._lane
    assert lane is not None
    passed = lane.passed_on
    got = _run(
        app,
        ("PUT", base, key, b"xyz", {"offset": 0}),  # stale: the server holds 3 bytes
        ("PUT", base, ro, b"def", {"offset": 3}),
        ("PUT", base, other, b"def", {"offset": 3}),
        ("PUT", base, revoked, b"def", {"offset": 3}),
        ("PUT", base, "tt_nonsense_x", b"def", {"offset": 3}),
        ("PUT", "/api/v1/runs/local/p/r2/files/output.log", key, b"fine", {"offset": 0}),  # in the same batch
    )
    status = [s for s, _ in got]
    assert status == [409, 403, 403, 401, 401, 200], got
    assert got[0][1]["size"] == 3 and got[0][1]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert lane.passed_on - passed == 5
    assert (app.state.root / "local" / "p" / "r1" / "output.log").read_bytes() == b"abc"  # nothing refused got in
    # a bad block of a history file: the route's own 400
    assert (
        _run(app, ("PUT", "/api/v1/runs/local/p/r1/files/history.ttrk", key, b"not blocks", {"offset": 0}))[0][0] == 400
    )


def test_a_summary_sent_whole_is_stored_and_its_row_marked_by_the_lane(app: ServerApp) -> None:
    key = app.state.keys.create("local")[1]
    _start(app, key, ["r1"])
    lane = app._lane
    assert lane is not None
    before = lane.answered
    body = json.dumps({"loss": 0.5}).encode()
    q = {"offset": 0, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert _run(app, ("PUT", "/api/v1/runs/local/p/r1/files/summary.json", key, body, q)) == [
        (200, {"size": len(body)})
    ]
    assert lane.answered - before == 1
    assert (app.state.root / "local" / "p" / "r1" / "summary.json").read_bytes() == body
    from turbotrack.store.layout import RunPath

    rp = RunPath(app.state.root, "local", "p", "r1")
    assert app.state.index.is_dirty(rp)  # read again a little later (server/reindex.py)
    app.state.reindex.flush(everything=True)
    assert app.state.index.runs("local", "p")[0]["summary"]["loss"] == 0.5
    assert not app.state.index.is_dirty(rp)
    # a body that is not what its sha256 says, or not JSON: the route's 400s
    bad = {**q, "sha256": "0" * 64}
    assert _run(app, ("PUT", "/api/v1/runs/local/p/r1/files/summary.json", key, body, bad))[0][0] == 400
    junk = b"{not json"
    q2 = {"offset": 0, "size": len(junk), "sha256": hashlib.sha256(junk).hexdigest()}
    assert _run(app, ("PUT", "/api/v1/runs/local/p/r1/files/summary.json", key, junk, q2))[0][0] == 400
    assert (app.state.root / "local" / "p" / "r1" / "summary.json").read_bytes() == body


def test_one_files_appends_in_one_batch_go_into_the_cache_in_order(app: ServerApp, monkeypatch) -> None:
    key = app.state.keys.create("local")[1]
    runs = [f"r{i}" for i in range(8)]
    _start(app, key, runs)
    fetched: list[str] = []
    real = app.state.ingest.pull_file
    monkeypatch.setattr(app.state.ingest, "pull_file", lambda path, *a: fetched.append(path.name) or real(path, *a))
    cache_append = app.state.ingest._cache_append

    def slow_first(path: Path, d: str, name: str, offset: int, body: bytes) -> None:
        if offset == 0 and path.parent.name == "r0":
            time.sleep(0.3)  # a slow disk: the file's next append must still wait its turn
        cache_append(path, d, name, offset, body)

    monkeypatch.setattr(app.state.ingest, "_cache_append", slow_first)
    lane = app._lane
    assert lane is not None
    before = lane.answered
    parts = [b"abc", b"defg", b"hi"]
    calls = []
    at = 0
    for part in parts:  # one uploader's appends and other runs' interleaved, all in one batch
        calls.append(("PUT", "/api/v1/runs/local/p/r0/files/output.log", key, part, {"offset": at}))
        calls += [("PUT", f"/api/v1/runs/local/p/{r}/files/output.log", key, part, {"offset": at}) for r in runs[1:]]
        at += len(part)
    got = _run(app, *calls)
    assert [s for s, _ in got] == [200] * len(calls), got
    assert lane.answered - before == len(calls)  # each by the lane: committed in order
    for r in runs:
        assert (app.state.root / "local" / "p" / r / "output.log").read_bytes() == b"abcdefghi"
    assert fetched == []  # written in order into the cache: nothing fetched back from the store


def test_runs_starting_at_once_are_read_by_the_lane_in_one_transaction(app: ServerApp, monkeypatch) -> None:
    key = app.state.keys.create("local")[1]
    lane = app._lane
    assert lane is not None
    runs = [f"s{i}" for i in range(20)]
    batches: list[int] = []
    real = app.state.index.db.batch
    monkeypatch.setattr(app.state.index.db, "batch", lambda steps: batches.append(len(steps[0][1])) or real(steps))
    before = lane.answered

    calls = []
    for r in runs:  # as the uploader sends a run.json: whole in one chunk
        body = _info(r, f"name-{r}")
        q = {"offset": 0, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        calls.append(("PUT", f"/api/v1/runs/local/p/{r}/files/run.json", key, body, q))
    got = _run(app, *calls)
    assert [s for s, _ in got] == [200] * len(runs), got
    assert lane.answered - before == len(runs)
    assert max(batches) > 1  # several runs' rows in one transaction
    rows = {r["id"]: r for r in app.state.index.runs("local", "p")}  # listed at once, not later
    assert {r: rows[r]["name"] for r in runs} == {r: f"name-{r}" for r in runs}


def test_a_failed_index_update_sends_the_batch_the_ordinary_way(app: ServerApp, monkeypatch) -> None:
    key = app.state.keys.create("local")[1]
    lane = app._lane
    assert lane is not None

    def down(runs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(app.state.reindex, "now_many", down)
    monkeypatch.setattr(app.state.reindex, "changed_many", down)
    passed = lane.passed_on
    body = json.dumps({"id": "f1", "name": "fine", "state": "running", "created_at": time.time()}).encode()
    q = {"offset": 0, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    assert _run(app, ("PUT", "/api/v1/runs/local/p/f1/files/run.json", key, body, q)) == [(200, {"size": len(body)})]
    summary = b'{"loss": 1}'
    q = {"offset": 0, "size": len(summary), "sha256": hashlib.sha256(summary).hexdigest()}
    assert _run(app, ("PUT", "/api/v1/runs/local/p/f1/files/summary.json", key, summary, q)) == [
        (200, {"size": len(summary)})
    ]
    assert lane.passed_on - passed == 2  # answered by the ordinary path, which read and marked them
    assert app.state.index.runs("local", "p")[0]["name"] == "fine"
    from turbotrack.store.layout import RunPath

    assert app.state.index.is_dirty(RunPath(app.state.root, "local", "p", "f1"))


def _whole(name: str, body: bytes) -> Any:
    from turbotrack.store.batch import Part

    return Part(name, 0, body, len(body), hashlib.sha256(body).hexdigest())


def test_batches_of_many_runs_are_answered_by_the_lane_part_by_part(app: ServerApp) -> None:
    """A live run's pass in one request (``POST .../files``): its history's appends and its summary
    whole, many runs at once; every part committed, in the cache and answered, the heartbeat
    recorded, all in the lane's batches."""
    from turbotrack.store import batch
    from turbotrack.store.layout import RunPath

    runs = [f"b{i}" for i in range(16)]
    key, lane = _started(app, runs)
    before = lane.answered
    calls = []
    for r in runs:
        body = batch.encode(
            [
                batch.Part("output.log", 0, f"log of {r}\n".encode()),
                _whole("summary.json", json.dumps({"r": r}).encode()),
            ]
        )
        calls.append(("POST", f"/api/v1/runs/local/p/{r}/files", key, body, {"heartbeat": 30}))
    got = _run(app, *calls)
    want = [
        (200, {"parts": [{"size": len(f"log of {r}\n")}, {"size": len(json.dumps({"r": r}))}], "heartbeat": True})
        for r in runs
    ]
    assert got == want
    assert lane.answered - before == len(runs)  # every batch by the lane
    for r in runs:
        d = app.state.root / "local" / "p" / r
        assert (d / "output.log").read_bytes() == f"log of {r}\n".encode()
        assert json.loads((d / "summary.json").read_bytes()) == {"r": r}
        assert app.state.ingest.has(d / "output.log") and app.state.ingest.has(d / "summary.json")
        assert app.state.index.is_dirty(RunPath(app.state.root, "local", "p", r))  # its summary: read again later
    rows = app.state.index_db.query("SELECT run_id FROM runs WHERE project = 'p' AND heartbeat_ttl = 30.0")
    assert sorted(r for (r,) in rows) == sorted(runs)


def test_a_batch_the_lane_cannot_answer_is_answered_as_ever(app: ServerApp) -> None:
    """A stale offset in one part, a chunk of a file sent in parts, a refused key, a body that is no
    batch: the ordinary path answers each as it always did, part by part; nothing refused gets in."""
    from turbotrack.store import batch

    key = app.state.keys.create("local")[1]
    ro = app.state.keys.create("local", read_only=True)[1]
    _start(app, key, ["c1", "c2"])
    base = "/api/v1/runs/local/p/c1"
    assert _run(app, ("PUT", base + "/files/output.log", key, b"abc", {"offset": 0})) == [(200, {"size": 3})]
    lane = app._lane
    assert lane is not None
    passed = lane.passed_on
    config = json.dumps({"lr": 0.1}).encode()
    stale = batch.encode([batch.Part("output.log", 0, b"xyz"), _whole("config.json", config)])
    half = b'{"loss": 1}'
    chunked = batch.encode([batch.Part("summary.json", 0, half[:4], len(half), hashlib.sha256(half).hexdigest())])
    fine = batch.encode([batch.Part("output.log", 0, b"fine")])
    got = _run(
        app,
        ("POST", base + "/files", key, stale),
        ("POST", "/api/v1/runs/local/p/c2/files", key, chunked),
        ("POST", base + "/files", ro, fine),
        ("POST", base + "/files", key, b"no batch at all"),
        ("POST", "/api/v1/runs/local/p/c2/files", key, fine),  # in the same batch: by the lane
    )
    assert got[0][0] == 200 and got[0][1]["parts"][1] == {"size": len(config)}
    conflict = got[0][1]["parts"][0]
    assert conflict["status"] == 409 and conflict["size"] == 3
    assert conflict["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert got[1] == (200, {"parts": [{"size": 4}]})  # the part file holds 4 bytes of it
    assert got[2][0] == 403 and got[3][0] == 400 and "batch" in got[3][1]["error"]
    assert got[4] == (200, {"parts": [{"size": 4}]})
    assert lane.passed_on - passed == 4
    d = app.state.root / "local" / "p"
    assert (d / "c1" / "output.log").read_bytes() == b"abc"
    assert json.loads((d / "c1" / "config.json").read_bytes()) == {"lr": 0.1}
    assert (d / "c2" / "output.log").read_bytes() == b"fine"
    assert not (d / "c2" / "summary.json").exists()


def test_a_batch_sent_as_a_new_run_s_is_refused_whole_where_the_run_is_held(app: ServerApp) -> None:
    """``?new=1`` (a first pass that asked for no manifest): a run the database holds any file of
    is refused whole, nothing of the batch stored; a new run's batch is the lane's as any other."""
    from turbotrack.store import batch

    key = app.state.keys.create("local")[1]
    _start(app, key, ["held"])
    lane = app._lane
    assert lane is not None
    before, passed = lane.answered, lane.passed_on
    config = json.dumps({"lr": 0.1}).encode()
    body = batch.encode([batch.Part("output.log", 0, b"hello\n"), _whole("config.json", config)])
    got = _run(
        app,
        ("POST", "/api/v1/runs/local/p/held/files", key, body, {"new": 1}),
        ("POST", "/api/v1/runs/local/p/fresh/files", key, body, {"new": 1}),
    )
    assert got[0][0] == 409 and got[0][1]["new"] is False and "manifest" in got[0][1]["error"]
    assert got[1] == (200, {"parts": [{"size": 6}, {"size": len(config)}]})
    assert lane.answered - before == 1 and lane.passed_on - passed == 1
    d = app.state.root / "local" / "p"
    assert not (d / "held" / "config.json").exists() and not (d / "held" / "output.log").exists()
    assert not app.state.ingest.has(d / "held" / "config.json")
    assert (d / "fresh" / "output.log").read_bytes() == b"hello\n"


def test_a_new_run_s_first_batch_reads_the_run_once(app: ServerApp, monkeypatch) -> None:
    """Its config marks no row (the run is not indexed yet) and its run.json has the run read at
    once: read once, with the other runs' in one transaction, never alone as well."""
    from turbotrack.store import batch

    key = app.state.keys.create("local")[1]
    alone: list[Any] = []
    real = app.state.reindex.now
    monkeypatch.setattr(app.state.reindex, "now", lambda rp, *a, **kw: alone.append(rp) or real(rp, *a, **kw))
    calls = []
    runs = [f"n{i}" for i in range(6)]
    for r in runs:
        info = _info(r, f"name-{r}")
        body = batch.encode([_whole("config.json", json.dumps({"lr": r}).encode()), _whole("run.json", info)])
        calls.append(("POST", f"/api/v1/runs/local/p/{r}/files", key, body, {"new": 1}))
    got = _run(app, *calls)
    assert [s for s, _ in got] == [200] * len(runs), got
    assert alone == []
    rows = {row["id"]: row for row in app.state.index.runs("local", "p")}
    assert {r: (rows[r]["name"], rows[r]["config"]["lr"]) for r in runs} == {r: (f"name-{r}", r) for r in runs}


def test_the_debounced_re_reads_of_many_runs_read_their_store_rows_in_one_query(app: ServerApp, monkeypatch) -> None:
    """A replica's reindexer re-reads a batch of marked runs: their rows in the store's table are
    read in one query, which both the fetches and the index signatures go by (not two queries a run)."""
    key = app.state.keys.create("local")[1]
    runs = [f"q{i}" for i in range(12)]
    _start(app, key, runs)
    calls = []
    for r in runs:
        body = json.dumps({"loss": int(r[1:])}).encode()
        q = {"offset": 0, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        calls.append(("PUT", f"/api/v1/runs/local/p/{r}/files/summary.json", key, body, q))
    assert [s for s, _ in _run(app, *calls)] == [200] * len(runs)
    queries: list[str] = []
    db = app.state.ingest.db
    real = db.query
    monkeypatch.setattr(db, "query", lambda sql, *a, **kw: queries.append(sql) or real(sql, *a, **kw))
    app.state.reindex.flush(everything=True)
    on_files = [q for q in queries if "store_files" in q]
    assert len(on_files) == 1 and "dir IN" in on_files[0], on_files
    rows = {row["id"]: row["summary"]["loss"] for row in app.state.index.runs("local", "p")}
    assert rows == {r: int(r[1:]) for r in runs}
