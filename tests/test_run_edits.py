"""Editing runs (name, tags, notes), deleting them, and saved views, over HTTP against a real server
on the local storage root (its index in SQLite and in PostgreSQL): written to the run's files, seen
in the index at once, refused without the right (no credentials, read-only or foreign keys, a
browser session without its CSRF token, a cross-site request)."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from serverkit import ServerProc, drop_postgres_schema, make_key, postgres_schema_url, raw

import turbotrack
from turbotrack.server.run_edits import MAX_VIEW_BYTES


@pytest.fixture(params=["sqlite", "postgresql"])
def srv(root: Path, request):
    """A server on the local root, its index in SQLite or in a PostgreSQL schema of its own."""
    db = postgres_schema_url("edits") if request.param == "postgresql" else None
    s = ServerProc(root, db=db)
    s.key = make_key(root, "local", db=db)[1]  # type: ignore[attr-defined]
    s.read_only = make_key(root, "local", read_only=True, db=db)[1]  # type: ignore[attr-defined]
    s.other = make_key(root, "someone", db=db)[1]  # type: ignore[attr-defined]
    s.start()
    try:
        status, _, headers = raw(s.url, "GET", f"/?token={s.token}")
        assert status == 302
        s.cookie = headers["set-cookie"].split(";")[0]  # type: ignore[attr-defined]
        yield s
    finally:
        assert s.stop() == 0
        if db:
            drop_postgres_schema(db)


def _finished(new_run, **kw):
    run = new_run(config={"lr": 0.1}, **kw)
    run.log({"loss": 1.0})
    run.finish()
    return run


def _index(srv, *runs):
    """Read each run by id (which indexes it now, not at the next scan of the folder)."""
    for run in runs:
        assert _send(srv, "GET", f"/api/v1/runs/{run.path}", srv.key)[0] == 200


def _send(srv, method, path, key=None, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    status, out, _ = raw(srv.url, method, path, key, data, hdrs)
    return status, (json.loads(out) if out else None)


def _runs(srv):
    return _send(srv, "GET", "/api/v1/runs/local/tests", srv.key)[1]


def _session_headers(srv):
    """The browser session's cookie and the CSRF token it reads from /api/v1/session."""
    status, who = _send(srv, "GET", "/api/v1/session", headers={"Cookie": srv.cookie})
    assert status == 200 and who["kind"] == "session" and who["writes"]
    assert len(who["csrf"]) == 64
    return {"Cookie": srv.cookie, "X-Turbotrack-Csrf": who["csrf"]}


def test_edit_name_tags_notes_persists_to_run_json_and_index(new_run, root, srv):
    run = _finished(new_run, name="before", tags=["a"])
    url = f"/api/v1/runs/{run.path}"
    status, row = _send(srv, "PATCH", url, srv.key, {"name": " after ", "tags": ["x", "y", "x"], "notes": "two\nlines"})
    assert status == 200, row
    assert (row["name"], row["tags"], row["notes"]) == ("after", ["x", "y"], "two\nlines")
    on_disk = json.loads((Path(run.dir) / "run.json").read_text())
    assert (on_disk["name"], on_disk["tags"], on_disk["notes"]) == ("after", ["x", "y"], "two\nlines")
    assert on_disk["state"] == "finished" and on_disk["id"] == run.id  # the rest kept
    listed = _runs(srv)["runs"]
    assert [(r["name"], r["tags"]) for r in listed] == [("after", ["x", "y"])]
    found = _send(srv, "GET", "/api/v1/runs/local/tests?filters=" + urllib.parse.quote('{"tags": "y"}'), srv.key)
    assert found[1]["total"] == 1
    assert turbotrack.Api(dir=root).run(run.path).name == "after"
    # only notes: the others are left
    assert _send(srv, "PATCH", url, srv.key, {"notes": None})[0] == 200
    assert json.loads((Path(run.dir) / "run.json").read_text())["name"] == "after"
    assert _runs(srv)["runs"][0]["notes"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"color": "red"},
        {"name": ""},
        {"name": 3},
        {"name": "a\nb"},
        {"tags": "x"},
        {"tags": [1]},
        [1],
        {"notes": 5},
    ],
)
def test_an_edit_with_a_bad_field_is_refused_naming_it(new_run, srv, body):
    run = _finished(new_run)
    status, out = _send(srv, "PATCH", f"/api/v1/runs/{run.path}", srv.key, body)
    assert status == 400 and out["error"]
    assert json.loads((Path(run.dir) / "run.json").read_text())["name"] == run.name


def test_writes_are_refused_without_the_right(new_run, srv):
    run = _finished(new_run)
    url = f"/api/v1/runs/{run.path}"
    edit = {"name": "hacked"}
    assert _send(srv, "PATCH", url, None, edit)[0] == 401
    assert _send(srv, "PATCH", url, srv.read_only, edit)[0] == 403
    assert _send(srv, "PATCH", url, srv.other, edit)[0] == 403
    status, out = _send(srv, "PATCH", url, None, edit, {"Cookie": srv.cookie})
    assert status == 403 and "x-turbotrack-csrf" in out["error"]
    wrong = {"Cookie": srv.cookie, "X-Turbotrack-Csrf": "0" * 64}
    assert _send(srv, "PATCH", url, None, edit, wrong)[0] == 403
    session = _session_headers(srv)
    for hostile in (
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example"},
        {"Content-Type": "text/plain"},
    ):
        assert _send(srv, "PATCH", url, None, edit, {**session, **hostile})[0] in (403, 415)
    assert _send(srv, "DELETE", url, srv.read_only)[0] == 403
    assert _send(srv, "DELETE", url, None, None, {"Cookie": srv.cookie})[0] == 403
    assert _send(srv, "POST", "/api/v1/delete/local/tests", srv.read_only, {"ids": [run.id]})[0] == 403
    assert json.loads((Path(run.dir) / "run.json").read_text())["name"] == run.name
    _index(srv, run)
    assert Path(run.dir).is_dir() and _runs(srv)["total"] == 1
    # a session's token is of its own cookie: another session's token does not pass
    status, _, headers = raw(srv.url, "GET", f"/?token={srv.token}")
    other_cookie = headers["set-cookie"].split(";")[0]
    assert _send(srv, "PATCH", url, None, edit, {**session, "Cookie": other_cookie})[0] == 403
    # the session with its own token writes (the UI's way)
    status, row = _send(srv, "PATCH", url, None, {"name": "by the UI"}, session)
    assert status == 200 and row["name"] == "by the UI"
    # a key's answer from /session carries no token
    assert _send(srv, "GET", "/api/v1/session", srv.read_only)[1] == {
        "kind": "key",
        "entity": "local",
        "writes": False,
        "csrf": None,
    }


