"""The server as an ASGI application (served by uvicorn, see ``__init__.py``).

It matches a request against the route table (routes.py), checks who asks and what the route's
permission needs, refuses cross-site writes, parses the typed query, reads the body within the
limits, runs the handler in a worker thread and sends its answer: JSON (RFC 8259, gzip when asked
and worth it), a streamed file with ``Range``, or a page. An :class:`ApiError` is mapped here and
only here; anything else is a bug: logged with its traceback and answered 500. Every request is
written to the access log (``turbotrack.server.access``) with the login token redacted."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gzip
import logging
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import parse_qsl

from starlette.responses import FileResponse
from starlette.routing import compile_path

from . import jsonout
from .auth import CSRF_HEADER, SESSION_COOKIE, Principal, csrf_ok
from .errors import ApiError
from .lane import FALLBACK, Lane
from .params import parse
from .replica import ObjectIngest
from .responses import Empty, File, Html, Json, Redirect
from .routes import LOGIN_PAGE, PUBLIC, ROUTES, SMALL_BATCH, UI_CSP, WRITE, Req, Route, part
from .state import ServerState

log = logging.getLogger("turbotrack.server")
access_log = logging.getLogger("turbotrack.server.access")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
#: What an HTML form or a plain fetch from another site may send without a CORS preflight.
_FORM_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
_ENCODED_SEPARATOR = re.compile(rb"%(2f|5c|00)", re.IGNORECASE)
_TOKEN = re.compile(r"(token=)[^&]*")
_GZIP_MIN = 1400
_NAMES = ("entity", "project", "run_id")
#: A body of at most this many bytes (its length declared) is read before the caller is checked, so
#: the request costs one trip to a worker thread, not two (a live run's appends are a few KiB).
#: Bigger ones are read only once the key lets them in. A batch of uploads the client keeps to it.
SMALL_BODY = SMALL_BATCH
#: The worker threads the handlers run in (anyio's default for ``to_thread``): each a blocking call
#: at a time (the database, the object store, a file).
WORKER_THREADS = 40
_Params = dict[str, str]
_ASK = object()  # _admit: look the caller up


async def _within(seconds: float, aw: Awaitable[bytes]) -> bytes:
    """``await aw``, or a TimeoutError after ``seconds`` (asyncio's own deadline: anyio's cancel
    scope costs more than the small body it guards)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await aw
    return await asyncio.wait_for(aw, seconds)  # pragma: no cover - Python 3.9 and 3.10


class _LoginPage(Exception):
    """A page asked for without a session: the login page answers."""


class _ClientGone(Exception):
    """The client hung up while its body was being read."""


@dataclasses.dataclass(frozen=True)
class _Path:
    regex: re.Pattern[str]
    convertors: dict[str, Any]
    routes: dict[str, Route]  # by method


def _compile(routes: tuple[Route, ...]) -> list[_Path]:
    by_path: dict[str, dict[str, Route]] = {}
    for r in routes:
        by_path.setdefault(r.path, {})[r.method] = r
    out = []
    for path, methods in by_path.items():
        regex, _, convertors = compile_path(path)  # DOTALL: a CR/LF in a name reaches its check
        out.append(_Path(re.compile(regex.pattern, re.DOTALL), convertors, methods))
    return out


def _cookie(header: str, name: str) -> Optional[str]:
    for item in header.split(";"):
        k, _, v = item.strip().partition("=")
        if k == name:
            return v
    return None


