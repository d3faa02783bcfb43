"""Replicas over PostgreSQL and an object store, with real parts on loopback: moto's S3 server, the
PostgreSQL cluster, and several `turbotrack server --store s3://...` processes, each with a cache
folder of its own. A run synced through one is read, identical, through another (also over a
``file:///`` store folder); a replica started later serves every run; a replica killed mid-sync is
finished through another; two uploaders of one run through two replicas at once leave every row
once; a live online run is read through another replica as it grows; artifacts go up through one
and down through another. And `--store file://ROOT`, naming the server's own folder, is today's
layout: the runs written there are served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import NO_CAPTURE
from objectkit import Replicas, moto_s3
from serverkit import ServerProc, make_key, postgres_url, raw

import turbotrack

BUCKET = "runs"


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a loopback port, a bucket in it; the variables a replica reads."""
    postgres_url()  # no PostgreSQL installed: the replicas' tests skip before moto starts
    with moto_s3(BUCKET) as env:
        yield env


def _schema(request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("test_", "").replace("[", "_").replace("]", "").replace("-", "_")
    return "rep_" + name[-40:]


@pytest.fixture
def cluster(tmp_path: Path, s3: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Replicas]:
    """Replicas over the bucket (a prefix per test) and a PostgreSQL schema of the test's own."""
    name = _schema(request)
    with Replicas(tmp_path, f"s3://{BUCKET}/{name}", name, s3) as c:
        yield c


def _local_run(root: Path, rows: int, run_id: str = "r1", project: str = "p", saved: bool = False) -> Path:
    run = turbotrack.init(
        project=project,
        id=run_id,
        dir=str(root),
        mode="offline",
        config={"lr": 0.1, "layers": [1, 2], "run": run_id},
        settings=NO_CAPTURE,
    )
    for i in range(rows):
        run.log({"loss": 1.0 / (i + 1), "acc": i / rows, "noise": (i * 7919) % 101})
    run.summary["best"] = 0.5
    if saved:
        src = root / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "notes.txt").write_bytes(b"saved by the run\n" * 300)
        run.save(str(src / "notes.txt"), base_path=str(src), policy="now")
    run.finish()
    return Path(run.dir)


def _history(api: Any, path: str) -> list[dict[str, Any]]:
    return list(api.run(path).scan_history())


def _files(api: Any, path: str) -> dict[str, bytes]:
    return {f.name: f.download() for f in api.run(path).files()}


def _same_run(api_a: Any, api_b: Any, path: str) -> None:
    """``path`` reads the same through both: config, summary, state, every file byte for byte, history."""
    ra, rb = api_a.run(path), api_b.run(path)
    assert dict(ra.config) == dict(rb.config)
    assert dict(ra.summary) == dict(rb.summary)
    assert ra.state == rb.state
    assert _files(api_a, path) == _files(api_b, path)
    assert _history(api_a, path) == _history(api_b, path)


