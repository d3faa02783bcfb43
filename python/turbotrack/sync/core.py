"""Sync one run folder to a server: one manifest GET, then only what the server lacks (the online
uploader's live passes plan from what the server acknowledged before, without the GET; a run never
sent to this server plans as a new run's, without it too). What is small goes in one request, a
batch (``store/batch.py``); the rest a request a chunk.

Every file goes up a chunk at a time, streamed from disk (never whole in memory), at the offset the
server holds (docs/server.md, "Ingest"): STREAM files as runs of whole valid blocks (a run being
written is synced up to its last complete block; the native scanner walks the framing),
APPEND files as bytes, REPLACE and BLOB files into a part the server finishes once the whole hashes
to the sha256 given (so a killed sync resumes mid-file). Before it appends to a STREAM or APPEND
file the server holds, the client checks that the server's bytes are its own (the sha256 of that
prefix): a run of another machine with the same id is refused, never mixed. A file the server
refuses, or that cannot be read, is recorded and skipped (:class:`FilesFailed` at the end of the
pass); it never holds back the others. ``run*.json`` goes last, so a run reads as finished on the
server only once all its data is there. A hidden ``.synced`` marker keeps what was sent per
server, so a finished, fully synced run costs one manifest request. ``RunSync(..., only=...)``
sends only some of the files (the online uploader of one rank of a shared run: that rank's files)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote, unquote, urlparse

from .. import _core
from .._fs import atomic_write_bytes, read_json
from ..errors import server_error
from ..store import artifacts, batch, layout, runinfo
from ..store.blocks import spans
from ..store.client import Client, ServerError, run_url
from ..store.digest import PrefixHashes, sha256_range

#: The most bytes sent in one request (the server's default body limit is 64 MiB; a server with a
#: lower one says so in its manifest, and the chunks follow it).
CHUNK = 8 << 20
#: In a live pass (the online uploader's, while the run goes on), a rewritten state file (a REPLACE
#: file: the summary is rewritten at every log) goes up at most this often; the last pass sends it
#: as it ends. Each such upload costs the server a reindex of the run.
REPLACE_GAP = 5.0
#: In a live pass, the ``.synced`` marker is written at most this often (it only saves a later sync
#: some hashing; the last pass writes it).
MARKER_GAP = 10.0
MARKER = ".synced"
#: what a part's line in a batch's head is counted as (its name, offset, length and sha256)
_PART_HEAD = 160
#: the bytes of a new run's first batch, sent before any manifest said what the server takes (the
#: ``batch`` a server's manifest offers; one that takes less refuses it, and the pass asks first)
NEW_BATCH = 64 << 10


class _NotNew(Exception):
    """A batch sent as a new run's could not go that way (the server holds the run, takes no
    batches, or there was nothing to batch): nothing was sent, the pass asks for the manifest."""


_EMPTY_SHA = hashlib.sha256().hexdigest()


class SyncError(Exception):
    """A run could not be synced; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class Collision(SyncError):
    """The server holds another run under this run's path (another machine's run with the same id)."""


class FilesFailed(SyncError):
    """A pass sent what it could, but some files could not go up: ``failed`` names each and why."""

    def __init__(self, path: str, failed: list[tuple[str, str]], progress: Progress) -> None:
        names = ", ".join(f"{rel} ({why})" for rel, why in failed)
        super().__init__(
            f"{len(failed)} file(s) of run {path} could not be synced: {names}",
            "the rest of the run is on the server; fix what is named and 'turbotrack sync' again sends them",
        )
        self.failed = failed
        self.progress = progress


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
    failed: list[tuple[str, str]] = field(default_factory=list)
    on_change: Optional[Callable[[Progress], None]] = field(default=None, repr=False)

    def add(self, nbytes: int, rows: int = 0) -> None:
        self.sent_bytes += nbytes
        self.rows += rows
        if self.on_change is not None:
            self.on_change(self)


def _running(run_dir: Path) -> bool:
    """Whether the run's process is alive and its run.json says running (a heartbeat is due)."""
    info = runinfo.read(run_dir)
    return info.get("state") == "running" and runinfo.state_of(info) == "running"


def run_path_of(run_dir: Path) -> layout.RunPath:
    """The RunPath of a run folder ``<root>/<entity>/<project>/<run_id>``."""
    run_dir = run_dir.resolve()
    return layout.RunPath(run_dir.parents[2], run_dir.parents[1].name, run_dir.parent.name, run_dir.name)