def test_a_running_run_is_neither_edited_nor_deleted(new_run, srv):
    run = new_run()
    run.log({"loss": 1.0})
    url = f"/api/v1/runs/{run.path}"
    status, out = _send(srv, "PATCH", url, srv.key, {"name": "x"})
    assert status == 409 and "running" in out["error"]
    assert _send(srv, "DELETE", url, srv.key)[0] == 409
    assert Path(run.dir).is_dir()


def test_delete_moves_the_folder_to_the_trash_and_drops_it_from_the_index(new_run, root, srv):
    runs = [_finished(new_run) for _ in range(4)]
    _index(srv, *runs)
    assert _runs(srv)["total"] == 4
    status, out = _send(srv, "DELETE", f"/api/v1/runs/{runs[0].path}", srv.key)
    assert status == 200 and out == {"deleted": [runs[0].id]}
    assert not Path(runs[0].dir).exists()
    trash = list((root / "turbotrack" / ".trash" / "local" / "tests").iterdir())
    assert [p.name.split(".")[0] for p in trash] == [runs[0].id]
    assert (trash[0] / "history.ttrk").is_file()
    assert _runs(srv)["total"] == 3
    assert _send(srv, "GET", f"/api/v1/runs/{runs[0].path}", srv.key)[0] == 404
    # bulk: all or none (one id is no run: nothing moves)
    bulk = "/api/v1/delete/local/tests"
    status, out = _send(srv, "POST", bulk, srv.key, {"ids": [runs[1].id, "nope"]})
    assert status == 404 and "nope" in out["error"]
    assert Path(runs[1].dir).is_dir() and _runs(srv)["total"] == 3
    assert _send(srv, "POST", bulk, srv.key, {"ids": []})[0] == 400
    assert _send(srv, "POST", bulk, srv.key, {"ids": ["../x"]})[0] == 400
    status, out = _send(srv, "POST", bulk, None, {"ids": [runs[1].id, runs[2].id]}, _session_headers(srv))
    assert status == 200 and sorted(out["deleted"]) == sorted([runs[1].id, runs[2].id])
    assert [r["id"] for r in _runs(srv)["runs"]] == [runs[3].id]
    assert [r.id for r in turbotrack.Api(dir=root).runs("tests")] == [runs[3].id]


def test_saved_views_create_list_get_replace_delete(new_run, srv):
    _finished(new_run)
    base = "/api/v1/views/local/tests"
    name = "lr sweep: best ünïcode"
    url = f"{base}/{urllib.parse.quote(name)}"
    view = {"filter": "acc > 0.5", "columns": ["lr"], "panels": [{"kind": "scatter", "x": "config.lr"}]}
    assert _send(srv, "GET", base, srv.key) == (200, {"views": []})
    status, out = _send(srv, "PUT", url, srv.key, view)
    assert status == 200 and out["name"] == name
    assert _send(srv, "PUT", f"{base}/other", None, [1, 2], _session_headers(srv))[0] == 200
    listed = _send(srv, "GET", base, srv.read_only)[1]["views"]
    assert [v["name"] for v in listed] == [name, "other"]
    status, got = _send(srv, "GET", url, srv.read_only)
    assert status == 200 and got["view"] == view and got["name"] == name
    view2 = {**view, "filter": "acc > 0.9"}
    assert _send(srv, "PUT", url, srv.key, view2)[0] == 200
    again = _send(srv, "GET", url, srv.key)[1]
    assert again["view"] == view2 and again["created"] == got["created"] and again["updated"] >= got["updated"]
    # refused: without the right, too big, not JSON, an unknown project
    assert _send(srv, "PUT", url, srv.read_only, view)[0] == 403
    assert _send(srv, "PUT", url, None, view, {"Cookie": srv.cookie})[0] == 403
    assert _send(srv, "DELETE", url, srv.other)[0] == 403
    big = json.dumps({"x": "y" * MAX_VIEW_BYTES}).encode()
    assert _send(srv, "PUT", url, srv.key, big)[0] == 413
    assert _send(srv, "PUT", url, srv.key, b"{nope")[0] == 400
    assert _send(srv, "GET", "/api/v1/views/local/none", srv.key)[0] == 404
    assert _send(srv, "GET", f"{base}/missing", srv.key)[0] == 404
    assert _send(srv, "GET", url, srv.key)[1]["view"] == view2
    # delete
    assert _send(srv, "DELETE", url, srv.key) == (200, {"deleted": name})
    assert _send(srv, "GET", url, srv.key)[0] == 404
    assert [v["name"] for v in _send(srv, "GET", base, srv.key)[1]["views"]] == ["other"]
