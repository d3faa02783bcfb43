"""An S3 server for the tests and benches: moto's server mode on a loopback port, with a bucket; and
replicas of `turbotrack server --store URL --db postgresql://...` over it, each with a cache folder
of its own, sharing one PostgreSQL schema and one API key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from serverkit import ServerProc, drop_postgres_schema, free_port, make_key, postgres_schema_url


def start_moto(bucket: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """moto's S3 server on a free loopback port, ``bucket`` made in it; the process (the caller kills
    and reaps it) and the ``AWS_*`` variables a replica reads to reach it."""
    import boto3
    from botocore.config import Config

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    deadline = time.monotonic() + 60
    while True:  # until moto answers (it takes a second or two to import and bind)
        try:
            client.create_bucket(Bucket=bucket)
            return proc, env
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait(10)
                raise
            time.sleep(0.1)


@contextmanager
def moto_s3(bucket: str) -> Iterator[dict[str, str]]:
    """``with moto_s3("runs") as env:`` moto's S3 server with ``bucket`` in it, killed and reaped on
    leaving however the block ends; ``env`` is the ``AWS_*`` variables a replica reads."""
    proc, env = start_moto(bucket)
    try:
        yield env
    finally:
        proc.kill()
        proc.wait(10)


class Replicas:
    """`turbotrack server` processes over one object store (``store``: ``s3://BUCKET/PREFIX`` with the
    ``AWS_*`` variables ``env``, or ``file:///PATH``) and one PostgreSQL schema of its own (dropped
    by :meth:`close`), each with a cache folder ``tmp/cache-NAME``; ``key`` is an API key of entity
    ``local`` made in that schema. Use as a context manager, or call :meth:`close`."""

    def __init__(self, tmp: Path, store: str, schema: str, env: Optional[dict[str, str]] = None) -> None:
        self.tmp = tmp
        self.store = store
        self.env = dict(env or {})
        self.db = postgres_schema_url(schema)
        self.servers: list[ServerProc] = []
        try:
            self.key = make_key(tmp / "keys", "local", db=self.db)[1]
        except BaseException:
            drop_postgres_schema(self.db)
            raise

    def replica(self, name: str, *extra: str) -> ServerProc:
        """A new replica, started (its URL line printed) with an empty cache folder of its own."""
        srv = ServerProc(self.tmp / f"cache-{name}", db=self.db, extra=("--store", self.store, *extra))
        self.servers.append(srv)  # stopped by close() even if the start fails half-way
        saved = dict(os.environ)
        os.environ.update(self.env)  # ServerProc hands the server a copy of os.environ
        try:
            srv.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return srv

    def start(self, n: int, *extra: str) -> list[ServerProc]:
        """``n`` replicas named a, b, c, ..."""
        return [self.replica(chr(ord("a") + len(self.servers)), *extra) for _ in range(n)]

    def api(self, srv: ServerProc) -> Any:
        import turbotrack

        return turbotrack.Api(base_url=srv.url, api_key=self.key)

    def sync_cmd(self, path: Path, srv: ServerProc, *extra: str) -> list[str]:
        """`turbotrack sync PATH` to ``srv`` with this key, as a command line."""
        cmd = [sys.executable, "-m", "turbotrack", "sync", str(path), "--base-url", srv.url, "--api-key", self.key]
        return [*cmd, *extra]

    def close(self) -> None:
        try:
            for srv in self.servers:
                srv.stop()
        finally:
            drop_postgres_schema(self.db)

    def __enter__(self) -> Replicas:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
