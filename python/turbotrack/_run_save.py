"""``run.save``: files copied into the run's ``files/`` folder, with wandb's paths and upload policies.

wandb links a saved file into its run folder and uploads it by ``policy``: ``"now"`` once, at the
call; ``"live"`` at the call and again whenever it changes; ``"end"`` when the run finishes. A
turbotrack run folder holds its own copies (it is moved and synced whole), so the policies read:

- ``"now"``: copied at the call; later changes of the source are not the run's;
- ``"live"``: copied at the call, and again at ``finish()`` if the source changed since: the run keeps
  the file's last version, as wandb's server does;
- ``"end"``: copied at ``finish()``, with the content the file has then (``save()`` returns the paths
  the copies will have), so the uploader sends it once, at the end.
"""

from __future__ import annotations

import glob as globlib
import os
import shutil
import warnings
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from . import errors
from .compat.term import termlog, termwarn
from .store import layout

POLICIES = ("live", "now", "end")


def _stamp(path: str) -> Optional[tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class FileSaver:
    """The files one process of a run saved; :meth:`finish` brings the ``live`` and ``end`` ones up to date."""

    def __init__(self, run_dir: Path, run_id: str, claim: Callable[[Iterable[str]], None]) -> None:
        self._files = (run_dir / layout.FILES_DIR).resolve()
        self._run_id = run_id
        self._claim = claim
        self._finished = False
        #: files/ path -> (source, policy, the source's size and mtime when last copied)
        self._pending: dict[Path, tuple[str, str, Optional[tuple[int, int]]]] = {}

    def save(
        self,
        glob_str: Union[str, bytes, os.PathLike[str]],
        base_path: Optional[Union[str, os.PathLike[str]]] = None,
        policy: str = "live",
        glob: bool = True,
    ) -> list[str]:
        """See :meth:`turbotrack.Run.save`."""
        if self._finished:
            raise errors.UsageError(
                f"Run ({self._run_id}) is finished. The call to `save` will be ignored. "
                "Please make sure that you are using an active run."
            )
        if isinstance(glob_str, bytes):
            glob_str = glob_str.decode("utf-8")
        text = os.fspath(glob_str)
        if text.startswith(("gs://", "s3://")):
            termlog(f"{text} is a cloud storage url, can't save file to the run.")
            return []
        if policy not in POLICIES:
            raise ValueError(f"save(policy=): policy must be 'live', 'now' or 'end', got {policy!r}")
        pattern, base = self._paths(text, base_path)
        if glob:
            matches = sorted(globlib.glob(pattern, recursive=True))
        else:
            matches = [pattern] if os.path.lexists(pattern) else []
        out = []
        for match in matches:
            src = os.path.abspath(match)
            if not os.path.isfile(src):
                continue
            dest = self._dest(text, src, base)
            if policy == "end":
                self._pending[dest] = (src, policy, None)
            else:
                self._copy(src, dest)
                if policy == "live":
                    self._pending[dest] = (src, policy, _stamp(src))
                else:
                    self._pending.pop(dest, None)
            out.append(str(dest))
        if policy != "end":
            self._claim(self._rels(Path(p) for p in out))
        return out

    def _paths(self, text: str, base_path: Optional[Union[str, os.PathLike[str]]]) -> tuple[str, str]:
        """The absolute glob and base folder. No ``base_path``: the current folder for a relative glob; for
        an absolute one, the folder above the file's (one folder kept, as wandb), or above the first folder
        with a wildcard (which wandb refuses: its glob may not start with ``*`` below the base)."""
        pattern = os.path.abspath(text)
        if base_path is not None:
            base = os.path.abspath(os.fspath(base_path))
        elif os.path.isabs(text):
            termwarn(
                "Saving files without folders. If you want to preserve subdirectories pass base_path to "
                'save, i.e. save("/mnt/folder/file.h5", base_path="/mnt")',
                repeat=False,
            )
            base = os.path.dirname(os.path.dirname(pattern))
            while globlib.has_magic(base):
                base = os.path.dirname(base)
        else:
            base = os.getcwd()
        if os.path.commonpath([base, pattern]) != base or base == pattern:
            raise ValueError(
                f"save({text!r}, base_path={base_path!r}): the base path {base} is not a folder above the "
                "files; pass a base_path that is an ancestor of the glob (paths under files/ are relative to it)"
            )
        return pattern, base

    def _dest(self, text: str, src: str, base: str) -> Path:
        rel = os.path.relpath(src, base)
        dest = self._files / rel
        if rel.split(os.sep, 1)[0] == os.pardir or self._files not in dest.resolve().parents:
            raise ValueError(f"save({text!r}): {src} would land outside the run's files/ folder; refused")
        return dest

    def _copy(self, src: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)

    def _rels(self, dests: Iterable[Path]) -> list[str]:
        return [f"{layout.FILES_DIR}/{Path(os.path.relpath(p, self._files)).as_posix()}" for p in dests]

    def finish(self) -> None:
        """At ``finish()``: copy the ``end`` files, and the ``live`` ones whose source changed. A source
        that cannot be read is a warning naming it (a ``live`` file keeps its last copy); no file stops
        the run from finishing."""
        done = []
        for dest, (src, policy, stamp) in sorted(self._pending.items()):
            now = _stamp(src)
            if policy == "live" and (now is None or now == stamp):
                continue
            try:
                self._copy(src, dest)
            except OSError as e:
                warnings.warn(f"turbotrack: save({src!r}, policy={policy!r}): copying it failed: {e}", stacklevel=4)
                continue
            self._pending[dest] = (src, policy, now)
            done.append(dest)
        self._claim(self._rels(done))
        self._finished = True

    def reopen(self) -> None:
        """A retried ``finish()``, or a forked child (whose parent's saves are the parent's)."""
        self._finished = False

    def forget(self) -> None:
        """In a forked child: the saves made before the fork are the parent's to finish."""
        self._pending.clear()


def main_program() -> Optional[str]:
    """The script this process runs, as wandb finds it: ``$WANDB_PROGRAM``, else ``__main__.__file__``
    (None for ``-m module``, ``-c`` and an interactive session)."""
    program = os.environ.get("TURBOTRACK_PROGRAM") or os.environ.get("WANDB_PROGRAM")
    if program:
        return program
    import __main__

    if getattr(__main__, "__spec__", None) is not None:
        return None
    return getattr(__main__, "__file__", None)


def _code_root(cwd: str) -> str:
    """The work tree's top folder holding ``cwd`` (a ``.git`` beside it), else ``cwd``."""
    folder = cwd
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return cwd
        folder = parent


def save_code(run_dir: Path) -> Optional[Path]:
    """``init(save_code=True)``: copy the main script to ``files/code/<its path from the git root, else the
    current folder>`` (wandb's ``code/<program_relpath>``); nothing for a script outside that folder or
    no script at all. Returns the copy's path."""
    program = main_program()
    if not program:
        return None
    cwd = os.getcwd()
    path = os.path.abspath(os.path.join(cwd, program))
    root = _code_root(cwd)
    rel = os.path.relpath(path, root)
    if not os.path.isfile(path) or rel.split(os.sep, 1)[0] == os.pardir:
        return None
    dest = run_dir / layout.FILES_DIR / "code" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return dest
