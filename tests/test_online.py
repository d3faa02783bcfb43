"""Online mode that tells the truth: a key the server refuses is said at once and stops the uploader
(``finish()`` then waits for nothing), and ``mode="online"`` with no server says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NO_CAPTURE
from serverkit import ServerProc, make_key

import turbotrack

REFUSED_CHILD = """
import json, sys, time, turbotrack
settings = {{**{settings}, "sync_interval": 0.1, "sync_timeout": 3600}}
run = turbotrack.init(project="online", mode="online", settings=settings)
run.log({{"x": 1}})
up = run._life.upload.uploader
deadline = time.monotonic() + 120
while up.refused is None and time.monotonic() < deadline:  # said while the run still logs
    time.sleep(0.05)
print(json.dumps({{"refused_before_finish": up.refused is not None}}), flush=True)
for i in range(10):
    run.log({{"x": i}})
run.finish()  # a finish() that waited for sync_timeout would not return within the test's time
print(json.dumps({{"alive": up._thread.is_alive(), "path": run.path, "offline": run.offline}}), flush=True)
"""


@pytest.fixture
def server(tmp_path: Path):
    with ServerProc(tmp_path / "server") as s:
        yield s


@pytest.mark.parametrize("which", ["wrong", "read-only"])
def test_a_refused_key_is_said_at_once_and_stops_the_uploader(tmp_path, server, which):
    if which == "wrong":
        key, status = "tt_000000000000_not-a-key-the-server-knows", 401
    else:
        key, status = make_key(server.root, "local", read_only=True)[1], 403
    env = {
        **os.environ,
        "TURBOTRACK_DIR": str(tmp_path / "client"),
        "TURBOTRACK_BASE_URL": server.url,
        "TURBOTRACK_API_KEY": key,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    code = REFUSED_CHILD.format(settings=repr(NO_CAPTURE))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, last = (json.loads(line) for line in out.stdout.splitlines())
    assert first == {"refused_before_finish": True}
    assert last["alive"] is False and last["offline"] is False
    said = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(said) == 1, said  # one line, and no "not yet fully on ..." warning from finish()
    line = said[0]
    assert line.startswith("turbotrack: ERROR ") and server.url in line and f"HTTP {status}" in line, line
    assert ("turbotrack keys create" in line) if status == 401 else ("read-write key" in line), line
    assert f"turbotrack sync {tmp_path / 'client' / 'turbotrack' / last['path']}" in line
    # the run is whole on disk, and with a good key a sync completes it
    local = turbotrack.Api(dir=tmp_path / "client").run(last["path"])
    assert local.state == "finished" and len(local.history(pandas=False)) == 11
    good = make_key(server.root, "local")[1]
    run_dir = str(tmp_path / "client" / "turbotrack" / last["path"])
    done = subprocess.run(
        [sys.executable, "-m", "turbotrack", "sync", run_dir, "--base-url", server.url, "--api-key", good],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert turbotrack.Api(base_url=server.url, api_key=good).run(last["path"]).state == "finished"


NO_SERVER_CHILD = """
import turbotrack
for _ in range(2):
    run = turbotrack.init(project="p", mode="online", settings={settings})
    run.log({{"x": 1}})
    print(run.offline, flush=True)
    run.finish()
"""


def test_online_with_no_server_configured_warns_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOTRACK_BASE_URL", "WANDB_BASE_URL")}
    env.update(TURBOTRACK_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    code = NO_SERVER_CHILD.format(settings=repr(NO_CAPTURE))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
    said = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("turbotrack: WARNING mode='online' but no server"), said
    assert "turbotrack login" in said[0] and "turbotrack sync" in said[0]
    assert len(turbotrack.Api(dir=tmp_path).runs("local/p")) == 2  # written locally all the same


def test_online_uploads_to_the_server_turbotrack_login_saved(tmp_path, server):
    key = make_key(server.root, "local")[1]
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOTRACK_BASE_URL", "TURBOTRACK_API_KEY")}
    env.update(TURBOTRACK_DIR=str(tmp_path / "client"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    login = [sys.executable, "-m", "turbotrack", "login", "--base-url", server.url, key]
    assert subprocess.run(login, env=env, capture_output=True, timeout=60).returncode == 0
    code = (
        "import turbotrack\n"
        f"run = turbotrack.init(project='p', mode='online', settings={NO_CAPTURE!r})\n"
        "run.log({'x': 1}); print(run.path, run.offline, flush=True); run.finish()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    path, offline = out.stdout.split()
    assert offline == "False"
    remote = turbotrack.Api(base_url=server.url, api_key=key).run(path)
    assert remote.state == "finished" and [r["x"] for r in remote.scan_history()] == [1]


def test_online_with_no_server_is_quiet_when_silent(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TURBOTRACK_BASE_URL", "WANDB_BASE_URL")}
    env.update(TURBOTRACK_DIR=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    code = NO_SERVER_CHILD.format(settings=repr({**NO_CAPTURE, "silent": True}))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.split() == ["True", "True"] and out.stderr == "", out.stderr
