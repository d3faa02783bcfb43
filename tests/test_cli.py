"""The command line: ls, verify, --version, --dir anywhere, and every failure a new user meets printed
as ``error:`` and a ``hint:`` from its actual cause, with no traceback and a non-zero status."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import NO_CAPTURE, api_run
from serverkit import ServerProc, free_port, make_key

import turbotrack
from turbotrack.errors import CommError


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turbotrack", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        **kw,
    )


def failed(out: subprocess.CompletedProcess[str], *words: str, code: int = 2) -> str:
    """The ``error:``/``hint:`` pair of a failed command (no traceback), holding ``words``."""
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    err = out.stderr
    assert "\nhint: " in err and err.count("error: ") == 1, err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.fixture
def config(tmp_path: Path) -> dict[str, str]:
    """A fresh ``~/.config`` for ``turbotrack login``'s credentials, and no server in the environment."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "TURBOTRACK_BASE_URL": "", "TURBOTRACK_API_KEY": ""}
    return env


def test_ls_lists_runs(new_run, root):
    run = new_run(name="alpha")
    for i in range(7):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    out = cli("ls", cwd=root)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if run.id in x)
    assert "alpha" in line and "finished" in line and " 7 " in line and "loss=0.1429" in line
    data = json.loads(cli("ls", "tests", "--json", cwd=root).stdout)
    assert data[0]["id"] == run.id and data[0]["steps"] == 7


def test_verify_reports_a_torn_tail(new_run, root):
    run = new_run()
    run.log({"x": 1})
    run.finish()
    ok = cli("verify", run.path, cwd=root)
    assert ok.returncode == 0 and "ok: 1 blocks, 1 rows" in ok.stdout and "finished" in ok.stdout
    history = Path(run.dir) / "history.ttrk"
    history.write_bytes(history.read_bytes()[:-5])
    torn = cli("verify", str(run.dir), cwd=root)
    assert torn.returncode == 1 and "TORN TAIL" in torn.stdout and "0 rows" in torn.stdout
    assert api_run(run).history(pandas=False) == []


def test_errors_have_a_hint_and_no_traceback(root):
    for args in (("ls",), ("verify", "nope/nothing")):
        failed(cli("--dir", str(root / "empty"), *args, cwd=root))


