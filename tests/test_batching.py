"""Batching presets reach runs made by init(): $TURBOTRACK_BATCHING picks when the writer seals
blocks unless settings give a flush_interval (docs/design.md, "Batching")."""

from __future__ import annotations

import time

import pytest
from conftest import NO_CAPTURE, api_run

import turbotrack


def _rows_on_disk(run) -> int:
    return len(api_run(run).history(pandas=False))


def _wait_for_rows(run, n: int, timeout: float = 60) -> int:
    """Rows on disk once ``n`` are there, or what is there after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while _rows_on_disk(run) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return _rows_on_disk(run)


def test_never_seals_on_time_and_always_seals_every_row(root, monkeypatch):
    monkeypatch.setenv("TURBOTRACK_BATCHING", "never")
    run = turbotrack.init(project="b", settings=NO_CAPTURE)
    run.log({"x": 1.0})
    time.sleep(1.5)  # past the default 1 s flush interval: still nothing sealed
    assert _rows_on_disk(run) == 0
    run.finish()
    assert _rows_on_disk(run) == 1

    monkeypatch.setenv("TURBOTRACK_BATCHING", "always")
    monkeypatch.setenv("TURBOTRACK_FLUSH_INTERVAL", "3600")  # no seal on time: only a one-row block seals it
    run = turbotrack.init(project="b", settings=NO_CAPTURE)
    run.log({"x": 1.0})
    assert _wait_for_rows(run, 1) == 1
    run.finish()


def test_a_flush_interval_in_settings_wins_over_the_preset(root, monkeypatch):
    monkeypatch.setenv("TURBOTRACK_BATCHING", "never")
    run = turbotrack.init(project="b", settings={**NO_CAPTURE, "flush_interval": 0.1})
    run.log({"x": 1.0})
    assert _wait_for_rows(run, 1) == 1
    run.finish()


def test_a_bad_preset_is_an_error_naming_the_variable(root, monkeypatch):
    monkeypatch.setenv("TURBOTRACK_BATCHING", "sometimes")
    with pytest.raises(ValueError, match="TURBOTRACK_BATCHING"):
        turbotrack.init(project="b", settings=NO_CAPTURE)
