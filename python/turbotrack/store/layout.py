"""The one place that spells out the storage layout: the root, a run's folder, and every file in it.

A storage root holds ``turbotrack/<entity>/<project>/<run_id>/``; that folder holds::

    run.json  config.json  summary.json  metrics.json  metadata.json  alerts.json  artifacts.json
                                   (rank 0; rank k > 0 of a shared run: name.r<k>.json)
    history.ttrk  system.ttrk      (a shared run: history.r<k>.ttrk, system.r<k>.ttrk for every rank k)
    history.r<k>.p<pid>.ttrk       (a process forked from rank k that logs)
    output.log (output.r<k>.log)  requirements.txt  diff.patch
    media/  tensors/  files/       (logged media, summary tensors, ``save()``d files)

Artifacts live beside the runs of their project, in ``<entity>/<project>/artifacts/`` (ARTIFACTS_DIR).
Readers use the globs below; sync and the server use :func:`classify` to know how a file grows.
What lists a root or a run folder (:func:`iter_run_dirs`, :func:`run_files`) skips symbolic links:
a link planted under a root never leads out of it; :func:`safe_file` checks one path the same way.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union
from urllib.parse import quote

from .. import _envvars
from .names import check_name, is_valid_name

StrPath = Union[str, "os.PathLike[str]"]

ROOT_DIRNAME = "turbotrack"
ROOT_ENV = "TURBOTRACK_DIR"

RUN = "run.json"
CONFIG = "config.json"
SUMMARY = "summary.json"
METRICS = "metrics.json"
METADATA = "metadata.json"
ALERTS = "alerts.json"
ARTIFACTS = "artifacts.json"
OUTPUT = "output.log"
REQUIREMENTS = "requirements.txt"
DIFF = "diff.patch"
HISTORY = "history.ttrk"
SYSTEM = "system.ttrk"
MEDIA_DIR = "media"
TENSORS_DIR = "tensors"
FILES_DIR = "files"
ARTIFACTS_DIR = "artifacts"

HISTORY_GLOB = "history*.ttrk"
SYSTEM_GLOB = "system*.ttrk"
RUN_GLOB = "run*.json"
CONFIG_GLOB = "config.r*.json"
SUMMARY_GLOB = "summary.r*.json"
METRICS_GLOB = "metrics*.json"
STREAM_GLOBS = {"default": HISTORY_GLOB, "history": HISTORY_GLOB, "system": SYSTEM_GLOB}

# How each file of a run folder changes, for sync and the server:
STREAM = "stream"  # history/system: CRC-framed blocks, appended only (upload by offset, checked block by block)
APPEND = "append"  # output.log: text, appended only (upload by offset)
REPLACE = "replace"  # JSON state files: rewritten atomically (upload whole when changed)
BLOB = "blob"  # media, tensors, saved files, requirements, diff: written once (upload whole)

_RANKED = re.compile(r"^(?P<stem>run|config|summary|metrics|metadata|alerts|artifacts)(?:\.r(?P<rank>\d+))?\.json$")
_STREAM = re.compile(r"^(?P<stem>history|system)(?:\.r(?P<rank>\d+)(?:\.p(?P<pid>\d+))?)?\.ttrk$")
_OUTPUT = re.compile(r"^output(?:\.r(?P<rank>\d+))?\.log$")
# The process tag in a media or tensor file name (data_types.base.media_name, _summary.tensor_summary):
# ``<key>_<step>_r<k>[p<pid>]_<sha12><ext>`` and ``<key>~r<k>[p<pid>].npy``.
_MEDIA_TAG = re.compile(r"_\d+_r(?P<rank>\d+)(?:p\d+)?_[0-9a-f]{12}(?:\.[^_/]*)?$")
_TENSOR_TAG = re.compile(r"~r(?P<rank>\d+)(?:p\d+)?\.npy$")


def storage_root(dir: Optional[StrPath] = None) -> Path:
    """The folder that holds all runs: ``<dir>/turbotrack`` (dir: argument, ``$TURBOTRACK_DIR``, or cwd)."""
    base = dir if dir is not None else os.environ.get(ROOT_ENV) or os.getcwd()
    return Path(base).expanduser().resolve() / ROOT_DIRNAME


_ARTIFACT_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def check_part(what: str, value: str) -> str:
    """``value`` as one path part named ``what``, else a ``ValueError`` naming ``what``: an
    ``entity``, ``project`` or ``run id`` (``id``) by the one rule of :mod:`.names` (what wandb
    accepts, and one folder); anything else (an artifact's name or alias) letters, digits, ``_``,
    ``.`` and ``-``, at most 128, not starting with ``.`` or ``-``."""
    if what in ("entity", "project", "run id", "id"):
        return check_name("run id" if what == "id" else what, value)
    if not isinstance(value, str) or not _ARTIFACT_PART.match(value):
        raise ValueError(
            f"{what} {value!r} is not a valid name: use letters, digits, '_', '.' and '-' "
            "(at most 128, not starting with '.' or '-')"
        )
    return value


def is_folder_name(value: object, what: str = "run id") -> bool:
    """Whether ``value`` can be the ``what`` (entity, project, run id) of a run path: the one rule
    of :mod:`.names` (kept under this name for callers that only ask yes or no)."""
    return is_valid_name(what, value)


def default_entity(entity: Optional[str] = None) -> str:
    """``entity``, else ``$TURBOTRACK_ENTITY`` / ``$WANDB_ENTITY``, else ``"local"``: the entity of a
    run path that names none (``init()``, ``Api().run("project/id")``, sync, the server)."""
    return entity or _envvars.get("ENTITY") or "local"


def default_project(project: Optional[str] = None) -> str:
    """``project``, else ``$TURBOTRACK_PROJECT`` / ``$WANDB_PROJECT``, else ``"uncategorized"``."""
    return project or _envvars.get("PROJECT") or "uncategorized"


def ranked(name: str, rank: int, shared: bool) -> str:
    """A per-process file name: ``history.ttrk`` → ``history.r2.ttrk`` for rank 2 of a shared run.

    History and system streams are per rank for every rank of a shared run; other files only for
    ranks > 0 (rank 0 keeps the plain name, so a shared run reads like a single one)."""
    stem, dot, ext = name.partition(".")
    if shared and (rank or ext == "ttrk"):
        return f"{stem}.r{rank}{dot}{ext}"
    return name


def forked_history(rank: int, pid: int) -> str:
    """The history file of a process forked from rank ``rank`` with pid ``pid``."""
    return f"history.r{rank}.p{pid}.ttrk"


def classify(rel: str) -> Optional[str]:
    """How the file at ``rel`` (posix path relative to the run folder) grows: STREAM, APPEND, REPLACE
    or BLOB; None for a name that does not belong in a run folder (temporaries, hidden files)."""
    parts = rel.split("/")
    if any(not p or p in (".", "..") or p.startswith(".") for p in parts):
        return None
    if len(parts) > 1:
        return BLOB if parts[0] in (MEDIA_DIR, TENSORS_DIR, FILES_DIR) else None
    name = parts[0]
    if _STREAM.match(name):
        return STREAM
    if _OUTPUT.match(name):
        return APPEND
    if _RANKED.match(name):
        return REPLACE
    if name in (REQUIREMENTS, DIFF):
        return BLOB
    return None


def writer_rank(rel: str) -> int:
    """The rank of a shared run whose processes write the file at ``rel``: the rank in its name
    (``history.r2.ttrk``, ``history.r2.p77.ttrk``, ``run.r2.json``, ``output.r2.log``, media and
    tensors tagged ``r2`` or ``r2p77``); rank 0 for the plain names and the files shared by all ranks
    (requirements.txt, diff.patch, ``files/``, an untagged media file)."""
    parts = rel.split("/")
    name = parts[-1]
    if len(parts) > 1:
        tag = _MEDIA_TAG.search(name) if parts[0] == MEDIA_DIR else None
        if parts[0] == TENSORS_DIR:
            tag = _TENSOR_TAG.search(name)
    else:
        tag = _STREAM.match(name) or _OUTPUT.match(name) or _RANKED.match(name)
    return int(tag.group("rank") or 0) if tag else 0


@dataclass(frozen=True)
class RunPath:
    """One run's path: ``entity/project/run_id``, each part checked by the one name rule
    (:mod:`.names`); with a ``root`` (it already ends in ``turbotrack``) also its folder,
    ``<root>/<entity>/<project>/<run_id>``. A remote run's path has no root."""

    root: Optional[Path]
    entity: str
    project: str
    run_id: str

    def __post_init__(self) -> None:
        check_name("entity", self.entity)
        check_name("project", self.project)
        check_name("run id", self.run_id)

    @property
    def dir(self) -> Path:
        """The run's folder (``ValueError`` for a path without a root)."""
        if self.root is None:
            raise ValueError(f"run {self.path} has no storage root: it names a run, not a folder")
        return self.root / self.entity / self.project / self.run_id

    @property
    def path(self) -> str:
        """``entity/project/run_id``, as ``Run.path`` and ``Api().run()`` spell it."""
        return f"{self.entity}/{self.project}/{self.run_id}"

    @property
    def url_path(self) -> str:
        """``entity/project/run_id`` with each part quoted for a URL (a space is ``%20``, ``/`` never appears)."""
        return "/".join(quote(p, safe="") for p in (self.entity, self.project, self.run_id))

    def page_url(self, base_url: str) -> str:
        """The run's page on the server at ``base_url``: ``<base>/<entity>/<project>/runs/<run_id>``, quoted."""
        e, p, r = (quote(x, safe="") for x in (self.entity, self.project, self.run_id))
        return f"{base_url.rstrip('/')}/{e}/{p}/runs/{r}"

    def under(self, root: Path) -> RunPath:
        """The same run in another storage root."""
        return RunPath(root, self.entity, self.project, self.run_id)

    @classmethod
    def parse(
        cls,
        path: str,
        root: Optional[Path] = None,
        *,
        entity: Optional[str] = None,
        project: Optional[str] = None,
    ) -> RunPath:
        """The run at ``entity/project/run_id``, ``entity/project/runs/run_id`` (wandb's URL form),
        ``project/run_id`` or, with a ``project``, ``run_id``. What is left out is ``entity`` (else
        :func:`default_entity`) and ``project``. A ``TypeError`` for what is not a string, a
        ``ValueError`` naming the path for any other shape or a name the rule refuses."""
        if not isinstance(path, str):
            raise TypeError(f"a run path is a string like 'entity/project/run_id', got {type(path).__name__}")
        parts = path.strip("/").split("/") if path.strip("/") else []
        if len(parts) == 4 and parts[2] == "runs":
            parts = [parts[0], parts[1], parts[3]]
        if len(parts) == 1 and project is not None:
            parts = [project, parts[0]]
        if len(parts) == 2:
            parts = [default_entity(entity), *parts]
        if len(parts) != 3:
            raise ValueError(
                f"{path!r} is not a run path: expected 'entity/project/run_id', 'project/run_id' "
                "or 'entity/project/runs/run_id'"
            )
        try:
            return cls(root, *parts)
        except ValueError as e:
            raise ValueError(f"{path!r} is not a run path: {e}") from None


def parse_project_path(path: str, entity: Optional[str] = None) -> tuple[str, str]:
    """``(entity, project)`` of ``"entity/project"`` or ``"project"`` (entity: ``entity``, else
    :func:`default_entity`); ``ValueError`` naming the path otherwise."""
    if not isinstance(path, str):
        raise TypeError(f"a project path is a string like 'entity/project', got {type(path).__name__}")
    parts = path.strip("/").split("/") if path.strip("/") else []
    if len(parts) == 1:
        parts = [default_entity(entity), parts[0]]
    if len(parts) != 2:
        raise ValueError(f"{path!r} is not a project path: expected 'entity/project' or 'project'")
    try:
        return check_name("entity", parts[0]), check_name("project", parts[1])
    except ValueError as e:
        raise ValueError(f"{path!r} is not a project path: {e}") from None


def run_path_of(run_dir: Path) -> RunPath:
    """The RunPath of a run folder ``<root>/<entity>/<project>/<run_id>`` (resolved first)."""
    run_dir = Path(run_dir).resolve()
    return RunPath(run_dir.parents[2], run_dir.parents[1].name, run_dir.parent.name, run_dir.name)


def _lstat(path: Path) -> Optional[os.stat_result]:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _is_plain(path: Path, mode_test: Callable[[int], bool]) -> bool:
    st = _lstat(path)
    return st is not None and mode_test(st.st_mode)


def is_plain_run_dir(path: Path) -> bool:
    """Whether ``path`` (``<root>/<entity>/<project>/<run_id>``) and its entity and project folders
    are real folders, not symbolic links (the root itself may be reached through one)."""
    return all(_is_plain(p, stat.S_ISDIR) for p in (path, path.parent, path.parent.parent))


def plain_files(paths: Iterable[Path]) -> list[Path]:
    """The paths that are regular files, not symbolic links (to anything)."""
    return [p for p in paths if _is_plain(p, stat.S_ISREG)]


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds a run (any rank has written its ``run*.json``); a symbolic link, to a
    folder or as its ``run*.json``, is none."""
    return _is_plain(path, stat.S_ISDIR) and bool(plain_files(path.glob(RUN_GLOB)))


def safe_file(root: Path, path: Path) -> Path:
    """``path`` when it is a regular file under ``root`` reached from it without a symbolic link (in
    any folder on the way, or as the file itself); ValueError when it is not under ``root`` (as
    written: ``..`` parts count as leaving), FileNotFoundError otherwise (missing, a folder, a link)."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        raise ValueError(f"{path} is not under the storage root {root}") from None
    if not rel.parts or any(p in ("", ".", "..") for p in rel.parts):
        raise ValueError(f"{path} is not under the storage root {root}")
    if not is_plain_dir(root, Path(path).parent) or not _is_plain(Path(path), stat.S_ISREG):
        raise FileNotFoundError(f"{path}: no such file under the storage root")
    return Path(path)


def is_plain_dir(root: Path, path: Path) -> bool:
    """Whether ``path`` is ``root`` or a folder under it reached without a symbolic link (in any
    folder on the way, or as the folder itself)."""
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        return False
    at = Path(root)
    for part in rel.parts:
        at = at / part
        if part in ("", ".", "..") or not _is_plain(at, stat.S_ISDIR):
            return False
    return True


def iter_run_dirs(root: Path, entity: Optional[str] = None, project: Optional[str] = None) -> Iterator[RunPath]:
    """Every run under the storage root (optionally one entity's, or one project's), sorted by name."""

    def subdirs(p: Path, only: Optional[str], kind: str) -> list[Path]:
        if only is not None:
            return [p / check_name(kind, only)]
        try:
            return sorted(d for d in p.iterdir() if is_valid_name(kind, d.name) and _is_plain(d, stat.S_ISDIR))
        except OSError:
            return []

    for e in subdirs(root, entity, "entity"):
        for p in subdirs(e, project, "project"):
            for r in subdirs(p, None, "run id"):
                if is_run_dir(r):
                    yield RunPath(root, e.name, p.name, r.name)


def run_files(run_dir: Path) -> Iterator[tuple[str, Path, str]]:
    """Every file of a run folder that belongs there: (posix name relative to it, path, kind), a
    folder's files by name, then its folders by name. Symbolic links are skipped: the run folder
    itself (or its project or entity) when it is one, a linked folder inside it, and a linked file.
    (A live run's uploader lists its folder every pass: one ``scandir`` a folder, a ``Path`` only
    for what belongs, ~6x cheaper than ``os.walk`` with a ``Path`` and an ``lstat`` a name.)"""
    if not is_plain_run_dir(run_dir):
        return
    yield from _files_under(Path(run_dir), "")


def _files_under(folder: Path, prefix: str) -> Iterator[tuple[str, Path, str]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    subdirs = []
    for e in entries:
        try:
            if e.is_file(follow_symlinks=False):
                kind = classify(prefix + e.name)
                if kind is not None:
                    yield prefix + e.name, folder / e.name, kind
            elif not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                subdirs.append(e.name)
        except OSError:  # gone meanwhile
            continue
    for name in subdirs:
        yield from _files_under(folder / name, f"{prefix}{name}/")
