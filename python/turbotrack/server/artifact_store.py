"""The server's artifacts, in the layout ``turbotrack.artifacts`` writes locally:
``<root>/<entity>/<project>/artifacts/<name>/v<N>.json`` (+ ``aliases.json``) and content-addressed
blobs under ``artifacts/.blobs/<ab>/<sha256>``. A blob is stored only once its bytes hash to its name;
a manifest only once every blob it references is there."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path
from typing import Any, Optional

from .. import artifacts
from .._fs import atomic_write_json, read_json

_SHA = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^v(\d+)$")


class ArtifactError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def check_digest(digest: str) -> str:
    if not _SHA.match(digest):
        raise ArtifactError(400, f"{digest!r} is not a sha256 (64 lowercase hex digits)")
    return digest


def blob_digests(manifest: dict[str, Any]) -> list[str]:
    """The sha256 of every stored (not referenced) file of a manifest."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError(400, "a manifest needs 'files': {path: {digest, size}}")
    out = []
    for path, f in files.items():
        if not isinstance(f, dict) or not isinstance(f.get("digest"), str):
            raise ArtifactError(400, f"manifest entry {path!r} has no digest")
        try:
            artifacts._entry_path(path)
        except ValueError as e:
            raise ArtifactError(400, str(e)) from None
        if f.get("ref") is None:
            out.append(check_digest(f["digest"]))
    return out


class ArtifactStore:
    """Artifacts of every project under the storage root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def project_dir(self, entity: str, project: str) -> Path:
        return self.root / entity / project

    def blob_path(self, entity: str, project: str, digest: str) -> Path:
        return artifacts._blob_path(self.project_dir(entity, project), check_digest(digest))

    def missing(self, entity: str, project: str, digests: list[str]) -> list[str]:
        """Those of ``digests`` the server lacks."""
        return [d for d in dict.fromkeys(digests) if not self.blob_path(entity, project, d).is_file()]

    def put_blob(self, entity: str, project: str, digest: str, data: bytes, offset: int, total: int) -> int:
        """Append ``data`` at ``offset`` of the blob ``digest`` of ``total`` bytes; when complete, check its
        sha256 and store it. Answers the bytes held (``total`` once stored); 409 on a wrong offset."""
        blob = self.blob_path(entity, project, digest)
        if blob.is_file():
            return blob.stat().st_size
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
        manifest = dict(body["manifest"])
        aliases = body.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise ArtifactError(400, "aliases must be a list of names")
        for alias in aliases:
            if "/" in alias or ":" in alias or _VERSION.match(alias):
                raise ArtifactError(400, f"{alias!r} cannot be an alias")
        lacking = self.missing(entity, project, blob_digests(manifest))
        if lacking:
            raise ArtifactError(
                409, f"{len(lacking)} blob(s) of {name}:{version} are not on the server", missing=lacking
            )
        manifest["name"], manifest["version"] = name, number
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        with artifacts._locked(folder):
            current = read_json(folder / f"v{number}.json")
            if current is not None and current.get("digest") != manifest.get("digest"):
                raise ArtifactError(409, f"{name}:{version} on the server holds other files")
            if current is None:
                atomic_write_json(folder / f"v{number}.json", manifest)
            alias_map: dict[str, int] = read_json(folder / "aliases.json", {}) or {}
            for alias in ("latest", *aliases):
                alias_map[alias] = max(number, alias_map.get("latest", -1)) if alias == "latest" else number
            atomic_write_json(folder / "aliases.json", alias_map)
        return self.version(entity, project, name, version)

    def version(self, entity: str, project: str, name: str, alias: str) -> dict[str, Any]:
        """``{"version": N, "aliases": [...], "manifest": {...}}`` of ``name:alias``; 404 when absent."""
        try:
            art = artifacts.load(self.project_dir(entity, project), name, alias)
        except ValueError as e:
            raise ArtifactError(404, str(e)) from None
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        return {"version": art._version, "aliases": art.aliases, "manifest": read_json(folder / f"{art.version}.json")}

    def versions(self, entity: str, project: str, name: str) -> dict[str, Any]:
        """``{"versions": {"vN": manifest}, "aliases": {alias: N}}``; 404 when there is no such artifact."""
        folder = self.project_dir(entity, project) / artifacts.ARTIFACTS_DIR / name
        numbers = artifacts._versions(folder) if folder.is_dir() else []
        if not numbers:
            raise ArtifactError(404, f"no artifact {entity}/{project}/{name}")
        return {
            "versions": {f"v{n}": read_json(folder / f"v{n}.json") for n in numbers},
            "aliases": read_json(folder / "aliases.json", {}) or {},
        }

    def blob_size(self, entity: str, project: str, digest: str) -> Optional[int]:
        path = self.blob_path(entity, project, digest)
        return path.stat().st_size if path.is_file() else None


__all__ = ["ArtifactError", "ArtifactStore", "blob_digests", "check_digest"]