def test_version(tmp_path):
    out = cli("--version", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == f"turbotrack {turbotrack.__version__}", out


@pytest.mark.parametrize(
    "args",
    [
        ("ls",),
        ("verify", "local/p/nothing"),
        ("sync", "--base-url", "http://127.0.0.1:9"),
        ("keys", "list"),
        ("keys", "create", "team"),
        ("import", "wandb", "nothing"),
        ("import", "tensorboard", "nothing"),
        ("server", "--port", "70000"),
    ],
)
def test_dir_stands_before_or_after_any_command(tmp_path, args):
    """The same command with ``--dir D`` first and last does the same thing, with D."""
    runs_dir = tmp_path / "d"
    before = cli("--dir", str(runs_dir), *args, cwd=tmp_path)
    after = cli(*args, "--dir", str(runs_dir), cwd=tmp_path)
    assert "unrecognized arguments" not in after.stderr, after.stderr
    assert before.returncode == after.returncode, (before.stderr, after.stderr)
    strip = lambda s: "\n".join(x for x in s.splitlines() if "key" not in x and not x.startswith("tt_"))  # noqa: E731
    assert strip(before.stderr) == strip(after.stderr)
    if args[0] in ("ls", "verify", "sync"):
        assert str(runs_dir) in after.stderr, after.stderr  # the folder it looked in is D's
    if args[0] == "keys":
        assert (runs_dir / "turbotrack" / "auth.sqlite").is_file()


def test_login_and_run_accept_dir_after_the_command(tmp_path, config):
    out = cli(
        "login", "--base-url", f"http://127.0.0.1:{free_port()}", "k", "--dir", str(tmp_path), cwd=tmp_path, env=config
    )
    assert out.returncode == 0, out.stderr
    out = cli(
        "run",
        "--dir",
        str(tmp_path / "d"),
        "--",
        sys.executable,
        "-c",
        "import os; print(os.environ['TURBOTRACK_DIR'])",
        cwd=tmp_path,
    )
    assert out.returncode == 0 and out.stdout.strip() == str(tmp_path / "d"), out.stderr


def test_a_port_in_use(tmp_path):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = cli("server", "--dir", str(tmp_path), "--port", str(port), cwd=tmp_path)
    err = failed(out, f"cannot listen on 127.0.0.1:{port}", "Address already in use", "--port")
    assert "permissions" not in err


def test_a_port_out_of_range_and_a_host_not_here(tmp_path):
    failed(cli("server", "--port", "70000", cwd=tmp_path), "70000 is not a port number")
    failed(cli("server", "--port", "http", cwd=tmp_path), "'http' is not a port number")
    failed(cli("server", "--host", "no-such-host.invalid", "--port", "0", cwd=tmp_path), "--host")


def test_a_bad_database_url(tmp_path):
    port = free_port()  # nothing listens there
    url = f"postgresql://nobody:secret@127.0.0.1:{port}/x"
    for args in (("server", "--port", "0"), ("keys", "list")):
        err = failed(cli(*args, "--dir", str(tmp_path), "--db", url, cwd=tmp_path), "cannot connect to the database")
        assert "Connection refused" in err and "secret" not in err and "PostgreSQL" in err
        assert "error connecting" not in err  # the pool's retries are not shown: one line says it
    failed(cli("server", "--db", "mysql://x/y", "--port", "0", cwd=tmp_path), "mysql://x/y", "postgresql://")


def test_a_bad_entity(tmp_path):
    err = failed(cli("keys", "create", "Jane:Doe", "--dir", str(tmp_path), cwd=tmp_path), "'Jane:Doe'")
    assert "try 'Jane-Doe'" in err
    # a space is no reason: the one name rule (store/names.py) takes what wandb takes
    out = cli("keys", "create", "Jane Doe", "--dir", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 0 and "for entity Jane Doe" in out.stdout, out.stderr


def test_sync_of_nothing_fails(tmp_path):
    url = ("--base-url", "http://127.0.0.1:9")
    failed(cli("sync", "/nonexistent", *url, cwd=tmp_path), "/nonexistent does not exist")
    (tmp_path / "empty").mkdir()
    failed(cli("sync", str(tmp_path / "empty"), *url, cwd=tmp_path), "no runs under")


def test_sync_to_a_bad_or_unreachable_url(new_run, root, config):
    for _ in range(3):
        new_run().finish()
    failed(cli("sync", "--base-url", "ftp://host", cwd=root, env=config), "'ftp://host'", "http://HOST:PORT")
    port = free_port()
    err = failed(cli("sync", "--base-url", f"127.0.0.1:{port}", cwd=root, env=config), code=1)
    assert f"using http://127.0.0.1:{port}" in err  # no scheme: http:// is put in front, and said
    assert f"cannot reach http://127.0.0.1:{port}: connection refused" in err
    assert err.count("could not sync:") == 1 and "2 not tried" in err  # it stops at the first
    assert "is the server running at" in err and "permissions" not in err
    err = failed(cli("sync", "--base-url", "http://no-such-host.invalid:8080", cwd=root, env=config), code=1)
    assert "no-such-host.invalid" in err and "host name" in err


def test_a_remote_api_that_cannot_reach_its_server_names_it():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommError, match=f"cannot reach {url}: connection refused") as info:
        list(turbotrack.Api(base_url=url, api_key="tt_x_y").runs("local/p"))
    assert isinstance(info.value, turbotrack.Error) and isinstance(info.value.exc, ConnectionRefusedError)
    assert info.value.url == url


def test_a_broken_pipe_ends_quietly(new_run, root):
    """``turbotrack ls | head -1``: the reader goes away; ls stops without a word, as ls(1) does."""
    run = new_run()
    run.finish()
    for args in (("ls",), ("ls", "--json")):
        r, w = os.pipe()
        os.close(r)  # the reader is gone before a byte is written: every write meets a broken pipe
        try:
            out = subprocess.run(
                [sys.executable, "-m", "turbotrack", *args],
                cwd=root,
                stdout=w,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
            )
        finally:
            os.close(w)
        assert out.returncode == 141 and out.stderr == "", out.stderr


@pytest.fixture
def server(tmp_path: Path):
    with ServerProc(tmp_path / "server") as s:
        s.key = make_key(tmp_path / "server", "local")[1]  # type: ignore[attr-defined]
        yield s


def _saved(config: dict[str, str]) -> dict:
    path = Path(config["XDG_CONFIG_HOME"]) / "turbotrack" / "credentials"
    return json.loads(path.read_text()) if path.exists() else {}


def test_login_checks_the_key_before_saving_it(tmp_path, server, config):
    err = failed(cli("login", "--base-url", server.url, "tt_wrong_key", cwd=tmp_path, env=config), "refused the key")
    assert "nothing was saved" in err and _saved(config) == {}
    out = cli("login", "--base-url", server.url, server.key, cwd=tmp_path, env=config)
    assert out.returncode == 0 and "saved the key" in out.stderr, out.stderr
    assert _saved(config)["default"] == {"base_url": server.url, "api_key": server.key}


def test_login_without_a_scheme_says_it_puts_http_in_front(tmp_path, server, config):
    bare = server.url.removeprefix("http://")
    out = cli("login", "--base-url", bare, server.key, cwd=tmp_path, env=config)
    assert out.returncode == 0 and f"using {server.url}" in out.stderr, out.stderr
    assert _saved(config)["default"]["base_url"] == server.url


def test_login_to_a_server_away_saves_the_key_unchecked_and_says_so(tmp_path, config):
    url = f"http://127.0.0.1:{free_port()}"
    out = cli("login", "--base-url", url, "tt_some_key", cwd=tmp_path, env=config)
    assert out.returncode == 0, out.stderr
    assert f"could not check the key: cannot reach {url}" in out.stderr and "unchecked" in out.stderr
    assert _saved(config)["keys"] == {url: "tt_some_key"}


def test_a_key_from_login_reaches_sync(new_run, root, server, config):
    """The key login checked and saved is the one sync uses, without --api-key."""
    run = new_run(settings=NO_CAPTURE)
    run.log({"x": 1})
    run.finish()
    assert cli("login", "--base-url", server.url, server.key, cwd=root, env=config).returncode == 0
    out = cli("sync", cwd=root, env=config)
    assert out.returncode == 0 and "synced 1 of 1 runs" in out.stderr, out.stderr


def test_sync_with_a_refused_key_says_which_key_to_use(new_run, root, server, config):
    for _ in range(3):
        new_run().finish()
    err = failed(
        cli("sync", "--base-url", server.url, "--api-key", "tt_000000000000_wrong", cwd=root, env=config), code=1
    )
    assert f"HTTP 401 from {server.url}" in err and "turbotrack keys create" in err
    assert err.count("could not sync:") == 1 and "2 not tried: the server refused the key" in err
    read_only = make_key(server.root, "local", read_only=True)[1]
    err = failed(cli("sync", "--base-url", server.url, "--api-key", read_only, cwd=root, env=config), code=1)
    assert f"HTTP 403 from {server.url}" in err and "read-write key of this run's entity" in err


def test_a_remote_api_talking_to_no_turbotrack_server_says_so(server):
    """Something else on the port (an SSH server, say), or https:// to a plain-HTTP server."""
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        url = f"http://127.0.0.1:{s.getsockname()[1]}"

        def answer_garbage() -> None:
            for _ in range(2):  # the client tries a kept-alive connection again once
                conn, _ = s.accept()
                with conn:
                    conn.recv(65536)
                    conn.sendall(b"SSH-2.0-OpenSSH_8.9\r\n")

        t = threading.Thread(target=answer_garbage, daemon=True)
        t.start()
        with pytest.raises(CommError, match=f"{url} gave no valid HTTP answer") as info:
            turbotrack.Api(base_url=url, api_key="tt_x_y").runs("local/p")
        assert "a turbotrack server?" in info.value.hint
        t.join(30)
    tls = server.url.replace("http://", "https://")
    with pytest.raises(CommError, match=f"cannot reach {tls}: TLS failed") as info:
        turbotrack.Api(base_url=tls, api_key=server.key).runs("local/p")
    assert "http://" in info.value.hint


def test_explain_takes_the_hint_from_the_cause():
    """The one mapping: an error's own hint, else its errno, else its type."""
    import errno

    from turbotrack.cli import explain
    from turbotrack.errors import server_error

    full = OSError(errno.ENOSPC, "No space left on device", "/data/run/history.ttrk")
    assert explain(full) == ("No space left on device: /data/run/history.ttrk", explain(full)[1])
    assert "disk is full" in explain(full)[1]
    assert "read-only" in explain(OSError(errno.EROFS, "Read-only file system"))[1]
    assert "permissions" in explain(PermissionError(errno.EACCES, "Permission denied", "/x"))[1]
    refused = server_error(401, "no valid API key", url="http://h:1")
    assert explain(refused) == ("HTTP 401 from http://h:1: no valid API key", refused.hint)
    assert "turbotrack keys create" in refused.hint
    message, hint = explain(KeyError("x"))
    assert message == "unexpected KeyError: 'x'" and "TURBOTRACK_DEBUG=1" in hint and "bug" in hint
