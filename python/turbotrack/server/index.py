"""The index of runs: what lists, filters and sorts runs, kept in the database and rebuilt from the
files (the files stay the truth). A scan thread polls the state files' mtimes every second; ingest
refreshes a run at once.

No run's content stops indexing: a run whose files cannot be read or whose values cannot be
stored is indexed as far as it can be (its id, its state, what could be read) with the reason in
``index_error``, and logged once per change of its files (logger ``turbotrack.server``)."""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from ..store import layout, query, runinfo
from ..store.local import LocalRun
from ..store.names import check_name
from ..store.sql import LIVE, RunQuery, Sql
from .db import Database

log = logging.getLogger("turbotrack.server")

#: A heartbeat counts as fresh for this long when the uploader did not say its interval.
DEFAULT_HEARTBEAT_TTL = 30.0
_MARK = "UPDATE runs SET dirty = ? WHERE entity = ? AND project = ? AND run_id = ? RETURNING run_id"
_TOUCH = (
    "UPDATE runs SET heartbeat = ?, heartbeat_ttl = ?, updated = ? "
    "WHERE entity = ? AND project = ? AND run_id = ? RETURNING run_id"
)
_STATE_GLOBS = (layout.RUN_GLOB, "summary*.json", "config*.json", "metrics*.json")

_COLUMNS = (
    "entity, project, run_id, name, recorded_state, tags, grp, job_type, notes, config, summary, infos, "
    "created, end_time, updated, heartbeat, heartbeat_ttl, signature, index_error, times"
)
_WRITTEN = _COLUMNS
_KEY_COLUMNS = "entity, project, run_id, key, elem, num, txt, js"
_KEPT = ("entity", "project", "run_id", "heartbeat", "heartbeat_ttl")
_UPDATED = [c.strip() for c in _WRITTEN.split(",") if c.strip() not in _KEPT]


def _signature(run_dir: Path) -> tuple[str, float]:
    """The (name, size, mtime) of a run's state files, and the newest mtime."""
    items = []
    newest = 0.0
    for g in _STATE_GLOBS:
        for p in run_dir.glob(g):
            try:
                st = p.stat()
            except OSError:
                continue
            items.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
            newest = max(newest, st.st_mtime)
    for g in (layout.HISTORY_GLOB, layout.OUTPUT):
        for p in run_dir.glob(g):
            try:
                newest = max(newest, p.stat().st_mtime)
            except OSError:
                pass
    return "|".join(sorted(items)), newest


#: A folder changed this recently may change again within the same coarse timestamp: read it again.
_SETTLED_NS = 3_000_000_000


def run_folders(root: Path) -> Iterator[tuple[tuple[str, str, str], Path, int]]:
    """``((entity, project, run_id), folder, folder mtime in ns)`` for every candidate run folder."""

    def subdirs(p: Path, kind: str) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(p) as it:
                entries = sorted(it, key=lambda d: d.name)
        except OSError:
            return
        for d in entries:
            try:
                if d.is_dir(follow_symlinks=False):
                    check_name(kind, d.name)
                    yield d
            except (OSError, ValueError):
                continue

    for e in subdirs(root, "entity"):
        for p in subdirs(Path(e.path), "project"):
            for r in subdirs(Path(p.path), "run id"):
                try:
                    mtime = r.stat(follow_symlinks=False).st_mtime_ns
                except OSError:
                    continue
                yield (e.name, p.name, r.name), Path(r.path), mtime


def _jsonable(obj: Any) -> str:
    """JSON text of what a run holds: NaN and infinities as Python writes them (``NaN``), other
    objects as their ``str``; ASCII only, so any string (a lone surrogate too) can be stored."""
    return json.dumps(obj, default=str, allow_nan=True)


