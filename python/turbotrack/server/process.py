"""Starting the server: open the databases, rebuild the index, bind the socket, print the login URL,
then serve with uvicorn, in this process or in ``--workers N`` processes sharing the socket.

Uvicorn runs a guarded HTTP/1.1 protocol (h11, which refuses malformed, negative, duplicated or
conflicting lengths): a connection must send a whole request head within ``idle_timeout`` and is
closed when idle that long, heads are bounded, and open connections are capped."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import resource
import secrets
import signal
import socket
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..store import layout
from .asgi import ServerApp
from .db import open_auth_database, open_database, redact
from .replica import ObjectIngest
from .state import Limits, ServerState

SPEC_ENV = "TURBOTRACK_SERVER_SPEC"
LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("turbotrack.server")


class _Coalescing:
    """A transport that sends what one turn of the event loop wrote in one ``send``: an answer's head
    and body leave together. A send is one of the dearest things a request costs here (~0.4 ms on
    this VM, on the event loop's one thread), and it is one packet instead of two."""

    def __init__(self, transport: Any, loop: Any) -> None:
        self._t = transport
        self._loop = loop
        self._buf: list[bytes] = []
        self._due = False

    def write(self, data: Any) -> None:
        if not data:
            return
        self._buf.append(bytes(data))
        if not self._due:
            self._due = True
            self._loop.call_soon(self._flush)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        self._due = False
        if self._buf:
            data = b"".join(self._buf) if len(self._buf) > 1 else self._buf[0]
            self._buf.clear()
            if not self._t.is_closing():
                self._t.write(data)

    def close(self) -> None:
        self._flush()
        self._t.close()

    def get_write_buffer_size(self) -> int:
        return int(self._t.get_write_buffer_size()) + sum(len(b) for b in self._buf)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)


class _HeadTimeout:
    """Closes a connection which sends no whole request head within the idle timeout: a fresh silent
    socket, one trickling its headers (uvicorn alone waits for ever), or one idle after a response.
    Mixed into uvicorn's HTTP protocols (they share these attributes)."""

    loop: Any
    transport: Any
    cycle: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(_Coalescing(transport, self.loop))  # type: ignore[misc]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._head_timer: Any = None
        self._arm()

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(float(self.timeout_keep_alive), self._expire)  # type: ignore[attr-defined]

    def _expire(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served (its body has its own timeout)
        if not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedH11(_HeadTimeout, H11Protocol):
    """h11 (pure Python) with the head timeout."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed
    GuardedHttpTools: Optional[type] = None
else:

    class _GuardedHttpTools(_HeadTimeout, HttpToolsProtocol):
        """llhttp (C) with the head timeout and a bound on the head's size (h11 has its own)."""

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            self._head_bytes = 0
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            idle = self.cycle is None or self.cycle.response_complete
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a whole head arrived (with whatever body followed it)
                self._head_bytes = 0
            elif idle:  # still no whole head: these bytes are all head
                self._head_bytes += len(data)
                if self._head_bytes > (self.config.h11_max_incomplete_event_size or 1 << 16):
                    self.transport.close()

    GuardedHttpTools = _GuardedHttpTools


def _protocol() -> type:
    """httptools' parser (llhttp, C) when installed: as strict as h11 on lengths (digits only, no
    duplicates, not both a length and chunked), a fraction of its cost per request; else h11."""
    return GuardedHttpTools or GuardedH11


class BatchedStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes what it was given at most every ``interval`` seconds, in one
    write: the access log's line a request. Written and flushed one at a time, those lines were
    ~10 % of a small request's CPU on a busy server (a ``write`` each, stderr being line-buffered);
    in bunches a line costs its formatting. What is pending is written at exit (``logging.shutdown``
    flushes every handler) and by a thread that waits while nothing is pending."""

    def __init__(self, stream: Any = None, interval: float = 0.2) -> None:
        super().__init__(stream)
        self.interval = interval
        self._pending: list[str] = []
        self._due = threading.Event()
        threading.Thread(target=self._run, name="turbotrack-access-log", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        try:
            self._pending.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if len(self._pending) == 1:
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.interval)
            self._due.clear()
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._pending = self._pending, []
            if not lines:
                return
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or gone: the lines have nowhere to go
                pass


def logging_config(level: str) -> dict[str, Any]:
    """Our loggers and uvicorn's to stderr: ``turbotrack.server`` (errors, with tracebacks) and
    ``turbotrack.server.access`` (one line per request, at info, written in bunches: ``BatchedStream``)."""
    fmt = {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"}
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    batched = {"class": f"{__name__}.BatchedStream", "formatter": "plain", "stream": "ext://sys.stderr"}
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": fmt},
        "handlers": {"stderr": handler, "access": batched},
        "loggers": {
            "turbotrack.server": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "turbotrack.server.access": {"handlers": ["access"], "level": lvl, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "WARNING" if lvl in ("INFO", "DEBUG") else lvl},
            "uvicorn.error": {"level": lvl if lvl == "DEBUG" else "WARNING"},
        },
    }


def _raise_open_files_limit() -> int:
    """Lift the soft open-files limit to the hard one; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so, and without it every
    # kept-alive answer (head and body in two writes) waits ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app: Any, limits: Limits, log_level: str, workers: int, max_connections: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        workers=workers if workers > 1 else None,
        http=_protocol(),
        lifespan="on",
        log_config=logging_config(log_level),
        access_log=False,  # ours redacts the login token
        timeout_keep_alive=limits.idle_timeout,  # type: ignore[arg-type]
        limit_concurrency=max_connections,
        h11_max_incomplete_event_size=limits.max_head,
        timeout_graceful_shutdown=5,
        server_header=False,
    )


