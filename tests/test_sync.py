"""Sync: only what the server lacks, resumable after either side is killed at any moment, and the
online uploader (server down at start, server gone mid-run)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import NO_CAPTURE
from serverkit import ServerProc, cli, keyed_server, make_key

import turbotrack
from turbotrack.store.client import Client
from turbotrack.sync import core


@pytest.fixture
def server(root: Path):
    s = keyed_server(root / "server")
    yield s
    s.stop()


def _big_run(new_run, steps: int = 60_000):
    run = new_run(config={"steps": steps})
    for i in range(steps):
        run.log({"a": i * 0.5, "b": 1.0 / (i + 1), "c": i % 7, "d": i * 1e-3, "e": -i})
    run.finish()
    return run


def _same_on_server(run, server) -> None:
    """The server's files are the local ones byte for byte, and the remote history equals the local."""
    local_dir = Path(run.dir)
    remote_dir = server.root / "turbotrack" / run.path
    for p in sorted(local_dir.glob("*.ttrk")):
        assert (remote_dir / p.name).read_bytes() == p.read_bytes(), p.name
    remote = turbotrack.Api(base_url=server.url, api_key=server.key).run(run.path)
    local = turbotrack.Api(dir=Path(run.dir).parents[3]).run(run.path)
    pd.testing.assert_frame_equal(remote.history(), local.history(), check_like=True)
    assert remote.state == local.state


class CountingClient(Client):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls: list[str] = []

    def request(self, method, path, body=None, query=None, headers=None):
        self.calls.append(f"{method} {path}")
        return super().request(method, path, body, query, headers)


def test_a_synced_finished_run_costs_one_request(new_run, server):
    run = _big_run(new_run, 2000)
    client = CountingClient(server.url, server.key)
    first = core.RunSync(client, Path(run.dir)).sync()
    assert first.rows == 2000 and not first.up_to_date
    client.calls.clear()
    again = core.RunSync(client, Path(run.dir)).sync()
    assert again.up_to_date and client.calls == [f"GET /api/v1/runs/{run.path}/manifest"]
    client.close()
    _same_on_server(run, server)


def test_the_marker_is_a_cache_written_without_fsync_and_an_emptied_one_is_no_harm(new_run, server, monkeypatch):
    run = _big_run(new_run, 500)
    client = CountingClient(server.url, server.key)
    marker = Path(run.dir) / core.MARKER
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.fstat(fd).st_ino) or real_fsync(fd))
    assert core.RunSync(client, Path(run.dir)).sync().rows == 500
    assert marker.is_file() and marker.stat().st_ino not in synced  # never waited on
    marker.write_bytes(b"")  # a power cut after the rename, before its bytes reached the disk
    client.calls.clear()
    again = core.RunSync(client, Path(run.dir)).sync()
    # No marker: sent as a new run's, which the server refuses whole (it holds the run); then the
    # manifest decides, and nothing more is sent.
    base = f"/api/v1/runs/{run.path}"
    assert again.up_to_date and again.sent_bytes == 0
    assert client.calls == [f"POST {base}/files", f"GET {base}/manifest"]
    assert json.loads(marker.read_text())  # written again
    client.close()
    _same_on_server(run, server)


def test_a_torn_tail_is_not_sent_and_the_rest_follows_later(new_run, root, server):
    run = _big_run(new_run, 3000)
    history = Path(run.dir) / "history.ttrk"
    whole = history.read_bytes()
    # A run still being written: only part of its last block is on disk yet.
    history.write_bytes(whole[:-100])
    out = cli("sync", "--base-url", server.url, "--api-key", server.key, run.dir)
    assert out.returncode == 0, out.stderr
    remote = server.root / "turbotrack" / run.path / "history.ttrk"
    assert 0 < remote.stat().st_size < len(whole) - 100
    history.write_bytes(whole)
    assert cli("sync", "--base-url", server.url, "--api-key", server.key, run.dir).returncode == 0
    _same_on_server(run, server)


