"""Helpers for the server tests: a real `turbotrack server` subprocess on a loopback port. Use it as a
context manager (``with ServerProc(root) as s:``) or in a fixture that calls ``stop()``: it is killed
and reaped however the test ends."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProc:
    """`turbotrack server --dir ROOT --port PORT` in a subprocess; restartable on the same port."""

    def __init__(self, root: Path, db: Optional[str] = None, extra: tuple[str, ...] = ()) -> None:
        self.root = root
        self.db = db
        self.extra = extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen[str]] = None
        self.login_url = ""
        # stderr (the access and error logs) goes to a file: a pipe nobody reads would fill and stop it
        fd, name = tempfile.mkstemp(prefix="turbotrack-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)

    def log_text(self) -> str:
        """What the server wrote to stderr so far (its access and error logs)."""
        return self.log_path.read_text(errors="replace")

    def _close_pipes(self) -> None:
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()

    def start(self) -> ServerProc:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("the server is already running")
        self._close_pipes()
        args = [sys.executable, "-m", "turbotrack", "server", "--dir", str(self.root), "--port", str(self.port)]
        if self.db:
            args += ["--db", self.db]
        with open(self.log_path, "ab") as err:
            self.proc = subprocess.Popen(
                [*args, *self.extra],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # a hung server's stacks on SIGABRT
            )
        assert self.proc.stdout is not None
        line = "-"
        while line:  # the URL line comes, or stdout closes when the server exits
            line = self.proc.stdout.readline()
            if line.startswith("http://"):
                self.login_url = line.strip()
                return self
        self.stop()
        raise RuntimeError(f"server exited: {self.log_text()}")

    @property
    def token(self) -> str:
        return self.login_url.split("token=", 1)[1]

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:  # hung: its threads' stacks into the test's output
                self.proc.send_signal(signal.SIGABRT)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                print(f"the server did not stop on SIGTERM; its stderr's end:\n{self.log_text()[-20000:]}")
        self._close_pipes()
        return int(self.proc.returncode or 0)

    def restart(self) -> ServerProc:
        self.stop()
        return self.start()

    def __enter__(self) -> ServerProc:
        return self if self.proc is not None and self.proc.poll() is None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def raw(
    url: str,
    method: str,
    path: str,
    key: Optional[str] = None,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One request sent as is (no URL normalisation)."""
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    hdrs = dict(headers or {})
    if key:
        hdrs["Authorization"] = f"Bearer {key}"
    if body is not None:
        hdrs["Content-Length"] = str(len(body))
    conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    out = resp.status, data, {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return out


def make_key(root: Path, entity: str, read_only: bool = False, db: Optional[str] = None) -> tuple[str, str]:
    from turbotrack.server.auth import Keys
    from turbotrack.server.db import open_database

    database = open_database(db, root / "turbotrack")
    try:
        return Keys(database).create(entity, read_only)
    finally:
        database.close()


def postgres_url() -> str:
    """The test database (``$TURBOTRACK_TEST_POSTGRES``, else started by scripts/postgres-test.sh);
    skips only when PostgreSQL is not installed."""
    url = os.environ.get("TURBOTRACK_TEST_POSTGRES")
    if url:
        return url
    out = subprocess.run([str(REPO / "scripts" / "postgres-test.sh")], capture_output=True, text=True, timeout=120)
    if out.returncode == 3:
        pytest.skip(f"PostgreSQL is not installed: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip().splitlines()[-1]
    os.environ["TURBOTRACK_TEST_POSTGRES"] = url
    return url


def postgres_schema_url(name: str) -> str:
    """The test database's URL with a fresh schema of its own, ``name`` plus this process's id, first
    on the search path: tests beside others on the same database never drop each other's tables."""
    import psycopg

    base = postgres_url()
    schema = f"{name}_{os.getpid()}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def drop_postgres_schema(url: str) -> None:
    """Drop the schema :func:`postgres_schema_url` made for ``url``."""
    import psycopg

    base, _, options = url.partition("options=-csearch_path%3D")
    with psycopg.connect(base.rstrip("?&"), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {options} CASCADE")


def cli(*args: str, cwd: Optional[Path] = None, env: Optional[dict[str, str]] = None, timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "turbotrack", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def keyed_server(root: Path, entity: str = "local", extra: tuple[str, ...] = ()) -> ServerProc:
    """A started server on ``root`` with a read-write key of ``entity`` as its ``key`` (stop it when done)."""
    s = ServerProc(root, extra=extra)
    s.key = make_key(root, entity)[1]  # type: ignore[attr-defined]
    return s.start()
