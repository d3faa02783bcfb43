"""The server's two databases, SQLite (default, inside the storage root, WAL) or PostgreSQL (psycopg 3).

* the **index** of runs (``index.sqlite``): what lists, filters and sorts runs; rebuilt from the run
  files whenever it is lost, so a damaged SQLite index is moved aside and made again at start;
* the **auth** store (``auth.sqlite`` beside it): API keys and browser sessions, which nothing can
  rebuild; on PostgreSQL its own tables in the same database, which no index rebuild touches.

Each store has a row in ``schema_version`` and an ordered list of :class:`Migration`\\ s, applied at
start in one transaction under a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL), so several server processes starting at once migrate once; no migration drops a table.

One small wrapper so both use the same SQL on both: ``?`` placeholders, ``INSERT ... ON CONFLICT``
upserts. Concurrency: a pool of connections (``psycopg_pool`` on PostgreSQL; on SQLite one
connection per concurrent thread, WAL), so reads run side by side; writes are serialised. A read
that runs past :data:`QUERY_TIMEOUT` seconds is cancelled (``statement_timeout`` on PostgreSQL, a
progress handler on SQLite) and raises :class:`QueryTimeout`."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

from ..store.sql import REGEXP_FUNCTION, regexp

__all__ = [
    "AUTH_FILE",
    "AUTH_MIGRATIONS",
    "INDEX_MIGRATIONS",
    "QUERY_TIMEOUT",
    "Database",
    "DatabaseError",
    "Migration",
    "QueryTimeout",
    "auth_url",
    "default_url",
    "open_auth_database",
    "open_database",
]

#: Seconds a read may run before it is cancelled (``$TURBOTRACK_QUERY_TIMEOUT`` overrides).
QUERY_TIMEOUT = 5.0
#: Connections a server process keeps open at most, per database.
POOL_SIZE = 16
#: The auth store's file, beside the index file.
AUTH_FILE = "auth.sqlite"
#: PostgreSQL advisory lock held while a store migrates (any constant; "ttrk" in ASCII).
_MIGRATION_LOCK = 0x7474726B
#: SQLite result codes that mean "wait and retry", never "damaged".
_SQLITE_BUSY = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED


class QueryTimeout(ValueError):
    """A read ran past the statement timeout and was cancelled. A ``ValueError``: the query asked
    for too much (the HTTP layer answers 400 with this message)."""


class DatabaseError(OSError):
    """A database that cannot be used as it is, with a ``hint`` saying what to do (an ``OSError``
    so that a command line prints it without a traceback)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.args[0]} (hint: {self.hint})"


class _SchemaError(Exception):
    """The tables are not the ones this version's migrations make."""


def _timeout() -> float:
    try:
        return float(os.environ.get("TURBOTRACK_QUERY_TIMEOUT", "") or QUERY_TIMEOUT)
    except ValueError:
        return QUERY_TIMEOUT


# ---- schema and migrations ----

Step = Union[str, Callable[["Tx"], None]]


@dataclass(frozen=True)
class Migration:
    """Version ``version`` of a store: ``steps`` (SQL, ``{COLLATE}`` for the code-point collation of
    text, or a function of the open transaction) applied once, in order, in one transaction."""

    version: int
    what: str
    steps: tuple[Step, ...]


