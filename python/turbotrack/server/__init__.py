"""``turbotrack server``: runs under ``ROOT/turbotrack/`` served over HTTP (docs/server-api.md),
with an index of runs in SQLite or PostgreSQL, API keys, and the web UI's static files."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from ..store import layout
from .app import DEFAULT_MAX_BODY, App, make_server
from .db import open_database

__all__ = ["serve"]


def serve(
    dir: Optional[str] = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    db: Optional[str] = None,
    max_body: int = DEFAULT_MAX_BODY,
    scan_interval: float = 1.0,
    ready: Optional[Any] = None,
) -> int:
    """Serve until SIGINT/SIGTERM. Prints the login URL on a line of its own (stdout)."""
    root = layout.storage_root(dir)
    root.mkdir(parents=True, exist_ok=True)
    database = open_database(db, root)
    app = App(root, database, max_body)
    n = app.index.rebuild()
    server = make_server(app, host, port)
    app.index.start(scan_interval)
    bound_port = server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"turbotrack server: {n} runs under {root}, index {_redact(database.url)}", file=sys.stderr)
    print(f"http://{shown}:{bound_port}/?token={app.sessions.token}", flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        app.index.stop()
        server.server_close()
        database.close()
    return 0


def _redact(url: str) -> str:
    """A database URL without its password."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        cred, _, host = rest.rpartition("@")
        return f"{scheme}://{cred.split(':')[0]}:***@{host}"
    return url


def root_of(dir: Optional[str]) -> Path:
    return layout.storage_root(dir)
