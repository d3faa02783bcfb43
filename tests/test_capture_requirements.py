"""requirements.txt: every installed distribution as name==version, from importlib.metadata."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from turbotrack.capture import Capture, _warn
from turbotrack.capture.requirements import installed, render
from turbotrack.settings import Settings


def run_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Path:
    opts: dict[str, Any] = {"capture_stdout": False, "capture_system": False, "capture_git": False}
    opts.update(settings)
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    monkeypatch.chdir(tmp_path)
    cap = Capture(tmp_path / "run", Settings(**opts), lambda row: None, {"id": "r"})
    cap.start()
    cap.stop()
    assert seen == []
    return tmp_path / "run" / "requirements.txt"


def test_requirements_hold_the_exact_installed_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run_capture(tmp_path, monkeypatch)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert f"pytest=={metadata.version('pytest')}" in lines
    assert f"psutil=={metadata.version('psutil')}" in lines
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+", line) for line in lines), lines
    names = [re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in lines]
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_capture_requirements_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not run_capture(tmp_path, monkeypatch, capture_requirements=False).exists()


def test_rank_other_than_zero_of_a_shared_run_leaves_requirements_to_rank_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not run_capture(tmp_path, monkeypatch, shared=True, rank=3).exists()


def test_first_on_sys_path_wins_and_names_are_normalised_for_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Dist:
        def __init__(self, name: str, version: str, headers: bool = True) -> None:
            self.text = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nName: body\n"
            self.metadata = {"Name": name}
            self.version = version
            self.headers = headers

        def read_text(self, filename: str) -> str | None:
            return self.text if self.headers and filename == "METADATA" else None

    class Broken:
        def read_text(self, filename: str) -> str:
            raise OSError("unreadable METADATA")

    dists = [
        Dist("Foo_Bar", "2.0"),
        Broken(),
        Dist("foo-bar", "1.0"),
        Dist("abc", "0.1"),
        Dist("Legacy", "3", headers=False),  # falls back to the parsed metadata
    ]
    monkeypatch.setattr(metadata, "distributions", lambda: iter(dists))
    assert installed() == [("abc", "0.1"), ("Foo_Bar", "2.0"), ("Legacy", "3")]
    assert render(installed()) == "abc==0.1\nFoo_Bar==2.0\nLegacy==3\n"
