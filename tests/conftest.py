"""Shared fixtures: runs in a temporary storage root, with automatic capture off unless a test
turns it on (capture has tests of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

import turbotrack

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