def test_server_killed_at_random_moments_of_a_large_sync(new_run, server, monkeypatch):
    run = _big_run(new_run)
    monkeypatch.setattr(core, "CHUNK", 16 << 10)  # many small requests: many moments to die at
    # A slower network: on loopback (TCP_NODELAY) the whole sync takes ~40 ms, shorter than the timer.
    # Its 8 requests (a manifest, the small files in one batch, the blocks, run.json) then take
    # 0.4 s or more, so the first timer (at most 0.3 s) always fires inside the first sync.
    send = Client.request

    def slow(self, *a, **kw):
        time.sleep(0.05)
        return send(self, *a, **kw)

    monkeypatch.setattr(Client, "request", slow)
    rng = random.Random(11)
    kills = 0
    for _ in range(4):
        client = Client(server.url, server.key, timeout=10)
        t = threading.Timer(rng.uniform(0.02, 0.3), server.kill)
        t.start()
        try:
            core.RunSync(client, Path(run.dir)).sync()
        except Exception:  # the server died under it
            kills += 1
        t.join()
        client.close()
        server.restart()
    client = Client(server.url, server.key)
    core.RunSync(client, Path(run.dir)).sync()
    client.close()
    assert kills >= 1
    _same_on_server(run, server)


def test_syncing_process_killed_at_random_moments(new_run, root, server, spawn):
    run = _big_run(new_run)
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from turbotrack.sync import core, sync_paths
        core.CHUNK = 16 << 10
        sys.exit(sync_paths([Path({run.dir!r})], {server.url!r}, {server.key!r}))
        """
    )
    rng = random.Random(5)
    for _ in range(4):
        child = spawn([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.2))  # a random moment to kill it at (what it leaves must be resumable)
        child.send_signal(signal.SIGKILL)
        child.wait()
    out = cli("sync", "--base-url", server.url, "--api-key", server.key, run.dir)
    assert out.returncode == 0, out.stderr
    _same_on_server(run, server)


ONLINE_CHILD = """
import os, sys, time, turbotrack
run = turbotrack.init(project="online", settings={{**{settings}, "sync_interval": 0.2, "sync_timeout": {timeout}}})
print(run.path, flush=True)
for i in range(300):
    run.log({{"x": i, "y": i * 0.5}})
    if i == 150:
        print("half", flush=True)
        while not os.path.exists({go!r}):
            time.sleep(0.05)
