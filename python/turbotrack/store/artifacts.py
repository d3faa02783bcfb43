"""Artifact storage: versioned manifests and content-addressed blobs under a project's folder, the
one implementation the SDK (``turbotrack.artifacts``), sync, the server and the readers use.

Layout under a project's folder (``<root>/turbotrack/<entity>/<project>/``)::

    artifacts/<name>/v<N>.json       the manifest of version N: type, metadata, and each file's sha256 and size
    artifacts/<name>/aliases.json    alias -> version ("latest" is the newest; an alias names one version at a time)
    artifacts/.blobs/<ab>/<sha256>   file contents, one copy per distinct content

A run records what it logged and used in its ``artifacts.json`` (:func:`record`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

from .._artifact_manifest import ManifestError, check_manifest
from .._fs import atomic_copy, atomic_write_json, read_json
from . import layout

ARTIFACTS_DIR = layout.ARTIFACTS_DIR
BLOBS_DIR = ".blobs"
ALIASES = "aliases.json"
RUN_RECORD = layout.ARTIFACTS
_VERSION = re.compile(r"^v(\d+)$")
_CHUNK = 1 << 20


def sha256_file(path: Union[str, os.PathLike[str]]) -> str:
    """The hex sha256 of a file's contents."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def project_dir(root: Path, entity: str, project: str) -> Path:
    """The folder of a project (its runs and its artifacts) under the storage root ``root``."""
    return root / layout.check_part("entity", entity) / layout.check_part("project", project)


def artifact_dir(project_dir: Path, name: str) -> Path:
    """The folder of artifact ``name``'s versions and aliases."""
    return project_dir / ARTIFACTS_DIR / name


def blob_path(project_dir: Path, digest: str) -> Path:
    """Where the content with sha256 ``digest`` is stored."""
    return project_dir / ARTIFACTS_DIR / BLOBS_DIR / digest[:2] / digest


def version_numbers(folder: Path) -> list[int]:
    """The versions stored in an artifact's folder, oldest first."""
    return sorted(int(p.stem[1:]) for p in folder.glob("v*.json") if p.stem[1:].isdigit())


def aliases_of(folder: Path) -> dict[str, int]:
    """alias -> version of an artifact's folder (empty when none)."""
    return read_json(folder / ALIASES, {}) or {}


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on an artifact's folder (across processes), made if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def store_blob(project_dir: Path, digest: str, src: Path) -> None:
    """Copy ``src`` in as the blob ``digest`` (read-only, written atomically), unless it is there;
    ``ValueError`` when ``src`` no longer hashes to ``digest``."""
    blob = blob_path(project_dir, digest)
    if blob.exists():
        return
    blob.parent.mkdir(parents=True, exist_ok=True)
    if sha256_file(src) != digest:
        raise ValueError(f"{src} changed after it was added to the artifact (policy='immutable'); add it again")
    atomic_copy(src, blob, mode=0o444)  # read-only: a blob never changes


def check_alias(alias: str) -> str:
    """``alias`` when it can name a version (no ``/`` or ``:``, not of the form ``vN``), else ``ValueError``."""
    if not alias or "/" in alias or ":" in alias or _VERSION.match(alias):
        raise ValueError(f"{alias!r} cannot be an alias (no '/', ':' and not of the form vN)")
    return alias


def save_version(
    project_dir: Path,
    name: str,
    type: str,
    digest: str,
    files: dict[str, dict[str, Any]],
    sources: dict[str, Path],
    *,
    description: Optional[str] = None,
    metadata: Optional[dict[str, Any]] = None,
    aliases: Sequence[str] = (),
    logged_by: Optional[str] = None,
) -> int:
    """Store a version of artifact ``name`` whose files are ``files`` (path -> ``{"digest", "size"[,
    "ref"]}``; the content of each stored digest read from ``sources[digest]``), or, when the latest
    version holds the same files (``digest``) and ``type``, add ``aliases`` to it (as wandb). Answers
    the version's number; ``latest`` moves forward only."""
    for alias in aliases:
        check_alias(alias)
    folder = artifact_dir(project_dir, name)
    with locked(folder):
        numbers = version_numbers(folder)
        alias_map = aliases_of(folder)
        latest = read_json(folder / f"v{numbers[-1]}.json") if numbers else None
        if latest is not None and latest.get("digest") == digest and latest.get("type") == type:
            number = int(latest["version"])
        else:
            number = numbers[-1] + 1 if numbers else 0
            for f in files.values():
                if f.get("ref") is None:
                    store_blob(project_dir, f["digest"], sources[f["digest"]])
            manifest = {
                "name": name,
                "type": type,
                "version": number,
                "description": description,
                "metadata": dict(metadata or {}),
                "digest": digest,
                "created_at": time.time(),
                "logged_by": logged_by,
                "files": {p: dict(f) for p, f in sorted(files.items())},
            }
            atomic_write_json(folder / f"v{number}.json", manifest)
        for alias in ("latest", *aliases):
            alias_map[alias] = number if alias != "latest" else max(number, alias_map.get("latest", -1))
        atomic_write_json(folder / ALIASES, alias_map)
    return number


