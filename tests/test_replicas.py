"""Replicas over PostgreSQL and an object store, with real parts on loopback: moto's S3 server, the
PostgreSQL cluster, and several `turbotrack server --store s3://...` processes, each with a cache
folder of its own. A run synced through one is read, identical, through another; a replica killed
mid-sync is finished through another; two uploaders of one run through two replicas at once leave
every row once; a live online run is read through another replica as it grows; a replica started
later serves every run; artifacts go up through one and down through another."""

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
from objectkit import start_moto
from serverkit import ServerProc, drop_postgres_schema, make_key, postgres_schema_url, raw

import turbotrack

BUCKET = "runs"


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a loopback port, a bucket in it; the variables a replica reads."""
    pytest.importorskip("boto3")
    proc, env = start_moto(BUCKET)
    try:
        yield env
    finally:
        proc.kill()
        proc.wait(10)


class Cluster:
    """Replicas sharing one PostgreSQL schema and one bucket prefix; a key of entity ``local``."""

    def __init__(self, tmp: Path, s3: dict[str, str], name: str) -> None:
        self.tmp = tmp
        self.db = postgres_schema_url(name)
        self.store = f"s3://{BUCKET}/{name}"
        self.env = s3
        self.key = make_key(tmp / "keys", "local", db=self.db)[1]
        self.servers: list[ServerProc] = []

    def replica(self, name: str, *extra: str) -> ServerProc:
        srv = ServerProc(self.tmp / f"cache-{name}", db=self.db, extra=("--store", self.store, *extra))
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            srv.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.servers.append(srv)
        return srv

    def api(self, srv: ServerProc) -> Any:
        return turbotrack.Api(base_url=srv.url, api_key=self.key)

    def sync_cmd(self, path: Path, srv: ServerProc) -> list[str]:
        return [sys.executable, "-m", "turbotrack", "sync", str(path), "--base-url", srv.url, "--api-key", self.key]

    def close(self) -> None:
        for srv in self.servers:
            srv.stop()
        drop_postgres_schema(self.db)


@pytest.fixture
def cluster(tmp_path: Path, s3: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster(tmp_path, s3, "rep_" + request.node.name.split("[")[0][-40:].replace("test_", ""))
    try:
        yield c
    finally:
        c.close()


def _local_run(root: Path, rows: int, run_id: str = "r1", project: str = "p") -> Path:
    run = turbotrack.init(
        project=project,
        id=run_id,
        dir=str(root),
        mode="offline",
        config={"lr": 0.1, "layers": [1, 2]},
        settings=NO_CAPTURE,
    )
    for i in range(rows):
        run.log({"loss": 1.0 / (i + 1), "acc": i / rows, "noise": (i * 7919) % 101})
    run.summary["best"] = 0.5
    run.finish()
    return Path(run.dir)


def _history(api: Any, path: str) -> list[dict[str, Any]]:
    return list(api.run(path).scan_history())


def _same_run(api_a: Any, api_b: Any, path: str) -> None:
    ra, rb = api_a.run(path), api_b.run(path)
    assert dict(ra.config) == dict(rb.config)
    assert dict(ra.summary) == dict(rb.summary)
    assert sorted(f.name for f in ra.files()) == sorted(f.name for f in rb.files())
    assert _history(api_a, path) == _history(api_b, path)


def test_a_run_synced_through_one_replica_reads_the_same_through_another(cluster: Cluster, tmp_path: Path) -> None:
    a, b = cluster.replica("a"), cluster.replica("b")
    run_dir = _local_run(tmp_path / "client", 3000)
    out = subprocess.run(cluster.sync_cmd(run_dir, a), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    local = turbotrack.Api(dir=str(tmp_path / "client"))
    remote_b = cluster.api(b)
    _same_run(cluster.api(a), remote_b, "local/p/r1")
    assert _history(remote_b, "local/p/r1") == list(local.run("local/p/r1").scan_history())
    assert remote_b.run("local/p/r1").summary["best"] == 0.5

    # a replica started after the others, on an empty cache, lists the run and serves it
    c = cluster.replica("c")
    assert [r.id for r in cluster.api(c).runs("local/p")] == ["r1"]
    _same_run(remote_b, cluster.api(c), "local/p/r1")


def _manifest_size(srv: ServerProc, key: str, name: str) -> int:
    status, body, _ = raw(srv.url, "GET", "/api/v1/runs/local/p/big/manifest", key)
    if status != 200:
        return 0
    return int(json.loads(body)["files"].get(name, {}).get("size", 0))


def test_a_replica_killed_mid_sync_is_finished_through_another(cluster: Cluster, tmp_path: Path, spawn: Any) -> None:
    a = cluster.replica("a", "--max-body", "131072")  # a block a request: the kill lands mid-file
    b = cluster.replica("b")
    run_dir = _local_run(tmp_path / "client", 300_000, run_id="big")
    history = next(p.name for p in run_dir.iterdir() if p.name.startswith("history"))
    whole = (run_dir / history).stat().st_size
    sync = spawn(cluster.sync_cmd(run_dir, a), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while _manifest_size(b, cluster.key, history) < whole // 4:  # B sees a quarter: A is mid-file
        assert sync.poll() is None, "the sync ended first"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    a.kill()
    sync.wait(60)
    held = _manifest_size(b, cluster.key, history)
    assert whole // 4 <= held < whole and sync.returncode != 0  # killed mid-file, the sync saw it
    out = subprocess.run(cluster.sync_cmd(run_dir, b), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    local = list(turbotrack.Api(dir=str(tmp_path / "client")).run("local/p/big").scan_history())
    assert len(local) == 300_000
    for srv in (b, cluster.replica("c")):
        got = _history(cluster.api(srv), "local/p/big")
        assert got == local  # every row once, in order


def test_two_uploaders_of_one_run_through_two_replicas(cluster: Cluster, tmp_path: Path, spawn: Any) -> None:
    a, b = cluster.replica("a"), cluster.replica("b")
    run_dir = _local_run(tmp_path / "client", 20_000)
    procs = [
        spawn(cluster.sync_cmd(run_dir, srv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for srv in (a, b)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    local = list(turbotrack.Api(dir=str(tmp_path / "client")).run("local/p/r1").scan_history())
    for srv in (a, b):
        assert _history(cluster.api(srv), "local/p/r1") == local


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


def test_an_online_run_is_read_live_through_another_replica(cluster: Cluster, tmp_path: Path, spawn: Any) -> None:
    a, b = cluster.replica("a"), cluster.replica("b")
    settings = {**NO_CAPTURE, "sync_interval": 0.1}
    env = {
        **os.environ,
        "TURBOTRACK_DIR": str(tmp_path / "client"),
        "TURBOTRACK_BASE_URL": a.url,
        "TURBOTRACK_API_KEY": cluster.key,
    }
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
                rows = len(list(api.run("local/p/live").scan_history()))
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
    child.wait(60)
    assert seen == sorted(seen) and seen[-1] == 150
    assert [r["x"] for r in api.run("local/p/live").scan_history()] == list(range(150))


def test_an_artifact_up_through_one_replica_down_through_another(cluster: Cluster, tmp_path: Path) -> None:
    a, b = cluster.replica("a"), cluster.replica("b")
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
    api = cluster.api(b)
    versions = api.artifact_versions("model", "local/p/weights")
    assert [(v.version, v.aliases) for v in versions] == [("v0", ["is-one"]), ("v1", ["is-two", "latest"])]
    got = Path(api.artifact("local/p/weights:is-one").download(str(tmp_path / "down")))
    assert (got / "weights.bin").read_bytes() == b"one" * 1000
