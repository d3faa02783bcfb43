"""Artifacts: versioned sets of files (datasets, model checkpoints): the SDK's ``Artifact`` facade.

How they are stored (manifests, content-addressed blobs, aliases) is :mod:`turbotrack.store.artifacts`,
which sync, the server and the readers use too. Logging an artifact whose files are those of its
latest version makes no new version (as wandb): the aliases are added to that version. A run
records what it logged and used in ``artifacts.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional, Sequence, Union
from urllib.parse import unquote, urlparse

from ._artifact_manifest import ManifestError, check_path
from ._fs import atomic_copy, atomic_write_bytes, read_json
from .store import artifacts as storage
from .store.artifacts import ARTIFACTS_DIR, BLOBS_DIR, RUN_RECORD, parse_name, sha256_file

_NAME_OK = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass
class ArtifactEntry:
    """One file of an artifact: its ``path`` inside the artifact, ``digest`` (sha256, or the URI of a
    reference that is not checksummed), ``size``, and ``ref`` (the URI of a reference, else ``None``)."""

    path: str
    digest: str
    size: Optional[int]
    ref: Optional[str] = None
    _source: Optional[str] = None  # where the content is before logging
    _artifact: Optional[Artifact] = None

    def download(self, root: Optional[str] = None) -> str:
        """Copy this file out of the store under ``root`` (default: the artifact's download folder)."""
        if self._artifact is None:
            raise ValueError(f"entry {self.path!r} belongs to no artifact")
        return self._artifact._materialize(self, Path(root or self._artifact._default_root()))


class Artifact:
    """A versioned set of files: ``Artifact(name, type, description=None, metadata=None)``.

    Add content with :meth:`add_file`, :meth:`add_dir`, :meth:`new_file` and :meth:`add_reference`,
    then ``run.log_artifact(artifact, aliases=[...])``. A logged or used artifact (``run.use_artifact``,
    ``Api().artifact``) has ``version`` ("v0", "v1", ...), ``aliases`` and :meth:`download`.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: Optional[str] = None,
        metadata: Optional[dict[str, Any]] = None,
        incremental: bool = False,
        use_as: Optional[str] = None,
    ) -> None:
        if not name or not _NAME_OK.match(name):
            raise ValueError(f"artifact name {name!r} may hold only letters, digits, '-', '_' and '.'")
        if not type:
            raise ValueError("an artifact needs a type, e.g. 'model' or 'dataset'")
        self._base_name = name
        self.type = type
        self.description = description
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.incremental = incremental
        self._entries: dict[str, ArtifactEntry] = {}
        self._staging: Optional[tempfile.TemporaryDirectory[str]] = None
        self._version: Optional[int] = None
        self._aliases: list[str] = []
        self._project_dir: Optional[Path] = None
        self.entity: Optional[str] = None
        self.project: Optional[str] = None
        self.created_at: Optional[float] = None
        self.logged_by: Optional[str] = None

    # ---------------------------------------------------------------------------------------------
    # Building

    def _check_mutable(self) -> None:
        if self._version is not None:
            raise ValueError(f"artifact {self.name} is logged and cannot change; make a new Artifact")

    def _stage_dir(self) -> Path:
        if self._staging is None:
            self._staging = tempfile.TemporaryDirectory(prefix="turbotrack-artifact-")
        return Path(self._staging.name)

    def _add(self, entry: ArtifactEntry, overwrite: bool) -> ArtifactEntry:
        if entry.path in self._entries and not overwrite and self._entries[entry.path].digest != entry.digest:
            raise ValueError(f"artifact {self.name} already holds a different file at {entry.path!r}")
        entry._artifact = self
        self._entries[entry.path] = entry
        return entry

    def add_file(
        self,
        local_path: str,
        name: Optional[str] = None,
        is_tmp: Optional[bool] = False,
        skip_cache: Optional[bool] = False,
        policy: str = "mutable",
        overwrite: bool = False,
    ) -> ArtifactEntry:
        """Add the file ``local_path`` as ``name`` (default its file name). ``policy="mutable"`` (the
        default) copies it now, so later changes to the file do not reach the artifact; ``"immutable"``
        reads it when the artifact is logged."""
        self._check_mutable()
        if policy not in ("mutable", "immutable"):
            raise ValueError(f"policy must be 'mutable' or 'immutable', got {policy!r}")
        src = Path(local_path)
        if not src.is_file():
            raise ValueError(f"add_file: no such file {str(src)!r}")
        path = _entry_path(name or src.name)
        if policy == "mutable":
            staged = self._stage_dir() / "files" / path
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, staged)
            src = staged
        return self._add(ArtifactEntry(path, sha256_file(src), src.stat().st_size, _source=str(src)), overwrite)

    def add_dir(
        self, local_path: str, name: Optional[str] = None, skip_cache: Optional[bool] = False, policy: str = "mutable"
    ) -> None:
        """Add every file under the folder ``local_path``, at its relative path (under ``name/`` if given)."""
        root = Path(local_path)
        if not root.is_dir():
            raise ValueError(f"add_dir: no such folder {str(root)!r}")
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            for f in sorted(files):
                rel = (Path(dirpath) / f).relative_to(root).as_posix()
                self.add_file(str(Path(dirpath) / f), name=f"{name}/{rel}" if name else rel, policy=policy)

    @contextlib.contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: Optional[str] = None) -> Iterator[IO[Any]]:
        """Open a new file ``name`` in the artifact for writing: ``with artifact.new_file("a.txt") as f: ...``."""
        self._check_mutable()
        path = _entry_path(name)
        if path in self._entries:
            raise ValueError(f"artifact {self.name} already holds {path!r}")
        target = self._stage_dir() / "new" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        open_mode = mode.replace("x", "w") if "x" in mode else mode
        with open(target, open_mode, encoding=encoding if "b" not in open_mode else None) as fh:
            yield fh
        self._add(ArtifactEntry(path, sha256_file(target), target.stat().st_size, _source=str(target)), False)

    def add_reference(
        self, uri: Union[str, Any], name: Optional[str] = None, checksum: bool = True, max_objects: Optional[int] = None
    ) -> Sequence[ArtifactEntry]:
        """Add a reference to ``uri`` without copying it. A ``file://`` reference to a file (or a folder:
        every file in it) is checksummed when ``checksum``; other schemes are kept as their URI."""
        self._check_mutable()
        uri = str(uri)
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            path = _entry_path(name or (Path(parsed.path).name or parsed.netloc))
            return [self._add(ArtifactEntry(path, uri, None, ref=uri), True)]
        local = Path(unquote(parsed.path))
        if local.is_dir():
            files = sorted(p for p in local.rglob("*") if p.is_file())[: max_objects or None]
            base = _entry_path(name) + "/" if name else ""
            return [self._add_local_ref(p, base + p.relative_to(local).as_posix(), checksum) for p in files]
        if not local.is_file():
            raise ValueError(f"add_reference: no such file or folder {str(local)!r}")
        return [self._add_local_ref(local, _entry_path(name or local.name), checksum)]

    def _add_local_ref(self, p: Path, path: str, checksum: bool) -> ArtifactEntry:
        uri = p.resolve().as_uri()
        digest = sha256_file(p) if checksum else uri
        return self._add(ArtifactEntry(path, digest, p.stat().st_size, ref=uri), True)

    def remove(self, item: Union[str, ArtifactEntry]) -> None:
        """Take a file out of an artifact not yet logged."""
        self._check_mutable()
        self._entries.pop(item.path if isinstance(item, ArtifactEntry) else _entry_path(item))

    # ---------------------------------------------------------------------------------------------
    # Reading

    @property
    def name(self) -> str:
        """The name; ``name:vN`` once logged or fetched."""
        return self._base_name if self._version is None else f"{self._base_name}:v{self._version}"

    @property
    def source_name(self) -> str:
        return self.name

    @property
    def version(self) -> Optional[str]:
        """``"vN"`` once logged or fetched, else ``None``."""
        return None if self._version is None else f"v{self._version}"

    @property
    def aliases(self) -> list[str]:
        """The aliases of this version (``latest`` among them when it is the newest)."""
        return list(self._aliases)

    @property
    def qualified_name(self) -> str:
        """``entity/project/name:vN``."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    def digest(self) -> str:
        """A sha256 over the files' paths and digests: equal contents give equal digests."""
        h = hashlib.sha256()
        for path in sorted(self._entries):
            h.update(f"{path}\0{self._entries[path].digest}\n".encode())
        return h.hexdigest()

    @property
    def manifest(self) -> dict[str, ArtifactEntry]:
        """Each file's entry, by its path in the artifact."""
        return dict(self._entries)

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self._entries.values())

    def files(self) -> list[ArtifactEntry]:
        """The entries, ordered by path."""
        return [self._entries[p] for p in sorted(self._entries)]

    def get_entry(self, name: str) -> ArtifactEntry:
        """The entry at ``name`` (KeyError when there is none)."""
        try:
            return self._entries[_entry_path(name)]
        except KeyError:
            raise KeyError(f"artifact {self.name} has no file {name!r}; it has {sorted(self._entries)}") from None

    get_path = get_entry

    def _default_root(self) -> str:
        return os.path.join(".", "artifacts", self.name)

    def download(
        self,
        root: Optional[str] = None,
        allow_missing_references: bool = False,
        skip_cache: Optional[bool] = None,
        path_prefix: Optional[str] = None,
    ) -> str:
        """Copy the files into ``root`` (default ``./artifacts/<name>:vN``); returns that folder. Local
        references are copied from where they point; others cannot be fetched here and are skipped
        with a warning (an error unless ``allow_missing_references``)."""
        target = Path(root or self._default_root())
        for entry in self.files():
            if path_prefix and not entry.path.startswith(path_prefix):
                continue
            try:
                self._materialize(entry, target)
            except FileNotFoundError as e:
                if not allow_missing_references:
                    raise
                warnings.warn(str(e), stacklevel=2)
        return str(target)

    def _target(self, entry: ArtifactEntry, root: Path) -> Path:
        """Where ``entry`` lands under ``root``, its folders made; ``ValueError`` naming the entry when
        that would leave ``root`` or pass through a symlink (nothing is written then)."""
        try:
            parts = check_path(entry.path).split("/")
        except ManifestError as e:
            raise ValueError(f"artifact {self.name}: {e}") from None
        root.mkdir(parents=True, exist_ok=True)
        base = root.resolve()
        here = base
        for i, part in enumerate(parts):
            here = here / part
            if here.is_symlink():
                raise ValueError(
                    f"artifact {self.name}: entry {entry.path!r} is refused: {here} is a symlink "
                    f"(a download writes only real files and folders under {base})"
                )
            if i < len(parts) - 1:
                here.mkdir(exist_ok=True)
                if not here.is_dir():
                    raise ValueError(f"artifact {self.name}: entry {entry.path!r} is refused: {here} is not a folder")
        try:
            here.resolve().relative_to(base)
        except ValueError:
            raise ValueError(f"artifact {self.name}: entry {entry.path!r} would be written outside {base}") from None
        return here

    def _materialize(self, entry: ArtifactEntry, root: Path) -> str:
        dest = self._target(entry, root)
        if entry.ref is not None:
            if not entry.ref.startswith("file://"):
                raise FileNotFoundError(f"reference {entry.ref} of {self.name} cannot be fetched from here")
            src = Path(unquote(urlparse(entry.ref).path))
            if not src.is_file():
                raise FileNotFoundError(f"reference {entry.ref} of {self.name} points to no file any more")
            if entry.digest != entry.ref and sha256_file(src) != entry.digest:
                warnings.warn(f"{entry.ref} changed since artifact {self.name} was logged", stacklevel=3)
        elif self._project_dir is not None:
            src = storage.blob_path(self._project_dir, entry.digest)
        else:
            src = Path(entry._source or "")
        atomic_copy(src, dest)  # replaces whatever is at dest, never writes through it
        return str(root / entry.path)

    def get(self, name: str) -> Any:
        """A table stored with :meth:`add` (``name`` or ``name.table.json``), as a ``Table``."""
        from .data_types.table import Table

        key = name if name.endswith(".table.json") else f"{name}.table.json"
        entry = self.get_entry(key)
        with tempfile.TemporaryDirectory() as tmp:
            data = read_json(self._materialize(entry, Path(tmp)))
        return Table(columns=data["columns"], data=data["data"])

    def add(self, obj: Any, name: str) -> ArtifactEntry:
        """Add a ``Table`` (or any media with ``to_json``) as ``name.table.json``."""
        import json

        from .data_types.table import Table

        if not isinstance(obj, Table):
            raise TypeError(f"Artifact.add takes a turbotrack Table, got {type(obj).__name__}")
        with self.new_file(f"{name}.table.json", mode="w", encoding="utf-8") as fh:
            fh.write(json.dumps({"columns": obj.columns, "data": obj.data}, default=str))
        return self._entries[_entry_path(f"{name}.table.json")]

    def wait(self, timeout: Optional[int] = None) -> Artifact:
        """Logging is synchronous here: returns the artifact."""
        return self

    def is_draft(self) -> bool:
        return self._version is None

    def __repr__(self) -> str:
        return f"<turbotrack Artifact {self.name} type={self.type} files={len(self._entries)}>"


