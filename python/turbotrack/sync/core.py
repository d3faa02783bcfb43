"""Sync one run folder to a server: one manifest GET, then only what the server lacks.

STREAM files go up as their whole valid blocks (a run being written is synced up to its last
complete block), by offset, in pieces of at most ``CHUNK`` bytes; APPEND files by offset; REPLACE
and BLOB files whole when their sha256 differs. ``run*.json`` goes last, so a run reads as finished
on the server only once all its data is there. A hidden ``.synced`` marker keeps what was sent
per server, so a finished, fully synced run costs one manifest request. ``RunSync(..., only=...)``
sends only some of the files (the online uploader of one rank of a shared run: that rank's files)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote, unquote, urlparse

from .._fs import atomic_write_bytes, read_json
from ..store import artifacts, layout, runinfo
from ..store.blocks import BLOCK_HEADER, BLOCK_MAGIC, MAX_BLOCK, header_end
from .client import Client, ServerError, run_url

#: The most bytes sent in one PUT (the server's default body limit is 64 MiB).
CHUNK = 16 << 20
MARKER = ".synced"


class SyncError(Exception):
    """A run could not be synced; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Progress:
    """What one sync of one run did: rows and bytes sent, and how far along it is."""

    path: str
    total_bytes: int = 0
    sent_bytes: int = 0
    rows: int = 0
    files: int = 0
    blobs: int = 0
    up_to_date: bool = False
    on_change: Optional[Callable[[Progress], None]] = field(default=None, repr=False)

    def add(self, nbytes: int, rows: int = 0) -> None:
        self.sent_bytes += nbytes
        self.rows += rows
        if self.on_change is not None:
            self.on_change(self)


def run_path_of(run_dir: Path) -> layout.RunPath:
    """The RunPath of a run folder ``<root>/<entity>/<project>/<run_id>``."""
    run_dir = run_dir.resolve()
    return layout.RunPath(run_dir.parents[2], run_dir.parents[1].name, run_dir.parent.name, run_dir.name)


def _blocks(fd: int, start: int, end: int, at_start: bool) -> list[tuple[int, int, int]]:
    """Whole valid blocks of the file between ``start`` and ``end``: (offset, length, rows) each;
    at offset 0 the file header counts as a block of 0 rows."""
    out: list[tuple[int, int, int]] = []
    pos = start
    if at_start:
        try:
            hend = header_end(memoryview(os.pread(fd, 1 << 16, 0)))
        except ValueError as e:
            raise SyncError(f"the file is not a history file: {e}", "run 'turbotrack verify' on the run") from None
        if hend is None:
            return out
        out.append((0, hend, 0))
        pos = hend
    while pos + BLOCK_HEADER <= end:
        head = os.pread(fd, BLOCK_HEADER, pos)
        if len(head) < BLOCK_HEADER or head[:4] != BLOCK_MAGIC:
            break
        comp_len = int.from_bytes(head[4:8], "little")
        n_rows = int.from_bytes(head[12:16], "little")
        crc = int.from_bytes(head[16:20], "little")
        if pos + BLOCK_HEADER + comp_len > end or comp_len > MAX_BLOCK:
            break
        payload = os.pread(fd, comp_len, pos + BLOCK_HEADER)
        if len(payload) != comp_len or zlib.crc32(payload, zlib.crc32(head[4:16])) != crc:
            break
        out.append((pos, BLOCK_HEADER + comp_len, n_rows))
        pos += BLOCK_HEADER + comp_len
    return out