def read_version(project_dir: Path, name: str, alias: str = "latest") -> tuple[int, list[str], dict[str, Any]]:
    """Version ``alias`` (``latest``, ``vN`` or an alias given when logging) of artifact ``name``:
    ``(number, its aliases, its manifest as checked)``. ``ValueError`` when there is no such version,
    ``ManifestError`` naming the file when what is stored fails the check an upload passes."""
    folder = artifact_dir(project_dir, name)
    alias_map = aliases_of(folder)
    m = _VERSION.match(alias)
    if m:
        number: Any = int(m.group(1))
    elif alias in alias_map:
        number = alias_map[alias]
    else:
        raise ValueError(
            f"artifact {name!r} has no version or alias {alias!r} in {project_dir}; "
            f"aliases: {sorted(alias_map)}, versions: {[f'v{v}' for v in version_numbers(folder)]}"
        )
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ManifestError(f"alias {alias!r} names {number!r}, not a version", folder / ALIASES)
    manifest = read_json(folder / f"v{number}.json")
    if manifest is None:
        raise ValueError(f"artifact {name!r} has no version v{number} in {project_dir}")
    try:
        manifest = check_manifest(manifest, local_refs=True)
    except ManifestError as e:
        raise ManifestError(e.problem, folder / f"v{number}.json") from None
    return number, sorted(a for a, n in alias_map.items() if n == number), manifest


def parse_name(path: str, entity: str, project: str) -> tuple[str, str, str, str]:
    """``[[entity/]project/]name[:alias]`` as (entity, project, name, alias), alias ``latest`` by
    default; each part checked (entity and project by the one name rule), so none leaves the root."""
    rest, _, alias = path.partition(":")
    bits = [b for b in rest.strip("/").split("/") if b]
    if not 1 <= len(bits) <= 3:
        raise ValueError(f"{path!r} is not an artifact path: expected [[entity/]project/]name[:alias]")
    name = bits[-1]
    project = bits[-2] if len(bits) >= 2 else project
    entity = bits[0] if len(bits) == 3 else entity
    alias = alias or "latest"
    for what, part in (("entity", entity), ("project", project), ("artifact name", name), ("alias", alias)):
        if part:
            layout.check_part(what, part)
    return entity, project, name, alias


def records(run_dir: Path) -> list[dict[str, Any]]:
    """What a run's ``artifacts.json`` says it logged and used (damaged entries skipped)."""
    items = read_json(run_dir / RUN_RECORD, []) or []
    return (
        [i for i in items if isinstance(i, dict) and isinstance(i.get("artifact"), str)]
        if isinstance(items, list)
        else []
    )


def record(run_dir: Path, action: str, qualified_name: str, type: str, record_file: str = RUN_RECORD) -> None:
    """Note in the run's ``artifacts.json`` that it ``logged`` or ``used`` artifact ``qualified_name``."""
    path = run_dir / record_file
    items = read_json(path, []) or []
    items.append({"action": action, "artifact": qualified_name, "type": type, "time": time.time()})
    atomic_write_json(path, items)


__all__ = [
    "ARTIFACTS_DIR",
    "BLOBS_DIR",
    "aliases_of",
    "artifact_dir",
    "blob_path",
    "check_alias",
    "locked",
    "parse_name",
    "read_version",
    "record",
    "records",
    "save_version",
    "sha256_file",
    "store_blob",
    "version_numbers",
]
