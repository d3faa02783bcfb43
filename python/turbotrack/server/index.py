"""The index of runs: what lists, filters and sorts runs, kept in the database and rebuilt from the
files (the files stay the truth). A scan thread polls the state files' mtimes every second; ingest
refreshes a run at once."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from pathlib import Path
from typing import Any, Optional

from ..store import layout, runinfo
from ..store.local import LocalRun
from .db import Database

#: A heartbeat counts as fresh for this long when the uploader did not say its interval.
DEFAULT_HEARTBEAT_TTL = 30.0
_STATE_GLOBS = (layout.RUN_GLOB, "summary*.json", "config*.json", "metrics*.json")

_COLUMNS = (
    "entity, project, run_id, name, recorded_state, tags, grp, job_type, notes, config, summary, infos, "
    "created, end_time, updated, heartbeat, heartbeat_ttl, signature"
)


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


def _jsonable(obj: Any) -> str:
    return json.dumps(obj, default=str, allow_nan=True)


class Index:
    """Runs of one storage root in the database."""

    def __init__(self, db: Database, root: Path) -> None:
        self.db = db
        self.root = root
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._host = socket.gethostname()

    # ---- keeping it up to date ----

    def refresh(self, rp: layout.RunPath, force: bool = False) -> None:
        """Re-read one run's state files into the index, when they changed (or ``force``)."""
        run_dir = rp.dir
        if not layout.is_run_dir(run_dir):
            return
        signature, updated = _signature(run_dir)
        if not force:
            old = self.db.query(
                "SELECT signature FROM runs WHERE entity = ? AND project = ? AND run_id = ?",
                (rp.entity, rp.project, rp.run_id),
            )
            if old and old[0][0] == signature:
                return
        try:
            run = LocalRun(run_dir)
            infos = runinfo.rank_infos(run_dir)
            config, summary = dict(run.config), dict(run.summary)
        except (OSError, ValueError) as e:  # a file being replaced, or not JSON yet: next scan
            if force:
                raise
            del e
            return
        end = max((i.get("end_time") or 0 for i in infos), default=0) or None
        self.db.execute(
            f"INSERT INTO runs ({_COLUMNS}) VALUES ({', '.join('?' * 18)}) "
            "ON CONFLICT (entity, project, run_id) DO UPDATE SET name = excluded.name, "
            "recorded_state = excluded.recorded_state, tags = excluded.tags, grp = excluded.grp, "
            "job_type = excluded.job_type, notes = excluded.notes, config = excluded.config, "
            "summary = excluded.summary, infos = excluded.infos, created = excluded.created, "
            "end_time = excluded.end_time, updated = excluded.updated, signature = excluded.signature",
            (
                rp.entity,
                rp.project,
                rp.run_id,
                run.name,
                (infos[0] if infos else {}).get("state"),
                _jsonable(run.tags),
                run.group,
                run.job_type,
                run.notes,
                _jsonable(config),
                _jsonable(summary),
                _jsonable(infos),
                run.created_at,
                end,
                updated,
                None,
                None,
                signature,
            ),
        )

    def touch(self, rp: layout.RunPath, ttl: Optional[float] = None) -> None:
        """A heartbeat: the run's uploader is alive."""
        now = time.time()
        self.refresh(rp)
        self.db.execute(
            "UPDATE runs SET heartbeat = ?, heartbeat_ttl = ?, updated = ? "
            "WHERE entity = ? AND project = ? AND run_id = ?",
            (now, ttl or DEFAULT_HEARTBEAT_TTL, now, rp.entity, rp.project, rp.run_id),
        )

    def rebuild(self) -> int:
        """Bring the index in line with the files: add or update every run, drop vanished ones."""
        seen = set()
        for rp in layout.iter_run_dirs(self.root):
            seen.add((rp.entity, rp.project, rp.run_id))
            self.refresh(rp)
        for e, p, r in self.db.query("SELECT entity, project, run_id FROM runs"):
            if (e, p, r) not in seen:
                self.db.execute("DELETE FROM runs WHERE entity = ? AND project = ? AND run_id = ?", (e, p, r))
        return len(seen)

    def start(self, interval: float = 1.0) -> None:
        """Poll the files every ``interval`` seconds in a daemon thread."""

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.rebuild()
                except Exception:  # a scan that failed is retried at the next tick
                    pass

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
        """RUN dicts of a project (or one run), filtered by equality on dotted fields and sorted."""
        sql = f"SELECT {_COLUMNS} FROM runs WHERE entity = ? AND project = ?"
        params: list[Any] = [entity, project]
        if run_id is not None:
            sql += " AND run_id = ?"
            params.append(run_id)
        runs = [self._run(r) for r in self.db.query(sql, params)]
        runs = [r for r in runs if all(_matches(field(r, k), v) for k, v in (filters or {}).items())]
        return sort_runs(runs, order or "-created")

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
        ) = row
        infos_list = json.loads(infos or "[]")
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
            "tags": json.loads(tags or "[]"),
            "group": grp,
            "job_type": job_type,
            "notes": notes,
            "config": json.loads(config or "{}"),
            "summary": json.loads(summary or "{}"),
        }

    def state(
        self, recorded: Optional[str], infos: list[dict[str, Any]], hb: Optional[float], ttl: Optional[float]
    ) -> str:
        """``running`` while a rank's process lives (on this host) or the heartbeat is fresh;
        ``crashed`` when it stopped without finishing; else as recorded."""
        fresh = hb is not None and time.time() - hb < (ttl or DEFAULT_HEARTBEAT_TTL)
        states = set()
        for info in infos or [{"state": recorded or "crashed"}]:
            s = info.get("state", "crashed")
            if s == "running":
                local = info.get("host") in (None, self._host)
                alive = local and runinfo.process_alive(int(info.get("pid", -1)), info.get("pid_start"))
                s = "running" if alive or fresh else "crashed"
            states.add(s)
        for s in ("crashed", "running", "failed"):
            if s in states:
                return s
        return "finished"


def field(run: dict[str, Any], key: str) -> Any:
    """A RUN field by dotted name: ``summary_metrics.acc`` (``summary_metrics.loss.min`` for a
    summary dict), ``config.lr``, ``state``, ``created_at``, ``group``..."""
    for prefix, src in (("summary_metrics.", "summary"), ("summary.", "summary"), ("config.", "config")):
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            d: Any = run[src]
            if rest in d:
                return d[rest]
            for part in rest.split("."):
                d = d.get(part) if isinstance(d, dict) else None
            return d
    if key in ("created_at", "createdAt"):
        return run["created"]
    if key in ("id", "run_id"):
        return run["id"]
    return run.get(key)


def _matches(value: Any, want: Any) -> bool:
    if isinstance(want, dict) and "$in" in want:
        return value in want["$in"]
    if isinstance(value, list) and not isinstance(want, list):
        return want in value
    return bool(value == want)


def sort_runs(runs: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Runs sorted by ``order`` (``-`` first: descending); runs without the field last."""
    desc = order.startswith("-")
    key = order.lstrip("+-")

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v)) or isinstance(v, (dict, list))

    have = [r for r in runs if not missing(field(r, key))]
    rest = [r for r in runs if missing(field(r, key))]
    numeric = all(isinstance(field(r, key), (int, float)) for r in have)
    have.sort(key=lambda r: field(r, key) if numeric else str(field(r, key)), reverse=desc)
    return have + rest