class RunSync:
    """Syncs one run folder to one server; keeps per-file state between passes (the uploader
    calls :meth:`sync` every interval)."""

    def __init__(
        self,
        client: Client,
        run_dir: Path,
        only: Optional[Callable[[str], bool]] = None,
        marker_key: Optional[str] = None,
    ) -> None:
        """``only``: the files to send, by name relative to the run folder (default: every file);
        ``marker_key``: under what the ``.synced`` marker keeps what was sent (default: the server's
        URL). A filtered sync needs a key of its own, or its marker would claim that the files it
        leaves out are on the server for a later full sync to the same server."""
        self.client = client
        self.dir = Path(run_dir)
        self.rp = run_path_of(self.dir)
        self.marker_path = self.dir / MARKER
        self.only = only
        self.marker_key = marker_key or client.base_url
        if only is not None and self.marker_key == client.base_url:
            raise ValueError("a filtered RunSync needs a marker_key of its own")
        # rel -> (size, mtime_ns, value): value is the valid length (STREAM) or the sha256.
        self._local: dict[str, tuple[int, int, Any]] = {}
        self._artifacts_sent: set[str] = set()  # "name:vN" of the logged artifact versions on the server
        marker = read_json(self.marker_path, {}) if self.marker_path.exists() else {}
        try:
            mine = (marker or {}).get(self.marker_key) or {}
            self._local = {k: tuple(v) for k, v in (mine.get("files") or {}).items()}  # type: ignore[misc]
            self._artifacts_sent = {str(a) for a in mine.get("artifacts") or []}
        except (AttributeError, TypeError):
            self._local = {}

    def _url(self, *rest: str) -> str:
        return run_url(self.rp.entity, self.rp.project, self.rp.run_id, *rest)

    def _local_value(self, rel: str, path: Path, kind: str, st: os.stat_result) -> Any:
        cached = self._local.get(rel)
        if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            return cached[2]
        if kind in (layout.REPLACE, layout.BLOB):
            value: Any = artifacts.sha256_file(path)
        elif kind == layout.APPEND:
            value = st.st_size
        else:
            value = None  # STREAM: found while sending
        return value

    def sync(self, progress: Optional[Progress] = None, heartbeat_ttl: Optional[float] = None) -> Progress:
        """One pass: send what the server lacks. Raises SyncError, ServerError or OSError."""
        progress = progress or Progress(self.rp.path)
        manifest = self.client.json("GET", self._url("manifest"))["files"]
        files = [f for f in layout.run_files(self.dir) if self.only is None or self.only(f[0])]
        sent_artifacts = self._sync_artifacts(progress)
        plan: list[tuple[str, Path, str, os.stat_result, Any]] = []
        for rel, path, kind in files:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            value = self._local_value(rel, path, kind, st)
            remote = manifest.get(rel) or {}
            if kind == layout.STREAM:
                if value is not None and remote.get("size") == value:
                    self._local[rel] = (st.st_size, st.st_mtime_ns, value)
                    continue
                progress.total_bytes += max(0, st.st_size - int(remote.get("size") or 0))
            elif kind == layout.APPEND:
                if remote.get("size") == st.st_size:
                    self._local[rel] = (st.st_size, st.st_mtime_ns, value)
                    continue
                progress.total_bytes += max(0, st.st_size - int(remote.get("size") or 0))
            else:
                if remote.get("sha256") == value:
                    self._local[rel] = (st.st_size, st.st_mtime_ns, value)
                    continue
                progress.total_bytes += st.st_size
            plan.append((rel, path, kind, st, value))
        plan.sort(key=lambda p: (p[0].startswith("run"), p[2] == layout.REPLACE))
        for rel, path, kind, st, _value in plan:
            remote_size = int((manifest.get(rel) or {}).get("size") or 0)
            if kind == layout.STREAM:
                self._send_stream(rel, path, remote_size, progress)
            elif kind == layout.APPEND:
                self._send_append(rel, path, remote_size, st.st_size, progress)
            else:
                with open(path, "rb") as fh:
                    data = fh.read()
                digest = hashlib.sha256(data).hexdigest()
                self.client.json("PUT", self._url("files", *rel.split("/")), data)
                st2 = path.stat()
                if st2.st_size == len(data):
                    self._local[rel] = (st2.st_size, st2.st_mtime_ns, digest)
                progress.files += 1
                progress.add(len(data))
        progress.up_to_date = not plan and not sent_artifacts
        info = runinfo.read(self.dir)
        if info.get("state") == "running" and runinfo.state_of(info) == "running" and files:
            self.client.json("POST", self._url("heartbeat"), {"ttl": heartbeat_ttl} if heartbeat_ttl else {})
        self._save_marker()
        return progress

    def _send_stream(self, rel: str, path: Path, remote: int, progress: Progress) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            end = st.st_size
            pos = remote
            for _ in range(1000):  # each 409 moves to the server's length; never loop forever
                if pos > end:
                    raise SyncError(
                        f"{rel}: the server holds {pos} bytes, more than the {end} on disk here",
                        "the server's copy is not of this run folder; sync it under another run id",
                    )
                blocks = _blocks(fd, pos, end, pos == 0)
                valid = blocks[-1][0] + blocks[-1][1] if blocks else pos
                if valid == pos:
                    break
                try:
                    while blocks:
                        take: list[tuple[int, int, int]] = []
                        nbytes = rows = 0
                        while blocks and (not take or nbytes + blocks[0][1] <= CHUNK):
                            b = blocks.pop(0)
                            take.append(b)
                            nbytes += b[1]
                            rows += b[2]
                        data = os.pread(fd, nbytes, take[0][0])
                        out = self.client.json("PUT", self._url("files", rel), data, {"offset": take[0][0]})
                        pos = int(out["size"])
                        progress.add(nbytes, rows)
                except ServerError as e:
                    if e.status != 409 or "size" not in e.body:
                        raise
                    pos = int(e.body["size"])
                    continue
                break
            self._local[rel] = (st.st_size, st.st_mtime_ns, pos)
            progress.files += 1
        finally:
            os.close(fd)

    def _send_append(self, rel: str, path: Path, remote: int, size: int, progress: Progress) -> None:
        if remote > size:
            raise SyncError(
                f"{rel}: the server holds {remote} bytes, more than the {size} here",
                "the server's copy is not of this run folder",
            )
        fd = os.open(path, os.O_RDONLY)
        try:
            pos = remote
            while pos < size:
                data = os.pread(fd, min(CHUNK, size - pos), pos)
                if not data:
                    break
                try:
                    out = self.client.json("PUT", self._url("files", rel), data, {"offset": pos})
                    progress.add(len(data))
                    pos = int(out["size"])
                except ServerError as e:
                    if e.status != 409 or "size" not in e.body:
                        raise
                    pos = int(e.body["size"])
            progress.files += 1
        finally:
            os.close(fd)

    def _sync_artifacts(self, progress: Progress) -> int:
        """Send the artifact versions this run logged (every rank's ``artifacts*.json`` that ``only``
        keeps) that the server lacks: the blobs it has not (asked in one request per version), then the
        manifest. Answers how many versions went up."""
        logged: list[str] = []
        for rec in sorted(self.dir.glob("artifacts*.json")):
            if layout.classify(rec.name) != layout.REPLACE or (self.only is not None and not self.only(rec.name)):
                continue
            try:
                items = read_json(rec, []) or []
            except ValueError:
                continue
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("action") == "logged" and isinstance(item.get("artifact"), str):
                    logged.append(item["artifact"])
        sent = 0
        for qualified in dict.fromkeys(logged):
            entity, project, name, alias = artifacts.parse_name(qualified, self.rp.entity, self.rp.project)
            if f"{entity}/{project}/{name}:{alias}" in self._artifacts_sent:
                continue
            self._send_artifact(entity, project, name, alias, progress)
            self._artifacts_sent.add(f"{entity}/{project}/{name}:{alias}")
            sent += 1
        return sent

    def _send_artifact(self, entity: str, project: str, name: str, version: str, progress: Progress) -> None:
        project_dir = self.rp.dir.parents[2] / entity / project
        folder = project_dir / artifacts.ARTIFACTS_DIR / name
        manifest = read_json(folder / f"{version}.json")
        if manifest is None:
            raise SyncError(
                f"artifact {entity}/{project}/{name}:{version} is logged by the run but not stored here",
                f"restore {folder}, or remove it from the run's artifacts.json",
            )
        number = int(manifest["version"])
        alias_map = read_json(folder / "aliases.json", {}) or {}
        aliases = sorted(a for a, n in alias_map.items() if n == number)
        base = "/api/v1/artifacts/" + "/".join(quote(p, safe="") for p in (entity, project))
        manifest, sources = _shareable(manifest, project_dir, f"{entity}/{project}/{name}:{version}")
        digests = sorted(sources)
        missing = self.client.json("POST", base + "/blobs/missing", {"digests": digests})["missing"] if digests else []
        for digest in missing:
            self._send_blob(base, sources[digest], digest, progress)
        body = {"manifest": manifest, "aliases": aliases}
        self.client.json("PUT", f"{base}/versions/{quote(name, safe='')}/v{number}", body)

    def _send_blob(self, base: str, path: Path, digest: str, progress: Progress) -> None:
        size = path.stat().st_size
        url = f"{base}/blobs/{digest}"
        with open(path, "rb") as fh:
            pos = 0
            for _ in range(1000):
                fh.seek(pos)
                data = fh.read(CHUNK)
                try:
                    out = self.client.json("PUT", url, data, {"offset": pos, "size": size})
                except ServerError as e:
                    if e.status != 409 or "size" not in e.body:
                        raise
                    pos = int(e.body["size"])
                    continue
                progress.add(len(data))
                pos = int(out["size"])
                if pos >= size:
                    break
        progress.blobs += 1

    def _save_marker(self) -> None:
        # Under a lock: the ranks of a shared run each keep their own key in the one marker, at once.
        try:
            with open(self.dir / (MARKER + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    marker = read_json(self.marker_path, {}) or {}
                except ValueError:
                    marker = {}
                marker[self.marker_key] = {
                    "files": self._local,
                    "artifacts": sorted(self._artifacts_sent),
                    "synced_at": time.time(),
                }
                atomic_write_bytes(self.marker_path, json.dumps(marker).encode())
        except OSError:
            pass  # a read-only run folder: the next sync costs a little more


def find_runs(paths: list[Path]) -> list[Path]:
    """Run folders named by ``paths``: run folders themselves, or storage roots (a folder holding
    ``turbotrack/``, or that folder), or an entity or project folder under one."""
    out: list[Path] = []
    for p in paths:
        p = p.resolve()
        if layout.is_run_dir(p):
            out.append(p)
            continue
        root = p / layout.ROOT_DIRNAME if (p / layout.ROOT_DIRNAME).is_dir() else p
        found = [rp.dir for rp in layout.iter_run_dirs(root)]
        if not found:
            found = [d.parent for d in sorted(p.glob("*/" + layout.RUN_GLOB))] + [
                d.parent for d in sorted(p.glob("*/*/" + layout.RUN_GLOB))
            ]
        out.extend(dict.fromkeys(found))
    return list(dict.fromkeys(out))


def _shareable(manifest: Any, project_dir: Path, what: str) -> tuple[dict[str, Any], dict[str, Path]]:
    """A local manifest as the server takes it, and the file of each blob to send by digest. A
    ``file://`` reference names a file on this machine only (the server refuses it): its content is sent
    as a stored file instead, once it still hashes to the digest it was logged with."""
    out = dict(manifest)
    out["files"] = files = dict(manifest.get("files") or {})
    sources: dict[str, Path] = {}
    for path, f in files.items():
        ref = f.get("ref") if isinstance(f, dict) else None
        if ref is None:
            if isinstance(f, dict) and isinstance(f.get("digest"), str):
                sources[f["digest"]] = artifacts.blob_path(project_dir, f["digest"])
            continue
        if not str(ref).lower().startswith("file:"):
            continue
        local = Path(unquote(urlparse(str(ref)).path))
        if not local.is_file() or artifacts.sha256_file(local) != f.get("digest"):
            raise SyncError(
                f"artifact {what}: entry {path!r} references {ref}, which is not there as it was logged "
                "(a server takes no file:// reference, so its content is sent instead)",
                "restore that file, or log the artifact again with add_file() or add_reference(checksum=True)",
            )
        files[path] = {"digest": f["digest"], "size": local.stat().st_size}
        sources[f["digest"]] = local
    return out, sources
