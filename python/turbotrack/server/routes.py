"""The server's route table: every endpoint, its permission, its typed query and its handler.

Handlers know nothing of HTTP's transport: each takes the server's state and a :class:`Req` (checked
path names, the parsed query, the body, who asks) and returns plain data (sent as JSON) or one of
the answers in ``responses.py``; a refusal is an :class:`ApiError`. ``asgi.py`` serves the table.
docs/server-api.md lists the endpoints."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import mimetypes
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from .._fs import read_json
from ..store import batch, layout
from . import run_edits
from .auth import Principal
from .checks import index_run as _index_run
from .checks import json_body as _json_body
from .checks import part, read_run, run_path
from .errors import ApiError
from .history import signature, stream_paths
from .params import NoQuery
from .preload import Preloads
from .responses import Empty, File, Html, Json, Redirect
from .state import ServerState

#: The permissions a route can ask for: none (the login page), a valid key or session, a key that
#: writes the ``entity`` named in the path.
PUBLIC, READ, WRITE = "public", "read", "write"
#: Run files shown inline by the UI (``<img>``); every other file is an attachment.
_INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}
#: What the UI's pages may load: nothing but the server itself (no CDN, no inline script).
UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: A user's file can never script the site: an opaque origin with no scripts, or (an Html media
#: viewed in the UI's sandboxed frame) scripts in an opaque origin with no cookies and no API.
FILE_CSP = "sandbox"
HTML_VIEW_CSP = "sandbox allow-scripts; default-src 'self' 'unsafe-inline' data: blob:; frame-ancestors 'self'"
_UI_TAILS = ("system", "logs", "files")
STATIC_DIR = Path(__file__).parent / "static"
_NO_UI = """<!doctype html><meta charset="utf-8"><title>turbotrack</title>
<h1>turbotrack server</h1><p>The web UI is not installed in this build; the API is served under
<code>/api/v1/</code> (see docs/server-api.md).</p>"""
LOGIN_PAGE = """<!doctype html><meta charset="utf-8"><title>turbotrack: log in</title>
<h1>turbotrack server</h1><p>Open the login URL that <code>turbotrack server</code> printed when it
started (<code>http://HOST:PORT/?token=...</code>).</p>"""


@dataclass
class Req:
    """One request as a handler sees it."""

    params: dict[str, str]
    query: Any
    who: Optional[Principal]
    body: bytes = b""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    target: str = ""  # the path and query string as sent (the history answer's ETag covers it)


Handler = Callable[[ServerState, Req], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: ``path`` in Starlette's syntax (``{name}``, ``{name:path}``)."""

    method: str
    path: str
    handler: Handler
    permission: str = READ
    query: type = NoQuery
    body: bool = False  # whether the handler reads the request body (else it is never read)
    api: bool = True  # errors as JSON (else the UI's HTML pages)
    #: a WRITE route the UI calls: a browser session may too, with its CSRF header (asgi.py)
    session_writes: bool = False


# ---- checked names ----


def file_name(raw: str) -> str:
    """A file name relative to the run folder, from the URL's tail."""
    parts = raw.split("/")
    if not raw or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise ApiError(400, "a file name must be a path inside the run folder")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ApiError(400, f"a file name must not hold control characters: {raw[:100]!r}")
    if layout.classify(raw) is None:
        raise ApiError(400, f"{raw!r} is not a file a run folder holds")
    return raw


def regular_file(root: Path, path: Path) -> Optional[os.stat_result]:
    """The stat of ``path`` when it is a regular file reached from ``root`` without a symlink
    (``layout.safe_file``); else None. A symlink planted in the storage root is never followed."""
    try:
        return os.stat(layout.safe_file(root, path))
    except (ValueError, OSError):
        return None


def _log_ranks(run_dir: Path) -> list[int]:
    """The ranks whose console output the run folder holds (``output.log`` is rank 0's)."""
    return sorted(
        {layout.writer_rank(p.name) for p in run_dir.glob("output*.log") if layout.classify(p.name) == layout.APPEND}
    )


# ---- typed queries ----


@dataclass(frozen=True)
class RunsQuery:
    filters: Optional[str] = None
    order: Optional[str] = None
    limit: Optional[int] = None
    offset: int = 0
    since: Optional[float] = None

    def __post_init__(self) -> None:
        if (self.limit is not None and self.limit < 0) or self.offset < 0:
            raise ValueError("limit and offset must not be negative")
        if self.since is not None and not math.isfinite(self.since):
            raise ValueError("since must be a finite number (seconds since the epoch)")


@dataclass(frozen=True)
class HistoryQuery:
    keys: Optional[list[str]] = None
    samples: Optional[int] = None
    min: Optional[float] = None
    max: Optional[float] = None
    x_axis: str = "_step"
    each: bool = False
    stream: str = "history"
    bands: bool = False  # with samples: each downsampled key's bucket min and max per row

    def __post_init__(self) -> None:
        if self.stream not in layout.STREAM_GLOBS:
            raise ValueError(f"stream must be one of {sorted(layout.STREAM_GLOBS)}, not {self.stream!r}")
        if self.samples is not None and self.samples < 1:
            raise ValueError("samples must be at least 1")


#: The batch of uploads a client keeps to (the manifest says it): what the server reads before it
#: looks the key up, and what a replica's lane takes (asgi.py's SMALL_BODY)
SMALL_BATCH = 64 << 10
#: Runs one batch history request may name: 100 answers of a chart's keys at its width stay a few
#: MB (a 600-point key is some 20 KB of JSON), and the UI asks for at most BATCH_RUNS (lib/batch.js).
MAX_BATCH_RUNS = 100


@dataclass(frozen=True)
class HistoriesQuery(HistoryQuery):
    runs: Optional[list[str]] = None  # run ids of the project, comma-separated


@dataclass(frozen=True)
class RowsQuery:
    keys: Optional[list[str]] = None
    offset: int = 0
    limit: int = 10000

    def __post_init__(self) -> None:
        if self.offset < 0 or self.limit < 0:
            raise ValueError("offset and limit must not be negative")


@dataclass(frozen=True)
class FileQuery:
    download: bool = False
    view: bool = False


@dataclass(frozen=True)
class LogsQuery:
    offset: int = 0
    rank: int = 0

    def __post_init__(self) -> None:
        if self.rank < 0:
            raise ValueError("a rank is not negative")


@dataclass(frozen=True)
class UploadQuery:
    offset: Optional[int] = None
    size: Optional[int] = None
    sha256: Optional[str] = None
    #: an append that is also the run's heartbeat, fresh this many seconds (the uploader's live
    #: passes: one request less than a heartbeat of its own)
    heartbeat: Optional[float] = None

    def __post_init__(self) -> None:
        if self.heartbeat is not None and not (math.isfinite(self.heartbeat) and self.heartbeat > 0):
            raise ValueError("heartbeat must be a positive number of seconds")


@dataclass(frozen=True)
class BatchQuery:
    #: the run's heartbeat, fresh this many seconds, carried by the batch (as an append carries it)
    heartbeat: Optional[float] = None
    #: sent as a new run's first files, without asking for the manifest first: refused whole (409)
    #: when the server holds any file of the run, so the client asks and plans from what is there
    new: bool = False

    def __post_init__(self) -> None:
        if self.heartbeat is not None and not (math.isfinite(self.heartbeat) and self.heartbeat > 0):
            raise ValueError("heartbeat must be a positive number of seconds")


@dataclass(frozen=True)
class BlobQuery:
    offset: int = 0
    size: Optional[int] = None

    def __post_init__(self) -> None:
        if self.offset < 0 or (self.size is not None and self.size < 0):
            raise ValueError("offset and size must not be negative")


@dataclass(frozen=True)
class LoginQuery:
    token: Optional[str] = None


# ---- read API ----


def projects(s: ServerState, r: Req) -> Any:
    return {"projects": s.index.projects()}


def list_runs(s: ServerState, r: Req) -> Any:
    entity, project = part("entity", r.params["entity"]), part("project", r.params["project"])
    q: RunsQuery = r.query
    filters = _json_body(q.filters.encode(), "filters") if q.filters else None
    if filters is not None and not isinstance(filters, dict):
        raise ApiError(400, "filters must be a JSON object")
    now = time.time()
    try:
        total, page = s.index.page(entity, project, filters, q.order or None, q.limit, q.offset, since=q.since)
    except ValueError as e:  # a malformed query, as store/query.py names it
        raise ApiError(400, str(e)) from None
    return {"total": total, "runs": page, "now": now}


def run(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    out = _index_run(s, rp)
    out["metadata"] = read_json(rp.dir / layout.METADATA, {}) or {}
    out["metrics"] = read_json(rp.dir / layout.METRICS, []) or []
    out["keys"] = {st: s.history.keys(stream_paths(rp.dir, st)) for st in ("history", "system")}
    out["log_ranks"] = _log_ranks(rp.dir)
    out.update(_ending(rp.dir, out.get("state")))
    return out


#: How much of output.log's end a failed run's page reads for the error that ended it.
_ERROR_TAIL = 64 * 1024


def _ending(run_dir: Path, state: Any) -> dict[str, Any]:
    """How a run ended, for its page: ``exit_code`` (the first non-zero of its ranks' run files, else
    0 or None), ``state_reason`` (a sentence on its state) and, for a failed or crashed run, ``error``
    (the last traceback, or else the last stderr lines, of the end of output.log; None if none)."""
    codes = []
    for path in sorted(run_dir.glob(layout.RUN_GLOB)):
        try:
            info = read_json(path, {}) or {}
        except (OSError, ValueError):  # a damaged rank file (the run reads as unreadable): no code from it
            continue
        code = info.get("exit_code") if isinstance(info, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            codes.append(code)
    exit_code = next((c for c in codes if c != 0), codes[0] if codes else None)
    reasons = {
        "running": "its process is alive and writing",
        "finished": "it called finish()" + ("" if exit_code in (None, 0) else f" with exit code {exit_code}"),
        "failed": f"its process exited with code {exit_code}" if exit_code is not None else "it finished as failed",
        "crashed": "its process ended without finishing the run (killed, or the machine went down)",
        "unreadable": "a run file of it could not be read",
    }
    out: dict[str, Any] = {"exit_code": exit_code, "state_reason": reasons.get(str(state), "")}
    if state in ("failed", "crashed"):
        out["error"] = _last_error(run_dir / layout.OUTPUT)
    return out


def _last_error(log: Path) -> Optional[str]:
    """The last traceback in the end of output.log (lines ``<time> stderr <text>``), or its last
    stderr lines when there is none."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - _ERROR_TAIL))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    errs = []
    for line in tail.splitlines():
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[1] == "stderr":
            errs.append(parts[2] if len(parts) > 2 else "")
    start = max((i for i, t in enumerate(errs) if t.startswith("Traceback (most recent call last)")), default=-1)
    text = "\n".join(errs[start:] if start >= 0 else errs[-20:]).strip()
    return text or None


def manifest(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    files: dict[str, Any] = {}
    if rp.dir.is_dir():
        for rel, path, kind in layout.run_files(rp.dir):
            if kind in (layout.STREAM, layout.APPEND):
                size, digest = s.ingest.held(path, kind)
                files[rel] = {"size": size, "sha256": digest}
            else:
                files[rel] = {"size": path.stat().st_size, "sha256": s.ingest.sha256(path)}
        for rel, part in s.ingest.partials(rp.dir).items():
            files.setdefault(rel, {})["partial"] = part
    # ``batch``: the server takes several uploads in one request (``POST .../files``), this many
    # bytes at most for the fast path (a replica's lane); a bigger one is taken, at max_body
    return {"files": files, "max_body": s.limits.max_body, "batch": SMALL_BATCH}


def history(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    q: HistoryQuery = r.query
    paths = stream_paths(rp.dir, q.stream)
    if not paths and not layout.is_run_dir(rp.dir):
        raise ApiError(404, f"no run {rp.path}")
    # Stable across server restarts; "no-cache" lets the browser keep the answer and revalidate it
    # (a 304 costs a stat of the run's files), so a workspace visited again reuses what it drew.
    cache = _revalidated(signature(paths), r.target)
    if r.headers.get("if-none-match") == cache["ETag"]:
        return Empty(304, cache)
    return Json(_history_body(s, paths, q), headers=cache)


def _revalidated(files: str, target: str) -> dict[str, str]:
    """The caching headers of a history answer: an ETag over the files' signature and the query."""
    query = hashlib.sha1(target.encode()).hexdigest()[:16]
    return {"ETag": '"' + files[:24] + "-" + query + '"', "Cache-Control": "no-cache"}


def _history_body(s: ServerState, paths: list[Path], q: HistoryQuery) -> dict[str, Any]:
    """What the history endpoint answers for one run's ``paths``."""
    keys = q.keys or None
    if q.each and keys:
        return s.history.columnar_each(paths, keys, q.x_axis, q.samples, q.min, q.max, q.bands)
    return s.history.columnar(paths, keys, q.x_axis, q.samples, q.min, q.max, q.bands)


def histories(s: ServerState, r: Req) -> Any:
    """The history of many runs of one project in one answer: ``{"runs": {id: <what the history
    endpoint answers>}, "missing": [ids]}``. Each run is read as the history endpoint reads it
    (``read_run``: a replica pulls its files first); one that is not there, or that ``read_run``
    refuses, is listed in ``missing``, never answered."""
    entity, project = part("entity", r.params["entity"]), part("project", r.params["project"])
    q: HistoriesQuery = r.query
    ids = list(dict.fromkeys(q.runs or ()))
    if not ids:
        raise ApiError(400, "bad query: runs must name at least one run id (runs=ID,ID,...)")
    if len(ids) > MAX_BATCH_RUNS:
        raise ApiError(400, f"bad query: at most {MAX_BATCH_RUNS} runs per request, not {len(ids)}: split them")
    for rid in ids:
        part("run id", rid)  # every name checked before any run is read
    found: dict[str, list[Path]] = {}
    missing: list[str] = []
    for rid in ids:
        try:
            rp = read_run(s, {"entity": entity, "project": project, "run_id": rid})
        except ApiError as e:
            if e.status not in (403, 404):
                raise
            missing.append(rid)
            continue
        paths = stream_paths(rp.dir, q.stream)
        if not paths and not layout.is_run_dir(rp.dir):
            missing.append(rid)
        else:
            found[rid] = paths
    files = "|".join(f"{rid}:{signature(paths)}" for rid, paths in found.items())
    cache = _revalidated(hashlib.sha1(files.encode()).hexdigest(), r.target)
    if r.headers.get("if-none-match") == cache["ETag"]:
        return Empty(304, cache)
    runs = {rid: _history_body(s, paths, q) for rid, paths in found.items()}
    return Json({"runs": runs, "missing": missing}, headers=cache)


def rows(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    q: RowsQuery = r.query
    paths = stream_paths(rp.dir, "history")
    if not paths or q.limit == 0:
        return {"rows": [], "next": None if not paths else q.offset}
    page, nxt = s.history.rows_page(paths, q.keys or None, q.offset, q.limit)
    return {"rows": page, "next": nxt}


def files(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    if not layout.is_run_dir(rp.dir):
        raise ApiError(404, f"no run {rp.path}")
    out = []
    for rel, path, kind in layout.run_files(rp.dir):
        st = regular_file(s.root, path)
        if st is not None:
            out.append({"name": rel, "size": st.st_size, "mtime": st.st_mtime, "kind": kind})
    return {"files": out}


def file(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    rel = file_name(r.params["name"])
    path = rp.dir / rel
    st = regular_file(s.root, path)
    if st is None:
        raise ApiError(404, f"no file {rel} in run {rp.path}")
    q: FileQuery = r.query
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if q.view and guessed == "text/html" and not q.download:
        return File(path, st, "text/html; charset=utf-8", None, HTML_VIEW_CSP)
    inline = guessed in _INLINE_TYPES and not q.download
    return File(path, st, guessed, None if inline else path.name, FILE_CSP)


def logs(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params)
    info = _index_run(s, rp)
    q: LogsQuery = r.query
    offset = max(0, q.offset)
    data = b""
    target = rp.dir / layout.ranked(layout.OUTPUT, q.rank, shared=True)
    if regular_file(s.root, target) is not None:
        with open(target, "rb") as fh:
            fh.seek(offset)
            data = fh.read(1 << 20)
    cut = len(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:  # a character cut at the end of the chunk: send it next time
        if e.end == len(data) and e.start >= len(data) - 3:
            cut = e.start
    text = data[:cut].decode("utf-8", errors="replace")
    return {"text": text, "offset": offset + cut, "running": info["state"] == "running"}


# ---- write API ----


def _upload_target(s: ServerState, r: Req) -> tuple[layout.RunPath, str, Optional[str], Path]:
    rp = run_path(s, r.params)
    rel = file_name(r.params["name"])
    return rp, rel, layout.classify(rel), rp.dir / rel


def append_target(s: ServerState, r: Req) -> Optional[tuple[layout.RunPath, Path, str]]:
    """The run, file and kind of an upload that is an append (``?offset=N`` of a growing file, as
    :func:`upload` takes it); None for any other upload. Raises what :func:`upload` raises for a bad
    run path or file name."""
    rp, _, kind, path = _upload_target(s, r)
    offset = r.query.offset
    if kind in (layout.STREAM, layout.APPEND) and offset is not None and offset >= 0:
        return rp, path, kind
    return None


def whole_file_target(s: ServerState, r: Req) -> Optional[tuple[layout.RunPath, str, Path, str]]:
    """The run, name and path of an upload that is a file sent whole in one chunk
    (``?offset=0&size=N&sha256=HEX`` and N bytes: a run's JSON state file, or a blob such as its
    requirements), and what its upload does to the run's index row, as :func:`upload` does it:
    ``"read"`` (a ``run*.json``: the run read at once), ``"mark"`` (a summary, config or metrics
    file: read again a little later) or ``""``; None for any other upload. Raises what
    :func:`upload` raises for a bad path, name or body."""
    rp, rel, kind, path = _upload_target(s, r)
    q = r.query
    if kind not in (layout.REPLACE, layout.BLOB) or q.sha256 is None or q.offset or q.size != len(r.body):
        return None
    if kind == layout.BLOB:
        return rp, rel, path, ""
    _json_body(r.body, rel)
    return rp, rel, path, "read" if rel.startswith("run") else "mark" if rel.startswith(_INDEXED) else ""


def upload(s: ServerState, r: Req) -> Any:
    rp, rel, kind, path = _upload_target(s, r)
    q: UploadQuery = r.query
    if q.offset is not None and q.offset < 0:
        raise ApiError(400, "offset must not be negative")
    if kind in (layout.STREAM, layout.APPEND):
        if q.offset is None:
            raise ApiError(400, f"{rel} grows by appends: PUT it with ?offset=N")
        size = s.ingest.append(path, kind or "", q.offset, r.body)
        if q.heartbeat is not None:  # whether it was recorded (not when the index lacks the run yet)
            return {"size": size, "heartbeat": s.index.touch(rp, q.heartbeat)}
    elif q.sha256 is not None:  # a chunk of the whole file: ?offset=N&size=TOTAL&sha256=HEX
        if q.size is None:
            raise ApiError(400, f"{rel}: a chunk names the whole file's size (?size=N)")
        if kind == layout.REPLACE and (q.offset or 0) + len(r.body) == q.size and q.offset == 0:
            _json_body(r.body, rel)  # a run's state file in one chunk: checked before it is stored
        size = s.ingest.put_part(path, q.offset or 0, r.body, q.size, q.sha256)
        if size == q.size and rel.startswith(_INDEXED):
            s.reindex.changed(rp, rel)
    else:  # the whole file in one body
        if q.offset:
            raise ApiError(400, f"{rel}: a chunk at an offset names the whole file's size and sha256")
        if kind == layout.REPLACE:
            _json_body(r.body, rel)
        size = s.ingest.replace(path, r.body)
        if rel.startswith(_INDEXED):
            s.reindex.changed(rp, rel)
    return {"size": size}


def batch_parts(s: ServerState, r: Req) -> tuple[layout.RunPath, list[Req]]:
    """The run of a batch (``POST .../files``, ``store/batch.py``) and each part as the single
    upload's request (its name in the path, its query, its bytes); 400 for a body that is no batch."""
    rp = run_path(s, r.params)
    try:
        parts = batch.decode(r.body)
    except ValueError as e:
        raise ApiError(400, f"the batch: {e}") from None
    return rp, [
        Req({**r.params, "name": p.name}, UploadQuery(p.offset, p.size, p.sha256), r.who, p.data, r.headers, r.target)
        for p in parts
    ]


def not_new(rp: layout.RunPath) -> ApiError:
    """The refusal of a batch sent as a new run's (``?new=1``) to a server that holds the run."""
    return ApiError(409, f"the server holds files of run {rp.path} already: ask for its manifest", new=False)


def upload_many(s: ServerState, r: Req) -> Any:
    """Several uploads of one run's files in one request, each done as :func:`upload` does it, in
    order, and answered on its own: ``{"size": N}`` or ``{"status": S, "error": ...}`` (a 409 with
    the ``size`` and ``sha256`` held); one refused part never holds back the others. ``?new=1``:
    nothing is done, and the answer is a 409, when the server holds any file of the run."""
    rp, parts = batch_parts(s, r)
    if r.query.new and s.ingest.holding([rp.dir]):
        raise not_new(rp)
    out: list[dict[str, Any]] = []
    for sub in parts:
        try:
            out.append({"size": upload(s, sub)["size"]})
        except ApiError as e:
            out.append({"status": e.status, **e.body()})
    answer: dict[str, Any] = {"parts": out}
    if r.query.heartbeat is not None:  # whether it was recorded (not when the index lacks the run yet)
        answer["heartbeat"] = s.index.touch(rp, r.query.heartbeat)
    return answer


#: The state files the index reads (an upload of one has the run read again: server/reindex.py).
_INDEXED = ("run", "config", "summary", "metrics")


def heartbeat(s: ServerState, r: Req) -> Any:
    rp = run_path(s, r.params)
    ttl: Optional[float] = None
    if r.body:
        try:
            ttl = float(json.loads(r.body).get("ttl"))
        except (ValueError, TypeError, AttributeError):
            ttl = None
    if s.index.touch(rp, ttl):  # an indexed run: one statement, nothing read
        return {"ok": True}
    s.reindex.now(rp)
    if not layout.is_run_dir(rp.dir):
        raise ApiError(404, f"no run {rp.path}: upload its run.json first")
    s.index.touch(rp, ttl)
    return {"ok": True}


def summary(s: ServerState, r: Req) -> Any:
    rp = read_run(s, r.params, streams=False)
    items = _json_body(r.body, "the summary")
    if not isinstance(items, dict):
        raise ApiError(400, "the summary must be a JSON object")
    if not layout.is_run_dir(rp.dir):
        raise ApiError(404, f"no run {rp.path}")
    path = rp.dir / layout.SUMMARY
    with s.ingest.exclusive(path):
        if path.exists() and regular_file(s.root, path) is None:
            raise ApiError(400, f"{layout.SUMMARY} of run {rp.path} is not a plain file")
        current = read_json(path, {}) or {}
        current.update(items)
        s.ingest.replace(path, json.dumps(current, default=str).encode())
    s.index.refresh(rp, force=True)
    return {"summary": current}


# ---- artifacts ----


def _project(r: Req) -> tuple[str, str]:
    return part("entity", r.params["entity"]), part("project", r.params["project"])


def blobs_missing(s: ServerState, r: Req) -> Any:
    body = _json_body(r.body, "the body")
    digests = body.get("digests") if isinstance(body, dict) else None
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise ApiError(400, 'the body must be {"digests": [...]}')
    return {"missing": s.artifacts.missing(*_project(r), digests)}


def blob_get(s: ServerState, r: Req) -> Any:
    path = s.artifacts.fetch_blob(*_project(r), r.params["digest"])
    st = regular_file(s.root, path)
    if st is None:
        raise ApiError(404, f"no blob {r.params['digest']}")
    return File(path, st, "application/octet-stream", r.params["digest"], FILE_CSP)


def blob_put(s: ServerState, r: Req) -> Any:
    entity, project = _project(r)
    digest = r.params["digest"]
    s.artifacts.blob_path(entity, project, digest)  # 400 unless a sha256
    q: BlobQuery = r.query
    total = q.size if q.size is not None else q.offset + len(r.body)
    return {"size": s.artifacts.put_blob(entity, project, digest, r.body, q.offset, total)}


def versions(s: ServerState, r: Req) -> Any:
    return s.artifacts.versions(*_project(r), part("artifact name", r.params["name"]))


def version(s: ServerState, r: Req) -> Any:
    return s.artifacts.version(*_project(r), part("artifact name", r.params["name"]), r.params["alias"])


def version_put(s: ServerState, r: Req) -> Any:
    body = _json_body(r.body, "the body")
    return s.artifacts.put_version(*_project(r), part("artifact name", r.params["name"]), r.params["alias"], body)


# ---- the UI's pages ----


_PRELOADS = Preloads(STATIC_DIR)
_APP_SCRIPT = '<script type="module" src="/static/app.js"></script>'


def _page(headers: Optional[dict[str, str]] = None) -> Html:
    index = STATIC_DIR / "index.html"
    body = index.read_text(encoding="utf-8") if index.is_file() else _NO_UI
    if _APP_SCRIPT in body:  # every module the app imports, asked for at once (server/preload.py)
        body = body.replace(_APP_SCRIPT, _PRELOADS.links() + "  " + _APP_SCRIPT, 1)
    return Html(body, 200, {"Cache-Control": "no-cache", **(headers or {})})


def home(s: ServerState, r: Req) -> Any:
    q: LoginQuery = r.query
    if q.token is not None:
        sid = s.sessions.login(q.token)
        if sid is None:
            return Html(LOGIN_PAGE, 401)
        return Redirect("/", sid)
    if r.who is None:
        return Html(LOGIN_PAGE, 401)
    return _page()


def page(s: ServerState, r: Req) -> Any:
    for k, kind in (("entity", "entity"), ("project", "project"), ("run_id", "run id")):
        if k in r.params:
            part(kind, r.params[k])
    if "tail" in r.params and r.params["tail"] not in _UI_TAILS:
        raise ApiError(404, "no such page")
    return _page()


def static(s: ServerState, r: Req) -> Any:
    names = r.params["name"].split("/")
    if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p for p in names):
        raise ApiError(400, "bad static file name")
    path = STATIC_DIR.joinpath(*names)
    st = regular_file(STATIC_DIR, path)
    if st is None:
        raise ApiError(404, "no such file")
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return File(path, st, ctype, None, None, {"Cache-Control": "no-cache"})


_RUN = "/api/v1/runs/{entity}/{project}/{run_id}"
_ART = "/api/v1/artifacts/{entity}/{project}"

#: Every endpoint the server has (tests/test_hostile_http.py sends hostile input to each).
ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v1/projects", projects),
    Route("GET", "/api/v1/runs/{entity}/{project}", list_runs, query=RunsQuery),
    Route("GET", "/api/v1/histories/{entity}/{project}", histories, query=HistoriesQuery),
    Route("GET", _RUN, run),
    Route("GET", _RUN + "/manifest", manifest),
    Route("GET", _RUN + "/history", history, query=HistoryQuery),
    Route("GET", _RUN + "/rows", rows, query=RowsQuery),
    Route("GET", _RUN + "/files", files),
    Route("GET", _RUN + "/files/{name:path}", file, query=FileQuery),
    Route("GET", _RUN + "/logs", logs, query=LogsQuery),
    Route("PUT", _RUN + "/files/{name:path}", upload, WRITE, UploadQuery, body=True),
    Route("POST", _RUN + "/files", upload_many, WRITE, BatchQuery, body=True),
    Route("POST", _RUN + "/heartbeat", heartbeat, WRITE, body=True),
    Route("POST", _RUN + "/summary", summary, WRITE, body=True),
    Route("GET", "/api/v1/session", run_edits.session),
    Route("PATCH", _RUN, run_edits.edit_run, WRITE, body=True, session_writes=True),
    Route("DELETE", _RUN, run_edits.delete_run, WRITE, body=True, session_writes=True),
    Route("POST", "/api/v1/delete/{entity}/{project}", run_edits.delete_runs, WRITE, body=True, session_writes=True),
    Route("GET", "/api/v1/views/{entity}/{project}", run_edits.list_views),
    Route("GET", "/api/v1/views/{entity}/{project}/{name}", run_edits.get_view),
    Route("PUT", "/api/v1/views/{entity}/{project}/{name}", run_edits.put_view, WRITE, body=True, session_writes=True),
    Route(
        "DELETE",
        "/api/v1/views/{entity}/{project}/{name}",
        run_edits.delete_view,
        WRITE,
        body=True,
        session_writes=True,
    ),
    Route("POST", _ART + "/blobs/missing", blobs_missing, WRITE, body=True),
    Route("GET", _ART + "/blobs/{digest}", blob_get),
    Route("PUT", _ART + "/blobs/{digest}", blob_put, WRITE, BlobQuery, body=True),
    Route("GET", _ART + "/versions/{name}", versions),
    Route("GET", _ART + "/versions/{name}/{alias}", version),
    Route("PUT", _ART + "/versions/{name}/{alias}", version_put, WRITE, body=True),
    Route("GET", "/", home, PUBLIC, LoginQuery, api=False),
    Route("GET", "/static/{name:path}", static, api=False),
    Route("GET", "/{entity}/{project}", page, api=False),
    Route("GET", "/{entity}/{project}/analysis", run_edits.analysis_page, api=False),
    Route("GET", "/{entity}/{project}/runs/{run_id}", page, api=False),
    Route("GET", "/{entity}/{project}/runs/{run_id}/{tail}", page, api=False),
)

__all__ = ["PUBLIC", "READ", "ROUTES", "UI_CSP", "WRITE", "Req", "Route"]
