"""The batch history endpoint, ``GET /api/v1/histories/{entity}/{project}?runs=...``, on a real
server on loopback: each run's answer is the single-run route's, runs not there (another project's,
deleted, never made) are listed as missing and never answered, the run limit, the ETag and its 304,
``bands=1`` against a brute force, and a replica over an object store pulling each run first."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import NO_CAPTURE
from objectkit import Replicas, moto_s3
from serverkit import ServerProc, make_key, postgres_url, raw
from test_bands import _brute

import turbotrack
from turbotrack.server.routes import MAX_BATCH_RUNS
from turbotrack.store.downsample import m4_bucket_count

QUERY = "keys=loss,acc,sparse&x_axis=_step&samples=40&each=1"


@pytest.fixture
def srv(root: Path) -> Iterator[ServerProc]:
    """A server on the local storage root, with a read-write key of entity ``local``."""
    s = ServerProc(root)
    s.key = make_key(root, "local")[1]  # type: ignore[attr-defined]
    s.start()
    yield s
    assert s.stop() == 0


def _log(new_run: Any, n: int, seed: int, **kw: Any) -> Any:
    run = new_run(**kw)
    for i in range(n):
        loss = math.sin(i / 17 + seed) + (5.0 if i == 3 * seed + 100 else 0.0)
        row: dict[str, Any] = {"loss": loss, "acc": i / n}
        if i % 3 == 0:
            row["sparse"] = float("nan") if i % 99 == 0 else (None if i % 45 == 0 else float(i * seed))
        if i == 250:
            row["loss"] = float("inf")
        run.log(row)
    run.finish()
    return run


def _get(srv: ServerProc, path: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
    status, body, hdrs = raw(srv.url, "GET", path, srv.key, headers=headers)  # type: ignore[attr-defined]
    return status, json.loads(body) if body else None, hdrs


def test_each_run_answers_as_the_single_route_and_missing_runs_are_listed(new_run, root, srv) -> None:
    runs = [_log(new_run, 400 + 50 * k, k, project="p") for k in range(4)]
    other = _log(new_run, 100, 9, project="q")  # another project's run: not readable through p
    gone = _log(new_run, 100, 8, project="p")
    status, _, _ = raw(srv.url, "DELETE", f"/api/v1/runs/{gone.path}", srv.key)  # type: ignore[attr-defined]
    assert status == 200
    ids = [r.id for r in runs]
    for query in (QUERY, QUERY + "&bands=1", QUERY + "&min=100&max=300", "keys=loss&samples=30", "keys=acc"):
        names = ",".join([ids[0], other.id, *ids[1:], "never-made", gone.id, ids[0]])
        status, got, hdrs = _get(srv, f"/api/v1/histories/local/p?runs={names}&{query}")
        assert status == 200, got
        assert list(got["runs"]) == ids  # in the order asked, each once
        assert got["missing"] == [other.id, "never-made", gone.id]
        assert hdrs["cache-control"] == "no-cache" and hdrs["etag"]
        for r in runs:
            status, single, _ = _get(srv, f"/api/v1/runs/local/p/{r.id}/history?{query}")
            assert status == 200 and got["runs"][r.id] == single
    # the answers are the runs' own: the spike of each run is in its own rows only
    status, got, _ = _get(srv, f"/api/v1/histories/local/p?runs={','.join(ids)}&{QUERY}")
    for k, rid in enumerate(ids):
        loss = got["runs"][rid]["keys"]["loss"]["columns"]
        assert loss["_step"][loss["loss"].index(max(v for v in loss["loss"] if isinstance(v, float)))] == 3 * k + 100


def test_refusals_names_limit_and_login(new_run, root, srv) -> None:
    run = _log(new_run, 10, 1, project="p")
    many = ",".join(f"r{i}" for i in range(MAX_BATCH_RUNS + 1))
    status, got, _ = _get(srv, f"/api/v1/histories/local/p?runs={many}&keys=loss")
    assert status == 400 and f"at most {MAX_BATCH_RUNS} runs" in got["error"]
    exactly = ",".join([run.id, *(f"r{i}" for i in range(MAX_BATCH_RUNS - 1))])
    status, got, _ = _get(srv, f"/api/v1/histories/local/p?runs={exactly}&keys=loss")
    assert status == 200 and list(got["runs"]) == [run.id] and len(got["missing"]) == MAX_BATCH_RUNS - 1
    for bad in ("", "runs=", "runs=..", "runs=a%2Fb", f"runs={run.id},%00x"):
        status, got, _ = _get(srv, f"/api/v1/histories/local/p?{bad}&keys=loss")
        assert status == 400, (bad, got)
    status, got, _ = _get(srv, f"/api/v1/histories/local/p?runs={run.id}&samples=0")
    assert status == 400 and "samples" in got["error"]
    status, body, _ = raw(srv.url, "GET", f"/api/v1/histories/local/p?runs={run.id}")
    assert status == 401 and run.id.encode() not in body


def test_an_etag_over_every_run_and_the_query_answers_304(new_run, root, srv) -> None:
    a, b = (_log(new_run, 300, k, project="p") for k in range(2))
    path = f"/api/v1/histories/local/p?runs={a.id},{b.id},nope&{QUERY}"
    status, first, hdrs = _get(srv, path)
    etag = hdrs["etag"]
    status, body, again = _get(srv, path, **{"If-None-Match": etag})
    assert status == 304 and body is None and again["etag"] == etag
    status, _, other = _get(srv, path + "&bands=1")  # another query: another tag
    assert status == 200 and other["etag"] != etag
    status, _, fewer = _get(srv, f"/api/v1/histories/local/p?runs={a.id},nope&{QUERY}")
    assert fewer["etag"] != etag
    history = sorted(Path(b.dir).glob("history*"))[0]
    st = history.stat()
    os.utime(history, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # b's file changed
    status, second, changed = _get(srv, path, **{"If-None-Match": etag})
    assert status == 200 and changed["etag"] != etag and second == first


def test_bands_are_each_buckets_min_and_max(new_run, root, srv) -> None:
    runs = [_log(new_run, 3000, k, project="p") for k in range(2)]
    samples = 64
    path = f"/api/v1/histories/local/p?runs={runs[0].id},{runs[1].id}&keys=loss,sparse&samples={samples}&each=1&bands=1"
    status, got, _ = _get(srv, path)
    assert status == 200
    api = turbotrack.Api(dir=root)
    for r in runs:
        for key in ("loss", "sparse"):
            answer = got["runs"][r.id]["keys"][key]
            full = api.run(r.path).history(keys=[key], pandas=False)
            x = [float(row["_step"]) for row in full]
            y = [math.nan if row[key] is None else float(row[key]) for row in full]
            kept = [x.index(float(s)) for s in answer["columns"]["_step"]]
            want_lo, want_hi = _brute(x, y, kept, m4_bucket_count(samples, 1))
            as_json = [[None if math.isnan(v) else v for v in w] for w in (want_lo, want_hi)]
            fix = {"Infinity": math.inf, "-Infinity": -math.inf}
            band = answer["bands"][key]
            assert [fix.get(v, v) for v in band["min"]] == as_json[0]
            assert [fix.get(v, v) for v in band["max"]] == as_json[1]
            assert len(band["min"]) == len(band["max"]) == answer["rows"] <= samples
    # not downsampled (every row fits): no bands
    status, got, _ = _get(srv, path.replace(f"samples={samples}", "samples=5000"))
    assert all("bands" not in k for k in got["runs"][runs[0].id]["keys"].values())


def test_a_replica_pulls_each_run_before_answering(tmp_path: Path) -> None:
    postgres_url()  # skips when PostgreSQL is not installed
    with moto_s3("batch") as env, Replicas(tmp_path, "s3://batch/h", "batch_hist", env) as cluster:
        a, b = cluster.start(2)
        client = tmp_path / "client"
        ids = []
        for k in range(3):
            run = turbotrack.init(project="p", id=f"r{k}", dir=str(client), mode="offline", settings=NO_CAPTURE)
            for i in range(500 + 100 * k):
                run.log({"loss": math.cos(i / 9) * (k + 1)})
            run.finish()
            ids.append(run.id)
            out = subprocess.run(cluster.sync_cmd(Path(run.dir), a), capture_output=True, text=True, timeout=120)
            assert out.returncode == 0, out.stderr
        query = "keys=loss&samples=50&each=1&bands=1"
        path = f"/api/v1/histories/local/p?runs={','.join(ids)},nope&{query}"
        status, body, _ = raw(b.url, "GET", path, cluster.key)  # b's cache is empty: it pulls each run
        got = json.loads(body)
        assert status == 200 and list(got["runs"]) == ids and got["missing"] == ["nope"]
        for rid in ids:
            status, single, _ = raw(a.url, "GET", f"/api/v1/runs/local/p/{rid}/history?{query}", cluster.key)
            assert status == 200 and got["runs"][rid] == json.loads(single)
            assert got["runs"][rid]["keys"]["loss"]["bands"]["loss"]["max"]


def test_a_second_identical_batch_is_answered_from_the_history_cache(new_run, root, monkeypatch) -> None:
    """In process: the batch handler's answers come from the server's HistoryCache, so a second
    identical batch (and the single route after it) decodes and downsamples nothing."""
    from turbotrack.server import routes
    from turbotrack.server.db import open_auth_database, open_database
    from turbotrack.server.history import HistoryCache
    from turbotrack.server.params import parse
    from turbotrack.server.state import ServerState

    runs = [_log(new_run, 2000, k, project="p") for k in range(3)]
    made = []
    real = HistoryCache._columnar
    monkeypatch.setattr(HistoryCache, "_columnar", lambda self, *a: made.append(a[1]) or real(self, *a))
    store = root / "turbotrack"  # the storage root `turbotrack server --dir ROOT` serves
    state = ServerState(store, open_database(None, store), open_auth_database(None, store))
    try:
        ids = ",".join(r.id for r in runs)
        params = {"runs": ids, "keys": "loss,acc", "samples": "50", "each": "1", "bands": "1"}

        def ask(handler: Any, query: type, path: dict[str, str], **extra: str) -> Any:
            req = routes.Req(path, parse(query, {**params, **extra}), None, target="/x")
            return handler(state, req)

        project = {"entity": "local", "project": "p"}
        first = ask(routes.histories, routes.HistoriesQuery, project).data
        assert len(made) == 6 and set(first["runs"]) == {r.id for r in runs}  # 3 runs x 2 keys
        again = ask(routes.histories, routes.HistoriesQuery, project).data
        single = ask(routes.history, routes.HistoryQuery, {**project, "run_id": runs[1].id}).data
        assert len(made) == 6, "answered again without the cache"
        assert again == first and single == first["runs"][runs[1].id]
        ask(routes.histories, routes.HistoriesQuery, project, samples="60")  # another query: made anew
        assert len(made) == 12
    finally:
        state.close()