#: The run index. Version 1 is the schema of the servers before versions existed (kept as it was,
#: so their tables are taken over); 2 empties their rows (re-read from the files at start) and adds
#: what they lacked.
INDEX_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs and run_keys",
        (
            """CREATE TABLE IF NOT EXISTS runs (
            entity TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL,
            name TEXT, recorded_state TEXT, tags TEXT, grp TEXT, job_type TEXT, notes TEXT,
            config TEXT, summary TEXT, infos TEXT,
            created DOUBLE PRECISION, end_time DOUBLE PRECISION, updated DOUBLE PRECISION,
            heartbeat DOUBLE PRECISION, heartbeat_ttl DOUBLE PRECISION, signature TEXT,
            PRIMARY KEY (entity, project, run_id))""",
            # What filters and sorts runs, one narrow row per run and field (see store/sql.py).
            """CREATE TABLE IF NOT EXISTS run_keys (
            entity TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL, key TEXT NOT NULL,
            elem INTEGER NOT NULL, num DOUBLE PRECISION, txt TEXT {COLLATE}, js TEXT)""",
            "CREATE INDEX IF NOT EXISTS run_keys_key ON run_keys (entity, project, key, run_id, elem, num, txt)",
            "CREATE INDEX IF NOT EXISTS run_keys_run ON run_keys (entity, project, run_id)",
        ),
    ),
    Migration(
        2,
        "index errors, exact times, indexes by value; rows of older servers re-read from the files",
        (
            "DELETE FROM run_keys",
            "DELETE FROM runs",
            # Why a run could not be indexed (shown with it), and its times as JSON (NaN kept).
            "ALTER TABLE runs ADD COLUMN index_error TEXT",
            "ALTER TABLE runs ADD COLUMN times TEXT",
            # A condition on a field reads the rows of one key by value (store/sql.py).
            "CREATE INDEX IF NOT EXISTS run_keys_txt ON run_keys (entity, project, key, txt, run_id)",
            "CREATE INDEX IF NOT EXISTS run_keys_num ON run_keys (entity, project, key, num, run_id)",
        ),
    ),
    Migration(
        3,
        "the files of an object store (--store): each file's length and where its bytes are",
        (
            # One row per file under the storage root held in the object store (server/replica.py):
            # ``dir`` is its first three path parts (a run folder, or a project's artifacts), ``name``
            # the rest. A REPLACE file's bytes are ``size`` bytes at ``pos`` of ``object``; a growing
            # one's are its segments. ``version`` grows at every change (replicas' caches compare it).
            """CREATE TABLE IF NOT EXISTS store_files (
            dir TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, size BIGINT NOT NULL,
            object TEXT, pos BIGINT, sha256 TEXT, version BIGINT NOT NULL, PRIMARY KEY (dir, name))""",
            # The appends of a growing file, by offset: ``length`` bytes at ``pos`` of ``object``.
            """CREATE TABLE IF NOT EXISTS store_segments (
            dir TEXT NOT NULL, name TEXT NOT NULL, start BIGINT NOT NULL, length BIGINT NOT NULL,
            object TEXT NOT NULL, pos BIGINT NOT NULL, PRIMARY KEY (dir, name, start))""",
        ),
    ),
    Migration(
        4,
        "a run's row may lag its state files by a few seconds (server/reindex.py): since when",
        (
            # When a state file of the run last changed without its row being re-read (NULL: the row
            # is up to date); a replica's lease on re-reading it (a time ahead) while it does.
            "ALTER TABLE runs ADD COLUMN dirty DOUBLE PRECISION",
            "CREATE INDEX IF NOT EXISTS runs_dirty ON runs (dirty) WHERE dirty IS NOT NULL",
        ),
    ),
)

#: The columns each store's code reads and writes: checked after migrating (a wrong schema).
_TABLES = {
    "index": {
        "runs": "entity, project, run_id, name, recorded_state, tags, grp, job_type, notes, config, summary, "
        "infos, created, end_time, updated, heartbeat, heartbeat_ttl, signature, index_error, times, dirty",
        "run_keys": "entity, project, run_id, key, elem, num, txt, js",
        "store_files": "dir, name, kind, size, object, pos, sha256, version",
        "store_segments": "dir, name, start, length, object, pos",
    },
    "auth": {
        "api_keys": "id, entity, hash, read_only, created, revoked",
        "sessions": "hash, created, expires",
    },
}


def _auth_tables() -> tuple[Step, ...]:
    return (
        """CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY, entity TEXT NOT NULL, hash TEXT NOT NULL, read_only INTEGER NOT NULL,
        created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION)""",
        # Browser sessions: the sha256 of the cookie, never the cookie (see auth.py).
        """CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY, created DOUBLE PRECISION NOT NULL, expires DOUBLE PRECISION NOT NULL)""",
    )


#: Keys and sessions. On PostgreSQL these are the tables older servers kept beside the index, so
#: their keys go on working; on SQLite, :func:`open_auth_database` also copies in the keys and
#: sessions an older server kept inside index.sqlite.
AUTH_MIGRATIONS: tuple[Migration, ...] = (Migration(1, "api_keys and sessions", _auth_tables()),)