def _warm() -> None:
    """Import what the first history answer needs before the first request: the native reader
    hands out NumPy arrays, and importing NumPy (~150 ms here) made a fresh server's first
    history read 10x slower than its next (benches/RESULTS.md, section 24)."""
    import numpy  # noqa: F401


def app_from_spec() -> ServerApp:
    """One worker's app, from the spec its parent put in ``$TURBOTRACK_SERVER_SPEC``."""
    _warm()
    spec = json.loads(os.environ[SPEC_ENV])
    root = Path(spec["root"])
    state = ServerState(
        root,
        open_database(spec["db"], root),
        open_auth_database(spec["db"], root),
        Limits(**spec["limits"]),
        spec["store"],
    )
    state.sessions.token = spec["token"]
    return ServerApp(state, spec["scan_interval"], Path(spec["scan_lock"]), scan=not state.ingest.replicated)


def serve(
    dir: Optional[str] = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    db: Optional[str] = None,
    max_body: Optional[int] = None,
    scan_interval: float = 1.0,
    workers: int = 1,
    log_level: str = "info",
    idle_timeout: Optional[float] = None,
    store: Optional[str] = None,
) -> int:
    """Serve until SIGINT/SIGTERM. Prints the login URL on a line of its own (stdout).

    ``store``: an object store URL (``s3://BUCKET[/PREFIX]``...): the run files live there, ``dir``
    is this replica's cache, and the index (which must then be shared: PostgreSQL) is what every
    replica lists; no folder scan (docs/server.md, "Replicas")."""
    root = layout.storage_root(dir)
    root.mkdir(parents=True, exist_ok=True)
    base = Limits()
    limits = Limits(
        max_body=max_body if max_body is not None else base.max_body,
        idle_timeout=idle_timeout if idle_timeout is not None else base.idle_timeout,
    )
    logging.config.dictConfig(logging_config(log_level))
    _warm()
    nofile = _raise_open_files_limit()
    max_connections = max(16, min(limits.max_connections, nofile - 64 * max(1, workers)))
    index_db = open_database(db, root)
    auth_db = open_auth_database(db, root)
    state = ServerState(root, index_db, auth_db, limits, store)
    n = len(state.ingest.run_dirs()) if isinstance(state.ingest, ObjectIngest) else state.index.rebuild()
    token = secrets.token_urlsafe(24)
    state.sessions.token = token
    sock = _bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    where = f"index {redact(index_db.url)}" + (f", files in {state.store}" if state.store else "")
    print(f"turbotrack server: {n} runs under {root}, {where}, {workers} worker(s)", file=sys.stderr, flush=True)
    print(f"http://{shown}:{sock.getsockname()[1]}/?token={token}", flush=True)
    scan_lock = root / ".server-scan.lock"
    if workers <= 1:
        app = ServerApp(state, scan_interval, None, scan=not state.ingest.replicated)
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again to the handler it
        # found: a quiet one, so a stop asked for is a clean exit (status 0).
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: None)
        uvicorn.Server(_uvicorn_config(app, limits, log_level, 1, max_connections)).run(sockets=[sock])
        return 0
    state.close()  # each worker opens its own
    os.environ[SPEC_ENV] = json.dumps(
        {
            "root": str(root),
            "db": index_db.url,
            "limits": asdict(limits),
            "token": token,
            "scan_interval": scan_interval,
            "scan_lock": str(scan_lock),
            "store": state.store,
        }
    )
    from uvicorn.supervisors import Multiprocess

    config = _uvicorn_config("turbotrack.server.process:app_from_spec", limits, log_level, workers, max_connections)
    Multiprocess(config, sockets=[sock]).run()
    return 0


__all__ = ["LOG_LEVELS", "GuardedH11", "serve"]
