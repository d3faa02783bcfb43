"""Keys and sessions: create/list/revoke, login, and refusals that change nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from serverkit import ServerProc, cli, make_key, raw

import turbotrack


@pytest.fixture
def finished_run(new_run):
    run = new_run(config={"a": 1})
    for i in range(20):
        run.log({"x": i})
    run.finish()
    return run


def test_keys_cli_create_list_revoke(root, finished_run):
    server_root = root / "server"
    out = cli("keys", "create", "local", "--dir", str(server_root))
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("tt_") and len(key) > 40
    ro = cli("keys", "create", "local", "--read-only", "--dir", str(server_root)).stdout.strip().splitlines()[-1]
    listed = cli("keys", "list", "--dir", str(server_root)).stdout
    key_id = key.split("_")[1]
    assert key_id in listed and "read-write" in listed and "read-only" in listed and key not in listed
    db = (server_root / "turbotrack" / "auth.sqlite").read_bytes()
    assert key.encode() not in db and key.split("_", 2)[2].encode() not in db  # only hashes stored
    s = ServerProc(server_root).start()
    try:
        assert cli("sync", "--base-url", s.url, "--api-key", ro, str(root)).returncode == 1
        assert cli("sync", "--base-url", s.url, "--api-key", key, str(root)).returncode == 0
        assert turbotrack.Api(base_url=s.url, api_key=ro).run(finished_run.path).config == {"a": 1}
        revoked = cli("keys", "revoke", key_id, "--dir", str(server_root))
        assert revoked.returncode == 0, revoked.stderr
        status, _, _ = raw(s.url, "GET", "/api/v1/projects", key)
        assert status == 401
        assert "revoked" in cli("keys", "list", "--dir", str(server_root)).stdout
        again = cli("keys", "revoke", key_id, "--dir", str(server_root))
        assert again.returncode == 2 and "hint:" in again.stderr
    finally:
        s.stop()


def _state(root: Path) -> dict[str, tuple[int, float]]:
    base = root / "server" / "turbotrack"
    return {
        str(p.relative_to(base)): (p.stat().st_size, p.stat().st_mtime)
        for p in base.rglob("*")
        if p.is_file() and "index" not in p.name and "auth" not in p.name
    }


def test_wrong_revoked_other_entity_and_read_only_keys_change_nothing(root, finished_run, new_run):
    unsynced = new_run()
    unsynced.log({"y": 1})
    unsynced.finish()
    server_root = root / "server"
    s = ServerProc(server_root)
    good = make_key(server_root, "local")[1]
    ro = make_key(server_root, "local", read_only=True)[1]
    other = make_key(server_root, "someone-else")[1]
    rid, revoked = make_key(server_root, "local")
    s.start()
    try:
        assert cli("sync", "--base-url", s.url, "--api-key", good, finished_run.dir).returncode == 0
        rel = f"/api/v1/runs/{finished_run.path}"
        assert cli("keys", "revoke", rid, "--dir", str(server_root)).returncode == 0
        before = _state(root)
        wrong = good[:-4] + "AAAA"
        for key, status in ((wrong, 401), (revoked, 401), ("nonsense", 401), (None, 401), (other, 403), (ro, 403)):
            for method, path, body in (
                ("PUT", rel + "/files/config.json", b'{"a": 2}'),
                ("PUT", rel + "/files/history.ttrk?offset=0", b"TTRK"),
                ("POST", rel + "/summary", b'{"x": 1}'),
                ("POST", rel + "/heartbeat", b"{}"),
                ("PUT", "/api/v1/runs/local/new/run1/files/run.json", b"{}"),
            ):
                got, data, _ = raw(s.url, method, path, key, body)
                assert got == status, (key, method, path, got, data)
                assert "error" in json.loads(data)
            out = cli("sync", "--base-url", s.url, "--api-key", key or "none", unsynced.dir)
            assert out.returncode == 1 and "hint:" in out.stderr
        assert _state(root) == before
        # read-only and other-entity keys still read
        for key in (ro, other):
            assert raw(s.url, "GET", rel + "/manifest", key)[0] == 200
    finally:
        s.stop()


def test_login_stores_the_key_0600(root, finished_run, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("TURBOTRACK_API_KEY", raising=False)
    s = ServerProc(root)
    key = make_key(root, "local")[1]
    s.start()
    try:
        out = cli("login", "--base-url", s.url, key)
        assert out.returncode == 0, out.stderr
        cred = tmp_path / "cfg" / "turbotrack" / "credentials"
        assert stat.S_IMODE(os.stat(cred).st_mode) == 0o600
        assert cli("sync", "--base-url", s.url, str(root)).returncode == 0
        assert turbotrack.Api(base_url=s.url).run(finished_run.path).config == {"a": 1}
    finally:
        s.stop()
