"""The suite's own guard: a test that leaves a child process running fails, and the child is killed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

LEAKY = """
import subprocess, sys
from pathlib import Path

def test_leaves_a_child(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    Path({pidfile!r}).write_text(str(child.pid))

def test_reaps_its_child(spawn):
    spawn([sys.executable, "-c", "import time; time.sleep(600)"])
"""


def test_a_test_that_leaves_a_child_running_fails_and_the_child_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(LEAKY.format(pidfile=str(pidfile))))
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "2 passed, 1 error" in out.stdout and "ERROR test_leaky.py::test_leaves_a_child" in out.stdout, out.stdout
    assert "the test left child processes running (killed now)" in out.stdout and "time.sleep(600)" in out.stdout
    pid = int(pidfile.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
