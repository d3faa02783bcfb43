"""What the UI changes: a run's name, tags and notes, deleting runs, and saved views per project.

Edits go into the run's own ``run.json`` (written whole, atomically, never through a symbolic link,
by ``Ingest.replace``) and the index is refreshed at once, so the runs list shows them in the same
answer. A running run is never edited or deleted (409): its writer rewrites ``run.json`` at finish.
A deleted run's folder is moved to ``ROOT/.trash/<entity>/<project>/<run_id>.<unix time>`` (a hidden
folder, never scanned: move it back to restore the run) and its index rows are dropped.

A saved view is a JSON value the UI defines, kept as ``ROOT/<entity>/<project>/.views/<hash>.json``
(``{"name", "view", "created", "updated"}``), at most :data:`MAX_VIEW_BYTES` each and
:data:`MAX_VIEWS` per project. docs/server-api.md lists the endpoints."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .._fs import DamagedFile, read_json
from ..store import layout
from .auth import SESSION_COOKIE, csrf_token
from .checks import index_run, json_body, part, run_path
from .errors import ApiError
from .responses import Html
from .state import ServerState

if TYPE_CHECKING:
    from .routes import Req

#: What an edit may set, and its bounds.
MAX_NAME = 256
MAX_TAG = 128
MAX_TAGS = 100
MAX_NOTES = 64 << 10
#: A bulk delete names at most this many runs.
MAX_DELETE = 1000
#: A saved view: its JSON at most this many bytes, its name this many characters, this many a project.
MAX_VIEW_BYTES = 64 << 10
MAX_VIEW_NAME = 100
MAX_VIEWS = 200
TRASH_DIR = ".trash"
VIEWS_DIR = ".views"


def _text(what: str, value: Any, limit: int, empty: bool) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{what} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise ApiError(400, f"{what} is {len(value)} characters long: at most {limit}")
    if not empty and not value.strip():
        raise ApiError(400, f"{what} must not be empty")
    bad = [c for c in value if (ord(c) < 0x20 and c not in "\n\t") or ord(c) == 0x7F]
    if bad or (what != "notes" and "\n" in value):
        raise ApiError(400, f"{what} must not hold control characters")
    return value


def check_edit(body: Any) -> dict[str, Any]:
    """The fields an edit sets (``name``, ``tags``, ``notes``), checked; ApiError 400 names the bad one."""
    if not isinstance(body, dict) or not body:
        raise ApiError(400, 'an edit is a JSON object of "name", "tags" and/or "notes"')
    unknown = sorted(set(body) - {"name", "tags", "notes"})
    if unknown:
        raise ApiError(400, f"an edit sets only name, tags and notes, not {', '.join(map(repr, unknown))}")
    out: dict[str, Any] = {}
    if "name" in body:
        out["name"] = _text("name", body["name"], MAX_NAME, empty=False).strip()
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_TAGS:
            raise ApiError(400, f"tags must be a list of at most {MAX_TAGS} strings")
        seen: list[str] = []
        for t in tags:
            t = _text("a tag", t, MAX_TAG, empty=False).strip()
            if t not in seen:
                seen.append(t)
        out["tags"] = seen
    if "notes" in body:
        out["notes"] = None if body["notes"] is None else _text("notes", body["notes"], MAX_NOTES, empty=True)
    return out


def _not_running(s: ServerState, rp: layout.RunPath, what: str) -> dict[str, Any]:
    row = index_run(s, rp)
    if row["state"] == "running":
        raise ApiError(409, f"run {rp.path} is running: it can be {what} once it has finished")
    return row


def edit_run(s: ServerState, r: Req) -> Any:
    """PATCH a run: ``{"name"?, "tags"?, "notes"?}`` into its run.json; answers the run as listed."""
    rp = run_path(s, r.params)
    fields = check_edit(json_body(r.body, "the edit"))
    _not_running(s, rp, "edited")
    path = rp.dir / layout.RUN
    with s.ingest.exclusive(path):
        try:
            info = read_json(layout.safe_file(s.root, path), None, dict)
        except (FileNotFoundError, ValueError):
            raise ApiError(409, f"run {rp.path} has no plain {layout.RUN} to edit") from None
        except DamagedFile as e:
            raise ApiError(409, f"run {rp.path}: {e}") from None
        info.update(fields)
        s.ingest.replace(path, json.dumps(info, default=str).encode())
    s.index.refresh(rp, force=True)
    return index_run(s, rp)


def _delete(s: ServerState, rps: list[layout.RunPath]) -> list[str]:
    for rp in rps:
        s.ingest.pull(rp.dir, streams=False)
    for rp in rps:  # every run checked before any is moved: all or nothing
        if not layout.is_run_dir(rp.dir) or not layout.is_plain_dir(s.root, rp.dir):
            raise ApiError(404, f"no run {rp.path}")
        _not_running(s, rp, "deleted")
    stamp = int(time.time())
    moved = []
    for rp in rps:
        trash = s.root / TRASH_DIR / rp.entity / rp.project
        trash.mkdir(parents=True, exist_ok=True)
        target = trash / f"{rp.run_id}.{stamp}"
        n = 0
        while target.exists():
            n += 1
            target = trash / f"{rp.run_id}.{stamp}.{n}"
        with s.ingest.lock(rp.dir / layout.RUN):
            os.rename(rp.dir, target)
            s.ingest.forget(rp.dir)  # in an object store: dropped there too (every replica's cache follows)
        s.index.forget(rp)
        moved.append(rp.run_id)
    return moved


def delete_run(s: ServerState, r: Req) -> Any:
    """DELETE one run: its folder to the trash, its index rows dropped."""
    return {"deleted": _delete(s, [run_path(s, r.params)])}


def delete_runs(s: ServerState, r: Req) -> Any:
    """POST ``{"ids": [...]}``: delete many runs of one project, all or none."""
    body = json_body(r.body, "the body")
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, 'the body must be {"ids": ["run id", ...]} with at least one id')
    if len(ids) > MAX_DELETE:
        raise ApiError(400, f"at most {MAX_DELETE} runs at once, not {len(ids)}")
    entity, project = part("entity", r.params["entity"]), part("project", r.params["project"])
    rps = [layout.RunPath(s.root, entity, project, part("run id", i)) for i in dict.fromkeys(ids)]
    return {"deleted": _delete(s, rps)}


# ---- saved views ----


def _views_dir(s: ServerState, r: Req) -> Path:
    entity, project = part("entity", r.params["entity"]), part("project", r.params["project"])
    project_dir = s.root / entity / project
    if not layout.is_plain_dir(s.root, project_dir):
        raise ApiError(404, f"no project {entity}/{project}")
    return project_dir / VIEWS_DIR


def _view_name(raw: str) -> str:
    return _text("a view's name", raw, MAX_VIEW_NAME, empty=False)


def _view_file(views: Path, name: str) -> Path:
    return views / (hashlib.sha256(name.encode("utf-8")).hexdigest()[:32] + ".json")


def _read_view(s: ServerState, path: Path) -> Optional[dict[str, Any]]:
    try:
        got = read_json(layout.safe_file(s.root, path), None, dict)
    except (OSError, ValueError):  # missing, a link, damaged: not a view
        return None
    return got if isinstance(got, dict) and isinstance(got.get("name"), str) else None


def _all_views(s: ServerState, views: Path) -> list[dict[str, Any]]:
    if not layout.is_plain_dir(s.root, views):
        return []
    found = [_read_view(s, p) for p in sorted(views.glob("*.json"))]
    return [v for v in found if v is not None]


def list_views(s: ServerState, r: Req) -> Any:
    views = _all_views(s, _views_dir(s, r))
    out = [{"name": v["name"], "created": v.get("created"), "updated": v.get("updated")} for v in views]
    return {"views": sorted(out, key=lambda v: v["name"].lower())}


def get_view(s: ServerState, r: Req) -> Any:
    name = _view_name(r.params["name"])
    got = _read_view(s, _view_file(_views_dir(s, r), name))
    if got is None or got["name"] != name:
        raise ApiError(404, f"no view {name!r}")
    return got


def put_view(s: ServerState, r: Req) -> Any:
    """PUT a view: the body is the view's JSON (any JSON value, at most MAX_VIEW_BYTES)."""
    name = _view_name(r.params["name"])
    if len(r.body) > MAX_VIEW_BYTES:
        raise ApiError(413, f"a view is at most {MAX_VIEW_BYTES} bytes of JSON, not {len(r.body)}")
    view = json_body(r.body, "a view")
    views = _views_dir(s, r)
    path = _view_file(views, name)
    now = time.time()
    with s.ingest.lock(views):
        old = _read_view(s, path)
        if old is None and len(_all_views(s, views)) >= MAX_VIEWS:
            raise ApiError(409, f"a project keeps at most {MAX_VIEWS} views: delete one first")
        created = old.get("created", now) if old else now
        doc = {"name": name, "view": view, "created": created, "updated": now}
        s.ingest.replace(path, json.dumps(doc).encode())
    return {"name": name, "created": created, "updated": now}