run.finish()
print("done", flush=True)
"""


def _online_child(spawn, root: Path, server, timeout: float) -> tuple[subprocess.Popen[str], str, Path]:
    go = root / "go"
    code = ONLINE_CHILD.format(settings=repr(NO_CAPTURE), timeout=timeout, go=str(go))
    env = {**os.environ, "TURBOTRACK_BASE_URL": server.url, "TURBOTRACK_API_KEY": server.key}
    child = spawn([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout is not None
    return child, child.stdout.readline().strip(), go


def _wait(cond, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_online_run_started_while_the_server_is_down_catches_up(root, spawn):
    server = ServerProc(root / "server")
    server.key = make_key(root / "server", "local")[1]  # type: ignore[attr-defined]
    child, path, go = _online_child(spawn, root, server, timeout=60)
    assert child.stdout.readline().strip() == "half"
    with server:
        api = turbotrack.Api(base_url=server.url, api_key=server.key)
        assert _wait(lambda: bool(api.runs("local/online")) and api.run(path).state == "running")
        go.touch()
        out, err = child.communicate(timeout=90)
        assert child.returncode == 0 and "done" in out, err
        assert "turbotrack sync" not in err
        assert api.run(path).state == "finished"
        run = type("R", (), {"dir": str(root / "turbotrack" / path), "path": path})
        _same_on_server(run, server)


def test_server_vanishes_mid_run_then_sync_completes_it(root, server, spawn):
    child, path, go = _online_child(spawn, root, server, timeout=1)
    assert child.stdout.readline().strip() == "half"
    api = turbotrack.Api(base_url=server.url, api_key=server.key)
    assert _wait(lambda: bool(api.runs("local/online")))
    server.kill()
    go.touch()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and "done" in out, err
    assert "turbotrack sync" in err  # finish() names the command that completes the upload
    server.start()
    assert cli("sync", "--base-url", server.url, "--api-key", server.key).returncode == 0
    run = type("R", (), {"dir": str(root / "turbotrack" / path), "path": path})
    _same_on_server(run, server)
    assert turbotrack.Api(base_url=server.url, api_key=server.key).run(path).state == "finished"


def test_sync_reports_an_unreachable_server_with_a_hint(new_run, root):
    run = new_run()
    run.log({"x": 1})
    run.finish()
    out = cli("sync", "--base-url", "http://127.0.0.1:9", "--api-key", "tt_x_y", run.dir)
    assert out.returncode == 1 and "hint:" in out.stderr and "is the server running" in out.stderr
    shutil.rmtree(Path(run.dir) / ".synced", ignore_errors=True)


def test_artifacts_logged_by_a_run_are_synced_once_and_download_byte_identical(new_run, root, server, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.bin").write_bytes(os.urandom(300_000))
    (src / "notes.txt").write_text("two files\n")
    run = new_run(id="art-run")
    art = turbotrack.Artifact("model", "model", metadata={"acc": 0.9})
    art.add_file(str(src / "weights.bin"))
    art.add_file(str(src / "notes.txt"), name="docs/notes.txt")
    run.log_artifact(art, aliases=["best"])
    run.finish()

    client = CountingClient(server.url, server.key)
    first = core.RunSync(client, Path(run.dir)).sync()
    assert first.blobs == 2 and not first.up_to_date
    server_dir = server.root / "turbotrack/local/tests/artifacts"
    assert (server_dir / "model/v0.json").is_file() and len(list((server_dir / ".blobs").rglob("*"))) == 4

    got = turbotrack.Api(base_url=server.url, api_key=server.key).artifact("local/tests/model:best")
    assert got.version == "v0" and sorted(got.aliases) == ["best", "latest"] and got.metadata == {"acc": 0.9}
    out = Path(got.download(str(tmp_path / "out")))
    assert (out / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    assert (out / "docs/notes.txt").read_bytes() == (src / "notes.txt").read_bytes()

    # again: nothing at all (the marker knows); without the marker: a manifest check but no blob
    client.calls.clear()
    assert core.RunSync(client, Path(run.dir)).sync().up_to_date
    assert client.calls == [f"GET /api/v1/runs/{run.path}/manifest"]
    (Path(run.dir) / core.MARKER).unlink()
    client.calls.clear()
    again = core.RunSync(client, Path(run.dir)).sync()
    assert again.blobs == 0 and not any("/blobs/" in c and c.startswith("PUT") for c in client.calls)
    client.close()


def test_artifact_blobs_are_checked_and_writes_need_the_entity(root, server):
    from serverkit import raw

    body = b"hello"
    digest = hashlib.sha256(body).hexdigest()
    base = "/api/v1/artifacts/local/tests"
    status, _, _ = raw(server.url, "PUT", f"{base}/blobs/{'0' * 64}", server.key, body)
    assert status == 400  # the bytes do not hash to the name
    other = make_key(server.root, "someone")[1]
    read_only = make_key(server.root, "local", read_only=True)[1]
    for key in (other, read_only):
        assert raw(server.url, "PUT", f"{base}/blobs/{digest}", key, body)[0] == 403
    for bad in ("/api/v1/artifacts/../tests/blobs/x", f"{base}/versions/..%2F..%2Fx/v0", f"{base}/blobs/..%2Fx"):
        assert raw(server.url, "GET", bad, server.key)[0] in (400, 404)
    assert raw(server.url, "PUT", f"{base}/blobs/{digest}", server.key, body)[0] == 200
    manifest = {"type": "t", "digest": "d", "files": {"a.txt": {"digest": digest, "size": 5}}}
    lacking = {"type": "t", "digest": "e", "files": {"b.txt": {"digest": "1" * 64, "size": 1}}}
    put = json.dumps({"manifest": lacking, "aliases": []}).encode()
    assert raw(server.url, "PUT", f"{base}/versions/x/v0", server.key, put)[0] == 409
    put = json.dumps({"manifest": manifest, "aliases": ["a"]}).encode()
    assert raw(server.url, "PUT", f"{base}/versions/x/v0", read_only, put)[0] == 403
    assert raw(server.url, "PUT", f"{base}/versions/x/v0", server.key, put)[0] == 200
    status, data, _ = raw(server.url, "GET", f"{base}/blobs/{digest}", read_only)
    assert status == 200 and data == body
    assert not list((server.root / "turbotrack").glob("**/someone"))


RANK_CHILD = """
import json, os, sys, time
from pathlib import Path
import numpy as np
import turbotrack
from turbotrack.store import batch
from turbotrack.sync import uploader

