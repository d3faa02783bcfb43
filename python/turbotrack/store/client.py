"""An HTTP client for the server's API (sync, the online uploader and the remote Api), and where
the API key comes from: ``api_key=``, ``$TURBOTRACK_API_KEY``, or ``turbotrack login``'s file."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
from pathlib import Path
from typing import Any, Optional, Union
from urllib.parse import quote, urlencode, urlsplit

from .._fs import atomic_write_bytes, read_json
from ..errors import CommError, ServerError, server_error

API_KEY_ENV = "TURBOTRACK_API_KEY"

__all__ = ["API_KEY_ENV", "Client", "CommError", "ServerError", "check_base_url", "resolve_base_url", "resolve_key"]


def check_base_url(base_url: str) -> tuple[str, bool]:
    """``base_url`` as the client uses it (no trailing ``/``), and whether ``http://`` was put in front
    of it because it had no scheme (``localhost:8080``). Anything but an http(s) URL with a host is a
    ``ValueError`` naming it."""
    url = base_url.strip().rstrip("/")
    added = "://" not in url
    if added:
        url = "http://" + url
    u = urlsplit(url)
    try:
        u.port  # noqa: B018 -- a port that is not a number raises here
    except ValueError:
        raise ValueError(f"base_url {base_url!r}: the port is not a number from 0 to 65535") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"base_url {base_url!r}: expected http://HOST:PORT (or https://)")
    return url, added


def _no_http(base_url: str, e: Exception) -> CommError:
    return CommError(
        f"{base_url} gave no valid HTTP answer ({type(e).__name__}: {str(e).strip()[:80]})",
        e,
        url=base_url,
        hint=f"is {base_url} a turbotrack server? ('turbotrack server' prints its address)",
    )


def _unreachable(base_url: str, e: OSError) -> CommError:
    """The error for a server that cannot be reached, naming it and the cause."""
    if isinstance(e, ssl.SSLError):
        why = f"TLS failed ({e.reason or e})"
        hint = "is it an http:// server (no TLS)? then give http://; else check its certificate"
    elif isinstance(e, socket.gaierror):
        why, hint = f"cannot resolve the host name ({e.strerror or e})", "check the host name in the URL"
    elif isinstance(e, ConnectionRefusedError):
        why, hint = "connection refused", f"is the server running at {base_url}? ('turbotrack server' starts one)"
    elif isinstance(e, (TimeoutError, socket.timeout)):
        why, hint = "no answer in time", f"is {base_url} a turbotrack server, and reachable from here?"
    else:
        why = e.strerror or str(e) or type(e).__name__
        hint = f"is the server running at {base_url}, and reachable from here?"
    return CommError(f"cannot reach {base_url}: {why}", e, url=base_url, hint=hint)


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
        if "://" not in base_url:
            raise ValueError(f"base_url {base_url!r}: expected http://HOST:PORT (or https://)")
        self.base_url = check_base_url(base_url)[0]
        u = urlsplit(self.base_url)
        self._scheme = u.scheme
        self._host = u.hostname or ""  # check_base_url made sure there is one
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
        """(status, headers, body) of one request; reconnects once when a kept-alive connection died.
        A server that cannot be reached is a :class:`CommError` naming its URL."""
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
            except (
                http.client.RemoteDisconnected,
                BrokenPipeError,
                ConnectionResetError,
                http.client.BadStatusLine,
            ) as e:
                self.close()
                if not attempt:
                    continue
                if isinstance(e, OSError):  # RemoteDisconnected is one too
                    raise CommError(
                        f"{self.base_url} closed the connection: {e or type(e).__name__}", e, url=self.base_url
                    ) from e
                raise _no_http(self.base_url, e) from e
            except OSError as e:
                self.close()
                raise _unreachable(self.base_url, e) from e
            except http.client.HTTPException as e:  # an answer that is no HTTP (another kind of server)
                self.close()
                raise _no_http(self.base_url, e) from e
            except BaseException:
                self.close()
                raise
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        raise ConnectionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, body: Any = None, query: Optional[dict[str, Any]] = None) -> Any:
        """The JSON answer of a request (``body``: bytes as is, anything else as JSON); a :class:`ServerError`
        on >= 400 (a ``KeyRefusedError`` on 401 and 403)."""
        raw = body if isinstance(body, (bytes, bytearray, memoryview)) or body is None else json.dumps(body).encode()
        ctype = {"Content-Type": "application/json"} if raw is not None and raw is not body else None
        payload = raw if raw is None or isinstance(raw, (bytes, memoryview)) else bytes(raw)  # a chunk: not copied
        status, _, data = self.request(method, path, payload, query, ctype)
        try:
            out = json.loads(data) if data else {}
        except ValueError:
            out = {"error": data[:200].decode(errors="replace")}
        if status >= 400:
            message = out.get("error", "") if isinstance(out, dict) else str(out)
            raise server_error(status, message, out if isinstance(out, dict) else None, self.base_url)
        return out
