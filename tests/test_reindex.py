"""A live run's rewritten state files mark its row in the index, which is read again later
(server/reindex.py); the appends of a live pass carry the run's heartbeat (no request of its own)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from serverkit import drop_postgres_schema, keyed_server, postgres_schema_url

import turbotrack
from turbotrack.server import checks, routes
from turbotrack.server.db import open_auth_database, open_database
from turbotrack.server.errors import ApiError
from turbotrack.server.params import parse
from turbotrack.server.reindex import Reindexer
from turbotrack.server.state import ServerState
from turbotrack.store import layout
from turbotrack.store.client import Client
from turbotrack.sync import core


@pytest.fixture
def state(tmp_path: Path) -> Iterator[ServerState]:
    store = tmp_path / "turbotrack"
    store.mkdir()
    s = ServerState(store, open_database(None, store), open_auth_database(None, store))
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: Any, tmp_path: Path) -> Iterator[ServerState]:
    """The state over SQLite and over PostgreSQL (the reindexer's batched queries on both)."""
    store = tmp_path / "turbotrack"
    store.mkdir()
    url = postgres_schema_url("reindex") if request.param == "postgres" else None
    s = ServerState(store, open_database(url, store), open_auth_database(url, store))
    try:
        yield s
    finally:
        s.close()
        if url:
            drop_postgres_schema(url)


def _put(s: ServerState, name: str, body: bytes, run: str = "r1", **query: Any) -> Any:
    params = {"entity": "local", "project": "p", "run_id": run, "name": name}
    return routes.upload(
        s, routes.Req(params, parse(routes.UploadQuery, {k: str(v) for k, v in query.items()}), None, body)
    )


def _start(s: ServerState, run: str = "r1") -> layout.RunPath:
    info = {"id": run, "name": run, "state": "running", "created_at": time.time()}
    _put(s, "run.json", json.dumps(info).encode(), run=run)
    return layout.RunPath(s.root, "local", "p", run)


def _listed(s: ServerState) -> dict[str, Any]:
    (row,) = s.index.runs("local", "p")
    return row


def test_a_summary_upload_marks_the_row_and_a_run_read_alone_is_exact(state: ServerState) -> None:
    rp = _start(state)
    assert _listed(state)["name"] == "r1"  # run.json: read at once
    _put(state, "summary.json", b'{"loss": 1}')
    assert state.index.is_dirty(rp) and state.reindex.pending() == 1
    assert _listed(state)["summary"] == {}  # the runs list may lag...
    assert checks.index_run(state, rp)["summary"] == {"loss": 1}  # ...a run read alone does not
    assert not state.index.is_dirty(rp)


def test_a_starting_run_is_read_once_with_its_run_json(state: ServerState, monkeypatch) -> None:
    reads = []
    real = state.reindex.now
    monkeypatch.setattr(state.reindex, "now", lambda rp, **kw: reads.append(rp.run_id) or real(rp, **kw))
    _put(state, "config.json", b'{"lr": {"value": 0.1}}')  # the uploader's order: run.json last
    assert reads == [] and state.index.runs("local", "p") == []
    _start(state)
    assert reads == ["r1"] and _listed(state)["config"] == {"lr": {"value": 0.1}}


def test_marked_rows_are_read_again_and_listed_as_updated(state: ServerState) -> None:
    rp = _start(state)
    _put(state, "summary.json", b'{"loss": 2}')
    since = time.time()  # a UI's last poll: the summary came before it, its row is read after
    assert state.reindex.flush(everything=True) == 1
    row = _listed(state)
    assert row["summary"] == {"loss": 2} and not state.index.is_dirty(rp) and state.reindex.pending() == 0
    assert [r["id"] for r in state.index.page("local", "p", since=since)[1]] == ["r1"]


def test_many_marked_runs_are_read_again_in_one_transaction(any_db: ServerState, monkeypatch) -> None:
    state = any_db
    runs = [_start(state, f"r{i}") for i in range(70)]  # more than one chunk
    for i, rp in enumerate(runs):
        _put(state, "summary.json", json.dumps({"loss": i}).encode(), run=rp.run_id)
    batches = []
    real = state.index.db.batch
    monkeypatch.setattr(state.index.db, "batch", lambda steps: batches.append(len(steps[0][1])) or real(steps))
    assert state.reindex.flush(everything=True) == 70
    assert batches == [64, 6]  # the rows of a chunk in one transaction
    rows = {r["id"]: r for r in state.index.runs("local", "p")}
    assert all(rows[f"r{i}"]["summary"] == {"loss": i} for i in range(70))
    assert not any(state.index.is_dirty(rp) for rp in runs) and state.reindex.pending() == 0


def test_a_run_that_cannot_be_stored_in_a_batch_is_stored_alone_with_why(state: ServerState, monkeypatch) -> None:
    runs = [_start(state, f"r{i}") for i in range(3)]
    for rp in runs:
        _put(state, "summary.json", b'{"loss": 5}', run=rp.run_id)
    real = state.index.db.batch

    def batch(steps: Any) -> None:
        if len(steps[0][1]) > 1:  # the whole batch fails once; each run alone then succeeds
            raise RuntimeError("the batch failed")
        real(steps)

    monkeypatch.setattr(state.index.db, "batch", batch)
    assert state.reindex.flush(everything=True) == 3
    assert all(r["summary"] == {"loss": 5} for r in state.index.runs("local", "p"))


def test_a_mark_left_by_a_killed_replica_is_taken_by_another(state: ServerState) -> None:
    rp = _start(state)
    _put(state, "summary.json", b'{"loss": 3}')
    state.reindex._pending.clear()  # the replica that marked it is gone before reading it again
    other = Reindexer(state.index, state.ingest, stale=0.0)
    assert other.sweep() == 1
    assert _listed(state)["summary"] == {"loss": 3} and not state.index.is_dirty(rp)
    assert other.sweep() == 0  # taken once


def test_an_append_carries_the_heartbeat_once_the_run_is_indexed(state: ServerState) -> None:
    assert _put(state, "output.log", b"early\n", offset=0, heartbeat=30) == {"size": 6, "heartbeat": False}
    _start(state)
    assert _put(state, "output.log", b"later\n", offset=6, heartbeat=30) == {"size": 12, "heartbeat": True}
    assert _listed(state)["state"] == "running" and _listed(state)["heartbeat"] is not None
    for bad in ("nan", "-1", "0"):
        with pytest.raises(ApiError, match="heartbeat") as e:
            parse(routes.UploadQuery, {"offset": "0", "heartbeat": bad})
        assert e.value.status == 400


class QueryClient(Client):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method, path, body=None, query=None, headers=None):  # type: ignore[no-untyped-def]
        self.calls.append((method, path.rsplit("/", 1)[-1], dict(query or {})))
        return super().request(method, path, body, query, headers)