put = set()


class Recording(uploader.Client):
    def request(self, method, path, body=None, query=None, headers=None):
        if method == "PUT" and "/files/" in path:
            put.add(path.split("/files/", 1)[1])
        if method == "POST" and path.endswith("/files"):  # several files in one request
            put.update(p.name for p in batch.decode(bytes(body)))
        return super().request(method, path, body, query, headers)


uploader.Client = Recording
rank, tmp = {rank}, Path({tmp!r})
settings = {{**{settings}, "mode": "online", "shared": True, "rank": rank, "sync_interval": 0.1, "sync_timeout": 60}}
run = turbotrack.init(project="sh", id="both", config={{"lr": 0.1}}, settings=settings)
(tmp / f"up{{rank}}").touch()
while not (tmp / f"up{{1 - rank}}").exists():  # both ranks live (and upload) at once
    time.sleep(0.05)
for i in range(300):
    run.log({{"loss": rank + 1.0 / (i + 1), "rank": rank}})
    if i % 100 == 0:
        time.sleep(0.3)  # let the other rank's uploader see this rank's files on disk
run.log({{"img": turbotrack.Image(np.full((4, 4, 3), 40 * rank, dtype=np.uint8))}})
run.summary["w"] = np.arange(6.0) + rank
if rank == 1:
    run.save(str(tmp / "src" / "notes.txt"), base_path=str(tmp / "src"))
(tmp / f"logged{{rank}}").touch()
while not (tmp / f"logged{{1 - rank}}").exists():
    time.sleep(0.05)