def _entry_path(name: str) -> str:
    """A name given when building an artifact (``\\`` and a leading ``/`` tolerated) as the path it gets
    in the manifest, which the server's check (``check_path``) accepts."""
    path = Path(name.replace("\\", "/")).as_posix().lstrip("/")
    if not path or path == "." or ".." in Path(path).parts:
        raise ValueError(f"{name!r} is not a path inside an artifact")
    try:
        return check_path(path)
    except ManifestError as e:
        raise ValueError(f"{name!r} is not a path inside an artifact: {e}") from None


def save(
    artifact: Artifact, project_dir: Path, aliases: Sequence[str] = (), run_path: Optional[str] = None
) -> Artifact:
    """Store ``artifact`` as a new version of its name in ``project_dir`` (or, when its files equal the
    latest version's, add ``aliases`` to that version); the artifact becomes that version."""
    if artifact._version is not None:
        raise ValueError(f"artifact {artifact.name} is logged already; make a new Artifact for a new version")
    files = {
        p: {"digest": e.digest, "size": e.size, **({"ref": e.ref} if e.ref else {})}
        for p, e in artifact._entries.items()
    }
    sources = {e.digest: Path(e._source or "") for e in artifact._entries.values() if e.ref is None}
    number = storage.save_version(
        project_dir,
        artifact._base_name,
        artifact.type,
        artifact.digest,
        files,
        sources,
        description=artifact.description,
        metadata=artifact.metadata,
        aliases=aliases,
        logged_by=run_path,
    )
    loaded = load(project_dir, artifact._base_name, f"v{number}")
    artifact.__dict__.update({k: v for k, v in loaded.__dict__.items() if k != "_staging"})
    for entry in artifact._entries.values():
        entry._artifact = artifact
    if artifact._staging is not None:
        artifact._staging.cleanup()
        artifact._staging = None
    return artifact