def test_a_live_pass_sends_its_heartbeat_with_its_append(new_run, root: Path) -> None:
    server = keyed_server(root / "server")
    try:
        run = new_run()
        run.log({"a": 1})
        run._core.flush()
        deadline = time.monotonic() + 60  # capture's helper writes metadata.json: before the first pass
        while not (Path(run.dir) / "metadata.json").exists():
            assert time.monotonic() < deadline, "no metadata.json"
            time.sleep(0.02)
        client = QueryClient(server.url, server.key)
        rs = core.RunSync(client, Path(run.dir))
        # the first pass: its files in one batch sent as a new run's (no manifest asked first),
        # which carries the heartbeat (touched after run.json)
        rs.sync(heartbeat_ttl=30.0, live=True)
        assert client.calls == [("POST", "files", {"heartbeat": 30.0, "new": 1})]
        assert rs._beat_ttl is None and rs._beat_at > -float("inf")
        client.calls.clear()
        run.log({"a": 2})
        run._core.flush()
        rs._beat_at = -float("inf")  # a heartbeat is due this pass
        rs.sync(heartbeat_ttl=30.0, live=True)
        assert client.calls == [("PUT", "history.ttrk", {"offset": client.calls[0][2]["offset"], "heartbeat": 30.0})]
        client.calls.clear()
        run.log({"a": 3})
        run._core.flush()
        rs.sync(heartbeat_ttl=30.0, live=True)  # not due: a plain append
        assert [(m, n, set(q)) for m, n, q in client.calls] == [("PUT", "history.ttrk", {"offset"})]
        remote = turbotrack.Api(base_url=server.url, api_key=server.key).run(run.path)
        assert remote.state == "running"
        run.finish()
        rs.sync()
        client.close()
    finally:
        server.stop()