def default_url(root: Path) -> str:
    """``sqlite:///<root>/index.sqlite`` (``root`` is the storage root, ending in ``turbotrack``)."""
    return f"sqlite:///{root / 'index.sqlite'}"


def _sqlite_path(url: str) -> Optional[Path]:
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def auth_url(index_url: str) -> str:
    """The auth store of the index at ``index_url``: ``auth.sqlite`` beside a SQLite index; the same
    PostgreSQL database (its own tables)."""
    path = _sqlite_path(index_url)
    if path is None:
        return index_url
    if path.name == AUTH_FILE:
        raise ValueError(f"--db {index_url!r}: {AUTH_FILE} is the name of the keys' file; name the index otherwise")
    return f"sqlite:///{path.parent / AUTH_FILE}"


# ---- connections ----


class Tx:
    """One transaction (a migration step sees it): ``execute`` and ``query`` with ``?`` placeholders."""

    def __init__(self, db: Database, conn: Any) -> None:
        self.db = db
        self.postgres = db.postgres
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(self.db._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.postgres:
            with self._conn.cursor() as cur:
                cur.executemany(self.db._sql(sql), [tuple(r) for r in rows])
        else:
            self._conn.executemany(sql, [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._conn.execute(self.db._sql(sql), tuple(params)).fetchall()]

    def query_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> list[list[tuple[Any, ...]]]:
        """One statement (``RETURNING`` something) for many rows: each row's result rows. On
        PostgreSQL in one pipelined round trip, not one per row."""
        if not rows:
            return []
        if not self.postgres:
            return [self.query(sql, r) for r in rows]
        out: list[list[tuple[Any, ...]]] = []
        with self._conn.cursor() as cur:
            cur.executemany(self.db._sql(sql), [tuple(r) for r in rows], returning=True)
            while True:
                out.append([tuple(r) for r in cur.fetchall()])
                if not cur.nextset():
                    break
        return out


class _SqliteConn:
    """A SQLite connection and the deadline its progress handler enforces (None: none)."""

    def __init__(self, path: Path) -> None:
        self.deadline: Optional[float] = None
        self.raw = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self.raw.execute("PRAGMA busy_timeout = 30000")
        if self.raw.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.raw.execute("PRAGMA journal_mode=WAL")
        self.raw.execute("PRAGMA synchronous=NORMAL")
        self.raw.create_function(REGEXP_FUNCTION, 3, regexp, deterministic=True)
        self.raw.set_progress_handler(self._progress, 20_000)

    def _progress(self) -> int:
        return int(self.deadline is not None and time.monotonic() > self.deadline)


class Database:
    """One store at ``url`` (``sqlite:///PATH`` or ``postgresql://...``), migrated to this version's
    schema when opened: ``store`` is ``"index"`` (the runs) or ``"auth"`` (keys and sessions).

    ``query`` reads (concurrently, cancelled after ``timeout`` seconds); ``execute``, ``executemany``
    and ``batch`` write, each in one transaction, one at a time."""

    def __init__(
        self,
        url: str,
        store: str = "index",
        *,
        timeout: Optional[float] = None,
        pool_size: int = POOL_SIZE,
        migrations: Optional[Sequence[Migration]] = None,
    ) -> None:
        if store not in _TABLES:
            raise ValueError(f"store must be 'index' or 'auth', got {store!r}")
        self.url = url
        self.store = store
        self.timeout = _timeout() if timeout is None else timeout
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self.path = _sqlite_path(url)
        self._write_lock = threading.Lock()
        self._auth: Optional[Database] = None
        self._auth_lock = threading.Lock()
        self._closed = False
        if self.postgres:
            self._pool = _postgres_pool(url, pool_size, self.timeout)
        elif self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._idle: list[_SqliteConn] = []
            self._idle_lock = threading.Lock()
            self._slots = threading.BoundedSemaphore(pool_size)
        else:
            raise ValueError(f"--db {url!r}: expected sqlite:///PATH or postgresql://...")
        try:
            default = INDEX_MIGRATIONS if store == "index" else AUTH_MIGRATIONS
            self.migrate(default if migrations is None else migrations)
        except BaseException:
            self.close()
            raise

    # ---- connections ----

    @contextlib.contextmanager
    def _sqlite(self) -> Iterator[_SqliteConn]:
        if not self._slots.acquire(timeout=60):
            raise DatabaseError(f"no free connection to {self.url} in 60 s", "the server is overloaded; retry")
        conn: Optional[_SqliteConn] = None
        try:
            with self._idle_lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                assert self.path is not None
                conn = _SqliteConn(self.path)
            yield conn
        except BaseException:
            if conn is not None and conn.raw.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.raw.execute("ROLLBACK")
            raise
        finally:
            if conn is not None:
                conn.deadline = None
                with self._idle_lock:
                    if self._closed:
                        conn.raw.close()
                    else:
                        self._idle.append(conn)
            self._slots.release()

    @contextlib.contextmanager
    def transaction(self, lock: bool = False) -> Iterator[Tx]:
        """One write transaction (``lock``: also PostgreSQL's migration lock); committed on leaving."""
        if self.postgres:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET LOCAL statement_timeout = 0")
                if lock:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                yield Tx(self, conn)
            return
        with self._write_lock, self._sqlite() as c:
            c.raw.execute("BEGIN IMMEDIATE")  # the write lock, taken now, across processes too
            yield Tx(self, c.raw)
            c.raw.execute("COMMIT")

    def migrate(self, migrations: Sequence[Migration]) -> None:
        """Bring this store to the newest of ``migrations`` (each applied once, in order), then check
        that its tables have the columns the code uses."""
        latest = migrations[-1].version if migrations else 0
        with self.transaction(lock=True) as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (store TEXT PRIMARY KEY, version INTEGER NOT NULL, "
                "updated DOUBLE PRECISION NOT NULL)"
            )
            rows = tx.query("SELECT version FROM schema_version WHERE store = ?", (self.store,))
            current = int(rows[0][0]) if rows else 0
            if current > latest:
                raise _SchemaError(
                    f"its {self.store} schema is version {current}, newer than this turbotrack's {latest}"
                )
            collate = 'COLLATE "C"' if self.postgres else ""  # strings sort by code point, as in Python
            for m in migrations:
                if m.version <= current:
                    continue
                for step in m.steps:
                    if callable(step):
                        step(tx)
                    else:
                        tx.execute(step.replace("{COLLATE}", collate))
            if latest != current:
                tx.execute(
                    "INSERT INTO schema_version (store, version, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (store) DO UPDATE SET version = excluded.version, updated = excluded.updated",
                    (self.store, latest, time.time()),
                )
        self.check_schema()

    def check_schema(self) -> None:
        """``_SchemaError`` when a table lacks a column the code uses (a wrong or foreign schema)."""
        for table, columns in _TABLES[self.store].items():
            try:
                self.query(f"SELECT {columns} FROM {table} WHERE 1 = 0")
            except Exception as e:
                if _is_busy(e):
                    raise
                raise _SchemaError(f"table {table} is not as expected: {e}") from None

    def auth(self) -> Database:
        """The auth store that goes with this index (this database itself when it is one), opened
        once: what ``Keys`` and ``Sessions`` use when handed the index."""
        if self.store == "auth":
            return self
        with self._auth_lock:
            if self._auth is None:
                self._auth = open_auth_database(self.url, self.path.parent if self.path else Path("."))
            return self._auth

    # ---- statements ----

    def table_exists(self, table: str) -> bool:
        if self.postgres:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()"
            return bool(self.query(sql, (table,)))
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (committed at once)."""
        self.batch([(sql, [params])])

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many rows, in one transaction."""
        if rows:
            self.batch([(sql, rows)])

    def batch(self, steps: Sequence[tuple[str, Sequence[Sequence[Any]]]]) -> None:
        """Several statements, each run for its rows, in one transaction."""
        with self.transaction() as tx:
            for sql, rows in steps:
                tx.executemany(sql, rows)

    def write_one(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One short write statement (``... RETURNING`` what it changed), committed: its rows. On
        PostgreSQL a single round trip (autocommit, under the read timeout), not a transaction's four."""
        if self.postgres:
            import psycopg

            try:
                with self._pool.connection() as conn:
                    return [tuple(r) for r in conn.execute(self._sql(sql), tuple(params)).fetchall()]
            except psycopg.errors.QueryCanceled:
                raise QueryTimeout(self._too_long()) from None
        with self.transaction() as tx:
            return tx.query(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a query; :class:`QueryTimeout` when it runs past the timeout."""
        if self.postgres:
            import psycopg

            try:
                with self._pool.connection() as conn:
                    return [tuple(r) for r in conn.execute(self._sql(sql), tuple(params)).fetchall()]
            except psycopg.errors.QueryCanceled:
                raise QueryTimeout(self._too_long()) from None
        with self._sqlite() as c:
            c.deadline = time.monotonic() + self.timeout
            try:
                return [tuple(r) for r in c.raw.execute(sql, tuple(params)).fetchall()]
            except sqlite3.OperationalError as e:
                if "interrupted" in str(e):
                    raise QueryTimeout(self._too_long()) from None
                raise

    def _too_long(self) -> str:
        return f"the query ran past the server's limit of {self.timeout:g} s and was cancelled: ask for less"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._auth is not None:
            self._auth.close()
        if self.postgres:
            self._pool.close()
            return
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.raw.close()


#: A pooled PostgreSQL connection idle this long is checked (a round trip) before it is handed out.
IDLE_CHECK = 2.0


def _postgres_pool(url: str, size: int, timeout: float) -> Any:
    try:
        from psycopg_pool import ConnectionPool
    except ImportError as e:
        raise RuntimeError(
            "a PostgreSQL index needs psycopg 3 and psycopg-pool: pip install 'turbotrack[server]'"
        ) from e

    def configure(conn: Any) -> None:
        conn.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")

    class _Pool(ConnectionPool):  # type: ignore[type-arg,misc]
        def putconn(self, conn: Any) -> None:
            # Stamped here, in the caller's thread: the pool's own ``reset`` hook would hand every
            # returned connection to one of its worker threads (a queue, two thread switches per
            # query, on a replica at a thousand live runs most of its system time was such futexes).
            conn._turbotrack_back = time.monotonic()
            super().putconn(conn)

    def check(conn: Any) -> None:
        # A connection the server dropped is replaced, not used. A round trip for every request is
        # what that check costs (12% of a busy replica's time): only a connection that lay idle
        # a while is checked; one in steady use would have failed in use and been discarded.
        if time.monotonic() - getattr(conn, "_turbotrack_back", 0.0) >= IDLE_CHECK:
            ConnectionPool.check_connection(conn)

    import psycopg

    try:  # one plain connection first: a wrong URL fails at once with its cause, not after the pool's retries
        psycopg.connect(url, connect_timeout=10).close()
    except Exception as e:
        raise DatabaseError(
            f"cannot connect to the database {redact(url)}: {_describe(e)}",
            "check that PostgreSQL runs there and that the URL's user, password and database are right",
        ) from None
    pool = _Pool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True},
        configure=configure,
        check=check,
        open=False,
        timeout=60,
        name="turbotrack",
    )
    try:
        pool.open(wait=True, timeout=30)
    except Exception as e:
        pool.close()
        cause = e.__cause__ or e
        raise DatabaseError(
            f"cannot connect to the database {redact(url)}: {cause}".strip(),
            "check that PostgreSQL runs there and that the URL's user, password and database are right",
        ) from None
    return pool


def redact(url: str) -> str:
    """A database URL without its password (for messages and logs)."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        cred, _, host = rest.rpartition("@")
        return f"{scheme}://{cred.split(':')[0]}:***@{host}"
    return url


def _is_busy(e: BaseException) -> bool:
    return isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) in _SQLITE_BUSY


# ---- opening the stores ----


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` between processes (POSIX ``flock``; none elsewhere): one
    server process at a time checks, moves aside and recreates the files in it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _check_sqlite_file(db: Database) -> None:
    """``sqlite3.DatabaseError`` when SQLite finds the file damaged (``PRAGMA quick_check``)."""
    rows = db.query("PRAGMA quick_check(1)")
    if rows != [("ok",)]:
        raise sqlite3.DatabaseError(str(rows[0][0]) if rows else "quick_check found a problem")


def _move_aside(path: Path) -> Path:
    """Rename ``path`` (and its -wal and -shm) to ``PATH.damaged-<time>``; the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    os.replace(path, aside)
    for tail in ("-wal", "-shm"):
        side = path.with_name(path.name + tail)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + tail))
    return aside


def _describe(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def open_database(url: Optional[str], root: Path) -> Database:
    """The run index at ``url``, else ``index.sqlite`` inside the storage ``root``, migrated.

    A SQLite index SQLite cannot read (garbage, truncated, another program's tables, a newer
    schema) is moved aside to ``index.sqlite.damaged-<time>`` and made again empty (the start's
    scan refills it from the files), said in one line on stderr. A PostgreSQL index that cannot
    be used is a :class:`DatabaseError` with a hint."""
    url = url or default_url(root)
    path = _sqlite_path(url)
    if path is None:
        try:
            return Database(url, "index")
        except _SchemaError as e:
            raise DatabaseError(
                f"the run index in {redact(url)} cannot be used: {e}",
                "drop its tables runs and run_keys (the run files rebuild them), or upgrade turbotrack",
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with _folder_lock(path.parent):
        try:
            db = Database(url, "index")
            try:
                _check_sqlite_file(db)
            except BaseException:
                db.close()
                raise
            return db
        except (sqlite3.DatabaseError, _SchemaError) as e:
            if _is_busy(e):
                raise DatabaseError(f"the index {path} is locked by another program: {e}", "retry") from None
            reason = _describe(e)
        aside = _move_aside(path)
        print(
            f"turbotrack server: the index {path} was damaged ({reason}); moved it to {aside.name} "
            "and rebuilding it from the run files",
            file=sys.stderr,
            flush=True,
        )
        return Database(url, "index")


def _copy_legacy_keys(legacy: Path) -> Callable[[Tx], None]:
    """A migration step: the keys and sessions an older server kept inside its index file."""

    def step(tx: Tx) -> None:
        if not legacy.is_file():
            return
        try:
            src = sqlite3.connect(f"file:{legacy}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return
        try:
            names = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for table, columns in _TABLES["auth"].items():
                if table in names:
                    rows = src.execute(f"SELECT {columns} FROM {table}").fetchall()
                    marks = ", ".join("?" * len(columns.split(",")))
                    tx.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", rows)
        except sqlite3.DatabaseError:
            return  # a damaged old index: its keys are lost with it
        finally:
            src.close()

    return step


def open_auth_database(url: Optional[str], root: Path) -> Database:
    """The keys and sessions that go with the index at ``url`` (else the default index inside the
    storage ``root``): ``auth.sqlite`` beside a SQLite index, the same PostgreSQL database.

    Made on first use (``turbotrack keys create`` before the server ever started); a SQLite auth
    file first made beside an older server's index takes over that index's keys and sessions. A
    damaged auth file is a :class:`DatabaseError` with a hint: it cannot be rebuilt."""
    url = url or default_url(root)
    target = auth_url(url)
    path = _sqlite_path(target)
    migrations: Sequence[Migration] = AUTH_MIGRATIONS
    index_path = _sqlite_path(url)
    if index_path is not None:
        first = AUTH_MIGRATIONS[0]
        first = Migration(first.version, first.what, (*first.steps, _copy_legacy_keys(index_path)))
        migrations = (first, *AUTH_MIGRATIONS[1:])
    try:
        if path is None:
            return Database(target, "auth", migrations=migrations)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(target, "auth", migrations=migrations)
        try:
            _check_sqlite_file(db)
        except BaseException:
            db.close()
            raise
        return db
    except (sqlite3.DatabaseError, _SchemaError) as e:
        if _is_busy(e):
            raise DatabaseError(f"the keys' database {path} is locked by another program: {e}", "retry") from None
        where = str(path) if path else redact(target)
        raise DatabaseError(
            f"the keys' database {where} cannot be read: {_describe(e)}",
            "it holds the API keys and browser sessions and cannot be rebuilt: restore it from a backup, "
            "or move it aside to start with no keys (then 'turbotrack keys create ENTITY')",
        ) from None