def _refused(e: BaseException) -> bool:
    """Whether ``e`` refuses one file only (the server said no to it, or it cannot be read here),
    so the pass goes on with the others; else the whole pass stops (the server is away, the key is
    refused, another run holds this id)."""
    if isinstance(e, ServerError):
        return 400 <= e.status < 500 and e.status not in (401, 403, 409)
    return isinstance(e, SyncError) and not isinstance(e, Collision)


def _pread(fd: int, n: int, at: int, rel: str) -> bytes:
    """``n`` bytes at ``at`` of a local file; a read error is a SyncError naming the file."""
    try:
        return os.pread(fd, n, at)
    except OSError as e:
        raise SyncError(f"{rel}: cannot read it here: {e}", "check the file and its permissions") from None


@dataclass
class _Plan:
    rel: str
    path: Path
    kind: str
    st: os.stat_result
    value: Any  # the local sha256 (REPLACE, BLOB), else None
    offset: int  # where sending starts (for REPLACE/BLOB: where the server's part of this sha256 ends)


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
        # rel -> (size, mtime_ns, value): value is [length, sha256 of those bytes] (STREAM, APPEND:
        # what the server was seen to hold of this file) or the file's sha256 (REPLACE, BLOB).
        self._local: dict[str, tuple[int, int, Any]] = {}
        self._artifacts_sent: set[str] = set()  # "name:vN" of the logged artifact versions on the server
        self._hashes = PrefixHashes()
        self.chunk = CHUNK
        self._beat_at = -float("inf")  # when the last heartbeat went (time.monotonic())
        #: the heartbeat's ttl while one is due this pass and no append has carried it yet
        self._beat_ttl: Optional[float] = None
        # Whether the next pass asks for the manifest: the first does, and any pass after a 409 or
        # a failed file (the server's copy is not what this client last saw it hold). Live passes in
        # between plan from what the server acknowledged (``_local``): one request a pass fewer.
        self._manifest_due = True
        self._limit = CHUNK
        #: the bytes one batch of uploads may carry (the manifest's ``batch``; 0: a server without them)
        self._batch = 0
        # Whether the first pass may send the run's files as a new run's, without the manifest: in
        # one batch the server refuses whole if it holds any file of the run (``?new=1``).
        self._new_ok = True
        self._sent_at: dict[str, float] = {}  # REPLACE file -> when it last went up (time.monotonic())
        self._marker_at = -float("inf")
        try:  # only a cache: a damaged one (emptied by a power cut, say) is none
            marker = read_json(self.marker_path, {}) if self.marker_path.exists() else {}
        except ValueError:
            marker = {}
        try:
            mine = (marker or {}).get(self.marker_key) or {}
            self._local = {k: tuple(v) for k, v in (mine.get("files") or {}).items()}  # type: ignore[misc]
            self._artifacts_sent = {str(a) for a in mine.get("artifacts") or []}
        except (AttributeError, TypeError):
            self._local = {}

    def _url(self, *rest: str) -> str:
        return run_url(self.rp.entity, self.rp.project, self.rp.run_id, *rest)

    def _cached(self, rel: str, st: os.stat_result) -> Any:
        cached = self._local.get(rel)
        if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            return cached[2]
        return None

    def _prefix_sha(self, rel: str, path: Path, n: int) -> str:
        if n == 0:
            return _EMPTY_SHA
        fd = os.open(path, os.O_RDONLY)
        try:
            return self._hashes.digest(rel, fd, n)
        finally:
            os.close(fd)

    def _check_own(self, rel: str, path: Path, size: int, held: int, digest: Any) -> None:
        """Collision unless the ``held`` bytes the server has of ``rel`` (hashing to ``digest``) are
        this folder's first ``held`` bytes of it."""
        if held <= size and isinstance(digest, str) and self._prefix_sha(rel, path, held) == digest:
            return
        raise Collision(
            f"run {self.rp.path}: the server holds another run under this id ({held} bytes of {rel} "
            f"that are not this folder's {size}); nothing of this run was mixed into it",
            "two runs share one id (the same entity/project/id on two machines?): keep the server's, "
            "or sync this one under another id (move the folder to a new run id)",
        )

    def sync(
        self, progress: Optional[Progress] = None, heartbeat_ttl: Optional[float] = None, live: bool = False
    ) -> Progress:
        """One pass: send what the server lacks. Raises Collision before anything is sent when the
        server holds another run under this id; FilesFailed at the end when some files could not go
        up (the others did); SyncError, ServerError or OSError when the pass could not go on.

        ``live``: a pass of the online uploader while the run goes on. It asks for the manifest
        only when this client's view of the server may be stale (the first pass, after a 409 or a
        failed file), sends a rewritten state file at most every ``REPLACE_GAP`` seconds, and writes
        the marker at most every ``MARKER_GAP``. The pass after the run ends is not live: it sends
        everything, and checks it against the manifest. When the last pass left this client's view
        of the server current, what is new goes first, planned from that view as a live pass plans
        it (its state files too), and the manifest is asked after it: the run's last blocks arrive
        a request earlier."""
        progress = progress or Progress(self.rp.path)
        if not live and not self._manifest_due and self._local:
            try:
                self.push(progress, heartbeat_ttl)
            except FilesFailed:
                progress.failed = []  # the full pass tries them again, from the manifest
        return self._pass(progress, heartbeat_ttl, live)

    def push(self, progress: Optional[Progress] = None, heartbeat_ttl: Optional[float] = None) -> Progress:
        """Send what is new, planned as a live pass plans it, state files included (none waits its
        ``REPLACE_GAP``): the first half of the pass after a run ends, which then checks the run
        against the manifest. Asks for the manifest only where a live pass would (this client's
        view of the server not current). Raises as :meth:`sync`."""
        return self._pass(progress or Progress(self.rp.path), heartbeat_ttl, live=True, eager=True)

    def _pass(self, progress: Progress, heartbeat_ttl: Optional[float], live: bool, eager: bool = False) -> Progress:
        """:meth:`sync`'s pass; ``eager``: a live pass that defers no state file."""
        manifest: Optional[dict[str, Any]] = None
        # Never sent to this server as far as this folder knows (no marker): planned as a new run's,
        # the manifest's request saved unless the server holds the run after all.
        new = self._manifest_due and self._new_ok and not self._local and not self._artifacts_sent
        if new:
            manifest = {}
        elif self._manifest_due or not live:
            manifest = self._ask()
            self._manifest_due = False
        self.chunk = max(1, min(CHUNK, self._limit))
        files = [f for f in layout.run_files(self.dir) if self.only is None or self.only(f[0])]
        plan: list[_Plan] = []
        now = time.monotonic()
        deferred = 0
        for rel, path, kind in files:
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            recent = now - self._sent_at.get(rel, -float("inf")) < REPLACE_GAP
            if live and not eager and kind == layout.REPLACE and recent:
                if self._cached(rel, st) is None:
                    deferred += 1  # rewritten since it went up: it goes with a later pass
                continue
            remote = (manifest.get(rel) if manifest is not None else self._assumed(rel)) or {}
            try:
                item = self._plan(rel, path, kind, st, remote)
            except OSError as e:
                progress.failed.append((rel, f"cannot read it: {e}"))
                continue
            if item is None:
                continue
            progress.total_bytes += max(0, st.st_size - item.offset)
            plan.append(item)
        sent_artifacts = self._sync_artifacts(progress)
        plan.sort(key=lambda p: (p.rel.startswith("run"), p.kind == layout.REPLACE, p.kind != layout.STREAM))
        # A heartbeat keeps the run "running" for ``heartbeat_ttl`` seconds: one every third of it is
        # enough, not one a pass (a pass a second per live run would be a request a second more).
        due = heartbeat_ttl is None or time.monotonic() - self._beat_at >= heartbeat_ttl / 3
        # In a live pass the first append carries it (``?heartbeat=``): no request of its own.
        beat = due and bool(files) and _running(self.dir)  # run.json read once a pass
        offered = live and beat and heartbeat_ttl is not None
        self._beat_ttl = heartbeat_ttl if offered else None
        try:
            try:
                todo = self._send_batch(plan, progress, new)
            except _NotNew:  # nothing was sent: plan again from the manifest
                self._manifest_due, self._new_ok = True, False
                progress.total_bytes, progress.failed = 0, []
                return self._pass(progress, heartbeat_ttl, live, eager)
            # answered (a pass cut off before, by a server away, tries it so again: refused
            # whole if the server took the batch after all)
            self._new_ok = False
            if new:  # the server held nothing of the run: it holds what was sent
                self._manifest_due, self._batch = False, NEW_BATCH
                if todo:  # files too big for the batch: chunked at the server's body limit, which it says
                    self._ask()
            for item in todo:
                try:
                    self._send(item, progress)
                except Exception as e:
                    if not _refused(e):
                        raise
                    progress.failed.append((item.rel, str(e)))
        finally:
            carried = offered and self._beat_ttl is None
            self._beat_ttl = None
        sent = progress.files or progress.sent_bytes or progress.blobs  # an eager pass before this one too
        progress.up_to_date = not plan and not sent_artifacts and not progress.failed and not deferred and not sent
        if progress.failed:
            self._manifest_due = True
        # no append carried it (none this pass, or the server's index lacked the run yet): its own request
        if beat and not carried:
            self.client.json("POST", self._url("heartbeat"), {"ttl": heartbeat_ttl} if heartbeat_ttl else {})
            self._beat_at = time.monotonic()
        if not live or time.monotonic() - self._marker_at >= MARKER_GAP:
            self._save_marker()
            self._marker_at = time.monotonic()
        if progress.failed:
            raise FilesFailed(self.rp.path, progress.failed, progress)
        return progress

    def _ask(self) -> dict[str, Any]:
        """The manifest's files; its limits (the body limit the chunks follow, the batch's size) kept."""
        answer = self.client.json("GET", self._url("manifest"))
        self._limit = int(answer.get("max_body") or CHUNK)
        self._batch = int(answer.get("batch") or 0)
        self.chunk = max(1, min(CHUNK, self._limit))  # this pass's chunks too
        files: dict[str, Any] = answer["files"]
        return files

    def _assumed(self, rel: str) -> dict[str, Any]:
        """What the server holds of ``rel`` as this client last saw it (a manifest entry's shape):
        a live pass plans from it instead of asking; where it is wrong the server answers 409."""
        seen = self._local.get(rel)
        if seen is None:
            return {}
        value = seen[2]
        if isinstance(value, list) and len(value) == 2:
            return {"size": value[0], "sha256": value[1]}
        return {"sha256": value}

    def _plan(self, rel: str, path: Path, kind: str, st: os.stat_result, remote: dict[str, Any]) -> Optional[_Plan]:
        """What to send of one file (None: the server has it all); Collision when the server's
        bytes of a growing file are not this folder's."""
        cached = self._cached(rel, st)
        if kind in (layout.STREAM, layout.APPEND):
            if "size" not in remote:
                return _Plan(rel, path, kind, st, None, 0)  # not on the server: sent from 0, empty too
            held, digest = int(remote["size"]), remote.get("sha256")
            if cached == [held, digest]:
                return None  # unchanged here since the server was seen to hold it all
            seen = self._local.get(rel)
            if not (seen and seen[2] == [held, digest] and held <= st.st_size):
                self._check_own(rel, path, st.st_size, held, digest)  # else: the bytes seen to be ours
            if held == st.st_size:
                self._local[rel] = (st.st_size, st.st_mtime_ns, [held, digest])
                return None
            return _Plan(rel, path, kind, st, None, held)
        value = cached if isinstance(cached, str) else artifacts.sha256_file(path)
        if remote.get("sha256") == value:
            self._local[rel] = (st.st_size, st.st_mtime_ns, value)
            return None
        part = remote.get("partial") or {}
        if value.startswith(str(part.get("sha256_prefix") or "-")) and 0 < int(part.get("size") or 0) <= st.st_size:
            return _Plan(rel, path, kind, st, value, int(part["size"]))
        return _Plan(rel, path, kind, st, value, 0)

    def _send_batch(self, plan: list[_Plan], progress: Progress, new: bool = False) -> list[_Plan]:
        """Send in one request (``POST .../files``, ``store/batch.py``) what of ``plan`` fits in the
        server's batch: each small file's new bytes, or the whole of a small state file. Answers
        what is left to send file by file, in ``plan``'s order: a file too big for the batch, one
        whose part the server answered 409 (its own path moves to the server's length), and every
        ``run*.json`` once anything before it is left (so it still goes last). ``new``: planned as a
        new run's, without the manifest; :class:`_NotNew` when that cannot go (nothing was sent)."""
        budget = min(self._batch or (NEW_BATCH if new else 0), self.chunk)
        if budget <= 0 or len(plan) < 2:
            if new:
                raise _NotNew
            return plan
        parts: list[tuple[_Plan, batch.Part, os.stat_result, int]] = []  # with the stat read and rows
        rest: list[_Plan] = []
        used = 0
        for item in plan:
            if rest and item.rel.startswith("run"):
                rest.append(item)
                continue
            try:
                got = self._part(item, budget - used)
            except OSError as e:
                progress.failed.append((item.rel, f"cannot read it: {e}"))
                continue
            if got is None:
                rest.append(item)
                continue
            parts.append((item, *got))
            used += len(got[0].data) + _PART_HEAD
        if len(parts) < 2:
            if new:
                raise _NotNew
            return plan  # nothing gained: file by file, as it would have gone
        query: dict[str, Any] = {"heartbeat": self._beat_ttl} if self._beat_ttl is not None else {}
        if new:
            query["new"] = 1
        try:
            answer = self.client.json("POST", self._url("files"), batch.encode([p for _, p, _, _ in parts]), query)
        except ServerError as e:
            if new and (e.status == 409 or _refused(e)):
                raise _NotNew from None  # the server holds the run (or takes no batch like this)
            if not _refused(e):
                raise
            self._batch = 0  # a server that takes no batch after all: file by file from now on
            return plan
        if self._beat_ttl is not None and answer.get("heartbeat") is True:
            self._beat_ttl = None
            self._beat_at = time.monotonic()
        again: list[_Plan] = []
        for (item, part, st, rows), got in zip(parts, answer.get("parts") or []):
            status = int(got.get("status") or 200)
            if status == 409:
                self._manifest_due = True
                again.append(item)  # its own path checks the server's bytes and goes on from there
                continue
            if status >= 400:
                refusal = server_error(status, str(got.get("error") or ""), got, self.client.base_url)
                if not _refused(refusal):
                    raise refusal
                progress.failed.append((item.rel, str(refusal)))
                continue
            self._took(item, part, st, rows, int(got["size"]), progress)
        answered = len(answer.get("parts") or [])
        again.extend(item for item, _, _, _ in parts[answered:])  # a short answer: those go again
        order = {id(item): i for i, item in enumerate(plan)}
        return sorted(again + rest, key=lambda item: order[id(item)])

    def _part(self, item: _Plan, room: int) -> Optional[tuple[batch.Part, os.stat_result, int]]:
        """What of ``item`` a batch carries in ``room`` bytes: the new bytes of a growing file (a
        STREAM's whole blocks), or the whole of a state file or blob, with the file's stat as read
        and the rows; None when it does not fit (it goes on its own)."""
        with open(item.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if item.kind in (layout.STREAM, layout.APPEND):
                pos, end = item.offset, st.st_size
                if end - pos + _PART_HEAD > room:
                    return None
                data = os.pread(fh.fileno(), end - pos, pos)
                rows = 0
                if item.kind == layout.STREAM and data:
                    got, rows, _ = _core.scan_blocks(data, 0, pos == 0)
                    if got == 0:  # no whole block yet (a torn tail, or damage): its own path says which
                        return None
                    data = data[:got]
                return batch.Part(item.rel, pos, data), st, rows
            if st.st_size + _PART_HEAD > room:
                return None
            data = fh.read()
        return batch.Part(item.rel, 0, data, len(data), hashlib.sha256(data).hexdigest()), st, 0

    def _took(
        self, item: _Plan, part: batch.Part, st: os.stat_result, rows: int, held: int, progress: Progress
    ) -> None:
        """Record a part of a batch the server took (``held``: the file's length there now)."""
        progress.add(len(part.data), rows)
        progress.files += 1
        if item.kind in (layout.STREAM, layout.APPEND):
            self._hashes.extend(item.rel, st.st_ino, part.offset, part.data)  # the digest reads nothing again
            self._local[item.rel] = (st.st_size, st.st_mtime_ns, [held, self._prefix_sha(item.rel, item.path, held)])
            return
        if item.kind == layout.REPLACE:
            self._sent_at[item.rel] = time.monotonic()
        if len(part.data) == st.st_size:
            self._local[item.rel] = (st.st_size, st.st_mtime_ns, part.sha256)

    def _send(self, item: _Plan, progress: Progress) -> None:
        try:
            fd = os.open(item.path, os.O_RDONLY)
        except OSError as e:
            raise SyncError(f"{item.rel}: cannot read it here: {e}", "check the file and its permissions") from None
        try:
            if item.kind in (layout.STREAM, layout.APPEND):
                self._send_growing(item, fd, progress)
            else:
                self._send_whole(item, fd, progress)
        finally:
            os.close(fd)
        progress.files += 1

    def _send_growing(self, item: _Plan, fd: int, progress: Progress) -> None:
        """Append the bytes past what the server holds, a chunk at a time (a STREAM's as runs of
        whole blocks); a 409 moves to the server's length once its bytes there are checked to be ours."""
        st = os.fstat(fd)
        end, pos = st.st_size, item.offset
        url = self._url("files", item.rel)
        for _ in range(1000):  # each 409 moves to the server's length; never loop forever
            try:
                if pos == 0 and end == 0:
                    pos = self._append(url, b"", 0)
                for at, data, rows in self._chunks(item, fd, pos, end):
                    pos = self._append(url, data, at)
                    self._hashes.extend(item.rel, st.st_ino, at, data)  # the digest below reads nothing again
                    progress.add(len(data), rows)
            except ServerError as e:
                if e.status != 409 or "size" not in e.body:
                    raise
                held = int(e.body["size"])
                self._manifest_due = True
                self._check_own(item.rel, item.path, end, held, e.body.get("sha256"))
                pos = held
                continue
            break
        self._local[item.rel] = (
            item.st.st_size,
            item.st.st_mtime_ns,
            [pos, self._prefix_sha(item.rel, item.path, pos)],
        )

    def _append(self, url: str, data: bytes, at: int) -> int:
        """PUT ``data`` at offset ``at``; the file's new length. The first append of a pass whose
        heartbeat is due carries it (``heartbeat=TTL``; the answer says whether it was recorded)."""
        query: dict[str, Any] = {"offset": at}
        if self._beat_ttl is not None:
            query["heartbeat"] = self._beat_ttl
        answer = self.client.json("PUT", url, data, query)
        if self._beat_ttl is not None and answer.get("heartbeat") is True:
            self._beat_ttl = None
            self._beat_at = time.monotonic()
        return int(answer["size"])

    def _chunks(self, item: _Plan, fd: int, pos: int, end: int) -> Any:
        if item.kind == layout.STREAM:
            try:
                yield from spans(fd, pos, end, self.chunk)
            except ValueError as e:
                raise SyncError(
                    f"{item.rel} is not a history file: {e}", "run 'turbotrack verify' on the run"
                ) from None
            except OSError as e:
                raise SyncError(f"{item.rel}: cannot read it here: {e}", "check the file and its permissions") from None
            return
        while pos < end:
            data = _pread(fd, min(self.chunk, end - pos), pos, item.rel)
            if not data:
                return
            yield pos, data, 0
            pos += len(data)

    def _send_whole(self, item: _Plan, fd: int, progress: Progress) -> None:
        """Send a REPLACE/BLOB file a chunk at a time into the server's part of it (from where a part
        of this sha256 ends); the last chunk's answer says it is in place."""
        size, digest, pos = item.st.st_size, item.value, item.offset
        st = os.fstat(fd)
        if (st.st_ino, st.st_size, st.st_mtime_ns) != (item.st.st_ino, item.st.st_size, item.st.st_mtime_ns):
            # replaced (a live run rewrites its state files) since it was hashed: send what is open
            try:
                size, digest, pos = st.st_size, str(sha256_range(fd, 0, st.st_size).hexdigest()), 0
            except OSError as e:
                raise SyncError(f"{item.rel}: cannot read it here: {e}", "check the file and its permissions") from None
            item.st = st
        url = self._url("files", *item.rel.split("/"))
        for _ in range(1000):
            try:
                while True:
                    data = _pread(fd, min(self.chunk, size - pos), pos, item.rel) if pos < size else b""
                    if pos < size and not data:
                        raise SyncError(f"{item.rel} became shorter while it was sent", "sync again")
                    held = int(
                        self.client.json("PUT", url, data, {"offset": pos, "size": size, "sha256": digest})["size"]
                    )
                    progress.add(len(data))
                    pos = held
                    if pos >= size:
                        break
            except ServerError as e:
                if e.status != 409 or "size" not in e.body:
                    raise
                self._manifest_due = True
                pos = min(int(e.body["size"]), size)  # our own part (named by our sha256)
                continue
            break
        st2 = os.fstat(fd)
        if item.kind == layout.REPLACE:
            self._sent_at[item.rel] = time.monotonic()
        if (st2.st_size, st2.st_mtime_ns) == (item.st.st_size, item.st.st_mtime_ns):
            self._local[item.rel] = (size, item.st.st_mtime_ns, digest)

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
            try:
                self._send_artifact(entity, project, name, alias, progress)
            except Exception as e:
                if not _refused(e):
                    raise
                progress.failed.append((f"artifact {entity}/{project}/{name}:{alias}", str(e)))
                continue
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
                data = fh.read(self.chunk)
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
                # only a cache (the manifest decides): no fsync, which a live pass would wait on
                atomic_write_bytes(self.marker_path, json.dumps(marker).encode(), durable=False)
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