@pytest.mark.parametrize("kind", ["s3", "folder"])
def test_a_run_synced_through_one_replica_reads_the_same_through_another(
    kind: str, tmp_path: Path, s3: dict[str, str], request: pytest.FixtureRequest
) -> None:
    name = _schema(request)
    if kind == "s3":
        store, env = f"s3://{BUCKET}/{name}", s3
    else:  # a folder the replicas share (a network file system), not the cache of either
        store, env = f"file://{tmp_path / 'shared'}", {}
    with Replicas(tmp_path, store, name, env) as cluster:
        a, b = cluster.start(2)
        run_dir = _local_run(tmp_path / "client", 3000, saved=True)
        out = subprocess.run(cluster.sync_cmd(run_dir, a), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        local = turbotrack.Api(dir=str(tmp_path / "client")).run("local/p/r1")
        remote_b = cluster.api(b)
        _same_run(cluster.api(a), remote_b, "local/p/r1")
        rb = remote_b.run("local/p/r1")
        assert _history(remote_b, "local/p/r1") == list(local.scan_history())
        assert len(_history(remote_b, "local/p/r1")) == 3000
        assert dict(rb.config) == dict(local.config) == {"lr": 0.1, "layers": [1, 2], "run": "r1"}
        assert rb.summary["best"] == 0.5 and dict(rb.summary) == dict(local.summary)
        assert rb.state == "finished"
        assert _files(remote_b, "local/p/r1")["files/notes.txt"] == b"saved by the run\n" * 300
        assert {f.name for f in local.files()} <= set(_files(remote_b, "local/p/r1"))


def test_a_replica_started_later_lists_every_run_and_serves_them(cluster: Replicas, tmp_path: Path) -> None:
    a, b = cluster.start(2)
    client = tmp_path / "client"
    for i, srv in enumerate((a, b, a)):  # the runs come in through either replica
        run_dir = _local_run(client, 200 + 100 * i, run_id=f"r{i}")
        out = subprocess.run(cluster.sync_cmd(run_dir, srv), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    other = _local_run(client, 10, run_id="elsewhere", project="q")
    assert subprocess.run(cluster.sync_cmd(other, b), capture_output=True, timeout=120).returncode == 0

    c = cluster.replica("late")  # its cache folder is new and empty
    assert not (tmp_path / "cache-late" / "turbotrack" / "local").exists()
    api, local = cluster.api(c), turbotrack.Api(dir=str(client))
    assert sorted(r.id for r in api.runs("local/p")) == ["r0", "r1", "r2"]
    assert [r.id for r in api.runs("local/q")] == ["elsewhere"]
    for i in range(3):
        path = f"local/p/r{i}"
        got = _history(api, path)
        assert len(got) == 200 + 100 * i and got == list(local.run(path).scan_history())
        assert dict(api.run(path).config)["run"] == f"r{i}"
        _same_run(cluster.api(a), api, path)


def _manifest_size(srv: ServerProc, key: str, name: str) -> int:
    status, body, _ = raw(srv.url, "GET", "/api/v1/runs/local/p/big/manifest", key)
    if status != 200:
        return 0
    return int(json.loads(body)["files"].get(name, {}).get("size", 0))


def test_a_replica_killed_mid_sync_is_finished_through_another(cluster: Replicas, tmp_path: Path, spawn: Any) -> None:
    a = cluster.replica("a", "--max-body", "131072")  # a block a request: the kill lands mid-file
    b = cluster.replica("b")
    run_dir = _local_run(tmp_path / "client", 300_000, run_id="big")
    history = next(p.name for p in run_dir.iterdir() if p.name.startswith("history"))
    whole = (run_dir / history).stat().st_size
    sync = spawn(cluster.sync_cmd(run_dir, a), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while _manifest_size(b, cluster.key, history) < whole // 4:  # B sees a quarter: A is mid-file
        assert sync.poll() is None, "the sync ended first"
        assert time.monotonic() < deadline, f"replica B holds {_manifest_size(b, cluster.key, history)} of {whole}"
        time.sleep(0.02)
    a.kill()
    sync.wait(60)
    held = _manifest_size(b, cluster.key, history)
    assert whole // 4 <= held < whole and sync.returncode != 0  # killed mid-file, the sync saw it
    out = subprocess.run(cluster.sync_cmd(run_dir, b), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert _manifest_size(b, cluster.key, history) == whole
    local = list(turbotrack.Api(dir=str(tmp_path / "client")).run("local/p/big").scan_history())
    assert len(local) == 300_000
    for srv in (b, cluster.replica("c")):
        assert _history(cluster.api(srv), "local/p/big") == local  # every row once, in order


def test_two_uploaders_of_one_run_through_two_replicas(cluster: Replicas, tmp_path: Path, spawn: Any) -> None:
    a, b = cluster.start(2)
    run_dir = _local_run(tmp_path / "client", 20_000)
    procs = [
        spawn(cluster.sync_cmd(run_dir, srv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for srv in (a, b)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    local = list(turbotrack.Api(dir=str(tmp_path / "client")).run("local/p/r1").scan_history())
    assert len(local) == 20_000
    for srv in (a, b, cluster.replica("c")):
        assert _history(cluster.api(srv), "local/p/r1") == local
    _same_run(cluster.api(a), cluster.api(b), "local/p/r1")


ONLINE_CHILD = """
import sys, turbotrack
run = turbotrack.init(project="p", id="live", mode="online", settings={settings})
i = 0
for line in sys.stdin:  # one batch of rows per line the test sends; "end" finishes
    if line.strip() == "end":
        break
    for _ in range(50):
        run.log({{"x": i}})
        i += 1
    print(i, flush=True)
run.finish()
print("finished", flush=True)
"""


def test_an_online_run_is_read_live_through_another_replica(cluster: Replicas, tmp_path: Path, spawn: Any) -> None:
    a, b = cluster.start(2)
    settings = {**NO_CAPTURE, "sync_interval": 0.1, "base_url": a.url}
    env = {**os.environ, "TURBOTRACK_DIR": str(tmp_path / "client"), "TURBOTRACK_API_KEY": cluster.key}
    env.pop("TURBOTRACK_BASE_URL", None)
    child = spawn(
        [sys.executable, "-c", ONLINE_CHILD.format(settings=repr(settings))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    api = cluster.api(b)
    seen = []
    for _ in range(3):
        child.stdin.write("more\n")
        child.stdin.flush()
        logged = int(child.stdout.readline())
        deadline = time.monotonic() + 60
        while True:  # B shows the rows A was sent, while the run is still running
            try:
                rows = len(_history(api, "local/p/live"))
            except Exception:
                rows = 0
            if rows >= logged:
                break
            assert time.monotonic() < deadline, f"replica B shows {rows} of {logged} rows"
            time.sleep(0.05)
        seen.append(rows)
        assert api.run("local/p/live").state == "running"
    child.stdin.write("end\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "finished"
    assert child.wait(60) == 0
    assert seen == [50, 100, 150]
    deadline = time.monotonic() + 30
    while api.run("local/p/live").state != "finished":  # the finish went to A; B reads it from the index
        assert time.monotonic() < deadline, api.run("local/p/live").state
        time.sleep(0.05)
    assert [r["x"] for r in _history(api, "local/p/live")] == list(range(150))


def test_an_artifact_up_through_one_replica_down_through_another(cluster: Replicas, tmp_path: Path) -> None:
    a, b = cluster.start(2)
    root = tmp_path / "client"
    run = turbotrack.init(project="p", id="maker", dir=str(root), mode="offline", settings=NO_CAPTURE)
    src = tmp_path / "weights.bin"
    for text in ("one", "two"):
        src.write_bytes(text.encode() * 1000)
        art = turbotrack.Artifact("weights", "model")
        art.add_file(str(src))
        run.log_artifact(art, aliases=[f"is-{text}"])
    run.finish()
    out = subprocess.run(cluster.sync_cmd(root, a), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for srv in (b, cluster.replica("c")):  # C: a cache that never saw the upload
        api = cluster.api(srv)
        versions = api.artifact_versions("model", "local/p/weights")
        assert [(v.version, v.aliases) for v in versions] == [("v0", ["is-one"]), ("v1", ["is-two", "latest"])]
        for alias, text in (("is-one", "one"), ("latest", "two")):
            got = Path(api.artifact(f"local/p/weights:{alias}").download(str(tmp_path / f"down-{srv.port}-{alias}")))
            assert (got / "weights.bin").read_bytes() == text.encode() * 1000


def test_a_store_naming_the_servers_own_folder_is_todays_layout(tmp_path: Path) -> None:
    """`turbotrack server --dir ROOT --store file://ROOT` (SQLite, no object store): runs written into
    ROOT by `init` are served, and a synced run lands in ROOT's layout as files of its own."""
    root = tmp_path / "root"
    _local_run(root, 120, run_id="here")
    key = make_key(root, "local")[1]
    with ServerProc(root, extra=("--store", f"file://{root}")) as srv:
        api = turbotrack.Api(base_url=srv.url, api_key=key)
        assert [r.id for r in api.runs("local/p")] == ["here"]
        local = turbotrack.Api(dir=str(root)).run("local/p/here")
        assert _history(api, "local/p/here") == list(local.scan_history())
        run_dir = _local_run(tmp_path / "client", 30, run_id="came")
        sync = [sys.executable, "-m", "turbotrack", "sync", str(run_dir), "--base-url", srv.url, "--api-key", key]
        out = subprocess.run(sync, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert len(_history(api, "local/p/came")) == 30
    landed = turbotrack.Api(dir=str(root)).run("local/p/came")  # read from the folder, no server
    assert [r["noise"] for r in landed.scan_history()] == [(i * 7919) % 101 for i in range(30)]