def from_manifest(name: str, manifest: dict[str, Any], version: int, aliases: Sequence[str]) -> Artifact:
    """The Artifact of a checked manifest (what :func:`turbotrack.store.artifacts.read_version` or a
    server answers)."""
    art = Artifact(name, manifest["type"], manifest.get("description"), manifest.get("metadata"))
    for path, f in manifest["files"].items():
        art._add(ArtifactEntry(path, f["digest"], f.get("size"), ref=f.get("ref")), True)
    art._version = version
    art._aliases = [str(a) for a in aliases]
    art.created_at = manifest.get("created_at")
    art.logged_by = manifest.get("logged_by")
    return art


def load(project_dir: Path, name: str, alias: str = "latest") -> Artifact:
    """Version ``alias`` (``latest``, ``vN``, or an alias given when logging) of artifact ``name``."""
    number, aliases, manifest = storage.read_version(project_dir, name, alias)
    art = from_manifest(name, manifest, number, aliases)
    art._project_dir = project_dir
    art.project, art.entity = project_dir.name, project_dir.parent.name
    return art


class RemoteArtifact(Artifact):
    """An artifact version on a server (``Api(base_url=...).artifact()``): ``fetch(digest)`` brings a
    file's bytes, which ``download()`` checks by sha256 before writing them."""

    _fetch: Callable[[str], bytes]

    def _materialize(self, entry: ArtifactEntry, root: Path) -> str:
        if entry.ref is not None:  # a URI the server keeps; never read from this machine (no file://)
            raise FileNotFoundError(
                f"reference {entry.ref} of {self.qualified_name} (entry {entry.path!r}) is not fetched from a server"
            )
        dest = self._target(entry, root)  # refused before a byte is fetched
        data = self._fetch(entry.digest)
        if hashlib.sha256(data).hexdigest() != entry.digest:
            raise ValueError(f"{entry.path} of {self.qualified_name}: the bytes received do not hash to {entry.digest}")
        atomic_write_bytes(dest, data)  # replaces whatever is at dest, never writes through it
        return str(root / entry.path)


