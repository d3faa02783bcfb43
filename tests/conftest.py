"""Shared fixtures: runs in a temporary storage root, with automatic capture off unless a test
turns it on (capture has tests of its own); child processes started through :func:`spawn` and
reaped, and a test that leaves a child process running fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil
import pytest

import turbotrack

# Helpers Python starts once and keeps for the session: not a test's leak.
_SESSION_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _running_children() -> dict[int, psutil.Process]:
    out = {}
    for child in psutil.Process().children(recursive=False):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if any(h in " ".join(child.cmdline()) for h in _SESSION_HELPERS):
                continue
        except psutil.NoSuchProcess:
            continue
        out[child.pid] = child
    return out


@pytest.fixture(autouse=True)
def no_leaked_children(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a child process running (a server, a browser, a script it started):
    the child is killed and reaped, and the test fails naming it. Children of fixtures wider than a
    test (a module's server) were there before the test and are left alone; so are those of a test
    marked ``shared_children`` (a session's pool that works ahead starts them while the test runs,
    and reaps them itself)."""
    if request.node.get_closest_marker("shared_children"):
        yield
        return
    before = set(_running_children())
    yield
    leaked = {pid: p for pid, p in _running_children().items() if pid not in before}
    if not leaked:
        return
    names = []
    for p in leaked.values():
        try:
            names.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(list(leaked.values()), timeout=10)
    pytest.fail(f"the test left child processes running (killed now): {names}", pytrace=False)


@pytest.fixture
def spawn() -> Iterator[Callable[..., subprocess.Popen[Any]]]:
    """``spawn(args, **popen_kwargs)``: a child process, killed (if still running) and reaped when the
    test ends, whether it passed or failed."""
    children: list[subprocess.Popen[Any]] = []

    def start(args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        child = subprocess.Popen(args, **kwargs)
        children.append(child)
        return child

    yield start
    for child in children:
        reap(child)


def reap(child: subprocess.Popen[Any]) -> None:
    """Kill ``child`` if it still runs, wait for it and close its pipes."""
    if child.poll() is None:
        child.kill()
    child.wait(30)
    for pipe in (child.stdin, child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()


NO_CAPTURE = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A storage root; ``turbotrack.init()`` and ``Api()`` default to it."""
    monkeypatch.setenv("TURBOTRACK_DIR", str(tmp_path))
    monkeypatch.delenv("TURBOTRACK_BASE_URL", raising=False)
    monkeypatch.delenv("TURBOTRACK_MODE", raising=False)
    return tmp_path


@pytest.fixture
def new_run(root: Path) -> Callable[..., turbotrack.Run]:
    """``new_run(**init_kwargs)``: a run with capture off; finished at teardown."""
    runs: list[Any] = []

    def make(**kwargs: Any) -> turbotrack.Run:
        settings = {**NO_CAPTURE, **kwargs.pop("settings", {})}
        kwargs.setdefault("project", "tests")
        kwargs.setdefault("reinit", "finish_previous")  # each call a new run (wandb's default returns the live one)
        run = turbotrack.init(settings=settings, **kwargs)
        runs.append(run)
        return run

    yield make
    for r in runs:
        r.finish()


def api_run(run: Any) -> Any:
    return turbotrack.Api(dir=Path(run.dir).parents[3]).run(run.path)


def rows_of(run: Any) -> list[dict[str, Any]]:
    """Every committed row, without the automatic keys."""
    return [{k: v for k, v in r.items() if not k.startswith("_") or k == "_step"} for r in api_run(run).scan_history()]


def run_child(code: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=kwargs.pop("timeout", 60),
        **kwargs,
    )
