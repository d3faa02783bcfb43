"""An HTTP client for the server's API (sync, the online uploader and the remote Api), and where
the API key comes from: ``api_key=``, ``$TURBOTRACK_API_KEY``, or ``turbotrack login``'s file."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import quote, urlencode, urlsplit

from .._fs import atomic_write_bytes, read_json

API_KEY_ENV = "TURBOTRACK_API_KEY"


class ServerError(Exception):
    """The server answered with an error status."""

    def __init__(self, status: int, message: str, body: Optional[dict[str, Any]] = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body or {}


def credentials_path() -> Path:
    """``~/.config/turbotrack/credentials`` (``$XDG_CONFIG_HOME`` honoured)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "turbotrack" / "credentials"


def _norm(base_url: str) -> str:
    return base_url.rstrip("/")


def save_key(base_url: str, key: str) -> Path:
    """Store ``key`` for ``base_url`` (and as the default) in the credentials file, mode 0600."""
    path = credentials_path()
    data = read_json(path, {}) or {}
    data.setdefault("keys", {})[_norm(base_url)] = key
    data["default"] = {"base_url": _norm(base_url), "api_key": key}
    atomic_write_bytes(path, json.dumps(data, indent=2).encode())
    os.chmod(path, 0o600)
    path.parent.chmod(0o700)
    return path


def resolve_key(base_url: str, api_key: Optional[str] = None) -> Optional[str]:
    """The key to use for ``base_url``: the argument, ``$TURBOTRACK_API_KEY``, or the credentials file."""
    if api_key:
        return api_key
    if os.environ.get(API_KEY_ENV):
        return os.environ[API_KEY_ENV]
    try:
        data = read_json(credentials_path(), {}) or {}
    except (OSError, ValueError):
        return None
    return (data.get("keys") or {}).get(_norm(base_url))


def resolve_base_url(base_url: Optional[str] = None) -> Optional[str]:
    """``base_url``, else ``$TURBOTRACK_BASE_URL``, else the one ``turbotrack login`` stored last."""
    if base_url:
        return base_url
    if os.environ.get("TURBOTRACK_BASE_URL"):
        return os.environ["TURBOTRACK_BASE_URL"]
    try:
        data = read_json(credentials_path(), {}) or {}
    except (OSError, ValueError):
        return None
    return (data.get("default") or {}).get("base_url")


def run_url(entity: str, project: str, run_id: str, *rest: str) -> str:
    """``/api/v1/runs/<e>/<p>/<id>/...`` with every part quoted."""
    parts = [entity, project, run_id, *rest]
    return "/api/v1/runs/" + "/".join(quote(p, safe="") for p in parts)


class Client:
    """One keep-alive connection to a server (use one per thread)."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 60.0) -> None:
        self.base_url = _norm(base_url)
        u = urlsplit(self.base_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"base_url {base_url!r}: expected http://HOST:PORT")
        self._scheme = u.scheme
        self._host = u.hostname
        self._port = u.port
        self._prefix = u.path.rstrip("/")
        self.api_key = resolve_key(self.base_url, api_key)
        self.timeout = timeout
        self._conn: Optional[http.client.HTTPConnection] = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def request(
        self,
        method: str,
        path: str,
        body: Optional[Union[bytes, memoryview]] = None,
        query: Optional[dict[str, Any]] = None,
        headers: Optional[dict[str, str]] = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of one request; reconnects once when a kept-alive connection died."""
        url = self._prefix + path + ("?" + urlencode(query) if query else "")
        hdrs = {"Content-Length": str(len(body or b""))} if method in ("PUT", "POST") else {}
        if body is not None:
            hdrs["Content-Type"] = "application/octet-stream"
        if self.api_key:
            hdrs["Authorization"] = f"Bearer {self.api_key}"
        hdrs.update(headers or {})
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, http.client.BadStatusLine):
                self.close()
                if attempt:
                    raise
                continue
            except BaseException:
                self.close()
                raise
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        raise ConnectionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, body: Any = None, query: Optional[dict[str, Any]] = None) -> Any:
        """The JSON answer of a request (``body``: bytes as is, anything else as JSON); ServerError on >= 400."""
        raw = body if isinstance(body, (bytes, bytearray, memoryview)) or body is None else json.dumps(body).encode()
        ctype = {"Content-Type": "application/json"} if raw is not None and raw is not body else None
        payload = raw if raw is None or isinstance(raw, (bytes, memoryview)) else bytes(raw)  # a chunk: not copied
        status, _, data = self.request(method, path, payload, query, ctype)
        try:
            out = json.loads(data) if data else {}
        except ValueError:
            out = {"error": data[:200].decode(errors="replace")}
        if status >= 400:
            raise ServerError(status, out.get("error", "") if isinstance(out, dict) else str(out), out)
        return out
