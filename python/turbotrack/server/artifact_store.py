"""The server's artifacts, in the layout of :mod:`turbotrack.store.artifacts` (as the SDK writes locally):
``<root>/<entity>/<project>/artifacts/<name>/v<N>.json`` (+ ``aliases.json``) and content-addressed
blobs under ``artifacts/.blobs/<ab>/<sha256>``. A blob is stored only once its bytes hash to its name;
a manifest only once every blob it references is there, and only as checked by
``_artifact_manifest.check_manifest``: the checked copy is what is stored, and a manifest on disk that
fails the same check (planted there, or stored before the check existed) is refused on every read
(409, naming the file and the entry), never served."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .._artifact_manifest import SHA256, ManifestError, check_manifest
from .._fs import atomic_write_json, read_json
from ..store import artifacts
from .errors import ApiError

if TYPE_CHECKING:
    from .ingest import Ingest

_VERSION = re.compile(r"^v(\d+)$")


class ArtifactError(ApiError):
    """A refused artifact request (status, message, extra answer fields)."""


def check_digest(digest: str) -> str:
    if not SHA256.match(digest):
        raise ArtifactError(400, f"{digest!r} is not a sha256 (64 lowercase hex digits)")
    return digest


def checked_manifest(manifest: Any) -> dict[str, Any]:
    """The copy of ``manifest`` that may be stored and served (``check_manifest``, no ``file://``
    reference); 400 naming the entry otherwise."""
    try:
        return check_manifest(manifest)
    except ManifestError as e:
        raise ArtifactError(400, str(e)) from None


def blob_digests(manifest: dict[str, Any]) -> list[str]:
    """The sha256 of every stored (not referenced) file of a manifest (400 unless it passes the check)."""
    files = checked_manifest(manifest)["files"]
    return [f["digest"] for f in files.values() if f.get("ref") is None]


class ArtifactStore:
    """Artifacts of every project under the storage root. With an object store (``files`` an
    ObjectIngest) the root is this replica's cache: a stored blob or manifest is published there
    before it is answered, fetched before it is read, and a new version is made under the lock of
    its artifact held across replicas."""

    def __init__(self, root: Path, files: Optional[Ingest] = None) -> None:
        self.root = root
        self._lock = threading.Lock()
        if files is None:
            from .ingest import Ingest

            files = Ingest(root)
        self.files = files

    def _pull(self, entity: str, project: str, name: str) -> Path:
        """The folder of artifact ``name``, its manifests and aliases as the store has them."""
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        self.files.pull(folder.parent, under=f"{name}/")
        return folder

    def fetch_blob(self, entity: str, project: str, digest: str) -> Path:
        """The blob's path, the blob in this replica's cache when the store has it."""
        path = self.blob_path(entity, project, digest)
        if not path.is_file():
            self.files.fetch(path)
        return path

    def project_dir(self, entity: str, project: str) -> Path:
        return self.root / entity / project

    def blob_path(self, entity: str, project: str, digest: str) -> Path:
        return artifacts.blob_path(self.project_dir(entity, project), check_digest(digest))

    def missing(self, entity: str, project: str, digests: list[str]) -> list[str]:
        """Those of ``digests`` the server lacks."""
        out = []
        for d in dict.fromkeys(digests):
            path = self.blob_path(entity, project, d)
            if not (path.is_file() or self.files.has(path)):
                out.append(d)
        return out

    def put_blob(self, entity: str, project: str, digest: str, data: bytes, offset: int, total: int) -> int:
        """Append ``data`` at ``offset`` of the blob ``digest`` of ``total`` bytes; when complete, check its
        sha256 and store it. Answers the bytes held (``total`` once stored); 409 on a wrong offset."""
        blob = self.blob_path(entity, project, digest)
        if blob.is_file() or self.files.has(blob):
            return total
        blob.parent.mkdir(parents=True, exist_ok=True)
        part = blob.parent / f".{digest}.part"
        with self._lock:
            have = part.stat().st_size if part.exists() else 0
            if offset != have:
                raise ArtifactError(409, f"the server holds {have} bytes of blob {digest}", size=have)
            if have + len(data) > total:
                raise ArtifactError(400, f"blob {digest}: more than the {total} bytes announced")
            with open(part, "ab") as fh:
                fh.write(data)
            have += len(data)
            if have < total:
                return have
            if artifacts.sha256_file(part) != digest:
                with contextlib.suppress(OSError):
                    os.unlink(part)
                raise ArtifactError(400, f"the bytes sent do not hash to {digest}")
            os.chmod(part, 0o444)
            os.replace(part, blob)
            self.files.publish(blob, digest)
            return total

    def put_version(self, entity: str, project: str, name: str, version: str, body: Any) -> dict[str, Any]:
        """Store manifest ``body["manifest"]`` as ``version`` of ``name`` (the same again: nothing to do; a
        different one: 409) and point ``body["aliases"]`` at it (``latest`` only moves forward)."""
        m = _VERSION.match(version)
        if not m:
            raise ArtifactError(400, f"{version!r} is not a version (vN)")
        number = int(m.group(1))
        if not isinstance(body, dict) or not isinstance(body.get("manifest"), dict):
            raise ArtifactError(400, 'the body must be {"manifest": {...}, "aliases": [...]}')
        manifest = checked_manifest(body["manifest"])  # what is stored is this checked copy, not the body
        aliases = body.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise ArtifactError(400, "aliases must be a list of names")
        for alias in aliases:
            if "/" in alias or ":" in alias or _VERSION.match(alias):
                raise ArtifactError(400, f"{alias!r} cannot be an alias")
        stored = [f["digest"] for f in manifest["files"].values() if f.get("ref") is None]
        lacking = self.missing(entity, project, stored)
        if lacking:
            raise ArtifactError(
                409, f"{len(lacking)} blob(s) of {name}:{version} are not on the server", missing=lacking
            )
        manifest["name"], manifest["version"] = name, number
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        folder.mkdir(parents=True, exist_ok=True)
        with self.files.exclusive(folder / "aliases.json"), artifacts.locked(folder):
            self._pull(entity, project, name)
            current = self._stored(folder, number)
            if current is not None and current.get("digest") != manifest.get("digest"):
                raise ArtifactError(409, f"{name}:{version} on the server holds other files")
            if current is None:
                atomic_write_json(folder / f"v{number}.json", manifest)
                self.files.publish(folder / f"v{number}.json")
            alias_map: dict[str, int] = read_json(folder / "aliases.json", {}) or {}
            for alias in ("latest", *aliases):
                alias_map[alias] = max(number, alias_map.get("latest", -1)) if alias == "latest" else number
            atomic_write_json(folder / "aliases.json", alias_map)
            self.files.publish(folder / "aliases.json")
        return self.version(entity, project, name, version)

    def version(self, entity: str, project: str, name: str, alias: str) -> dict[str, Any]:
        """``{"version": N, "aliases": [...], "manifest": {...}}`` of ``name:alias``; 404 when absent."""
        self._pull(entity, project, name)
        try:
            number, aliases, _ = artifacts.read_version(self.project_dir(entity, project), name, alias)
        except ManifestError as e:
            where = e.file.name if e.file is not None else "its manifest"
            raise ArtifactError(
                409, f"{where} of artifact {name} on the server is refused: {e.problem}", file=where
            ) from None
        except ValueError as e:
            raise ArtifactError(404, str(e)) from None
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        manifest = self._stored(folder, number)
        if manifest is None:  # removed since read_version() read it
            raise ArtifactError(404, f"no artifact {entity}/{project}/{name}:{alias}")
        return {"version": number, "aliases": aliases, "manifest": manifest}

    @staticmethod
    def _stored(folder: Path, number: int) -> Optional[dict[str, Any]]:
        """Version ``number``'s manifest on disk as checked (``None`` when absent); 409 naming the file
        and the entry when it fails the check an upload passes (planted, or stored before the check)."""
        path = folder / f"v{number}.json"
        try:
            raw = read_json(path)
            return None if raw is None else check_manifest(raw)
        except ManifestError as e:
            why = e.problem
        except ValueError:  # DamagedFile (its message holds the path on the server)
            why = "it is not a JSON manifest"
        raise ArtifactError(
            409, f"{path.name} of artifact {folder.name} on the server is refused: {why}", file=path.name
        )

    def versions(self, entity: str, project: str, name: str) -> dict[str, Any]:
        """``{"versions": {"vN": manifest}, "aliases": {alias: N}}``, plus ``"refused": {"vN": why}`` for
        versions whose manifest on disk fails the check (left out of ``versions``); 404 when there is no
        such artifact."""
        folder = self._pull(entity, project, name)
        numbers = artifacts.version_numbers(folder) if folder.is_dir() else []
        if not numbers:
            raise ArtifactError(404, f"no artifact {entity}/{project}/{name}")
        versions: dict[str, Any] = {}
        refused: dict[str, str] = {}
        for n in numbers:
            try:
                manifest = self._stored(folder, n)
            except ArtifactError as e:
                refused[f"v{n}"] = str(e)
                continue
            if manifest is not None:
                versions[f"v{n}"] = manifest
        aliases = read_json(folder / "aliases.json", {}) or {}
        return {"versions": versions, "aliases": aliases, **({"refused": refused} if refused else {})}

    def blob_size(self, entity: str, project: str, digest: str) -> Optional[int]:
        path = self.fetch_blob(entity, project, digest)
        return path.stat().st_size if path.is_file() else None


__all__ = ["ArtifactError", "ArtifactStore", "blob_digests", "check_digest", "checked_manifest"]
