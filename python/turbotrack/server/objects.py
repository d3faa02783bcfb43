"""The object store under a team's server (``--store URL``), through obstore (the Python binding of
Rust's ``object_store``): ``s3://BUCKET[/PREFIX]`` (endpoint and credentials from the standard
``AWS_*`` variables), ``gs://`` and ``az://`` as obstore has them, and ``file:///PATH`` (a folder
shared by the replicas, e.g. a network file system).

obstore was chosen over fsspec + s3fs by measurement (benches/objstore.py, RESULTS.md section 21:
1.2-3x the operations/s, 2.4-5.7x less CPU per operation): it is a compiled client with its own
connection pool and retries that releases the GIL while it waits, so the server's request threads
upload and fetch side by side.

``--store`` left out (or naming the storage root itself, ``file://ROOT``) keeps today's layout: the run
files are the files under ROOT, appended in place (server/ingest.py); nothing here is used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import urlsplit

from ..store.layout import ROOT_DIRNAME

SCHEMES = ("s3", "gs", "az", "abfs", "file")


class StoreError(OSError):
    """The object store refused or could not be reached: the request that needed it gets a 503."""


def is_local(url: Optional[str], root: Path) -> bool:
    """Whether ``url`` means today's layout: no store, or ``file://`` naming the storage root (or the
    ``--dir`` folder it is in)."""
    if not url:
        return True
    parts = urlsplit(url)
    if parts.scheme != "file":
        return False
    try:  # the folder ``--dir`` names, or the storage root inside it (``ROOT/turbotrack``)
        where = Path(parts.path).resolve()
        return where == root.resolve() or (root.name == ROOT_DIRNAME and where == root.parent.resolve())
    except OSError:
        return False


def check_url(url: str) -> str:
    """``url`` when it names a store obstore opens; else ValueError saying what is expected."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"--store {url!r}: expected file://PATH, s3://BUCKET[/PREFIX], gs://BUCKET or az://CONTAINER")
    if parts.scheme != "file" and not parts.netloc:
        raise ValueError(f"--store {url!r}: name the bucket ({parts.scheme}://BUCKET[/PREFIX])")
    return url


class Objects:
    """Immutable objects under one store URL: ``put`` whole, ``get`` whole or a byte range, ``delete``.

    Every failure is a :class:`StoreError` naming the object (a missing one: FileNotFoundError)."""

    def __init__(self, url: str) -> None:
        import obstore
        from obstore.store import from_url

        self.url = check_url(url)
        self._ob = obstore
        kwargs: dict[str, Any] = {}
        parts = urlsplit(url)
        if parts.scheme == "file":
            Path(parts.path).mkdir(parents=True, exist_ok=True)
            kwargs["mkdir"] = True
        else:
            endpoint = os.environ.get("AWS_ENDPOINT_URL", "") if parts.scheme == "s3" else ""
            if endpoint.startswith("http://"):
                kwargs["client_options"] = {"allow_http": True}
        try:
            self._store = from_url(url, **kwargs)
        except Exception as e:
            raise StoreError(f"--store {url}: {e}") from None

    def put(self, key: str, data: Any) -> None:
        """Write ``data`` (bytes, or a Path read in parts) as object ``key``."""
        try:
            self._ob.put(self._store, key, data)
        except Exception as e:
            raise StoreError(f"cannot write {key} to {self.url}: {_first_line(e)}") from None

    def get(self, key: str, start: int = 0, end: Optional[int] = None) -> bytes:
        """Bytes ``start:end`` of object ``key`` (``end`` None: to its end)."""
        try:
            if start == 0 and end is None:
                return bytes(self._ob.get(self._store, key).bytes())
            if end is None:
                return bytes(self._ob.get(self._store, key).bytes())[start:]
            if end <= start:
                return b""
            return bytes(self._ob.get_range(self._store, key, start=start, end=end))
        except FileNotFoundError:
            raise
        except Exception as e:
            raise StoreError(f"cannot read {key} from {self.url}: {_first_line(e)}") from None

    def get_ranges(self, key: str, ranges: list[tuple[int, int]]) -> list[bytes]:
        """Several byte ranges of one object, fetched together (obstore merges near ones)."""
        if not ranges:
            return []
        try:
            got = self._ob.get_ranges(self._store, key, starts=[a for a, _ in ranges], ends=[b for _, b in ranges])
            return [bytes(g) for g in got]
        except FileNotFoundError:
            raise
        except Exception as e:
            raise StoreError(f"cannot read {key} from {self.url}: {_first_line(e)}") from None

    def list(self, prefix: str) -> Iterator[tuple[str, float]]:
        """``(key, last modified as a Unix time)`` of every object under ``prefix``."""
        try:
            for chunk in self._ob.list(self._store, prefix=prefix):
                for meta in chunk:
                    yield str(meta["path"]), float(meta["last_modified"].timestamp())
        except Exception as e:
            raise StoreError(f"cannot list {prefix} in {self.url}: {_first_line(e)}") from None

    def delete(self, key: str) -> None:
        """Remove object ``key`` (gone already: fine)."""
        try:
            self._ob.delete(self._store, key)
        except FileNotFoundError:
            pass
        except Exception as e:
            raise StoreError(f"cannot delete {key} from {self.url}: {_first_line(e)}") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


__all__ = ["Objects", "StoreError", "check_url", "is_local"]
