"""The server: sync then read back through Api(base_url=...), the index on SQLite and PostgreSQL,
live local runs, refusals (traversal, corrupt blocks, oversize bodies, offsets)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import NO_CAPTURE, run_child
from serverkit import ServerProc, cli, drop_postgres_schema, make_key, postgres_schema_url, raw

import turbotrack


def _server(base: Path):
    s = ServerProc(base)
    s.key = make_key(base, "local")[1]  # type: ignore[attr-defined]
    s.start()
    yield s
    assert s.stop() == 0


@pytest.fixture
def srv(root: Path):
    """A server with a storage root of its own (runs reach it by sync)."""
    yield from _server(root / "server")


@pytest.fixture
def local_srv(root: Path):
    """A server on the local storage root (`turbotrack server --dir .`)."""
    yield from _server(root)


def _log_run(new_run, n: int = 500, **kw):
    run = new_run(config={"lr": 0.1, "layers": [1, 2]}, **kw)
    for i in range(n):
        row = {"loss": 1.0 / (i + 1), "acc": i / n}
        if i % 3 == 0:
            row["sparse"] = i
        if i % 50 == 0:
            row["note"] = f"step {i}"
        run.log(row)
    run.summary["best"] = 0.99
    return run


def test_sync_then_remote_history_equals_local(new_run, root, srv):
    run = _log_run(new_run)
    run.finish()
    out = cli("sync", "--base-url", srv.url, "--api-key", srv.key, str(root))
    assert out.returncode == 0, out.stderr
    assert "synced 1 of 1 runs" in out.stderr and "500 rows" in out.stderr
    local = turbotrack.Api(dir=root).run(run.path)
    remote = turbotrack.Api(base_url=srv.url, api_key=srv.key).run(run.path)
    assert list(remote.scan_history()) == list(local.scan_history())
    assert list(remote.scan_history(keys=["sparse"], page_size=7)) == list(local.scan_history(keys=["sparse"]))
    pd.testing.assert_frame_equal(remote.history(), local.history(), check_like=True)
    pd.testing.assert_frame_equal(remote.history(keys=["sparse"]), local.history(keys=["sparse"]), check_like=True)
    assert remote.history(pandas=False)[:3] == local.history(pandas=False)[:3]
    assert remote.config == local.config == {"lr": 0.1, "layers": [1, 2]}
    assert dict(remote.summary) == dict(local.summary)
    assert remote.state == "finished" and remote.name == local.name
    assert sorted(f.name for f in remote.files()) == sorted(f.name for f in local.files())
    cfg = next(f for f in remote.files() if f.name == "config.json")
    assert json.loads(cfg.download()) == local.config


def test_history_samples_keep_a_spike_locally_and_remotely(new_run, root, srv):
    run = new_run()
    for i in range(20_000):
        run.log({"y": 1e6 if i == 12_345 else float(np.sin(i / 100))})
    run.finish()
    assert cli("sync", "--base-url", srv.url, "--api-key", srv.key, run.dir).returncode == 0
    local = turbotrack.Api(dir=root).run(run.path).history(keys=["y"], samples=200)
    remote = turbotrack.Api(base_url=srv.url, api_key=srv.key).run(run.path).history(keys=["y"], samples=200)
    for h in (local, remote):
        assert len(h) <= 200 and h["y"].max() == 1e6
        assert h["_step"].iloc[0] == 0 and h["_step"].iloc[-1] == 19_999
    pd.testing.assert_frame_equal(local, remote)


def test_summary_update_writes_to_the_server(new_run, root, srv):
    run = _log_run(new_run, 10)
    run.finish()
    assert cli("sync", "--base-url", srv.url, "--api-key", srv.key, run.dir).returncode == 0
    api = turbotrack.Api(base_url=srv.url, api_key=srv.key)
    r = api.run(run.path)
    r.summary["note"] = "checked"
    r.summary.update()
    r.summary.update({"score": 3})
    again = api.run(run.path)
    assert again.summary["note"] == "checked" and again.summary["score"] == 3
    assert api.runs("local/tests", filters={"summary_metrics.score": 3})[0].id == run.id


def test_server_on_a_local_folder_shows_runs_live(root, local_srv, spawn):
    srv = local_srv
    go = root / "go"
    code = f"""
        import os, time, turbotrack
        run = turbotrack.init(project="live", settings={NO_CAPTURE!r})
        print(run.path, flush=True)
        for i in range(50):
            run.log({{"x": i}})
        run.summary["tag"] = "mid"
        while not os.path.exists({str(go)!r}):  # running until the test has seen it running
            time.sleep(0.05)
        run.finish()
    """
    import subprocess
    import sys
    import textwrap

    child = spawn([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    path = child.stdout.readline().strip()
    api = turbotrack.Api(base_url=srv.url, api_key=srv.key)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = api.runs("local/live")
        if runs and runs[0].summary.get("tag") == "mid" and len(list(api.run(path).scan_history())) == 50:
            break
        time.sleep(0.2)
    assert runs and runs[0].path == path
    assert api.run(path).state == "running"
    assert len(list(api.run(path).scan_history())) == 50
    go.touch()
    assert child.wait(60) == 0
    deadline = time.monotonic() + 60
    while api.run(path).state != "finished" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.run(path).state == "finished"
    projects = api.projects()
    assert {"entity": "local", "project": "live", "run_count": 1} == {
        k: projects[0][k] for k in ("entity", "project", "run_count")
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/runs/local/../x/manifest",
        "/api/v1/runs/local/%2e%2e/x/manifest",
        "/api/v1/runs/local/p/%2E%2E/files",
        "/api/v1/runs/%2e%2e%2f%2e%2e/p/x",
        "/api/v1/runs/local/p/r/files/..%2f..%2frun.json",
        "/api/v1/runs/local/p/r/files/media%2f..%2f..%2fx",
        "/api/v1/runs/local/p/r/files/../../../etc/passwd",
        "/api/v1/runs/local/p/r/files/.secret",
    ],
)
def test_traversal_is_refused(srv, path):
    for method, body in (("GET", None), ("PUT", b"{}")):
        status, data, _ = raw(srv.url, method, path, srv.key, body)
        assert status == 400, (method, path, status, data)
        assert "error" in json.loads(data)
    assert not any(p.name == "x" for p in srv.root.rglob("x"))


def _upload_history(srv, new_run):
    run = _log_run(new_run, 100)
    run.finish()
    data = (Path(run.dir) / "history.ttrk").read_bytes()
    url = f"/api/v1/runs/local/tests/{run.id}-copy/files/history.ttrk"
    return data, url


def test_corrupt_block_and_bad_offsets_are_refused(srv, new_run):
    data, url = _upload_history(srv, new_run)
    bad = bytearray(data)
    bad[-3] ^= 0xFF
    status, body, _ = raw(srv.url, "PUT", url + "?offset=0", srv.key, bytes(bad))
    assert status == 400 and "valid blocks" in json.loads(body)["error"]
    status, body, _ = raw(srv.url, "PUT", url + "?offset=0", srv.key, data[:-10])
    assert status == 400
    status, body, _ = raw(srv.url, "PUT", url + "?offset=5", srv.key, data)
    assert status == 409 and json.loads(body)["size"] == 0
    status, body, _ = raw(srv.url, "PUT", url + "?offset=0", srv.key, data)
    assert status == 200 and json.loads(body)["size"] == len(data)
    status, body, _ = raw(srv.url, "PUT", url + "?offset=0", srv.key, data)
    assert status == 409 and json.loads(body)["size"] == len(data)
    status, body, _ = raw(srv.url, "PUT", url, srv.key, data)
    assert status == 400  # a stream file needs its offset


def test_oversize_body_gets_413(root):
    s = ServerProc(root, extra=("--max-body", "1000"))
    key = make_key(root, "local")[1]
    s.start()
    try:
        status, body, _ = raw(s.url, "PUT", "/api/v1/runs/local/p/r/files/config.json", key, b"{}" + b" " * 2000)
        assert status == 413 and "limit" in json.loads(body)["error"]
        assert not (root / "turbotrack" / "local" / "p" / "r").exists()
    finally:
        s.stop()


def test_login_url_sets_a_session_cookie_and_the_ui_is_served(srv):
    status, _, _ = raw(srv.url, "GET", "/api/v1/projects")
    assert status == 401
    status, _, _ = raw(srv.url, "GET", "/local/tests")
    assert status == 401
    status, _, _ = raw(srv.url, "GET", "/?token=wrong")
    assert status == 401
    status, _, headers = raw(srv.url, "GET", f"/?token={srv.token}")
    assert status == 302
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    session = {"Cookie": cookie.split(";")[0]}
    status, data, _ = raw(srv.url, "GET", "/api/v1/projects", headers=session)
    assert status == 200 and "projects" in json.loads(data)
    for page in ("/", "/local/tests", "/local/tests/runs/abc", "/local/tests/runs/abc/logs"):
        status, data, headers = raw(srv.url, "GET", page, headers=session)
        assert status == 200 and headers["content-type"].startswith("text/html"), page
    assert raw(srv.url, "GET", "/local/tests/runs/abc/nope", headers=session)[0] == 404


def test_files_logs_and_range(new_run, root, srv):
    run = _log_run(new_run, 5)
    (Path(run.dir) / "output.log").write_text("hello wörld\nline 2\n")
    run.finish()
    assert cli("sync", "--base-url", srv.url, "--api-key", srv.key, run.dir).returncode == 0
    base = f"/api/v1/runs/{run.path}"
    status, data, _ = raw(srv.url, "GET", base + "/logs?offset=6", srv.key)
    out = json.loads(data)
    assert status == 200 and out["text"] == "wörld\nline 2\n" and out["running"] is False
    status, data, headers = raw(srv.url, "GET", base + "/files/output.log", srv.key, headers={"Range": "bytes=0-4"})
    assert status == 206 and data == b"hello" and headers["content-range"].endswith("/20")
    status, data, _ = raw(srv.url, "GET", base + "/files", srv.key)
    kinds = {f["name"]: f["kind"] for f in json.loads(data)["files"]}
    assert kinds["history.ttrk"] == "stream" and kinds["output.log"] == "append" and kinds["run.json"] == "replace"
    status, data, headers = raw(srv.url, "GET", base + "/history?keys=loss&samples=3", srv.key)
    assert status == 200 and 2 <= json.loads(data)["rows"] <= 3
    status, _, _ = raw(
        srv.url, "GET", base + "/history?keys=loss&samples=3", srv.key, headers={"If-None-Match": headers["etag"]}
    )
    assert status == 304
    status, data, _ = raw(srv.url, "GET", base, srv.key)
    detail = json.loads(data)
    assert {"loss", "acc", "_step"} <= set(detail["keys"]["history"]) and detail["config"]["lr"] == 0.1


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, root):
    """None (SQLite), or a PostgreSQL schema of this test's own: tests of other checkouts on the same
    database (the shared public schema, dropped table by table) raced it (UndefinedTable, a 401)."""
    if request.param == "sqlite":
        yield None
        return
    url = postgres_schema_url("server")
    try:
        yield url
    finally:
        drop_postgres_schema(url)


def test_index_sorts_filters_and_rebuilds(new_run, root, db_url):
    for name, acc, group in (("a", 0.5, "sweep"), ("b", 0.9, "sweep"), ("c", 0.7, "other")):
        run = new_run(name=name, group=group, config={"lr": acc})
        run.log({"acc": acc})
        run.summary["best_accuracy"] = acc
        run.finish()
    s = ServerProc(root, db=db_url)
    key = make_key(root, "local", db=db_url)[1]
    s.start()
    try:
        api = turbotrack.Api(base_url=s.url, api_key=key)
        assert [r.name for r in api.runs("local/tests", order="-summary_metrics.best_accuracy")] == ["b", "c", "a"]
        assert [r.name for r in api.runs("local/tests", order="+summary_metrics.best_accuracy")] == ["a", "c", "b"]
        assert sorted(r.name for r in api.runs("local/tests", filters={"group": "sweep"})) == ["a", "b"]
        assert [r.name for r in api.runs("local/tests", filters={"config.lr": 0.7})] == ["c"]
        assert [r.name for r in api.runs("local/tests", filters={"state": "finished"}, order="name")] == ["a", "b", "c"]
        _status, data, _ = raw(
            s.url, "GET", "/api/v1/runs/local/tests?order=-summary_metrics.best_accuracy&limit=1&offset=1", key
        )
        page = json.loads(data)
        assert page["total"] == 3 and [r["name"] for r in page["runs"]] == ["c"]
    finally:
        s.stop()
    # The index is lost (tables dropped / file deleted): a restart rebuilds it from the files.
    if db_url:
        import psycopg

        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("DELETE FROM runs")
    else:
        for p in (root / "turbotrack").glob("index.sqlite*"):
            p.unlink()
        key = make_key(root, "local")[1]
    s.start()
    try:
        api = turbotrack.Api(base_url=s.url, api_key=key)
        assert [r.name for r in api.runs("local/tests", order="-summary_metrics.best_accuracy")] == ["b", "c", "a"]
    finally:
        s.stop()


def test_crashed_run_shows_crashed(root, local_srv):
    srv = local_srv
    out = run_child(
        f"""
        import os, turbotrack
        run = turbotrack.init(project="crash", settings={NO_CAPTURE!r})
        run.log({{"x": 1}})
        os._exit(0)
        """
    )
    assert out.returncode == 0, out.stderr
    api = turbotrack.Api(base_url=srv.url, api_key=srv.key)
    deadline = time.monotonic() + 60
    while not api.runs("local/crash") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert api.runs("local/crash")[0].state == "crashed"


def test_run_detail_says_how_a_run_ended(root, local_srv):
    """`exit_code`, `state_reason` and, for a failed or crashed run, `error`: the last traceback
    its process wrote to stderr (the run page shows them)."""
    srv = local_srv
    console = {**NO_CAPTURE, "capture_stdout": True}
    ids = {}
    ends = [("ok", ""), ("boom", "raise ValueError('bad lr 3')"), ("three", "sys.exit(3)"), ("gone", "os._exit(0)")]
    for name, end in ends:
        out = run_child(
            f"""
            import os, sys, turbotrack
            run = turbotrack.init(project="ends", name={name!r}, settings={console!r})
            run.log({{"x": 1}})
            print("a warning on stderr", file=sys.stderr, flush=True)
            {end}
            """
        )
        assert out.returncode == {"boom": 1, "three": 3}.get(name, 0), out.stderr
    for p in (root / "turbotrack" / "local" / "ends").glob("*/run.json"):
        ids[json.loads(p.read_text())["name"]] = p.parent.name
    # The index may answer a run it saw live as running (or, its process gone before it read the
    # last run.json, crashed) until it reads the files again: wait for the state each one ended in.
    final = {"ok": "finished", "boom": "failed", "three": "failed", "gone": "crashed"}
    got = {}
    for name, rid in ids.items():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body, _ = raw(srv.url, "GET", f"/api/v1/runs/local/ends/{rid}", key=srv.key)
            assert status == 200, body
            got[name] = json.loads(body)
            if got[name]["state"] == final[name]:
                break
            time.sleep(0.2)
    ok, boom, three, gone = got["ok"], got["boom"], got["three"], got["gone"]
    assert (ok["state"], ok["exit_code"], ok["state_reason"]) == ("finished", 0, "it called finish()")
    assert "error" not in ok
    assert (boom["state"], boom["exit_code"]) == ("failed", 1)
    assert boom["state_reason"] == "its process exited with code 1"
    assert boom["error"].startswith("Traceback (most recent call last)"), boom["error"]
    assert boom["error"].endswith("ValueError: bad lr 3") and "a warning" not in boom["error"]
    assert (three["state"], three["exit_code"]) == ("failed", 3)
    assert three["error"] == "a warning on stderr"  # no traceback: its last stderr lines
    assert gone["state"] == "crashed" and gone["exit_code"] is None
    assert "without finishing" in gone["state_reason"]


def test_history_each_key_keeps_its_own_rows_and_run_detail_has_step_metrics(new_run, root, local_srv):
    """`keys=a,b` answers the rows holding both; `each=1` answers each key's own rows (the UI's
    charts: a metric logged every 10 steps must not thin one logged every step). The run detail's
    `metrics` carry the step_metric define_metric was given."""
    run = new_run()
    run.define_metric("val/acc", step_metric="epoch", summary="max")
    for i in range(100):
        run.log({"loss": 1.0 / (i + 1), **({"epoch": i // 10, "val/acc": i / 100} if i % 10 == 9 else {})})
    run.finish()
    base = f"/api/v1/runs/{run.path}"
    status, body, _ = raw(local_srv.url, "GET", f"{base}/history?keys=loss,val/acc", local_srv.key)
    assert status == 200 and json.loads(body)["rows"] == 10
    status, body, _ = raw(local_srv.url, "GET", f"{base}/history?keys=loss,val/acc&each=1&samples=40", local_srv.key)
    each = json.loads(body)["keys"]
    assert status == 200 and each["val/acc"]["rows"] == 10 and 4 < each["loss"]["rows"] <= 40
    assert set(each["loss"]["columns"]) == {"_step", "loss"}
    assert each["val/acc"]["columns"]["_step"][0] == 9
    status, body, _ = raw(local_srv.url, "GET", base, local_srv.key)
    assert ["val/acc", "max", None, "epoch", False] in json.loads(body)["metrics"]  # not hidden


def test_a_session_cookie_outlives_a_server_restart(root, db_url):
    s = ServerProc(root, db=db_url).start()
    try:
        status, _, headers = raw(s.url, "GET", f"/?token={s.token}")
        assert status == 302
        cookie = {"Cookie": headers["set-cookie"].split(";")[0]}
        sid = cookie["Cookie"].split("=", 1)[1]
        assert raw(s.url, "GET", "/api/v1/projects", headers=cookie)[0] == 200
        s.restart()
        assert raw(s.url, "GET", "/api/v1/projects", headers=cookie)[0] == 200
        assert raw(s.url, "GET", "/api/v1/projects", headers={"Cookie": "tt_session=" + sid[:-2] + "xx"})[0] == 401
    finally:
        s.stop()
    if db_url is None:  # only the hash is stored
        assert sid.encode() not in (root / "turbotrack" / "auth.sqlite").read_bytes()
        from turbotrack.server.db import open_auth_database

        db = open_auth_database(None, root / "turbotrack")
        rows = db.query("SELECT hash, expires FROM sessions")
        db.close()
        assert len(rows) == 1 and rows[0][0] == hashlib.sha256(sid.encode()).hexdigest()


def test_logs_of_each_rank_of_a_shared_run(root, local_srv):
    runs = [
        turbotrack.init(
            dir=root, project="ddp", id="two", settings={**NO_CAPTURE, "shared": True, "rank": k}, reinit="create_new"
        )
        for k in (0, 1)
    ]
    run_dir = Path(runs[0].dir)
    # what console capture writes for each rank
    (run_dir / "output.log").write_text("rank zero says hi\n")
    (run_dir / "output.r1.log").write_text("rank one says hé\n")
    for r in reversed(runs):
        r.finish()
    base = "/api/v1/runs/local/ddp/two"
    detail = json.loads(raw(local_srv.url, "GET", base, local_srv.key)[1])
    assert detail["log_ranks"] == [0, 1]
    for query, text in (
        ("", "rank zero says hi\n"),
        ("?rank=0", "rank zero says hi\n"),
        ("?rank=1", "rank one says hé\n"),
    ):
        status, data, _ = raw(local_srv.url, "GET", f"{base}/logs{query}", local_srv.key)
        assert status == 200 and json.loads(data)["text"] == text, query
    out = json.loads(raw(local_srv.url, "GET", f"{base}/logs?rank=1&offset=5", local_srv.key)[1])
    assert out["text"] == "one says hé\n" and out["offset"] == len("rank one says hé\n".encode())
    assert json.loads(raw(local_srv.url, "GET", f"{base}/logs?rank=2", local_srv.key)[1])["text"] == ""
    for bad in ("-1", "x", "..%2F1"):
        assert raw(local_srv.url, "GET", f"{base}/logs?rank={bad}", local_srv.key)[0] == 400


def test_nulls_and_lists_through_the_http_api(new_run, root, local_srv):
    """A logged None is a null in history answers (a gap in a chart: None in its row), a list comes
    back as the list; the run detail and the remote Api read them as the local Api does."""
    run = new_run()
    run.log({"loss": 1.0, "lr": [0.1, 0.01], "val": None})
    run.log({"loss": None, "lr": [0.05, 0.005], "val": 0.5})
    run.log({"loss": 0.25, "lr": [], "val": None, "cfg": [{"k": [1, None]}, "x"]})
    run.finish()
    base = f"/api/v1/runs/{run.path}"
    status, body, _ = raw(local_srv.url, "GET", f"{base}/history?keys=loss,val&each=1", local_srv.key)
    each = json.loads(body)["keys"]
    assert status == 200
    assert each["loss"]["columns"]["loss"] == [1.0, None, 0.25] and each["loss"]["columns"]["_step"] == [0, 1, 2]
    assert each["val"]["columns"]["val"] == [None, 0.5, None]
    status, body, _ = raw(local_srv.url, "GET", f"{base}/history?keys=lr", local_srv.key)
    assert status == 200 and json.loads(body)["columns"]["lr"] == [[0.1, 0.01], [0.05, 0.005], []]
    status, body, _ = raw(local_srv.url, "GET", base, local_srv.key)
    detail = json.loads(body)
    assert status == 200 and detail["summary"]["loss"] == 0.25 and detail["summary"]["val"] == 0.5
    assert detail["summary"]["lr"] == [] and detail["summary"]["cfg"] == [{"k": [1, None]}, "x"]
    remote = turbotrack.Api(base_url=local_srv.url, api_key=local_srv.key).run(run.path)
    local = turbotrack.Api(dir=root).run(run.path)
    assert list(remote.scan_history()) == list(local.scan_history())
    assert [r["val"] for r in remote.scan_history()] == [None, 0.5, None]
    assert remote.history(pandas=False) == local.history(pandas=False)


def test_runs_since_lists_only_the_runs_changed_since(new_run, root, local_srv):
    """``?since=`` (the UI's live poll): the runs whose index entry changed at or after it, ``total``
    still counting them all, and ``now`` the server's clock to ask from next time."""
    for name in ("a", "b"):
        new_run(project="since", name=name).finish()
    api = turbotrack.Api(base_url=local_srv.url, api_key=local_srv.key)
    deadline = time.monotonic() + 20
    while len(api.runs("local/since")) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    _s, data, _ = raw(local_srv.url, "GET", "/api/v1/runs/local/since", local_srv.key)
    full = json.loads(data)
    assert full["total"] == 2 and isinstance(full["now"], float)
    now = full["now"]
    time.sleep(0.05)
    _s, data, _ = raw(local_srv.url, "GET", f"/api/v1/runs/local/since?since={now}", local_srv.key)
    assert json.loads(data)["runs"] == [] and json.loads(data)["total"] == 2
    new_run(project="since", name="c").finish()
    while time.monotonic() < deadline:
        _s, data, _ = raw(local_srv.url, "GET", f"/api/v1/runs/local/since?since={now}", local_srv.key)
        page = json.loads(data)
        if page["runs"]:
            break
        time.sleep(0.1)
    assert [r["name"] for r in page["runs"]] == ["c"] and page["total"] == 3
    status, data, _ = raw(local_srv.url, "GET", "/api/v1/runs/local/since?since=nan", local_srv.key)
    assert status == 400 and b"since" in data


def test_the_page_preloads_every_module_the_app_imports(srv, tmp_path):
    """index.html's app.js is preceded by a modulepreload of each module it reaches (each served),
    and the list follows an edit of the modules (server/preload.py)."""
    import os
    import re

    from turbotrack.server.preload import Preloads, module_graph
    from turbotrack.server.routes import STATIC_DIR

    session = {"Cookie": raw(srv.url, "GET", f"/?token={srv.token}")[2]["set-cookie"].split(";")[0]}
    status, data, _ = raw(srv.url, "GET", "/local/tests", headers=session)
    page = data.decode()
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', page)
    graph = module_graph(STATIC_DIR)
    assert status == 200 and graph[0] == "app.js" and sorted(preloaded) == sorted(graph[1:])
    assert {"components/chartarea.js", "lib/panellayout.js", "lib/batch.js"} <= set(preloaded)
    assert page.index("modulepreload") < page.index('src="/static/app.js"')
    for rel in preloaded:
        assert raw(srv.url, "GET", f"/static/{rel}", headers=session)[0] == 200, rel
    # a module graph of its own: an import added to a module is preloaded next time
    (tmp_path / "lib").mkdir()
    (tmp_path / "app.js").write_text("import { a } from './lib/a.js';\nimport './lib/b.js';\n")
    (tmp_path / "lib" / "a.js").write_text("export {\n  b,\n} from './b.js';\nexport const a = 1;\n")
    (tmp_path / "lib" / "b.js").write_text("export const b = 2;\n")
    pre = Preloads(tmp_path)
    assert re.findall(r'href="/static/([^"]+)"', pre.links()) == ["lib/a.js", "lib/b.js"]
    (tmp_path / "lib" / "c.js").write_text("export const c = 3;\n")
    (tmp_path / "lib" / "b.js").write_text("import './c.js';\nexport const b = 2;\n")
    os.utime(tmp_path / "lib" / "b.js", ns=(1, 1))  # a changed stamp, whatever the clock's grain
    assert re.findall(r'href="/static/([^"]+)"', pre.links()) == ["lib/a.js", "lib/b.js", "lib/c.js"]
