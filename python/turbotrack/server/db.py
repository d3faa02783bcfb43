"""The server's database: SQLite (default, inside the storage root, WAL) or PostgreSQL (psycopg 3).

One small wrapper so the index and the keys use the same SQL on both: ``?`` placeholders,
``INSERT ... ON CONFLICT`` upserts, and one connection guarded by a lock (one writer)."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

from .runquery import REGEXP_FUNCTION

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS runs (
        entity TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL,
        name TEXT, recorded_state TEXT, tags TEXT, grp TEXT, job_type TEXT, notes TEXT,
        config TEXT, summary TEXT, infos TEXT,
        created DOUBLE PRECISION, end_time DOUBLE PRECISION, updated DOUBLE PRECISION,
        heartbeat DOUBLE PRECISION, heartbeat_ttl DOUBLE PRECISION, signature TEXT,
        PRIMARY KEY (entity, project, run_id))""",
    # What filters and sorts runs, one narrow row per run and field (see runquery.py).
    """CREATE TABLE IF NOT EXISTS run_keys (
        entity TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL,
        elem INTEGER NOT NULL, num DOUBLE PRECISION, txt TEXT {COLLATE}, js TEXT)""",
    "CREATE INDEX IF NOT EXISTS run_keys_key ON run_keys (entity, project, key, run_id, elem, num, txt)",
    "CREATE INDEX IF NOT EXISTS run_keys_run ON run_keys (entity, project, run_id)",
    # What the rows of run_keys mean (see store/query.py): an index of another version is rebuilt.
    "CREATE TABLE IF NOT EXISTS index_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY, entity TEXT NOT NULL, hash TEXT NOT NULL, read_only INTEGER NOT NULL,
        created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)""",
    # Browser sessions: the sha256 of the cookie, never the cookie (see auth.py).
    """CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL)""",
]


#: The version of run_keys' encoding; 2: bools are their own kind (``js`` "true"/"false"), lists and
#: dicts as sorted-key JSON. An index written by another version is emptied at start and rebuilt
#: from the files (the files stay the truth).
INDEX_VERSION = "2"


def _regexp(pattern: str, ignore_case: int, text: Optional[str]) -> int:
    """``$regex`` on SQLite: Python's ``re.search``, as the local store evaluates it."""
    if text is None:
        return 0
    return int(re.search(pattern, text, re.IGNORECASE if ignore_case else 0) is not None)


def default_url(root: Path) -> str:
    """``sqlite:///<root>/index.sqlite`` (``root`` is the storage root, ending in ``turbotrack``)."""
    return f"sqlite:///{root / 'index.sqlite'}"


class Database:
    """A connection to the index database named by ``url`` (``sqlite:///PATH`` or ``postgresql://...``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        if self.postgres:
            try:
                import psycopg
            except ImportError as e:
                raise RuntimeError(
                    "a PostgreSQL index needs psycopg 3: pip install 'turbotrack[server]' (or 'psycopg[binary]')"
                ) from e
            self._conn: Any = psycopg.connect(url, autocommit=True)
        elif url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.create_function(REGEXP_FUNCTION, 3, _regexp, deterministic=True)
        else:
            raise ValueError(f"--db {url!r}: expected sqlite:///PATH or postgresql://...")
        if self.table_exists("runs") and not self.table_exists("run_keys"):
            self.execute("DROP TABLE runs")  # an index from an older server: the files rebuild it
        for stmt in SCHEMA:  # strings sort by code point on both, as in Python
            self.execute(stmt.replace("{COLLATE}", 'COLLATE "C"' if self.postgres else ""))
        if [r[0] for r in self.query("SELECT value FROM index_meta WHERE name = 'version'")] != [INDEX_VERSION]:
            self.batch(
                [
                    ("DELETE FROM run_keys", [()]),
                    ("DELETE FROM runs", [()]),
                    ("DELETE FROM index_meta WHERE name = 'version'", [()]),
                    ("INSERT INTO index_meta (name, value) VALUES ('version', ?)", [(INDEX_VERSION,)]),
                ]
            )

    def table_exists(self, table: str) -> bool:
        if self.postgres:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()"
            return bool(self.query(sql, (table,)))
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (committed at once)."""
        with self._lock:
            self._conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows, in one transaction."""
        if not rows:
            return
        with self._lock:
            if self.postgres:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), [tuple(r) for r in rows])
            else:
                self._conn.execute("BEGIN")
                try:
                    self._conn.executemany(sql, [tuple(r) for r in rows])
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    def batch(self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Several statements, each run for its rows, in one transaction."""
        with self._lock:
            if self.postgres:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    for sql, rows in steps:
                        if rows:
                            cur.executemany(self._sql(sql), [tuple(r) for r in rows])
                return
            self._conn.execute("BEGIN")
            try:
                for sql, rows in steps:
                    if rows:
                        self._conn.executemany(sql, [tuple(r) for r in rows])
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a query."""
        with self._lock:
            cur = self._conn.execute(self._sql(sql), tuple(params))
            return [tuple(r) for r in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def open_database(url: Optional[str], root: Path) -> Database:
    """The database at ``url``, else the default SQLite file inside the storage ``root``."""
    return Database(url or default_url(root))


def open_auth_database(url: Optional[str], root: Path) -> Database:
    """The database of API keys and browser sessions (for now the index's own)."""
    return open_database(url, root)
