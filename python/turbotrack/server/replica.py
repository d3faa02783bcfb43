"""Run files in an object store, their order in the database: what lets any replica take any request
(``--store s3://...`` with ``--db postgresql://...``; docs/server.md, "Replicas").

Writes. Every file a replica is sent (an append of a STREAM/APPEND file at its offset, a REPLACE or
BLOB file whole) is handed to the :class:`Committer`, which gathers what arrives within a few
milliseconds from all request threads into one *pack* object, puts it, then records each item in one
database transaction: an append is a conditional update of its file's length
(``UPDATE store_files SET size = offset + n WHERE size = offset``) and a segment row naming its bytes
in the pack; a whole file, the row pointing at its bytes. Two uploaders of one run through two
replicas therefore never interleave, lose or double a block: the database takes one append per
offset, and the other gets the 409 with the length held, as on one server. The answer is sent only
once the transaction is committed. A replica killed between the pack and the commit leaves an
object nothing names (never read; a pack nothing names can be deleted).

Reads. ``--dir`` is the replica's cache: the files it was sent, and what it fetched. Before a run is
read, :meth:`ObjectIngest.pull` compares the run's rows with what the cache holds (one query) and
fetches what it lacks by ranged GETs (a growing file only from its cached length on), so every
reader (the native history reader, the file routes, the index) reads plain local files, and an
answer, ETag or cached history read is that of the files as the database has them now, whichever
replica wrote them."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import shutil
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from ..store import layout
from .db import Database
from .index import run_folders
from .ingest import Ingest, IngestError, check_blocks
from .objects import Objects, StoreError

log = logging.getLogger("turbotrack.server")

#: how long the committer waits for more items after the first of a pack (seconds)
WINDOW = 0.015
#: a pack is put once it holds this many bytes, whatever the window
PACK_BYTES = 8 << 20
#: a whole file larger than this is put as an object of its own (read from the cache's file)
OWN_OBJECT = 8 << 20
#: files fetched side by side when a replica fetches a run, and ranged GETs in flight
FETCH_THREADS = 8
RANGE_THREADS = 16
#: the bytes of a growing file fetched before they are written to the cache
FETCH_WINDOW = 32 << 20
#: objects no row names are deleted once this old (seconds), looked for this often
SWEEP_AGE = 3600.0
SWEEP_EVERY = 600.0
_SWEEP_LOCK = 0x7474_5357  # "ttSW"
#: a growing file's trailing segments under COMPACT_SMALL bytes are merged once there are COMPACT_AT
COMPACT_AT = 64
COMPACT_SMALL = 1 << 20


def split(root: Path, path: Path) -> tuple[str, str]:
    """``(dir, name)`` of a file under the root: its first three path parts, and the rest."""
    parts = path.relative_to(root).parts
    if len(parts) < 4:
        raise IngestError(400, f"{path}: not a file of a run folder")
    return "/".join(parts[:3]), "/".join(parts[3:])


@dataclass
class _Item:
    dir: str
    name: str
    kind: str
    offset: Optional[int]  # None: a whole file
    body: bytes = b""
    object: Optional[str] = None  # a whole file already put as its own object
    size: int = 0
    sha256: Optional[str] = None
    done: threading.Event = field(default_factory=threading.Event)
    result: Optional[int] = None  # the file's length after it (conflict: the length held)
    conflict: bool = False
    error: Optional[BaseException] = None

    def wait(self) -> int:
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


#: a whole file's row: its bytes at ``pos`` of ``object`` (a pack, or an object of its own)
_PUT_WHOLE = (
    "INSERT INTO store_files (dir, name, kind, size, object, pos, sha256, version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (dir, name) DO UPDATE SET kind = excluded.kind, "
    "size = excluded.size, object = excluded.object, pos = excluded.pos, sha256 = excluded.sha256, "
    "version = store_files.version + 1"
)
#: the appends a whole file replaces
_DROP_SEGMENTS = "DELETE FROM store_segments WHERE dir = ? AND name = ?"


def _whole_row(it: _Item, pack: str, pos: int) -> tuple[Any, ...]:
    obj, at = (it.object, 0) if it.object is not None else (pack, pos)
    return (it.dir, it.name, it.kind, it.size, obj, at, it.sha256)


class Committer:
    """Group commit: items from every request thread, one pack object and one transaction per
    batch (see the module's docstring). ``submit`` blocks until its item is committed or refused."""

    def __init__(self, objects: Objects, db: Database, window: float = WINDOW) -> None:
        self.objects = objects
        self.db = db
        self.window = window
        self._q: queue.Queue[Optional[_Item]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="turbotrack-commit", daemon=True)
        self._thread.start()

    def submit(self, item: _Item) -> _Item:
        self._q.put(item)
        item.wait()
        return item

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            batch, size = [first], len(first.body)
            deadline = time.monotonic() + self.window
            stop = False
            while size < PACK_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    nxt = self._q.get(timeout=left)
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
                size += len(nxt.body)
            self.commit(batch)  # a failed pack or transaction: every item says so
            if stop:
                return

    def commit(self, batch: list[_Item]) -> None:
        """Commit ``batch`` in the calling thread (a batch gathered elsewhere: ``server/lane.py``);
        each item's ``result`` and ``conflict`` set, or its ``error`` when the pack or the
        transaction failed."""
        try:
            self._commit(batch)
        except BaseException as e:
            err = e if isinstance(e, (StoreError, IngestError)) else StoreError(f"the commit failed: {e}")
            for it in batch:
                if not it.done.is_set():
                    it.error = err
                    it.done.set()

    def _commit(self, batch: list[_Item]) -> None:
        pack = f"packs/{time.strftime('%Y%m%d')}/{uuid.uuid4().hex}"
        positions: list[int] = []
        at = 0
        for it in batch:
            positions.append(at)
            at += len(it.body)
        if at:
            self.objects.put(pack, b"".join(it.body for it in batch))
        # one file's items keep their order; files in a fixed order, so two replicas' transactions
        # take the rows' locks in the same order (never a deadlock): by name first, so that a
        # batch's appends to history files come one after another, and its summaries, each run
        # of them one statement
        order = sorted(range(len(batch)), key=lambda i: (batch[i].name, batch[i].dir, i))
        for attempt in range(3):
            try:
                with self.db.transaction() as tx:
                    results = self._apply_all(tx, batch, order, pack, positions)
                break
            except Exception:
                if attempt == 2:
                    raise
                time.sleep(0.05 * (attempt + 1))
        for i, (result, conflict) in enumerate(results):
            batch[i].result, batch[i].conflict = result, conflict
            batch[i].done.set()

    def _apply_all(
        self, tx: Any, batch: list[_Item], order: list[int], pack: str, positions: list[int]
    ) -> list[tuple[int, bool]]:
        """Record every item, in ``order``; each one's ``(length after it, refused for its offset)``.
        Appends to files that have one item in the batch (nearly all: one block a pass per run)
        go as one pipelined statement each run of them, their segments as another; whole files
        that have one item in the batch (a pass's summary) as one statement each run of them, the
        segments they replace as another."""
        results: list[tuple[int, bool]] = [(0, False)] * len(batch)
        per_file: dict[tuple[str, str], int] = {}
        for it in batch:
            per_file[(it.dir, it.name)] = per_file.get((it.dir, it.name), 0) + 1
        run: list[int] = []
        wholes: list[int] = []

        def flush_wholes() -> None:
            items = [batch[i] for i in wholes]
            tx.executemany(_PUT_WHOLE, [_whole_row(it, pack, positions[i]) for i, it in zip(wholes, items)])
            tx.executemany(_DROP_SEGMENTS, [(it.dir, it.name) for it in items])
            for i, it in zip(wholes, items):
                results[i] = (it.size, False)
            wholes.clear()

        def flush() -> None:
            items = [batch[i] for i in run]
            got = tx.query_many(
                "UPDATE store_files SET size = ?, version = version + 1 WHERE dir = ? AND name = ? AND size = ? "
                "RETURNING size",
                [(int(it.offset or 0) + len(it.body), it.dir, it.name, it.offset) for it in items],
            )
            segments = []
            for i, rows in zip(run, got):
                it = batch[i]
                if rows:
                    results[i] = (int(it.offset or 0) + len(it.body), False)
                    if it.body:
                        segments.append((it.dir, it.name, it.offset, len(it.body), pack, positions[i]))
                else:
                    results[i] = self._append(tx, it, pack, positions[i], tried=True)
            tx.executemany(
                "INSERT INTO store_segments (dir, name, start, length, object, pos) VALUES (?, ?, ?, ?, ?, ?)",
                segments,
            )
            run.clear()

        for i in order:
            it = batch[i]
            alone = per_file[(it.dir, it.name)] == 1
            if alone and it.offset is not None:
                if wholes:
                    flush_wholes()
                run.append(i)
                continue
            if run:
                flush()
            if alone:
                wholes.append(i)
                continue
            if wholes:
                flush_wholes()
            results[i] = self._apply(tx, it, pack, positions[i])
        if run:
            flush()
        if wholes:
            flush_wholes()
        return results

    @classmethod
    def _apply(cls, tx: Any, it: _Item, pack: str, pos: int) -> tuple[int, bool]:
        """Record one item; ``(length after it, whether it was refused for its offset)``."""
        if it.offset is None:
            tx.execute(_PUT_WHOLE, _whole_row(it, pack, pos))
            tx.execute(_DROP_SEGMENTS, (it.dir, it.name))
            return it.size, False
        return cls._append(tx, it, pack, pos)

    @staticmethod
    def _append(tx: Any, it: _Item, pack: str, pos: int, tried: bool = False) -> tuple[int, bool]:
        """Record one append (``tried``: its conditional UPDATE already found the file at another
        length, or no file)."""
        assert it.offset is not None
        n = len(it.body)
        new = it.offset + n
        got: list[Any] = []
        if not tried:
            got = tx.query(
                "UPDATE store_files SET size = ?, version = version + 1 WHERE dir = ? AND name = ? AND size = ? "
                "RETURNING size",
                (new, it.dir, it.name, it.offset),
            )
        if not got and it.offset == 0:
            got = tx.query(
                "INSERT INTO store_files (dir, name, kind, size, object, pos, sha256, version) "
                "VALUES (?, ?, ?, ?, NULL, NULL, NULL, 1) ON CONFLICT (dir, name) DO NOTHING RETURNING size",
                (it.dir, it.name, it.kind, new),
            )
        if not got:
            held = tx.query("SELECT size FROM store_files WHERE dir = ? AND name = ?", (it.dir, it.name))
            return (int(held[0][0]) if held else 0), True
        if n:
            tx.execute(
                "INSERT INTO store_segments (dir, name, start, length, object, pos) VALUES (?, ?, ?, ?, ?, ?)",
                (it.dir, it.name, it.offset, n, pack, pos),
            )
        return new, False


class CacheRefused(StoreError):
    """``--dir`` holds runs of its own: it cannot be a replica's cache."""


#: the file that marks a folder as a replica's cache of an object store (it holds the store's URL)
CACHE_MARK = ".store-cache"


def _claim_cache(root: Path, url: str) -> None:
    """Make ``root`` this store's cache: a folder already marked for it, or one without runs. A folder
    of runs is refused: a cache's runs are dropped when the store no longer has them."""
    mark = root / CACHE_MARK
    root.mkdir(parents=True, exist_ok=True)
    try:
        if mark.read_text(encoding="utf-8").strip() == url:
            return
    except FileNotFoundError:
        pass
    if any(layout.is_run_dir(folder) for _, folder, _ in run_folders(root)):
        raise CacheRefused(
            f"--dir {root} holds runs, and with --store it is only this replica's cache of {url}: "
            "pass an empty folder (upload these runs with 'turbotrack sync --base-url URL')"
        )
    mark.write_text(url + "\n", encoding="utf-8")


class _Moved(Exception):
    """The segments changed under a compaction (another replica merged them): it is dropped."""


@dataclass(frozen=True)
class _Row:
    name: str
    kind: str
    size: int
    object: Optional[str]
    pos: Optional[int]
    sha256: Optional[str]
    version: int


class ObjectIngest(Ingest):
    """:class:`Ingest` whose files live in the object store, with ``root`` as this replica's cache."""

    replicated = True

    def __init__(self, root: Path, db: Database, objects: Objects) -> None:
        super().__init__(root)
        _claim_cache(root, objects.url)
        self.db = db
        self.objects = objects
        self.committer = Committer(objects, db)
        #: (dir, name) -> the version the cache holds
        self._have: dict[tuple[str, str], int] = {}
        self._have_lock = threading.Lock()
        self._fetch = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="turbotrack-fetch")
        self._ranges = ThreadPoolExecutor(RANGE_THREADS, thread_name_prefix="turbotrack-get")
        self._compacting: set[tuple[str, str]] = set()
        self._stop = threading.Event()

    def close(self) -> None:
        self._stop.set()
        self.committer.close()
        self._fetch.shutdown(wait=False)
        self._ranges.shutdown(wait=False)

    # ---- writes ----

    def append(self, path: Path, kind: str, offset: int, body: bytes) -> int:
        it = self.committer.submit(self.append_item(path, kind, offset, body))
        return self.appended(path, it)

    def append_item(self, path: Path, kind: str, offset: int, body: bytes) -> _Item:
        """An append checked and ready to commit (``Committer.submit``, or a batch's ``commit``)."""
        d, name = split(self.root, path)
        if kind == layout.STREAM:
            check_blocks(path, offset, body)
        return _Item(d, name, kind, offset, bytes(body))

    def appended(self, path: Path, it: _Item) -> int:
        """After ``it`` was committed: the file's length, the bytes in the cache; the 409 with the
        length held when the database refused its offset."""
        if it.error is not None:
            raise it.error
        assert it.offset is not None
        if it.conflict:
            held = int(it.result or 0)
            self.pull_file(path, it.dir, it.name)
            with self.lock(path):
                digest = self._digest(path, held) if held <= self._local_size(path) else None
            raise IngestError(409, f"offset {it.offset} is not the server's length {held}", held, digest)
        self._cache_append(path, it.dir, it.name, it.offset, it.body)
        return int(it.result or 0)

    def replace(self, path: Path, body: bytes) -> int:
        return self._put_whole(path, body)

    def put_part(self, path: Path, offset: int, body: bytes, total: int, sha256: str) -> int:
        if offset == 0 and len(body) == total and total <= OWN_OBJECT:
            return self._put_whole(path, body, sha256)
        have = super().put_part(path, offset, body, total, sha256)
        if have == total:  # whole and in place in the cache: now in the store, then answered
            self.publish(path, sha256)
        return have

    def _put_whole(self, path: Path, body: bytes, sha256: Optional[str] = None) -> int:
        """A whole file (``replace``, or a chunked upload in one request: a live run's summary.json
        every few seconds, its config, a small artifact file): hashed once, committed with the
        appends' group commit, then put in the cache, with no part file and no fsync (the store
        holds the bytes). As the chunked path answers: 400 when ``sha256`` is given and the bytes
        hash otherwise; the bytes held."""
        it = self.whole_item(path, body, sha256)
        with self.lock(path):
            self._unlink(path, keep=it.sha256 or "")  # a part an earlier, broken upload of it left
            self.committer.submit(it)
            self._cache_whole(path, it)
        return len(body)

    def whole_item(self, path: Path, body: bytes, sha256: Optional[str] = None) -> _Item:
        """A whole file hashed and ready to commit (see :meth:`_put_whole`)."""
        digest = hashlib.sha256(body).hexdigest()
        if sha256 is not None and digest != sha256:
            raise IngestError(400, f"{path.name}: the {len(body)} bytes sent hash to {digest}, not {sha256}")
        d, name = split(self.root, path)
        kind = layout.classify(name) or (layout.BLOB if sha256 is not None else layout.REPLACE)
        return _Item(d, name, kind, None, bytes(body), size=len(body), sha256=digest)

    def put_whole(self, path: Path, it: _Item) -> int:
        """After a whole file's ``it`` was committed (a batch's ``commit``): the bytes in the cache;
        the bytes held."""
        if it.error is not None:
            raise it.error
        with self.lock(path):
            self._unlink(path, keep=it.sha256 or "")
            self._cache_whole(path, it)
        return it.size

    def _cache_whole(self, path: Path, it: _Item) -> None:
        self._cache_bytes(path, it.body, it.sha256 or "")

    def _cache_bytes(self, path: Path, data: bytes, sha256: str) -> None:
        """Put a whole file the store holds into the cache (hashing to ``sha256``): replaced
        atomically, never fsynced (a cache a power cut damages is fetched again: its hash is checked
        against the database's before it is used)."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self._write_at(tmp, 0, data, sync=False)
            self._move_into_place(tmp, path, sync=False)
        except BaseException:
            self._unlink(tmp)
            raise
        st = os.lstat(path)
        self._sha[path] = (st.st_size, st.st_mtime_ns, sha256)  # the next manifest hashes nothing

    def publish(self, path: Path, sha256: Optional[str] = None) -> None:
        """Put a whole file of the cache into the store (a chunked upload once complete, an artifact's
        blob or manifest): its own object when large, else in a pack."""
        d, name = split(self.root, path)
        kind = layout.classify(name) or layout.BLOB
        size = os.lstat(path).st_size
        if size > OWN_OBJECT:
            key = f"files/{d}/{name}.{uuid.uuid4().hex}"
            self.objects.put(key, path)
            digest = sha256 or self.sha256(path)
            self.committer.submit(_Item(d, name, kind, None, object=key, size=size, sha256=digest))
        else:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            self.committer.submit(_Item(d, name, kind, None, data, size=len(data), sha256=digest))

    def has(self, path: Path) -> bool:
        """Whether the store holds the file (whether or not this cache has it yet)."""
        d, name = split(self.root, path)
        return bool(self._rows(d, name))

    def fetch(self, path: Path) -> None:
        """Bring one file into the cache, when the store holds it."""
        d, name = split(self.root, path)
        self.pull_file(path, d, name)

    def held(self, path: Path, kind: str) -> tuple[int, str]:
        d, name = split(self.root, path)
        self.pull_file(path, d, name)
        return super().held(path, kind)

    @contextlib.contextmanager
    def exclusive(self, path: Path) -> Iterator[None]:
        """Held by one request of all replicas at a time (a read-modify-write of one file): this
        process's lock of the file, then the database's (PostgreSQL: an advisory lock)."""
        d, name = split(self.root, path)
        with self.lock(path), self._db_lock(path):
            self.pull_file(path, d, name)
            yield

    @contextlib.contextmanager
    def _db_lock(self, path: Path) -> Iterator[None]:
        """PostgreSQL's advisory lock of ``path`` (SQLite: nothing more, replicas sharing it share a machine)."""
        if not self.db.postgres:
            yield
            return
        key = zlib.crc32(os.fsencode(path.relative_to(self.root))) - (1 << 31)
        with self.db._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # ---- the cache ----

    def _local_size(self, path: Path) -> int:
        try:
            return os.lstat(path).st_size
        except FileNotFoundError:
            return 0

    def _cache_append(self, path: Path, d: str, name: str, offset: int, body: bytes) -> None:
        """Put a committed append into the cache: written when the cache ends at its offset, else
        the file is fetched (another replica appended before it)."""
        with self.lock(path):
            have = self._local_size(path)
            if have == offset:
                self._write_local(path, offset, body)
                return
        self.pull_file(path, d, name)

    def _write_local(self, path: Path, offset: int, body: bytes) -> None:
        ino = self._write_at(path, offset, body, sync=False)  # the store holds them: the cache needs no fsync
        if layout.classify(path.name) == layout.STREAM:
            self._valid[path] = (ino, offset + len(body), offset + len(body))
        self._prefix.extend(path, ino, offset, memoryview(body))

    def _rows(self, d: str, name: Optional[str] = None) -> list[_Row]:
        sql = "SELECT name, kind, size, object, pos, sha256, version FROM store_files WHERE dir = ?"
        params: tuple[Any, ...] = (d,)
        if name is not None:
            sql += " AND name = ?"
            params = (d, name)
        return [_Row(str(r[0]), str(r[1]), int(r[2]), r[3], r[4], r[5], int(r[6])) for r in self.db.query(sql, params)]

    def rows_of(self, dirs: list[Path]) -> dict[Path, list[_Row]]:
        """The database's rows of each folder (100 folders a query): what :meth:`pull` (``rows=``)
        and :meth:`signature` of several runs read in one go (the reindexer's batches)."""
        by_rel = {d.relative_to(self.root).as_posix(): d for d in dirs}
        out: dict[Path, list[_Row]] = {d: [] for d in dirs}
        rels = list(by_rel)
        for i in range(0, len(rels), 100):
            part = rels[i : i + 100]
            sql = "SELECT dir, name, kind, size, object, pos, sha256, version FROM store_files WHERE dir IN ("
            for r in self.db.query(sql + ", ".join("?" * len(part)) + ")", tuple(part)):
                row = _Row(str(r[1]), str(r[2]), int(r[3]), r[4], r[5], r[6], int(r[7]))
                out[by_rel[str(r[0])]].append(row)
        return out

    def pull(self, dir: Path, streams: bool = True, under: str = "", rows: Optional[list[_Row]] = None) -> bool:
        """Bring the cache of one run folder (or a project's artifacts) in line with the database:
        fetch what it lacks (``streams`` False: only its state files; ``under``: only names that
        start so), and drop a run folder the database no longer has (a run deleted through another
        replica). Whether the database has the folder. ``rows``: the folder's, read already
        (:meth:`rows_of`)."""
        rel = dir.relative_to(self.root).as_posix()
        rows = [r for r in (self._rows(rel) if rows is None else rows) if r.name.startswith(under)]
        if not rows:
            if not under and dir.is_dir() and layout.is_plain_dir(self.root, dir) and layout.is_run_dir(dir):
                with self._have_lock:
                    for k in [k for k in self._have if k[0] == rel]:
                        del self._have[k]
                shutil.rmtree(dir, ignore_errors=True)
            return False
        jobs = []
        for row in rows:
            if not streams and row.kind in (layout.STREAM, layout.APPEND):
                continue
            with self._have_lock:
                if self._have.get((rel, row.name)) == row.version:
                    continue
            jobs.append(self._fetch.submit(self._pull_row, dir / row.name, rel, row))
        for j in jobs:
            j.result()
        return True

    def pull_file(self, path: Path, d: str, name: str) -> None:
        rows = self._rows(d, name)
        if rows:
            with self._have_lock:
                if self._have.get((d, name)) == rows[0].version:
                    return
            self._pull_row(path, d, rows[0])

    def _pull_row(self, path: Path, d: str, row: _Row) -> None:
        with self.lock(path):
            if row.kind in (layout.STREAM, layout.APPEND):
                have = self._local_size(path)
                if have > row.size:  # never past what the database holds
                    self._prefix.forget(path)
                    self._write_local(path, row.size, b"")
                    have = row.size
                if have < row.size:
                    segs = self._segments(d, row.name, have)
                    try:
                        self._fetch_segments(path, d, row.name, have, segs)
                    except FileNotFoundError:  # merged and swept since the rows were read: read them again
                        have = self._local_size(path)
                        segs = self._segments(d, row.name, have)
                        self._fetch_segments(path, d, row.name, have, segs)
                    if sum(1 for _, n, _, _ in segs if n < COMPACT_SMALL) >= COMPACT_AT:
                        self._compact_soon(path, d, row.name)
            else:
                if not (self._regular(path) and self.sha256(path) == row.sha256):
                    data = self.objects.get(str(row.object), int(row.pos or 0), int(row.pos or 0) + row.size)
                    digest = hashlib.sha256(data).hexdigest()
                    if row.sha256 and digest != row.sha256:
                        raise StoreError(f"{d}/{row.name}: the object store's bytes do not hash to its sha256")
                    self._cache_bytes(path, data, digest)
        with self._have_lock:
            self._have[(d, row.name)] = row.version

    def _segments(self, d: str, name: str, past: int = 0) -> list[tuple[int, int, str, int]]:
        """``(start, length, object, pos)`` of the file's segments that end past ``past``, in order."""
        rows = self.db.query(
            "SELECT start, length, object, pos FROM store_segments "
            "WHERE dir = ? AND name = ? AND start + length > ? ORDER BY start",
            (d, name, past),
        )
        return [(int(a), int(n), str(o), int(p)) for a, n, o, p in rows]

    def _fetch_segments(self, path: Path, d: str, name: str, have: int, segs: list[tuple[int, int, str, int]]) -> None:
        """Append bytes ``have..`` of the file to the cache from its segments: fetched side by side,
        written in order, a window of at most FETCH_WINDOW bytes at a time (under the file's lock)."""
        ranges: list[tuple[str, int, int]] = []
        at = have
        for start, length, obj, pos in segs:
            if start > at:
                raise StoreError(f"{d}/{name}: no segment holds bytes {at}..{start}")
            ranges.append((obj, pos + at - start, pos + length))
            at = start + length
        i = 0
        while i < len(ranges):
            j, window = i, 0
            while j < len(ranges) and (j == i or window + ranges[j][2] - ranges[j][1] <= FETCH_WINDOW):
                window += ranges[j][2] - ranges[j][1]
                j += 1
            pieces = list(self._ranges.map(lambda r: self.objects.get(r[0], r[1], r[2]), ranges[i:j]))
            data = b"".join(pieces)
            self._write_local(path, have, data)
            have += len(data)
            i = j

    def _compact_soon(self, path: Path, d: str, name: str) -> None:
        key = (d, name)
        with self._have_lock:
            if key in self._compacting:
                return
            self._compacting.add(key)

        def job() -> None:
            try:
                self.compact(path, d, name)
            except Exception as e:  # the file stays readable from its segments; tried again later
                log.warning("compacting %s/%s failed: %s", d, name, e)
            finally:
                with self._have_lock:
                    self._compacting.discard(key)

        self._fetch.submit(job)

    def compact(self, path: Path, d: str, name: str) -> bool:
        """Merge the small segments at the end of a growing file (COMPACT_AT or more, each under
        COMPACT_SMALL bytes) into one object, from the bytes this cache holds (they never change
        once committed). A run read cold then costs a GET per merged piece, not one per append.
        Whether it merged; another replica merging the same ones first: False, and nothing changes."""
        segs = self._segments(d, name)
        tail: list[tuple[int, int, str, int]] = []
        for seg in segs:
            tail = [*tail, seg] if seg[1] < COMPACT_SMALL else []
        if len(tail) < COMPACT_AT:
            return False
        start, end = tail[0][0], tail[-1][0] + tail[-1][1]
        if self._local_size(path) < end:
            return False
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        if len(data) != end - start:
            return False
        key = f"files/{d}/{name}.{start}-{end}.{uuid.uuid4().hex}"
        self.objects.put(key, data)
        try:
            with self.db.transaction() as tx:
                gone = tx.query(
                    "DELETE FROM store_segments WHERE dir = ? AND name = ? AND start >= ? AND start + length <= ? "
                    "RETURNING start",
                    (d, name, start, end),
                )
                if len(gone) != len(tail):
                    raise _Moved()
                tx.execute(
                    "INSERT INTO store_segments (dir, name, start, length, object, pos) VALUES (?, ?, ?, ?, ?, 0)",
                    (d, name, start, end - start, key),
                )
        except _Moved:
            self.objects.delete(key)
            return False
        return True

    def sweep(self, older_than: float = SWEEP_AGE) -> int:
        """Delete the objects no row names (packs a replica was killed before committing, those of
        merged segments, replaced files) once older than ``older_than`` seconds: a pack being
        committed, or read through rows a moment old, is younger. How many went."""
        named = {str(r[0]) for r in self.db.query("SELECT DISTINCT object FROM store_segments")}
        named |= {str(r[0]) for r in self.db.query("SELECT DISTINCT object FROM store_files WHERE object IS NOT NULL")}
        cutoff = time.time() - older_than
        gone = 0
        for prefix in ("packs/", "files/"):
            for key, modified in self.objects.list(prefix):
                if key not in named and modified < cutoff:
                    self.objects.delete(key)
                    gone += 1
        return gone

    def start_sweeping(self, interval: float = SWEEP_EVERY) -> None:
        """Sweep every ``interval`` seconds in a daemon thread: on PostgreSQL one replica at a time
        (whichever holds the advisory lock), each failure logged once."""

        def loop() -> None:
            last_error = ""
            while not self._stop.wait(interval):
                try:
                    if self.db.postgres:
                        with self.db._pool.connection() as conn:
                            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_SWEEP_LOCK,)).fetchone()[0]:
                                continue
                            try:
                                self.sweep()
                            finally:
                                conn.execute("SELECT pg_advisory_unlock(%s)", (_SWEEP_LOCK,))
                    else:
                        self.sweep()
                    last_error = ""
                except Exception as e:
                    if str(e) != last_error:
                        last_error = str(e)
                        log.warning("sweeping %s failed (tried again in %g s): %s", self.objects.url, interval, e)

        threading.Thread(target=loop, name="turbotrack-sweep", daemon=True).start()

    def signature(self, rel: str) -> Optional[str]:
        """The versions of one folder's state files as the database has them (the index's signature
        of a run, the same on every replica)."""
        return self.signed(self._rows(rel))

    def signed(self, rows: list[_Row]) -> Optional[str]:
        """:meth:`signature` of a folder's rows, read already (:meth:`rows_of`)."""
        parts = sorted(f"{r.name}:{r.version}" for r in rows if r.kind not in (layout.STREAM, layout.APPEND))
        return hashlib.sha1("|".join(parts).encode()).hexdigest() if parts else None

    def holding(self, dirs: list[Path]) -> set[Path]:
        """Those of the run folders ``dirs`` the database holds any file of (:meth:`rows_of`)."""
        return {d for d, rows in self.rows_of(dirs).items() if rows}

    def run_dirs(self) -> list[str]:
        """Every run folder the database holds (``entity/project/run_id``)."""
        rows = self.db.query("SELECT DISTINCT dir FROM store_files WHERE name = ?", (layout.RUN,))
        return sorted(str(r[0]) for r in rows)

    def forget(self, dir: Path) -> None:
        """Drop a folder's files from the database (a deleted run): every replica drops its cache."""
        rel = dir.relative_to(self.root).as_posix()
        with self.db.transaction() as tx:
            tx.execute("DELETE FROM store_segments WHERE dir = ?", (rel,))
            tx.execute("DELETE FROM store_files WHERE dir = ?", (rel,))
        with self._have_lock:
            for k in [k for k in self._have if k[0] == rel]:
                del self._have[k]


__all__ = ["CacheRefused", "Committer", "ObjectIngest", "split"]