def remote_artifact(
    name: str,
    manifest: dict[str, Any],
    version: int,
    aliases: Sequence[str],
    entity: str,
    project: str,
    fetch: Callable[[str], bytes],
) -> RemoteArtifact:
    """The :class:`RemoteArtifact` of a manifest a server sent (checked already)."""
    art = RemoteArtifact(name, manifest["type"], manifest.get("description"), manifest.get("metadata"))
    base = from_manifest(name, manifest, version, aliases)
    art.__dict__.update({k: v for k, v in base.__dict__.items() if k != "_staging"})
    for entry in art._entries.values():
        entry._artifact = art
    art.entity, art.project = entity, project
    art._fetch = fetch
    return art


def as_artifact(obj: Any, name: Optional[str], type: Optional[str], run_id: str) -> Artifact:
    """``obj`` if it is an Artifact, else a new one holding the file or folder at path ``obj`` (name
    ``run-<run_id>-<file name>`` and type ``unspecified`` unless given)."""
    if isinstance(obj, Artifact):
        return obj
    src = Path(str(obj))
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", src.name) or "files"
    art = Artifact(name or f"run-{run_id}-{safe}", type or "unspecified")
    if src.is_dir():
        art.add_dir(str(src))
    else:
        art.add_file(str(src))
    return art


def record(run_dir: Path, action: str, artifact: Artifact, record_file: str = RUN_RECORD) -> None:
    """Note in the run's ``artifacts.json`` that it ``logged`` or ``used`` ``artifact``."""
    storage.record(run_dir, action, artifact.qualified_name, artifact.type, record_file)


__all__ = [
    "ARTIFACTS_DIR",
    "BLOBS_DIR",
    "Artifact",
    "ArtifactEntry",
    "RemoteArtifact",
    "as_artifact",
    "from_manifest",
    "load",
    "parse_name",
    "record",
    "remote_artifact",
    "save",
    "sha256_file",
]
