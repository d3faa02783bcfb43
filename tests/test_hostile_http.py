"""Hostile input at the HTTP layer, against a real `turbotrack server` on loopback.

The first section walks the route table (``turbotrack.server.routes.ROUTES``): every endpoint, the
ones added later too, is sent no credentials, names that would leave ROOT, mistyped queries,
cross-site writes, form-typed bodies, a browser session that tries to write and oversize bodies.
The rest are the attacks of issue 17 on the transport: idle and trickling sockets, bodies smuggled
as requests, malformed lengths, header injection through file names, user files that would script
the site, invalid JSON from NaN, errors that were never logged."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from pathlib import Path

import pytest
from serverkit import ServerProc, make_key, raw

from turbotrack.server.routes import PUBLIC, ROUTES, UI_CSP, WRITE, Route

SHA = hashlib.sha256(b"x").hexdigest()
FILL = {
    "entity": "local",
    "project": "p",
    "run_id": "r",
    "name": "config.json",
    "digest": SHA,
    "alias": "v0",
    "tail": "logs",
}


def _strict(data: bytes):
    """JSON as RFC 8259 has it: no NaN or Infinity tokens."""

    def refuse(token: str):
        raise ValueError(f"{token} is not JSON")

    return json.loads(data, parse_constant=refuse)


def _path(route: Route, **over: str) -> str:
    fill = {**FILL, **over}
    if "/versions/" in route.path:
        fill["name"] = over.get("name", "model")
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: fill[m.group(1)], route.path)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    s = ServerProc(root, extra=("--max-body", "4096", "--idle-timeout", "1"))
    s.key = make_key(root, "local")[1]  # type: ignore[attr-defined]
    s.read_only = make_key(root, "local", read_only=True)[1]  # type: ignore[attr-defined]
    run = root / "turbotrack" / "local" / "p" / "r"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": "r", "project": "p", "entity": "local", "state": "finished"}))
    (run / "summary.json").write_text('{"acc": NaN, "loss": Infinity, "low": -Infinity, "ok": 1.5}')
    (run / "config.json").write_text("{}")
    s.start()
    status, _, headers = raw(s.url, "GET", f"/?token={s.token}")
    assert status == 302
    s.cookie = headers["set-cookie"].split(";")[0]  # type: ignore[attr-defined]
    yield s
    assert s.stop() == 0


def _send(server, method: str, path: str, key=None, body=None, headers=None):
    return raw(server.url, method, path, key, body, headers)


# ---- every route ----

API_ROUTES = [r for r in ROUTES if r.permission != PUBLIC]
WRITE_ROUTES = [r for r in ROUTES if r.permission == WRITE]
NAMED = [r for r in ROUTES if "{entity}" in r.path and r.api]


def _id(r: Route) -> str:
    return f"{r.method} {r.path}"


@pytest.mark.parametrize("route", API_ROUTES, ids=_id)
def test_every_route_needs_credentials(server, route):
    status, data, headers = _send(server, route.method, _path(route), body=b"{}" if route.body else None)
    assert status == 401, (status, data)
    if route.api:
        assert "error" in _strict(data)
    else:
        assert headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("route", NAMED, ids=_id)
@pytest.mark.parametrize("bad", ["..", "%2e%2e", "a%2Fb", "a%5Cb", "a%00b", ".hidden"])
def test_every_route_refuses_names_that_leave_root(server, route, bad):
    path = _path(route, entity=bad)
    status, data, _ = _send(server, route.method, path, server.key, b"{}" if route.body else None)
    assert status == 400, (path, status, data)
    assert "error" in _strict(data)


def _typed_fields(route: Route) -> list[str]:
    import dataclasses
    import typing

    hints = typing.get_type_hints(route.query)
    out = []
    for f in dataclasses.fields(route.query):
        if any(t in (int, float, bool) for t in (hints[f.name], *typing.get_args(hints[f.name]))):
            out.append(f.name)
    return out


TYPED = [(r, f) for r in API_ROUTES if r.api for f in _typed_fields(r)]


@pytest.mark.parametrize(("route", "field"), TYPED, ids=[f"{_id(r)} {f}" for r, f in TYPED])
def test_every_typed_query_parameter_refuses_a_wrong_type(server, route, field):
    status, data, _ = _send(
        server, route.method, _path(route) + f"?{field}=x1", server.key, b"{}" if route.body else None
    )
    assert status == 400, (status, data)
    assert field in _strict(data)["error"]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_id)
def test_every_write_refuses_read_only_keys_and_browser_sessions(server, route):
    path = _path(route)
    assert _send(server, route.method, path, server.read_only, b"{}")[0] == 403
    status, data, _ = _send(server, route.method, path, None, b"{}", {"Cookie": server.cookie})
    assert status == 403 and "session" in _strict(data)["error"]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_id)
@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://127.0.0.1:1"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
    ids=lambda h: "-".join(f"{k}={v}" for k, v in h.items()),
)
def test_every_write_refuses_what_a_cross_site_form_sends(server, route, headers):
    status, data, _ = _send(server, route.method, _path(route), server.key, b"{}", headers)
    assert status in (403, 415), (status, data)


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=_id)
def test_every_write_refuses_an_oversize_body(server, route):
    status, data, headers = _send(server, route.method, _path(route) + "?offset=0", server.key, b" " * 5000)
    assert status == 413 and "limit" in _strict(data)["error"]
    assert headers.get("connection") == "close"


# ---- CSRF, as the attack was made ----


def test_a_form_post_from_another_port_changes_nothing(server):
    """A page on another port of this host posts a text/plain form with the session cookie."""
    body = b'{"acc": 0.0, "x=": "1"}'
    headers = {"Cookie": server.cookie, "Content-Type": "text/plain", "Origin": "http://127.0.0.1:9"}
    status, _, _ = _send(server, "POST", "/api/v1/runs/local/p/r/summary", None, body, headers)
    assert status in (403, 415)
    # and the same request from the site itself: a session only reads
    same = {"Cookie": server.cookie, "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    assert _send(server, "POST", "/api/v1/runs/local/p/r/summary", None, body, same)[0] == 403
    summary = json.loads((server.root / "turbotrack/local/p/r/summary.json").read_text())
    assert "x=" not in summary


# ---- JSON ----


def test_nan_and_infinity_go_out_as_strings(server):
    status, data, _ = _send(server, "GET", "/api/v1/runs/local/p", server.key)
    assert status == 200
    run = _strict(data)["runs"][0]
    assert run["summary"]["acc"] == "NaN" and run["summary"]["loss"] == "Infinity"
    assert run["summary"]["low"] == "-Infinity" and run["summary"]["ok"] == 1.5
    for path in ("/api/v1/runs/local/p/r", "/api/v1/projects"):
        status, data, _ = _send(server, "GET", path, server.key)
        assert status == 200
        _strict(data)


def test_the_remote_api_turns_them_back_into_floats(server):
    import math

    import turbotrack

    run = turbotrack.Api(base_url=server.url, api_key=server.key).run("local/p/r")
    assert math.isnan(run.summary["acc"]) and run.summary["loss"] == math.inf and run.summary["low"] == -math.inf


# ---- user files ----


def _plant(server, name: str, data: bytes) -> None:
    path = server.root / "turbotrack/local/p/r" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


SCRIPT = b"<html><script>fetch('/api/v1/runs/local/p/r/summary',{method:'POST',body:'{}'})</script></html>"


@pytest.mark.parametrize("name", ["media/html/page.html", "files/x.svg", "files/page.htm", "files/x.xhtml"])
def test_uploaded_markup_cannot_script_the_site(server, name):
    _plant(
        server,
        name,
        SCRIPT if not name.endswith(".svg") else b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>",
    )
    status, _data, headers = _send(server, "GET", f"/api/v1/runs/local/p/r/files/{name}", server.key)
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"
    assert headers["content-disposition"].startswith("attachment")


def test_html_media_viewed_in_the_ui_runs_sandboxed(server):
    _plant(server, "media/html/page.html", SCRIPT)
    status, data, headers = _send(server, "GET", "/api/v1/runs/local/p/r/files/media/html/page.html?view=1", server.key)
    assert status == 200 and data == SCRIPT
    csp = headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp
    assert "content-disposition" not in headers


def test_images_are_inline_and_pages_carry_a_policy(server):
    _plant(server, "media/images/a.png", b"\x89PNG\r\n\x1a\n")
    status, _, headers = _send(server, "GET", "/api/v1/runs/local/p/r/files/media/images/a.png", server.key)
    assert status == 200 and headers["content-type"] == "image/png" and "content-disposition" not in headers
    for page in ("/", "/local/p", "/local/p/runs/r", "/local/p/runs/r/files"):
        status, _, headers = _send(server, "GET", page, None, headers={"Cookie": server.cookie})
        assert status == 200 and headers["content-security-policy"] == UI_CSP, page
        assert headers["x-frame-options"] == "DENY"


def test_file_names_cannot_inject_headers_and_any_name_downloads(server):
    evil = "files/a\r\nSet-Cookie: pwn=1\r\nX: .txt"
    _plant(server, evil, b"1")
    _plant(server, 'files/a"; b=.txt', b"3")
    _plant(server, "files/媒体 données.txt", b"2")
    url = "/api/v1/runs/local/p/r/files/files/a%0D%0ASet-Cookie:%20pwn=1%0D%0AX:%20.txt"
    for method, body in (("GET", None), ("PUT", b"1")):
        status, data, headers = _send(server, method, url + "?download=1", server.key, body)
        assert status == 400 and "control characters" in _strict(data)["error"]
        assert "set-cookie" not in headers and "x" not in headers
    status, data, headers = _send(server, "GET", "/api/v1/runs/local/p/r/files/files/a%22%3B%20b%3D.txt", server.key)
    assert status == 200 and data == b"3"
    assert headers["content-disposition"] == "attachment; filename*=utf-8''a%22%3B%20b%3D.txt"
    status, data, headers = _send(
        server, "GET", "/api/v1/runs/local/p/r/files/files/%E5%AA%92%E4%BD%93%20donn%C3%A9es.txt?download=1", server.key
    )
    assert status == 200 and data == b"2"
    assert headers["content-disposition"] == "attachment; filename*=utf-8''%E5%AA%92%E4%BD%93%20donn%C3%A9es.txt"


def test_a_range_is_streamed(server):
    _plant(server, "files/big.bin", bytes(range(256)) * 4096)
    status, data, headers = _send(
        server, "GET", "/api/v1/runs/local/p/r/files/files/big.bin", server.key, headers={"Range": "bytes=1000-1009"}
    )
    assert status == 206 and data == (bytes(range(256)) * 4096)[1000:1010]
    assert headers["content-range"] == f"bytes 1000-1009/{256 * 4096}"


# ---- the transport ----


def _conn(server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    return s


def _closed_by_server(s: socket.socket) -> bool:
    """Whether the server closes the socket (read until EOF; the 60 s timeout is a hang, a failure)."""
    try:
        while s.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_a_silent_connection_is_closed(server):
    with _conn(server) as s:
        assert _closed_by_server(s)


def test_a_trickling_request_head_is_closed(server):
    with _conn(server) as s:
        s.sendall(b"GET /api/v1/projects HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for i in range(300):  # a header line every 0.2 s: each byte would reset a keep-alive timer
            try:
                s.sendall(f"X-{i}: y\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.2)
            try:
                if s.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except ConnectionResetError:  # closed with our unread header lines in its buffer: a reset
                closed = True
                break
        assert closed


def _responses(s: socket.socket) -> bytes:
    s.settimeout(60)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def test_an_unread_body_is_never_parsed_as_a_request(server):
    hidden_body = b'{"smuggled": 1}'
    hidden = (
        b"POST /api/v1/runs/local/p/r/summary HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + server.key.encode()
        + b"\r\nContent-Length: "
        + str(len(hidden_body)).encode()
        + b"\r\n\r\n"
        + hidden_body
    )
    for method, path in (("GET", "/api/v1/projects"), ("POST", "/api/v1/runs/local/p/nope/heartbeat")):
        with _conn(server) as s:
            head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(hidden)}\r\n\r\n".encode()
            s.sendall(head + hidden)
            out = _responses(s)
        assert out.count(b"HTTP/1.1 ") == 1, out
    summary = json.loads((server.root / "turbotrack/local/p/r/summary.json").read_text())
    assert "smuggled" not in summary


@pytest.mark.parametrize(
    "lengths",
    [["-1"], ["1_0"], ["+5"], ["0x10"], ["5", "6"], ["99999999999999999999999"]],
    ids=lambda v: ",".join(v),
)
def test_malformed_lengths_are_refused(server, lengths):
    target = "/api/v1/runs/local/p/lengths/files/config.json"
    with _conn(server) as s:
        head = f"PUT {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.key}\r\n"
        head += "".join(f"Content-Length: {n}\r\n" for n in lengths)
        s.sendall(head.encode() + b"\r\n" + b"{}" * 40)
        out = _responses(s)
    assert out.startswith(b"HTTP/1.1 4"), out[:200]
    assert not (server.root / "turbotrack/local/p/lengths").exists()


def test_a_chunked_body_over_the_limit_is_refused(server):
    with _conn(server) as s:
        head = "PUT /api/v1/runs/local/p/chunked/files/config.json HTTP/1.1\r\nHost: x\r\n"
        head += f"Authorization: Bearer {server.key}\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b" " * 1000
        s.sendall(head.encode() + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n")
        out = _responses(s)
    assert out.startswith(b"HTTP/1.1 413"), out[:200]
    assert not (server.root / "turbotrack/local/p/chunked").exists()


def test_a_bad_stream_is_a_400_and_a_bug_is_logged_with_its_traceback(server):
    status, data, _ = _send(server, "GET", "/api/v1/runs/local/p/r/history?stream=bogus", server.key)
    assert status == 400 and "stream" in _strict(data)["error"]
    broken = server.root / "turbotrack/local/p/broken"
    broken.mkdir()
    (broken / "run.json").write_text('{"id": "broken", "state": "finished"}')
    (broken / "history.ttrk").write_bytes(b"not a history file")  # planted on disk: reading it fails
    status, data, _ = _send(server, "GET", "/api/v1/runs/local/p/broken/history", server.key)
    assert status == 500 and "logged" in _strict(data)["error"]
    deadline = time.monotonic() + 30
    while "Traceback" not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log_text()
    assert "Traceback" in log and "/api/v1/runs/local/p/broken/history failed" in log


def test_every_request_is_in_the_access_log_without_the_token(server):
    _send(server, "GET", f"/?token={server.token}")
    _send(server, "GET", "/api/v1/projects?probe=access-log", server.key)
    deadline = time.monotonic() + 30
    while "probe=access-log" not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log_text()
    assert '"GET /api/v1/projects?probe=access-log" 200' in log
    assert server.token not in log and "token=***" in log


def test_the_access_log_is_written_in_bunches_and_whole_at_exit(tmp_path: Path):
    # Lines wait up to the handler's interval, then go in one write; a server stopped right after a
    # request still writes that request's line (logging.shutdown flushes the handler).
    import io
    import logging

    from turbotrack.server.process import BatchedStream

    out = io.StringIO()
    h = BatchedStream(out, interval=3600)
    h.setFormatter(logging.Formatter("%(message)s"))
    for i in range(3):
        h.handle(logging.LogRecord("turbotrack.server.access", logging.INFO, __file__, 1, "line %d", (i,), None))
    assert out.getvalue() == ""
    h.flush()
    assert out.getvalue() == "line 0\nline 1\nline 2\n"

    s = ServerProc(tmp_path)
    key = make_key(tmp_path, "local")[1]
    s.start()
    try:
        assert raw(s.url, "GET", "/api/v1/projects?probe=last-line", key)[0] == 200
    finally:
        assert s.stop() == 0  # SIGTERM at once: well within the handler's 0.2 s
    assert '"GET /api/v1/projects?probe=last-line" 200' in s.log_text()


def test_workers_share_the_port_and_one_scans(tmp_path: Path):
    s = ServerProc(tmp_path, extra=("--workers", "2"))
    key = make_key(tmp_path, "local")[1]
    s.start()
    try:
        run = tmp_path / "turbotrack" / "local" / "w" / "r1"
        run.mkdir(parents=True)
        (run / "run.json").write_text('{"id": "r1", "state": "finished"}')
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline:
            status, data, _ = raw(s.url, "GET", "/api/v1/runs/local/w", key)
            if status == 200 and json.loads(data)["total"] == 1:
                seen += 1
                if seen >= 10:  # answered by whichever worker accepted each connection
                    break
            time.sleep(0.1)
        assert seen >= 10
        import psutil

        workers = [c for c in psutil.Process(s.proc.pid).children() if "spawn_main" in " ".join(c.cmdline())]
        assert len(workers) == 2
        served_by = {line.split("[")[1].split("]")[0] for line in s.log_text().splitlines() if ".access [" in line}
        assert served_by <= {str(w.pid) for w in workers}
    finally:
        assert s.stop() == 0


def test_a_huge_request_head_is_refused(server):
    with _conn(server) as s:
        try:
            s.sendall(b"GET /api/v1/projects HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * (200 << 10) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return
        out = _responses(s)
    assert not out.startswith(b"HTTP/1.1 2"), out[:200]


def test_a_big_body_in_one_piece_is_not_mistaken_for_a_head(server):
    """A PUT's head and body often arrive in one read: only the head counts against its limit."""
    body = json.dumps({"pad": "x" * 3000}).encode()
    status, data, _ = _send(server, "PUT", "/api/v1/runs/local/p/onepiece/files/config.json", server.key, body)
    assert status == 200, data


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_download_is_streamed_not_read_into_memory(server):
    """A 256 MiB file (sparse: cheap to make) downloads without the server holding it."""
    import http.client

    path = server.root / "turbotrack/local/p/r/files/huge.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.truncate(256 << 20)
    pid = server.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # count the peak from now
    before = _peak_rss(pid)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request(
        "GET", "/api/v1/runs/local/p/r/files/files/huge.bin", headers={"Authorization": f"Bearer {server.key}"}
    )
    resp = conn.getresponse()
    assert resp.status == 200
    got = 0
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    conn.close()
    path.unlink()
    assert got == 256 << 20
    assert _peak_rss(pid) - before < 64 << 20
