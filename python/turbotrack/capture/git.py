"""Git state of the working directory: commit, branch, remote, and the uncommitted diff.

Runs the ``git`` binary with a timeout, no prompts and no optional locks (so it never fights the
user's own git commands for ``index.lock``). No ``git`` on PATH, or not inside a work tree: nothing
is recorded and nothing is raised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from . import spawn

#: Seconds one quick git command (rev-parse, config) may take.
QUICK_TIMEOUT = 10.0
#: Seconds ``git diff`` may take.
DIFF_TIMEOUT = 60.0
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
#: Arguments that make ``git diff`` print a patch ``git apply`` takes, whatever the user's config.
DIFF_ARGS = (
    "diff",
    "HEAD",
    "--binary",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


def _git(cwd: Path, *args: str, timeout: float = QUICK_TIMEOUT) -> Optional[str]:
    """stdout of ``git args`` (stripped), or ``None`` when git is missing or fails."""
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        done = spawn.run([exe, *args], cwd=cwd, env={**os.environ, **_ENV}, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace").strip()


def redact_url(url: str) -> str:
    """``url`` without a password or token (``https://user:secret@host/x`` -> ``https://user@host/x``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None or not parts.hostname:
        return url
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def git_info(cwd: Path) -> Optional[dict[str, Optional[str]]]:
    """``{"commit", "branch", "remote"}`` for the work tree holding ``cwd``; ``None`` outside one.

    ``commit`` is ``None`` before the first commit, ``branch`` on a detached HEAD, ``remote``
    without remotes (``origin`` is preferred, else the first one).
    """
    if _git(cwd, "rev-parse", "--is-inside-work-tree") != "true":
        return None
    commit = _git(cwd, "rev-parse", "--verify", "-q", "HEAD")
    branch = _git(cwd, "symbolic-ref", "--short", "-q", "HEAD")
    remote = _git(cwd, "config", "--get", "remote.origin.url")
    if not remote:
        names = (_git(cwd, "remote") or "").split()
        remote = _git(cwd, "config", "--get", f"remote.{names[0]}.url") if names else None
    return {
        "commit": commit or None,
        "branch": branch or None,
        "remote": redact_url(remote) if remote else None,
    }


def write_diff(cwd: Path, target: Path) -> bool:
    """Write ``git diff HEAD --binary`` (tracked changes, staged or not) to ``target`` if non-empty.

    The patch has paths relative to the repository root, so ``git apply`` at the root of a clean
    checkout of the same commit accepts it. Returns whether a patch was written.
    """
    exe = shutil.which("git")
    root = _git(cwd, "rev-parse", "--show-toplevel") if exe else None
    if exe is None or not root or _git(cwd, "rev-parse", "--verify", "-q", "HEAD") is None:
        return False
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with open(tmp, "wb") as out:
            done = spawn.run(
                [exe, *DIFF_ARGS],
                cwd=root,  # so that a diff.relative config cannot make paths subfolder-relative
                env={**os.environ, **_ENV},
                stdout=out,
                timeout=DIFF_TIMEOUT,
            )
            out.flush()
            os.fsync(out.fileno())
        if done.returncode == 0 and tmp.stat().st_size > 0:
            os.replace(tmp, target)
            return True
        return False
    finally:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
