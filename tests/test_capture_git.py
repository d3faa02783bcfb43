"""Git capture: commit, branch, remote in metadata.json; a diff.patch that applies to a clone."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from turbotrack.capture import Capture, _warn
from turbotrack.capture.git import git_info, redact_url
from turbotrack.settings import Settings

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No user git config, no repository above tmp_path; capture warnings recorded, not raised."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(key, raising=False)
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    return seen


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)
    return done.stdout.decode().strip()


def make_repo(root: Path) -> Path:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\nepochs = 3\n")
    (root / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (root / "pkg").mkdir()
    (root / "pkg" / "model.py").write_text("layers = 2\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "checkout", "-q", "-b", "feature/x")
    git(root, "remote", "add", "origin", "https://alice:s3cret@example.com/team/proj.git")
    return root


def capture_in(cwd: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> dict:
    opts: dict[str, Any] = {
        "capture_stdout": False,
        "capture_system": False,
        "capture_requirements": False,
    }
    opts.update(settings)
    monkeypatch.chdir(cwd)
    cap = Capture(run_dir, Settings(**opts), lambda row: None, {"id": "g"})
    cap.start()
    cap.stop()
    return json.loads((run_dir / "metadata.json").read_text())


@needs_git
def test_commit_branch_remote_and_a_patch_that_applies_to_a_clean_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_git: list[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text("lr = 0.01\nepochs = 3\nwarmup = 100\n")
    (repo / "weights.bin").write_bytes(bytes(range(255, -1, -1)) * 4)
    (repo / "pkg" / "model.py").unlink()
    (repo / "untracked.txt").write_text("not part of the patch\n")
    git(repo, "add", "pkg/model.py")  # a staged change is included too
    meta = capture_in(repo / "pkg", tmp_path / "run", monkeypatch)

    assert meta["git"] == {
        "commit": git(repo, "rev-parse", "HEAD"),
        "branch": "feature/x",
        "remote": "https://alice@example.com/team/proj.git",
    }
    patch = tmp_path / "run" / "diff.patch"
    assert patch.exists()
    assert b"untracked.txt" not in patch.read_bytes()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "feature/x")
    git(clone, "apply", "--check", str(patch))
    git(clone, "apply", str(patch))
    assert (clone / "train.py").read_text() == (repo / "train.py").read_text()
    assert (clone / "weights.bin").read_bytes() == (repo / "weights.bin").read_bytes()
    assert not (clone / "pkg" / "model.py").exists()
    assert isolated_git == []


@needs_git
def test_user_diff_config_does_not_change_the_patch_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    for key, value in (
        ("diff.noprefix", "true"),
        ("diff.relative", "true"),
        ("color.ui", "always"),
        ("diff.external", "false"),
    ):
        git(repo, "config", key, value)
    (repo / "train.py").write_text("lr = 0.5\n")
    capture_in(repo / "pkg", tmp_path / "run", monkeypatch)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "apply", "--check", str(tmp_path / "run" / "diff.patch"))


@needs_git
def test_clean_work_tree_gives_no_patch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    meta = capture_in(repo, tmp_path / "run", monkeypatch)
    assert meta["git"]["commit"] == git(repo, "rev-parse", "HEAD")
    assert not (tmp_path / "run" / "diff.patch").exists()


@needs_git
def test_repo_without_commits_or_remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "trunk")
    (repo / "a.txt").write_text("x\n")
    git(repo, "add", "a.txt")
    meta = capture_in(repo, tmp_path / "run", monkeypatch)
    assert meta["git"] == {"commit": None, "branch": "trunk", "remote": None}
    assert not (tmp_path / "run" / "diff.patch").exists()


def test_outside_a_repository_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_git: list[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    meta = capture_in(plain, tmp_path / "run", monkeypatch)
    assert meta["git"] == {"commit": None, "branch": None, "remote": None}
    assert not (tmp_path / "run" / "diff.patch").exists()
    assert isolated_git == []


@needs_git
def test_without_a_git_binary_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_git: list[str]
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text("changed\n")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    meta = capture_in(repo, tmp_path / "run", monkeypatch)
    assert meta["git"] == {"commit": None, "branch": None, "remote": None}
    assert not (tmp_path / "run" / "diff.patch").exists()
    assert isolated_git == []


@needs_git
def test_capture_git_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text("changed\n")
    meta = capture_in(repo, tmp_path / "run", monkeypatch, capture_git=False)
    assert meta["git"] == {"commit": None, "branch": None, "remote": None}
    assert not (tmp_path / "run" / "diff.patch").exists()


@needs_git
def test_remote_falls_back_to_the_first_remote(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "remove", "origin")
    git(repo, "remote", "add", "upstream", "git@example.com:team/proj.git")
    info = git_info(repo)
    assert info is not None and info["remote"] == "git@example.com:team/proj.git"
    git(repo, "checkout", "-q", "--detach")
    info = git_info(repo)
    assert info is not None and info["branch"] is None


def test_redact_url() -> None:
    assert redact_url("https://u:tok@host:8443/a.git") == "https://u@host:8443/a.git"
    assert redact_url("https://host/a.git") == "https://host/a.git"
    assert redact_url("git@host:a.git") == "git@host:a.git"