def _finite(x: Any) -> Optional[float]:
    """``x`` as a float a REAL column holds as it is (a finite one), else None (the JSON keeps it)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    try:
        f = float(x)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _text(x: Any) -> Optional[str]:
    """``x`` when it is text every database stores (UTF-8, no NUL), else None."""
    if not isinstance(x, str) or "\x00" in x:
        return None
    try:
        x.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return x


def _reason(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class Index:
    """Runs of one storage root in the database."""

    def __init__(self, db: Database, root: Path) -> None:
        self.db = db
        self.root = root
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._host = socket.gethostname()
        #: run folder mtimes (ns) already read into the index, and the runs seen at the last scan
        self._mtimes: dict[tuple[str, str, str], int] = {}
        self._last_seen: set[tuple[str, str, str]] = set()
        #: the signature of each run's files when its index error was last logged
        self._logged: dict[tuple[str, str, str], str] = {}
        self._scan_error = ""
        #: the signature of a run's state files when they live in an object store (the same on every
        #: replica: the versions the database holds), ``entity/project/run_id`` -> it; else the files'
        self.signer: Optional[Callable[[str], Optional[str]]] = None

    # ---- keeping it up to date ----

    def refresh(
        self, rp: layout.RunPath, force: bool = False, read_at: Optional[float] = None, bump: bool = False
    ) -> bool:
        """Re-read one run's state files into the index, when they changed (or ``force``); whether
        the index now holds what the files say (False: a file was being replaced; the next scan
        retries). A run that cannot be read or stored is indexed with its ``index_error``.

        ``read_at``: when the caller began reading the files (before it fetched them into a
        replica's cache; default now): a change marked (:meth:`mark`) up to then is what the row now
        holds, and its mark is cleared. ``bump``: the row's ``updated`` is now at least (it is
        re-read some seconds after its files changed, and the runs list's ``since=`` must list it)."""
        read_at = time.time() if read_at is None else read_at
        got = self._read(rp, force, read_at, bump, None)
        if not isinstance(got, dict):
            return got
        return self._store(rp, got)

    def refresh_many(
        self,
        runs: list[layout.RunPath],
        read_at: float,
        bump: bool = False,
        signed: Optional[dict[layout.RunPath, Optional[str]]] = None,
    ) -> list[bool]:
        """:meth:`refresh` of each run (not forced), their old signatures in one query and their rows
        in one transaction (the reindexer's debounced re-reads: ``server/reindex.py``). Should that
        transaction fail, each run is stored alone, as :meth:`refresh` does. ``signed``: each run's
        signature from a replica's store, read already (else :attr:`signer` is asked, a run at a time)."""
        old = self._signatures(runs)
        got = [
            self._read(rp, False, read_at, bump, old.get((rp.entity, rp.project, rp.run_id), ()), signed) for rp in runs
        ]
        ready = sorted(
            ((rp, g) for rp, g in zip(runs, got) if isinstance(g, dict)),
            key=lambda x: (x[0].entity, x[0].project, x[0].run_id),
        )
        if ready:
            try:
                steps = [self._put_steps(rp.entity, rp.project, rp.run_id, **fields) for rp, fields in ready]
                self.db.batch([(steps[0][i][0], [r for st in steps for r in st[i][1]]) for i in range(3)])
            except Exception:
                return [g if not isinstance(g, dict) else self._store(rp, g) for rp, g in zip(runs, got)]
            for rp, _ in ready:
                self._stored(rp)
        return [True if isinstance(g, dict) else g for g in got]

    def _signatures(self, runs: list[layout.RunPath]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """The (signature, dirty) of each run's row the index holds, 100 runs a query."""
        got: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for i in range(0, len(runs), 100):
            part = runs[i : i + 100]
            rows = self.db.query(
                "SELECT entity, project, run_id, signature, dirty FROM runs WHERE (entity, project, run_id) IN (VALUES "
                + ", ".join(["(?, ?, ?)"] * len(part))
                + ")",
                [x for rp in part for x in (rp.entity, rp.project, rp.run_id)],
            )
            for e, pr, r, sig, dirty in rows:
                got[(str(e), str(pr), str(r))] = (sig, dirty)
        return got

    def _read(
        self,
        rp: layout.RunPath,
        force: bool,
        read_at: float,
        bump: bool,
        old: Optional[tuple[Any, ...]],
        signed: Optional[dict[layout.RunPath, Optional[str]]] = None,
    ) -> bool | dict[str, Any]:
        """What :meth:`refresh` stores of the run (the fields of :meth:`put`), or its answer when
        there is nothing to store. ``old``: the row's (signature, dirty) when looked up already
        (None: looked up here; ``()``: no row); ``signed``: as :meth:`refresh_many` has it."""
        run_dir = rp.dir
        if not layout.is_run_dir(run_dir):
            return False
        signature, updated = _signature(run_dir)
        if bump:
            updated = max(updated, time.time())
        if signed is not None and rp in signed:
            signature = signed[rp] or signature
        elif self.signer is not None:
            signature = self.signer(f"{rp.entity}/{rp.project}/{rp.run_id}") or signature
        if not force:
            if old is None:
                rows = self.db.query(
                    "SELECT signature, dirty FROM runs WHERE entity = ? AND project = ? AND run_id = ?",
                    (rp.entity, rp.project, rp.run_id),
                )
                old = (rows[0][0], rows[0][1]) if rows else ()
            if old and old[0] == signature:
                if old[1] is not None and old[1] <= read_at:  # marked, yet the row holds it
                    self._clean(rp, read_at)
                return True
        damaged: list[Exception] = []
        try:
            run = LocalRun(run_dir)
            infos = runinfo.rank_infos(run_dir, damaged.append)  # a damaged one stands as unreadable
            config, summary = dict(run.config), dict(run.summary)
        except OSError:  # a file being replaced: the next scan reads it
            if force:
                raise
            return False
        except Exception as e:  # what the files hold cannot be read: the run is shown with why
            self._failed(rp, signature, updated, f"cannot read the run's files: {_reason(e)}", {"read_at": read_at})
            return True
        fields: dict[str, Any] = {
            "infos": infos,
            "config": config,
            "summary": summary,
            "name": run.name,
            "tags": run.tags,
            "group": run.group,
            "job_type": run.job_type,
            "notes": run.notes,
            "created": run.created_at,
            "updated": updated,
            "signature": signature,
            "read_at": read_at,
        }
        if damaged:  # listed, in the state the local Api gives it (unreadable), with why
            self._failed(rp, signature, updated, f"cannot read the run's files: {_reason(damaged[0])}", fields)
            return True
        return fields

    def _store(self, rp: layout.RunPath, fields: dict[str, Any]) -> bool:
        """Store what :meth:`_read` read of the run (its failure: the run with its ``index_error``)."""
        try:
            self.put(rp.entity, rp.project, rp.run_id, **fields)
        except Exception as e:
            self._failed(rp, fields["signature"], fields["updated"], f"cannot index the run: {_reason(e)}", fields)
            return True
        self._stored(rp)
        return True

    def _stored(self, rp: layout.RunPath) -> None:
        self._logged.pop((rp.entity, rp.project, rp.run_id), None)
        if not layout.is_run_dir(rp.dir):  # deleted while it was read: its rows go with it
            self.forget(rp)

    # ---- rows that lag their files (server/reindex.py) ----

    def mark(self, rp: layout.RunPath) -> bool:
        """A state file of the run changed and its row is re-read later (a live run's summary is
        rewritten every few seconds): one statement. False when the index holds no such run."""
        hit = self.db.write_one(_MARK, (time.time(), rp.entity, rp.project, rp.run_id))
        return bool(hit)

    def mark_many(self, runs: list[layout.RunPath]) -> list[bool]:
        """:meth:`mark` of each run, in one transaction (``server/lane.py``'s batches)."""
        now = time.time()
        return self._update_many(_MARK, [(now, rp.entity, rp.project, rp.run_id) for rp in runs])

    def is_dirty(self, rp: layout.RunPath) -> bool:
        """Whether the run's row may lag its state files (a change marked, not yet re-read)."""
        rows = self.db.query(
            "SELECT dirty FROM runs WHERE entity = ? AND project = ? AND run_id = ?",
            (rp.entity, rp.project, rp.run_id),
        )
        return bool(rows) and rows[0][0] is not None

    def _clean(self, rp: layout.RunPath, read_at: float) -> None:
        self.db.write_one(
            "UPDATE runs SET dirty = NULL WHERE entity = ? AND project = ? AND run_id = ? AND dirty <= ? "
            "RETURNING run_id",
            (rp.entity, rp.project, rp.run_id, read_at),
        )

    def claim_stale(self, older_than: float, lease: float) -> list[tuple[str, str, str]]:
        """Take the runs whose mark is older than ``older_than`` seconds (whoever marked them did not
        re-read them: a replica killed since), each for one caller of all replicas: their mark becomes
        ``lease`` (a time ahead, so that another takes them over only if this one dies too)."""
        now = time.time()
        rows = self.db.write_one(
            "UPDATE runs SET dirty = ? WHERE dirty IS NOT NULL AND dirty <= ? RETURNING entity, project, run_id",
            (lease, now - older_than),
        )
        return [(str(e), str(p), str(r)) for e, p, r in rows]

    def release(self, rp: layout.RunPath, lease: float) -> None:
        """Clear the mark :meth:`claim_stale` set, unless the run changed again since (a newer mark)."""
        self.db.write_one(
            "UPDATE runs SET dirty = NULL WHERE entity = ? AND project = ? AND run_id = ? AND dirty = ? "
            "RETURNING run_id",
            (rp.entity, rp.project, rp.run_id, lease),
        )

    def forget(self, rp: layout.RunPath) -> None:
        """Drop one run's rows (a deleted run)."""
        for table in ("runs", "run_keys"):
            where = "entity = ? AND project = ? AND run_id = ?"
            self.db.execute(f"DELETE FROM {table} WHERE {where}", (rp.entity, rp.project, rp.run_id))

    def _failed(
        self,
        rp: layout.RunPath,
        signature: str,
        updated: float,
        reason: str,
        fields: Optional[dict[str, Any]] = None,
    ) -> None:
        """Index a run that could not be indexed in full: what of it every database stores, and
        ``reason``; logged once per change of its files. An error here is the database's own (it
        goes up: the scan retries)."""
        key = (rp.entity, rp.project, rp.run_id)
        if self._logged.get(key) != signature:
            self._logged[key] = signature
            log.warning("run %s is not indexed in full: %s", rp.dir, reason)
        f = fields or {}
        infos, config, summary = f.get("infos"), f.get("config"), f.get("summary")
        tags = [t for t in f.get("tags") or () if _text(t) is not None]
        self.put(
            rp.entity,
            rp.project,
            rp.run_id,
            infos=[i for i in infos if isinstance(i, dict)] if isinstance(infos, list) else [],
            config=config if isinstance(config, dict) else {},
            summary=summary if isinstance(summary, dict) else {},
            name=_text(f.get("name")),
            tags=tags,
            group=_text(f.get("group")),
            job_type=_text(f.get("job_type")),
            notes=_text(f.get("notes")),
            created=f.get("created") if isinstance(f.get("created"), (int, float)) else None,
            updated=updated,
            signature=signature,
            index_error=reason,
            read_at=f.get("read_at"),
        )

    def put(self, entity: str, project: str, run_id: str, **fields: Any) -> None:
        """Upsert one run's row (its heartbeat is kept): what ``refresh`` read from the files.
        With ``index_error`` (a run that could not be indexed in full) only its plain fields go
        into ``run_keys``: it is listed, and found by id, name, state and time. A mark (:meth:`mark`)
        made up to ``read_at`` (when the files were read; default now) is cleared. The fields are
        those of :meth:`_put_steps`."""
        self.db.batch(self._put_steps(entity, project, run_id, **fields))

    def _put_steps(
        self,
        entity: str,
        project: str,
        run_id: str,
        *,
        infos: list[dict[str, Any]],
        config: dict[str, Any],
        summary: dict[str, Any],
        name: Optional[str] = None,
        tags: Sequence[str] = (),
        group: Optional[str] = None,
        job_type: Optional[str] = None,
        notes: Optional[str] = None,
        created: Optional[float] = None,
        updated: Optional[float] = None,
        signature: str = "",
        index_error: Optional[str] = None,
        read_at: Optional[float] = None,
    ) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statements of :meth:`put` (the same three for every run: upsert the row, drop and
        insert its keys), each with the run's rows."""
        ends = [_finite(i.get("end_time")) or 0.0 for i in infos]
        end = max(ends, default=0.0) or None
        recorded = _text((infos[0] if infos else {}).get("state"))
        # live: whether the state depends on now (a rank recorded as running, and no other rank in a
        # state that outranks running for good); then the query resolves it as it runs
        settled = {runinfo.rank_state(i, False) for i in infos if i.get("state") != "running"}
        live = any(i.get("state") == "running" for i in infos) and not settled & {"unreadable", "crashed", "killed"}
        key = (entity, project, run_id)
        row = (
            *key,
            name,
            recorded,
            _jsonable(list(tags)),
            group,
            job_type,
            notes,
            _jsonable(config),
            _jsonable(summary),
            _jsonable(infos),
            _finite(created),
            end,
            _finite(updated),
            None,
            None,
            signature,
            index_error,
            _jsonable([created, end]),
        )
        fields = query.plain_fields(
            run_id=run_id,
            name=name,
            state=LIVE if live else self.state(recorded, infos, None, None),
            group=group,
            job_type=job_type,
            notes=notes,
            tags=tags,
            created=created,
        )
        if index_error is None:
            keys = [(*key, *r) for r in query.key_rows(fields, config, summary)]
        else:
            keys = [(*key, *r) for r in query.key_rows(fields, {}, {})]
        upsert = (
            f"INSERT INTO runs ({_WRITTEN}) VALUES ({', '.join('?' * len(row))}) "
            "ON CONFLICT (entity, project, run_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
            + ", dirty = CASE WHEN runs.dirty <= ? THEN NULL ELSE runs.dirty END"
        )
        return [
            (upsert, [(*row, time.time() if read_at is None else read_at)]),
            ("DELETE FROM run_keys WHERE entity = ? AND project = ? AND run_id = ?", [key]),
            (f"INSERT INTO run_keys ({_KEY_COLUMNS}) VALUES ({', '.join('?' * 8)})", keys),
        ]

    def touch(self, rp: layout.RunPath, ttl: Optional[float] = None) -> bool:
        """A heartbeat: the run's uploader is alive. One statement (heartbeats are a live run's most
        frequent request after its appends); False when the index holds no such run (the caller
        indexes it from its files and touches again)."""
        now = time.time()
        hit = self.db.write_one(_TOUCH, (now, ttl or DEFAULT_HEARTBEAT_TTL, now, rp.entity, rp.project, rp.run_id))
        return bool(hit)

    def touch_many(self, beats: list[tuple[layout.RunPath, Optional[float]]]) -> list[bool]:
        """:meth:`touch` of each run, in one transaction (a batch of appends: ``server/lane.py``);
        the rows are updated in one order, so two replicas' batches never deadlock."""
        now = time.time()
        return self._update_many(
            _TOUCH, [(now, ttl or DEFAULT_HEARTBEAT_TTL, now, rp.entity, rp.project, rp.run_id) for rp, ttl in beats]
        )

    def _update_many(self, sql: str, rows: list[tuple[Any, ...]]) -> list[bool]:
        """``sql`` (an UPDATE of one run's row ``... RETURNING``, the run's entity, project and id
        its last three parameters) for each of ``rows`` in one transaction: whether each found its
        row. The rows are taken in one order, so two replicas' batches never deadlock."""
        order = sorted(range(len(rows)), key=lambda i: rows[i][-3:])
        with self.db.transaction() as tx:
            got = tx.query_many(sql, [rows[i] for i in order])
        hit = [False] * len(rows)
        for i, g in zip(order, got):
            hit[i] = bool(g)
        return hit

    def rebuild(self) -> int:
        """Bring the index in line with the files: add or update every run, drop vanished ones.

        Incremental: every state file is replaced atomically (a rename), which changes its run folder's
        mtime, so a run whose folder's mtime is the one seen at the last scan is not read again (one
        stat per run). Folders changed in the last few seconds are always read (coarse timestamps)."""
        seen: set[tuple[str, str, str]] = set()
        now_ns = time.time_ns()
        for key, path, mtime_ns in run_folders(self.root):
            if self._mtimes.get(key) == mtime_ns:
                seen.add(key)
                continue
            rp = layout.RunPath(self.root, *key)
            if not layout.is_run_dir(path):
                continue
            seen.add(key)
            if self.refresh(rp) and now_ns - mtime_ns > _SETTLED_NS:
                self._mtimes[key] = mtime_ns
        if seen != self._last_seen:
            indexed = self.db.query("SELECT entity, project, run_id FROM runs")
            indexed += self.db.query("SELECT entity, project, run_id FROM run_keys WHERE key = 'id'")
            for e, p, r in set(indexed):
                if (e, p, r) not in seen:
                    self._mtimes.pop((e, p, r), None)
                    for table in ("runs", "run_keys"):
                        self.db.execute(
                            f"DELETE FROM {table} WHERE entity = ? AND project = ? AND run_id = ?", (e, p, r)
                        )
            self._last_seen = seen
        return len(seen)

    def start(self, interval: float = 1.0) -> None:
        """Poll the files every ``interval`` seconds in a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.rebuild()
                    self._scan_error = ""
                except Exception as e:  # the database failed: retried at the next tick, logged once
                    if _reason(e) != self._scan_error:
                        self._scan_error = _reason(e)
                        log.exception("the index scan of %s failed (retried every %g s)", self.root, interval)

        self._thread = threading.Thread(target=loop, name="turbotrack-index", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ---- reading it ----

    def projects(self) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT entity, project, COUNT(*), MAX(updated) FROM runs GROUP BY entity, project ORDER BY entity, project"
        )
        return [{"entity": e, "project": p, "run_count": n, "last_activity": last} for e, p, n, last in rows]

    def runs(
        self,
        entity: str,
        project: str,
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        run_id: Optional[str] = None,
    ) -> list[dict[str, Any]]:
        """RUN dicts of a project (or one run), filtered and sorted as :mod:`turbotrack.store.query` says."""
        return self.page(entity, project, filters, order, run_id=run_id)[1]

    def page(
        self,
        entity: str,
        project: str,
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        offset: int = 0,
        run_id: Optional[str] = None,
        since: Optional[float] = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """``(total, runs)``: the runs matching ``filters`` (``total`` of them), sorted by ``order``, the
        page ``[offset, offset + limit)`` of them; filtering, sorting and paging all happen in SQL.
        With ``since``, only those of them whose index entry was updated (their files' mtime, a
        heartbeat) at or after it are listed; ``total`` still counts them all.
        A malformed query is a ``ValueError`` (from :func:`turbotrack.store.query.parse`)."""
        node = query.parse(filters)
        sort = query.parse_order(order)
        scope = Sql("b.entity = ? AND b.project = ? AND b.key = 'id'", [entity, project])
        if run_id is not None:
            scope = Sql(scope.text + " AND b.run_id = ?", [*scope.params, run_id])
        running: set[str] = set()
        if "state" in query.keys_in(node) | {sort.key}:
            running = self._running(entity, project)
        q = RunQuery(running, self.db.postgres, entity, project)
        where = q.where(node)
        join, order_by = q.order(sort)
        changed = Sql("", [])
        if since is not None:
            changed = Sql(
                " AND b.run_id IN (SELECT run_id FROM runs WHERE entity = ? AND project = ? AND updated >= ?)",
                [entity, project, since],
            )
        cond = f"{scope.text}{where.text}{changed.text}"
        sql = f"SELECT b.run_id FROM run_keys b {join.text} WHERE {cond} {order_by.text}"
        args = join.params + scope.params + where.params + changed.params + order_by.params
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [limit if limit is not None else (None if self.db.postgres else -1), max(0, offset)]
        ids = self.db.query(sql, args)
        if limit is None and not offset and since is None:
            total = len(ids)
        else:
            count = f"SELECT COUNT(*) FROM run_keys b WHERE {scope.text}{where.text}"
            total = int(self.db.query(count, scope.params + where.params)[0][0])
        return total, self._fetch(entity, project, [r[0] for r in ids])

    def _fetch(self, entity: str, project: str, ids: list[str]) -> list[dict[str, Any]]:
        """RUN dicts of ``ids``, in that order."""
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT {_COLUMNS} FROM runs WHERE entity = ? AND project = ? AND run_id IN ({marks})"
            for row in self.db.query(sql, [entity, project, *chunk]):
                found[row[2]] = self._run(row)
        return [found[i] for i in ids if i in found]

    def _running(self, entity: str, project: str) -> set[str]:
        """The ids of the project's live runs (a rank recorded as running) that are alive now."""
        live = self.db.query(
            "SELECT run_id FROM run_keys WHERE entity = ? AND project = ? AND key = 'state' AND txt = ?",
            (entity, project, LIVE),
        )
        out = set()
        for i in range(0, len(live), 500):
            chunk = [r[0] for r in live[i : i + 500]]
            sql = (
                "SELECT run_id, recorded_state, infos, heartbeat, heartbeat_ttl FROM runs "
                f"WHERE entity = ? AND project = ? AND run_id IN ({', '.join('?' * len(chunk))})"
            )
            for r in self.db.query(sql, [entity, project, *chunk]):
                if self.state(r[1], _loads(r[2], []), r[3], r[4]) == "running":
                    out.add(r[0])
        return out

    def _run(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (
            e,
            p,
            rid,
            name,
            recorded,
            tags,
            grp,
            job_type,
            notes,
            config,
            summary,
            infos,
            created,
            end,
            updated,
            hb,
            ttl,
            _,
            index_error,
            times,
        ) = row
        if times:  # the times as written (a REAL column cannot hold NaN on SQLite)
            created, end = _loads(times, [created, end])
        infos_list = _loads(infos, [])
        state = self.state(recorded, infos_list, hb, ttl)
        now = time.time()
        last = end if state != "running" and end else (max(now, created or 0) if state == "running" else updated)
        return {
            "entity": e,
            "project": p,
            "id": rid,
            "name": name,
            "state": state,
            "created": created,
            "heartbeat": hb,
            "runtime": max(0.0, (last or created or 0) - (created or 0)),
            "tags": _loads(tags, []),
            "group": grp,
            "job_type": job_type,
            "notes": notes,
            "config": _loads(config, {}),
            "summary": _loads(summary, {}),
            **({"index_error": index_error} if index_error else {}),
        }

    def state(
        self, recorded: Optional[str], infos: list[dict[str, Any]], hb: Optional[float], ttl: Optional[float]
    ) -> str:
        """The run's state now: :func:`turbotrack.store.runinfo.resolve_state` of its ranks (as the
        local Api says), a rank on another host told by the uploader's heartbeat (fresh for ``ttl``)."""
        fresh = hb is not None and time.time() - hb < (ttl or DEFAULT_HEARTBEAT_TTL)
        return runinfo.resolve_state(infos or [{"state": recorded or "crashed"}], fresh, self._host)


def _loads(text: Optional[str], default: Any) -> Any:
    return json.loads(text) if text else default
