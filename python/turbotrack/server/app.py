"""The HTTP server: routing, auth, the read API, the write API and the UI's static files.

Stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive; one thread per connection.
See docs/server-api.md for the API this implements."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import socket
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from .._fs import atomic_write_json, read_json
from ..store import layout
from .artifact_store import ArtifactError, ArtifactStore
from .auth import SESSION_COOKIE, Keys, Principal, Sessions
from .db import Database
from .history import HistoryCache, signature, stream_paths
from .index import Index
from .ingest import Ingest, IngestError

#: The largest request body accepted (413 above it); sync sends STREAM files in smaller pieces.
DEFAULT_MAX_BODY = 64 << 20
STATIC_DIR = Path(__file__).parent / "static"
_UI_TAILS = ("system", "logs", "files")
_NO_UI = b"""<!doctype html><meta charset="utf-8"><title>turbotrack</title>
<h1>turbotrack server</h1><p>The web UI is not installed in this build; the API is served under
<code>/api/v1/</code> (see docs/server-api.md).</p>"""
_LOGIN = b"""<!doctype html><meta charset="utf-8"><title>turbotrack: log in</title>
<h1>turbotrack server</h1><p>Open the login URL that <code>turbotrack server</code> printed when it
started (<code>http://HOST:PORT/?token=...</code>).</p>"""


class HttpError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


class App:
    """Everything the handler threads share: the root, the database, keys, sessions, caches."""

    def __init__(self, root: Path, db: Database, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.root = root
        self.db = db
        self.keys = Keys(db)
        self.sessions = Sessions(db)
        self.index = Index(db, root)
        self.ingest = Ingest(root)
        self.history = HistoryCache()
        self.max_body = max_body
        self.artifacts = ArtifactStore(root)


def _part(what: str, value: str) -> str:
    try:
        return layout.check_part(what, value)
    except ValueError as e:
        raise HttpError(400, str(e)) from None


def _file_name(parts: list[str]) -> str:
    """A file name relative to the run folder from URL parts (each already decoded)."""
    if not parts or any("/" in p or "\\" in p or "\x00" in p for p in parts):
        raise HttpError(400, "a file name must not hold encoded separators")
    rel = "/".join(parts)
    if layout.classify(rel) is None:
        raise HttpError(400, f"{rel!r} is not a file a run folder holds")
    return rel


def _log_ranks(run_dir: Path) -> list[int]:
    """The ranks whose console output the run folder holds (``output.log`` is rank 0's)."""
    return sorted(
        {layout.writer_rank(p.name) for p in run_dir.glob("output*.log") if layout.classify(p.name) == layout.APPEND}
    )


class Handler(BaseHTTPRequestHandler):
    """One connection's requests."""

    protocol_version = "HTTP/1.1"
    server_version = "turbotrack"
    app: App  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the server prints its URL only
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold the body back ~40 ms on every keep-alive request.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    # ---- plumbing ----

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", headers: Optional[dict[str, str]] = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> None:
        self._send(status, json.dumps(obj, default=str).encode(), headers=headers)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HttpError(411, "send a Content-Length, not a chunked body")
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "the Content-Length must be a whole number of bytes") from None
        if n > self.app.max_body:
            self.close_connection = True
            raise HttpError(413, f"the body ({n} bytes) is over the server's limit of {self.app.max_body} bytes")
        data = self.rfile.read(n)
        if len(data) != n:
            self.close_connection = True
            raise HttpError(400, "the body was cut short: send the request again")
        return data

    def _principal(self) -> Optional[Principal]:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return self.app.keys.check(auth[7:].strip())
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except Exception:
            return None
        morsel = cookie.get(SESSION_COOKIE)
        return self.app.sessions.check(morsel.value) if morsel else None

    def _dispatch(self) -> None:
        try:
            url = urlsplit(self.path)
            raw_parts = url.path.split("/")[1:]
            parts = [unquote(p) for p in raw_parts]
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if self.command == "GET" and parts in ([""], []) and "token" in query:
                return self._login(query["token"])
            who = self._principal()
            if who is None:
                if self.command in ("PUT", "POST"):
                    self.close_connection = True
                if parts and parts[0] == "api":
                    raise HttpError(401, "no valid API key or session: pass 'Authorization: Bearer <key>'")
                return self._send(401, _LOGIN, "text/html; charset=utf-8")
            if parts[:2] == ["api", "v1"]:
                return self._api(parts[2:], query, who)
            if self.command not in ("GET", "HEAD"):
                raise HttpError(405, "pages are read with GET; the API is under /api/v1 (see docs/server-api.md)")
            return self._static(parts)
        except HttpError as e:
            self._json({"error": str(e), **e.extra}, e.status)
        except IngestError as e:
            extra = {"size": e.size} if e.size is not None else {}
            self._json({"error": str(e), **extra}, e.status)
        except ArtifactError as e:
            self._json({"error": str(e), **e.extra}, e.status)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug: answer 500 and keep serving
            self.close_connection = True
            try:
                self._json({"error": f"{type(e).__name__}: {e}"}, 500)
            except OSError:
                pass

    do_GET = do_PUT = do_POST = do_HEAD = _dispatch

    def _login(self, token: str) -> None:
        sid = self.app.sessions.login(token)
        if sid is None:
            return self._send(401, _LOGIN, "text/html; charset=utf-8")
        cookie = f"{SESSION_COOKIE}={sid}; HttpOnly; SameSite=Lax; Path=/"
        self._send(302, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})

    # ---- static UI ----

    def _static(self, parts: list[str]) -> None:
        parts = [p for p in parts if p != ""] if parts != [""] else []
        if parts and parts[0] == "static":
            names = parts[1:]
            if not names or any(p in (".", "..") or p.startswith(".") or "/" in p or "\\" in p for p in names):
                raise HttpError(400, "bad static file name")
            path = STATIC_DIR.joinpath(*names)
            if not path.is_file():
                raise HttpError(404, "no such file")
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return self._send(200, path.read_bytes(), ctype, {"Cache-Control": "no-cache"})
        ui = (
            len(parts) == 0
            or len(parts) == 2
            or (len(parts) == 4 and parts[2] == "runs")
            or (len(parts) == 5 and parts[2] == "runs" and parts[4] in _UI_TAILS)
        )
        if not ui:
            raise HttpError(404, "no such page")
        for i, p in enumerate(parts):
            if i != 2:
                _part("name", p)
        index = STATIC_DIR / "index.html"
        body = index.read_bytes() if index.is_file() else _NO_UI
        self._send(200, body, "text/html; charset=utf-8", {"Cache-Control": "no-cache"})

    # ---- API ----

    def _api(self, parts: list[str], q: dict[str, str], who: Principal) -> None:
        m = self.command
        if parts == ["projects"] and m == "GET":
            return self._json({"projects": self.app.index.projects()})
        if parts and parts[0] == "artifacts":
            return self._artifacts(parts[1:], q, who)
        if len(parts) < 3 or parts[0] != "runs":
            raise HttpError(404, "no such endpoint (docs/server-api.md lists them)")
        entity, project = _part("entity", parts[1]), _part("project", parts[2])
        if len(parts) == 3 and m == "GET":
            return self._list_runs(entity, project, q)
        rp = layout.RunPath(self.app.root, entity, project, _part("run id", parts[3]))
        rest = parts[4:]
        if m in ("PUT", "POST") and not who.can_write(entity):
            self.close_connection = True
            why = "this key is read-only" if who.read_only else f"this key writes only entity {who.entity!r}"
            raise HttpError(403, why)
        if m == "GET" or m == "HEAD":
            if not rest:
                return self._run(rp)
            if rest == ["manifest"]:
                return self._manifest(rp)
            if rest == ["history"]:
                return self._history(rp, q)
            if rest == ["rows"]:
                return self._rows(rp, q)
            if rest == ["files"]:
                return self._files(rp)
            if rest[0] == "files":
                return self._file(rp, _file_name(rest[1:]), q)
            if rest == ["logs"]:
                return self._logs(rp, q)
        if m == "PUT" and rest and rest[0] == "files":
            return self._upload(rp, _file_name(rest[1:]), q)
        if m == "POST" and rest == ["heartbeat"]:
            return self._heartbeat(rp)
        if m == "POST" and rest == ["summary"]:
            return self._summary(rp)
        raise HttpError(404 if m in ("GET", "HEAD") else 405, "no such endpoint (docs/server-api.md lists them)")

    def _list_runs(self, entity: str, project: str, q: dict[str, str]) -> None:
        try:
            filters = json.loads(q["filters"]) if q.get("filters") else None
            limit = int(q["limit"]) if q.get("limit") else None
            offset = int(q.get("offset") or 0)
        except ValueError as e:
            raise HttpError(400, f"bad query: {e}") from None
        if filters is not None and not isinstance(filters, dict):
            raise HttpError(400, "filters must be a JSON object")
        if (limit is not None and limit < 0) or offset < 0:
            raise HttpError(400, "limit and offset must not be negative")
        try:
            total, page = self.app.index.page(entity, project, filters, q.get("order") or None, limit, offset)
        except ValueError as e:  # a malformed query, as store/query.py names it
            raise HttpError(400, str(e)) from None
        self._json({"total": total, "runs": page})

    def _index_run(self, rp: layout.RunPath) -> dict[str, Any]:
        found = self.app.index.runs(rp.entity, rp.project, run_id=rp.run_id)
        if not found and layout.is_run_dir(rp.dir):
            self.app.index.refresh(rp)
            found = self.app.index.runs(rp.entity, rp.project, run_id=rp.run_id)
        if not found:
            raise HttpError(404, f"no run {rp.path}")
        return found[0]

    def _run(self, rp: layout.RunPath) -> None:
        run = self._index_run(rp)
        run["metadata"] = read_json(rp.dir / layout.METADATA, {}) or {}
        run["metrics"] = read_json(rp.dir / layout.METRICS, []) or []
        run["keys"] = {s: self.app.history.keys(stream_paths(rp.dir, s)) for s in ("history", "system")}
        run["log_ranks"] = _log_ranks(rp.dir)
        self._json(run)

    def _manifest(self, rp: layout.RunPath) -> None:
        files: dict[str, Any] = {}
        if rp.dir.is_dir():
            for rel, path, kind in layout.run_files(rp.dir):
                if kind in (layout.STREAM, layout.APPEND):
                    files[rel] = {"size": self.app.ingest.size(path, kind)}
                else:
                    files[rel] = {"size": path.stat().st_size, "sha256": self.app.ingest.sha256(path)}
        self._json({"files": files})

    def _history(self, rp: layout.RunPath, q: dict[str, str]) -> None:
        paths = stream_paths(rp.dir, q.get("stream", "history"))
        if not paths and not layout.is_run_dir(rp.dir):
            raise HttpError(404, f"no run {rp.path}")
        # Stable across server restarts; "no-cache" lets the browser keep the answer and revalidate it
        # (a 304 costs a stat of the run's files), so a workspace visited again reuses what it drew.
        query = hashlib.sha1(self.path.encode()).hexdigest()[:16]
        cache = {"ETag": '"' + signature(paths)[:24] + "-" + query + '"', "Cache-Control": "no-cache"}
        if self.headers.get("If-None-Match") == cache["ETag"]:
            return self._send(304, b"", headers=cache)
        try:
            keys = [k for k in q["keys"].split(",") if k] if q.get("keys") else None
            samples = int(q["samples"]) if q.get("samples") else None
            lo = float(q["min"]) if q.get("min") else None
            hi = float(q["max"]) if q.get("max") else None
        except ValueError as e:
            raise HttpError(400, f"bad query: {e}") from None
        x_axis = q.get("x_axis") or "_step"
        if q.get("each") and keys:
            out = self.app.history.columnar_each(paths, keys, x_axis, samples, lo, hi)
        else:
            out = self.app.history.columnar(paths, keys, x_axis, samples, lo, hi)
        self._json(out, headers=cache)

    def _rows(self, rp: layout.RunPath, q: dict[str, str]) -> None:
        paths = stream_paths(rp.dir, "history")
        try:
            offset = int(q.get("offset") or 0)
            limit = int(q.get("limit") or 10000)
        except ValueError as e:
            raise HttpError(400, f"bad query: {e}") from None
        keys = [k for k in q["keys"].split(",") if k] if q.get("keys") else None
        rows = self.app.history.rows(paths, keys) if paths else []
        page = rows[offset : offset + limit]
        nxt = offset + len(page) if offset + len(page) < len(rows) else None
        self._send(200, json.dumps({"rows": page, "next": nxt}, default=str).encode())

    def _files(self, rp: layout.RunPath) -> None:
        if not layout.is_run_dir(rp.dir):
            raise HttpError(404, f"no run {rp.path}")
        files = []
        for rel, path, kind in layout.run_files(rp.dir):
            st = path.stat()
            files.append({"name": rel, "size": st.st_size, "mtime": st.st_mtime, "kind": kind})
        self._json({"files": files})

    def _file(self, rp: layout.RunPath, rel: str, q: dict[str, str]) -> None:
        path = rp.dir / rel
        if not path.is_file():
            raise HttpError(404, f"no file {rel} in run {rp.path}")
        data = path.read_bytes()
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Accept-Ranges": "bytes"}
        if q.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and "," not in rng:
            a, _, b = rng[6:].partition("-")
            try:
                start = int(a) if a else max(0, len(data) - int(b))
                end = min(int(b), len(data) - 1) if a and b else len(data) - 1
            except ValueError:
                raise HttpError(400, "bad Range: send 'bytes=START-' or 'bytes=START-END'") from None
            if start >= len(data) or start > end:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start : end + 1], ctype, headers)
        self._send(200, data, ctype, headers)

    def _logs(self, rp: layout.RunPath, q: dict[str, str]) -> None:
        run = self._index_run(rp)
        try:
            offset = max(0, int(q.get("offset") or 0))
            rank = int(q.get("rank") or 0)
        except ValueError:
            raise HttpError(400, "offset and rank must be whole numbers") from None
        if rank < 0:
            raise HttpError(400, "a rank is not negative")
        data = b""
        try:
            with open(rp.dir / layout.ranked(layout.OUTPUT, rank, shared=True), "rb") as fh:
                fh.seek(offset)
                data = fh.read(1 << 20)
        except FileNotFoundError:
            pass
        cut = len(data)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:  # a character cut at the end of the chunk: send it next time
            if e.end == len(data) and e.start >= len(data) - 3:
                cut = e.start
        text = data[:cut].decode("utf-8", errors="replace")
        self._json({"text": text, "offset": offset + cut, "running": run["state"] == "running"})

    def _upload(self, rp: layout.RunPath, rel: str, q: dict[str, str]) -> None:
        kind = layout.classify(rel)
        body = self._body()
        path = rp.dir / rel
        if kind in (layout.STREAM, layout.APPEND):
            if "offset" not in q:
                raise HttpError(400, f"{rel} grows by appends: PUT it with ?offset=N")
            try:
                offset = int(q["offset"])
            except ValueError:
                raise HttpError(400, "offset must be a whole number of bytes") from None
            size = self.app.ingest.append(path, kind or "", offset, body)
        else:
            if rel.endswith(".json"):
                try:
                    json.loads(body)
                except ValueError:
                    raise HttpError(400, f"{rel} is not JSON") from None
            size = self.app.ingest.replace(path, body)
            if rel.startswith(("run", "config", "summary", "metrics")):
                self.app.index.refresh(rp)
        self._json({"size": size})

    def _heartbeat(self, rp: layout.RunPath) -> None:
        body = self._body()
        try:
            ttl = float(json.loads(body).get("ttl")) if body else None
        except (ValueError, TypeError, AttributeError):
            ttl = None
        if not layout.is_run_dir(rp.dir):
            raise HttpError(404, f"no run {rp.path}: upload its run.json first")
        self.app.index.touch(rp, ttl)
        self._json({"ok": True})

    def _summary(self, rp: layout.RunPath) -> None:
        body = self._body()
        try:
            items = json.loads(body)
        except ValueError:
            raise HttpError(400, "the summary must be a JSON object") from None
        if not isinstance(items, dict):
            raise HttpError(400, "the summary must be a JSON object")
        if not layout.is_run_dir(rp.dir):
            raise HttpError(404, f"no run {rp.path}")
        path = rp.dir / layout.SUMMARY
        with self.app.ingest.lock(path):
            current = read_json(path, {}) or {}
            current.update(items)
            atomic_write_json(path, current)
        self.app.index.refresh(rp, force=True)
        self._json({"summary": current})

    # ---- artifacts ----

    def _artifacts(self, parts: list[str], q: dict[str, str], who: Principal) -> None:
        """``/api/v1/artifacts/<e>/<p>/blobs/...`` and ``.../versions/<name>[/<alias>]``."""
        m = self.command
        if len(parts) < 4:
            raise HttpError(404, "no such endpoint (docs/server-api.md lists them)")
        entity, project = _part("entity", parts[0]), _part("project", parts[1])
        store, rest = self.app.artifacts, parts[2:]
        if m in ("PUT", "POST") and not who.can_write(entity):
            self.close_connection = True
            why = "this key is read-only" if who.read_only else f"this key writes only entity {who.entity!r}"
            raise HttpError(403, why)
        if rest == ["blobs", "missing"] and m == "POST":
            try:
                digests = json.loads(self._body()).get("digests")
            except (ValueError, AttributeError):
                raise HttpError(400, 'the body must be {"digests": [...]}') from None
            if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
                raise HttpError(400, 'the body must be {"digests": [...]}')
            return self._json({"missing": store.missing(entity, project, digests)})
        if len(rest) == 2 and rest[0] == "blobs":
            digest = rest[1]
            if m in ("GET", "HEAD"):
                path = store.blob_path(entity, project, digest)
                if not path.is_file():
                    raise HttpError(404, f"no blob {digest}")
                return self._send(200, path.read_bytes(), "application/octet-stream")
            if m == "PUT":
                store.blob_path(entity, project, digest)  # 400 unless a sha256
                body = self._body()
                try:
                    offset = int(q.get("offset") or 0)
                    total = int(q["size"]) if q.get("size") else offset + len(body)
                except ValueError:
                    raise HttpError(400, "offset and size must be whole numbers of bytes") from None
                return self._json({"size": store.put_blob(entity, project, digest, body, offset, total)})
        if rest[0] == "versions" and len(rest) in (2, 3):
            name = _part("artifact name", rest[1])
            if len(rest) == 2 and m in ("GET", "HEAD"):
                return self._json(store.versions(entity, project, name))
            if len(rest) == 3 and m in ("GET", "HEAD"):
                return self._json(store.version(entity, project, name, rest[2]))
            if len(rest) == 3 and m == "PUT":
                try:
                    body = json.loads(self._body())
                except ValueError:
                    raise HttpError(400, "the body must be JSON") from None
                return self._json(store.put_version(entity, project, name, rest[2], body))
        raise HttpError(404 if m in ("GET", "HEAD") else 405, "no such endpoint (docs/server-api.md lists them)")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(app: App, host: str, port: int) -> Server:
    """A server bound to (host, port) (port 0: a free one) serving ``app``."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    Server.address_family = family
    return Server((host, port), handler)


__all__ = ["DEFAULT_MAX_BODY", "App", "Handler", "HttpError", "Server", "make_server"]