def delete_view(s: ServerState, r: Req) -> Any:
    name = _view_name(r.params["name"])
    views = _views_dir(s, r)
    path = _view_file(views, name)
    with s.ingest.lock(views):
        if _read_view(s, path) is None:
            raise ApiError(404, f"no view {name!r}")
        os.unlink(path)
    return {"deleted": name}


# ---- the analysis page ----


def analysis_page(s: ServerState, r: Req) -> Any:
    """``/<entity>/<project>/analysis``: the page shell of components/analysis.js (under the UI's CSP)."""
    part("entity", r.params["entity"])
    part("project", r.params["project"])
    shell = Path(__file__).parent / "static" / "analysis.html"
    if not shell.is_file():
        raise ApiError(404, "the web UI is not installed in this build")
    return Html(shell.read_text(encoding="utf-8"), 200, {"Cache-Control": "no-cache"})


# ---- who asks ----


def session(s: ServerState, r: Req) -> Any:
    """Who asks and what they may change: for a browser session, the token its writes must send in
    ``X-Turbotrack-Csrf`` (only a page of this origin can read this answer)."""
    who = r.who
    assert who is not None
    csrf = None
    if who.kind == "session":
        for item in r.headers.get("cookie", "").split(";"):
            k, _, v = item.strip().partition("=")
            if k == SESSION_COOKIE and v:
                csrf = csrf_token(v)
    return {"kind": who.kind, "entity": who.entity, "writes": who.kind == "session" or not who.read_only, "csrf": csrf}


__all__ = [
    "MAX_VIEWS",
    "MAX_VIEW_BYTES",
    "analysis_page",
    "check_edit",
    "delete_run",
    "delete_runs",
    "delete_view",
    "edit_run",
    "get_view",
    "list_views",
    "put_view",
    "session",
]