time.sleep(0.5)
run.finish()
print(json.dumps(sorted(put)), flush=True)
"""


def test_each_rank_of_a_shared_online_run_uploads_only_its_own_files(root, server, tmp_path, spawn):
    from turbotrack.store import layout

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "notes.txt").write_text("rank 1 saved this")
    env = {**os.environ, "TURBOTRACK_BASE_URL": server.url, "TURBOTRACK_API_KEY": server.key}
    children = [
        spawn(
            [sys.executable, "-c", RANK_CHILD.format(rank=k, tmp=str(tmp_path), settings=repr(NO_CAPTURE))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for k in (0, 1)
    ]
    sent = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and "turbotrack sync" not in err, err
        sent.append(set(json.loads(out.strip().splitlines()[-1])))
    run_dir = root / "turbotrack" / "local" / "sh" / "both"
    local = {rel for rel, _, _ in layout.run_files(run_dir)}
    assert "files/notes.txt" in local and "requirements.txt" not in local
    for k in (0, 1):
        mine = {rel for rel in local if layout.writer_rank(rel) == k} | ({"files/notes.txt"} if k else set())
        assert sent[k] <= mine, (k, sent[k] - mine)  # never another rank's file
        assert {f"history.r{k}.ttrk", f"system.r{k}.ttrk"} & local <= sent[k]
        assert ("run.json" if k == 0 else "run.r1.json") in sent[k]
        assert any(rel.startswith("media/") for rel in sent[k]) and any(rel.startswith("tensors/") for rel in sent[k])
    # Saved by rank 1, which claims it: whichever rank's pass comes first sends it (rank 0 uploads the
    # shared files/ too), and it reaches the server even when rank 0 has finished before the save.
    assert "files/notes.txt" in sent[0] | sent[1]
    assert sent[0] | sent[1] == local
    # Together the ranks sent every file, byte for byte; each marker speaks for its rank only.
    remote_dir = server.root / "turbotrack" / "local" / "sh" / "both"
    for rel in local:
        assert (remote_dir / rel).read_bytes() == (run_dir / rel).read_bytes(), rel
    marker = json.loads((run_dir / core.MARKER).read_text())
    assert set(marker) == {f"{server.url}#r0", f"{server.url}#r1"}
    for k in (0, 1):  # rank 0 checked files/notes.txt too (rank 0 keeps files/), and found it there
        mine = {rel for rel in local if layout.writer_rank(rel) == k} | ({"files/notes.txt"} if k else set())
        assert sent[k] <= set(marker[f"{server.url}#r{k}"]["files"]) <= mine
    run = type("R", (), {"dir": str(run_dir), "path": "local/sh/both"})
    _same_on_server(run, server)
    # `turbotrack sync` still checks every file: nothing is left to send.
    client = CountingClient(server.url, server.key)
    assert core.RunSync(client, run_dir).sync().sent_bytes == 0
    client.close()


def test_live_passes_skip_the_manifest_and_pace_the_state_files(new_run, server, monkeypatch):
    """The uploader's live passes plan from what the server acknowledged (no manifest GET) and send
    a rewritten summary at most every REPLACE_GAP; the pass after finish() sends what is new first
    (the summary waiting its turn too), then asks for the manifest, which finds nothing left."""
    monkeypatch.setattr(core, "REPLACE_GAP", 3600.0)
    run = new_run()
    run.log({"a": 1})
    run._core.flush()
    client = CountingClient(server.url, server.key)
    rs = core.RunSync(client, Path(run.dir))
    manifest = f"GET /api/v1/runs/{run.path}/manifest"
    rs.sync(heartbeat_ttl=3600.0, live=True)
    # the first pass: the run's small files in one batch (run.json last in it), sent as a new run's
    assert client.calls == [f"POST /api/v1/runs/{run.path}/files"]
    assert {"history.ttrk", "run.json"} <= set(rs._local)
    client.calls.clear()
    run.log({"a": 2})
    run.summary["best"] = 7
    run._core.flush()
    rs.sync(heartbeat_ttl=3600.0, live=True)
    assert client.calls == [f"PUT /api/v1/runs/{run.path}/files/history.ttrk"]
    assert not rs.sync(heartbeat_ttl=3600.0, live=True).up_to_date  # the summary waits its turn
    run.finish()
    client.calls.clear()
    last = rs.sync()
    assert client.calls == [f"POST /api/v1/runs/{run.path}/files", manifest]
    assert not last.up_to_date and last.rows == 0 and last.files >= 3  # history, summary, run.json
    summary = (Path(run.dir) / "summary.json").read_bytes()
    assert rs._local["summary.json"][2] == hashlib.sha256(summary).hexdigest()  # sent as it is now
    client.close()
    _same_on_server(run, server)
    remote = turbotrack.Api(base_url=server.url, api_key=server.key).run(run.path)
    assert remote.summary["best"] == 7


def _live_run_the_server_lost(new_run, server):
    """A live run after one live pass, whose files the server then lost (its disk restored from an
    older backup, say), with a new block since: the run, a counting client, its RunSync."""
    run = new_run()
    run.log({"a": 1})
    run._core.flush()
    client = CountingClient(server.url, server.key)
    rs = core.RunSync(client, Path(run.dir))
    rs.sync(heartbeat_ttl=3600.0, live=True)
    shutil.rmtree(server.root / "turbotrack" / run.path)
    run.log({"a": 2})
    run._core.flush()
    return run, client, rs


def test_a_live_pass_that_finds_the_server_changed_asks_again(new_run, server):
    """A live pass assumes the server holds what it acknowledged; when the server lost the run's
    files meanwhile (its disk restored from an older backup, say), the append's 409 sends the
    history from 0 and the next pass asks for the manifest, which brings back every other file."""
    run, client, rs = _live_run_the_server_lost(new_run, server)
    client.calls.clear()
    rs.sync(heartbeat_ttl=3600.0, live=True)
    assert client.calls and not client.calls[0].endswith("/manifest")
    client.calls.clear()
    rs.sync(heartbeat_ttl=3600.0, live=True)
    assert client.calls[0] == f"GET /api/v1/runs/{run.path}/manifest"
    run.finish()
    rs.sync()
    client.close()
    _same_on_server(run, server)


def test_the_last_pass_after_a_409_asks_before_it_sends(new_run, server):
    """The pass after finish() sends first only when the last pass left this client's view of the
    server current: after a 409 (the server lost the run meanwhile) it asks for the manifest first,
    and the run arrives whole."""
    run, client, rs = _live_run_the_server_lost(new_run, server)
    rs.sync(heartbeat_ttl=3600.0, live=True)  # its append is answered 409: the history from 0
    assert rs._manifest_due
    run.finish()
    client.calls.clear()
    rs.sync()
    assert client.calls[0] == f"GET /api/v1/runs/{run.path}/manifest"
    client.close()
    _same_on_server(run, server)