class ServerApp:
    """The ASGI application of one server process."""

    def __init__(
        self, state: ServerState, scan_interval: float = 1.0, scan_lock: Optional[Path] = None, scan: bool = True
    ) -> None:
        self.state = state
        self.paths = _compile(ROUTES)
        self.scan_interval = scan_interval
        self.scan_lock = scan_lock
        self.scan = scan
        # A plain executor, not anyio's ``to_thread``: its per-call bookkeeping (the async library's
        # detection, a capacity limiter, a cancel scope) was ~12 % of a small request's CPU here.
        self._pool = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="turbotrack-handler")
        # A replica's appends go in batches through one thread (server/lane.py).
        self._lane = Lane(self, state.ingest) if isinstance(state.ingest, ObjectIngest) else None

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker thread, the event loop free meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    # ---- lifespan ----

    def _start_scanning(self) -> None:
        """Start the index's scan, in one server process only: the one holding ``scan_lock`` (the
        others wait on it, and the next takes over when that one exits)."""
        if not self.scan:
            return
        if self.scan_lock is None:
            self.state.index.start(self.scan_interval)
            return
        import fcntl

        path = self.scan_lock

        def lead() -> None:
            fd = open(path, "a+b")  # kept open for the process's life: the lock lives with it
            fcntl.flock(fd.fileno(), fcntl.LOCK_EX)
            self._lock_file = fd
            self.state.index.start(self.scan_interval)

        threading.Thread(target=lead, name="turbotrack-scan-lead", daemon=True).start()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    self._start_scanning()
                except Exception as e:
                    log.exception("server start failed")
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._lane is not None:
                    await self._in_thread(self._lane.close)
                await self._in_thread(self.state.close)
                self._pool.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- requests ----

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        sent = {"status": 0, "bytes": 0}

        async def counting_send(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                sent["status"] = msg["status"]
            elif msg["type"] == "http.response.body":
                sent["bytes"] += len(msg.get("body", b""))
            await send(msg)

        try:
            await self._handle(scope, receive, counting_send)
        except _ClientGone:
            pass
        finally:
            target = scope.get("path", "") + (
                "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
            )
            client = scope.get("client") or ("-", 0)
            access_log.info(
                '%s "%s %s" %d %d %.1fms',
                client[0],
                scope.get("method", "-"),
                _TOKEN.sub(r"\1***", target),
                sent["status"],
                sent["bytes"],
                (time.perf_counter() - started) * 1000,
            )

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"].upper()
        length = headers.get("content-length", "0")
        has_body = (length.isdigit() and int(length) > 0) or "transfer-encoding" in headers
        ctx: dict[str, Any] = {"close": False, "receive": receive}
        try:
            if _ENCODED_SEPARATOR.search(scope.get("raw_path") or b""):
                raise ApiError(400, "a name must not hold encoded separators (%2F, %5C) or NUL")
            route, params = self._match(scope["path"], "GET" if method == "HEAD" else method)
            for k in _NAMES:  # a name that would leave ROOT is refused whatever else is wrong
                if params is not None and k in params:
                    part(k.replace("_", " "), params[k])
            if route is not None and route.body and not (length.isdigit() and int(length) <= SMALL_BODY):
                # a big body (or one of unsaid length) is read only once the caller is let in
                who = await self._in_thread(self._admit, route, params, headers, method, scope)
                body = await self._read_body(receive, headers, ctx)
                has_body = False
                assert params is not None
                answer = await self._in_thread(self._call, route, params, who, body, headers, scope)
            else:  # one trip to a worker thread: who asks, then the answer (a small body read first)
                body = b""
                if route is not None and route.body:
                    body = await self._read_body(receive, headers, ctx)
                    has_body = False
                answer, lane = FALLBACK, self._lane  # a replica's append: in a batch (server/lane.py)
                if lane is not None and route is not None and lane.takes(route, method, headers, length, SMALL_BODY):
                    assert params is not None
                    answer = await lane.answer(route, params, headers, method, scope, body)
                if answer is FALLBACK:
                    answer = await self._in_thread(self._admit_and_call, route, params, headers, method, scope, body)
        except _LoginPage:
            answer = Html(LOGIN_PAGE, 401)
        except ApiError as e:
            answer = Json(e.body(), e.status)
            if e.status in (401, 403, 408, 413) and method in ("PUT", "POST"):
                ctx["close"] = True
        except _ClientGone:
            raise
        except Exception as e:  # a bug: logged with its traceback, the client told only that
            log.exception("%s %s failed", method, scope.get("path"))
            answer = Json({"error": f"internal error ({type(e).__name__}); the server logged it"}, 500)
            ctx["close"] = True
        await self._send(scope, send, answer, ctx, has_body)

    def _admit(
        self,
        route: Optional[Route],
        params: Optional[dict[str, str]],
        headers: dict[str, str],
        method: str,
        scope: Scope,
        who: Any = _ASK,
    ) -> Optional[Principal]:
        """Who asks, once the route's permission allows it (else an ApiError, or the login page).
        ``who``: the principal of the request's key when it was looked up already (``server/lane.py``)."""
        if who is _ASK:
            who = self._principal(headers)
        if route is None or (route.permission != PUBLIC and who is None):
            if who is None:
                if not (route.api if route is not None else scope["path"].startswith("/api/")):
                    raise _LoginPage
                raise ApiError(401, "no valid API key or session: pass 'Authorization: Bearer <key>'")
            if params is None:
                raise ApiError(404, "no such endpoint (docs/server-api.md lists them)")
            raise ApiError(405, f"{method} is not allowed here (docs/server-api.md lists the endpoints)")
        if method not in ("GET", "HEAD"):
            self._check_origin(headers, scope)
        if route.permission == WRITE:
            assert who is not None and params is not None
            if who.kind == "session" and route.session_writes and self._csrf(headers):
                who = dataclasses.replace(who, read_only=False)
            if not who.can_write(params.get("entity", "")):
                why = "this key is read-only" if who.read_only else f"this key writes only entity {who.entity!r}"
                if who.kind == "session":
                    why = "a browser session only reads: writes need an API key"
                    if route.session_writes:
                        why = f"a browser session writes here only with the {CSRF_HEADER} header of GET /api/v1/session"
                raise ApiError(403, why)
        return who

    def _call(
        self,
        route: Route,
        params: dict[str, str],
        who: Optional[Principal],
        body: bytes,
        headers: dict[str, str],
        scope: Scope,
    ) -> Any:
        return route.handler(self.state, self.request(route, params, who, body, headers, scope))

    @staticmethod
    def request(
        route: Route,
        params: dict[str, str],
        who: Optional[Principal],
        body: bytes,
        headers: dict[str, str],
        scope: Scope,
    ) -> Req:
        """The request as its handler sees it: the query parsed into the route's type."""
        qs = scope.get("query_string", b"").decode("latin-1")
        query: Any = parse(route.query, dict(parse_qsl(qs, keep_blank_values=True, encoding="utf-8", errors="replace")))
        target = scope.get("path", "") + ("?" + qs if qs else "")
        return Req(params, query, who, body, headers, target)

    def _admit_and_call(
        self,
        route: Optional[Route],
        params: Optional[dict[str, str]],
        headers: dict[str, str],
        method: str,
        scope: Scope,
        body: bytes = b"",
    ) -> Any:
        who = self._admit(route, params, headers, method, scope)
        assert route is not None and params is not None
        return self._call(route, params, who, body, headers, scope)

    def _match(self, path: str, method: str) -> tuple[Optional[Route], Optional[dict[str, str]]]:
        """The route for (path, method), and the path's parameters when the path matched at all."""
        for p in self.paths:
            m = p.regex.match(path)
            if m is None:
                continue
            params = {k: p.convertors[k].convert(v) for k, v in m.groupdict().items()}
            return p.routes.get(method), params
        return None, None

    def _principal(self, headers: dict[str, str]) -> Optional[Principal]:
        """Who sends the request: looked up on every request, so a revoked key stops at once."""
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return self.state.keys.check(auth[7:].strip())
        sid = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
        if not sid:
            return None
        who = self.state.sessions.check(sid)
        # A session reads; it writes only where a route allows it (``Route.session_writes``) and with
        # its CSRF header (``_admit``): a session that writes on its cookie alone would let any page that
        # gets the browser to send a request (a form on another port of this host, a sibling subdomain)
        # change runs.
        return dataclasses.replace(who, read_only=True) if who is not None else None

    def _csrf(self, headers: dict[str, str]) -> bool:
        """Whether a session's request carries its CSRF token (``auth.csrf_token``)."""
        sid = _cookie(headers.get("cookie", ""), SESSION_COOKIE)
        return sid is not None and csrf_ok(sid, headers.get(CSRF_HEADER, ""))

    def _check_origin(self, headers: dict[str, str], scope: Scope) -> None:
        """Refuse a state-changing request a browser sent from another origin (CSRF)."""
        site = headers.get("sec-fetch-site")
        if site in ("cross-site", "same-site"):
            raise ApiError(403, f"a {site} request cannot change data (Sec-Fetch-Site)")
        origin = headers.get("origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
            if origin != own:
                raise ApiError(403, f"a request from origin {origin[:100]!r} cannot change data")
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype in _FORM_TYPES:
            raise ApiError(
                415, f"a body of type {ctype!r} is not accepted: send application/json or application/octet-stream"
            )

    async def _read_body(self, receive: Receive, headers: dict[str, str], ctx: dict[str, Any]) -> bytes:
        limit = self.state.limits.max_body
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:  # the parser checked it
            ctx["close"] = True
            raise ApiError(413, f"the body ({declared} bytes) is over the server's limit of {limit} bytes")
        try:
            return await _within(self.state.limits.body_timeout, self._receive_all(receive, limit, ctx))
        except (TimeoutError, asyncio.TimeoutError):
            ctx["close"] = True
            raise ApiError(408, f"the body did not arrive within {self.state.limits.body_timeout:g} s") from None

    async def _receive_all(self, receive: Receive, limit: int, ctx: dict[str, Any]) -> bytes:
        chunks, n = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise _ClientGone
            chunk = msg.get("body", b"")
            n += len(chunk)
            if n > limit:
                ctx["close"] = True
                raise ApiError(413, f"the body is over the server's limit of {limit} bytes")
            chunks.append(chunk)
            if not msg.get("more_body"):
                return b"".join(chunks)

    # ---- answers ----

    async def _send(self, scope: Scope, send: Send, answer: Any, ctx: dict[str, Any], unread_body: bool) -> None:
        head_only = scope["method"].upper() == "HEAD"
        extra: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if ctx["close"] or unread_body:  # a body left unread is never parsed as the next request
            extra.append((b"connection", b"close"))
        if isinstance(answer, File):
            hdrs = dict(answer.headers)
            if answer.csp:
                hdrs["Content-Security-Policy"] = answer.csp
            hdrs["X-Frame-Options"] = "SAMEORIGIN" if answer.csp and "allow-scripts" in answer.csp else "DENY"
            resp = FileResponse(
                answer.path,
                headers=hdrs,
                media_type=answer.media_type,
                filename=answer.filename,
                stat_result=answer.stat,
            )
            resp.raw_headers.extend(extra)
            return await resp(scope, ctx["receive"], send)  # type: ignore[arg-type]
        status, body, ctype, hdrs = 200, b"", b"application/json", {}
        if isinstance(answer, Html):
            status, body, ctype, hdrs = answer.status, answer.text.encode(), b"text/html; charset=utf-8", answer.headers
            hdrs = {"Content-Security-Policy": UI_CSP, "X-Frame-Options": "DENY", **hdrs}
        elif isinstance(answer, Redirect):
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            cookie = f"{SESSION_COOKIE}={answer.session}; HttpOnly; SameSite=Lax; Path=/{secure}"
            status, ctype, hdrs = 302, b"text/plain", {"Location": answer.location, "Set-Cookie": cookie}
        elif isinstance(answer, Empty):
            status, hdrs = answer.status, answer.headers
        else:
            if isinstance(answer, Json):
                status, hdrs, answer = answer.status, answer.headers, answer.data
            body = jsonout.dumps(answer)
            hdrs = {"Content-Security-Policy": _JSON_CSP, **hdrs}
            accept = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"")
            if len(body) >= _GZIP_MIN and b"gzip" in accept:
                body = gzip.compress(body, 4)
                hdrs["Content-Encoding"] = "gzip"
            hdrs["Vary"] = "Accept-Encoding"
        raw = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in hdrs.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw + extra})
        await send({"type": "http.response.body", "body": b"" if head_only else body})


__all__ = ["ServerApp"]
