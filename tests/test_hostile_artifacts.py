"""Hostile artifact manifests: each attack in ATTACKS is tried through each channel in CHANNELS.

An attack is a manifest entry (a path, a reference, a digest or size) that would make a teammate's
``download()`` write outside its folder, copy a local file, or fail with a traceback. A channel is a way
it reaches the teammate:

- ``upload``: a key holder PUTs it; the server must refuse it (400, naming the entry) and store nothing;
- ``planted``: it is written straight into the server's store (before this check existed, or by hand);
  the server must refuse to serve it and ``Api(base_url=...).artifact()`` must say so;
- ``hostile_server``: a server (compromised, or in the middle) sends it as is; the client must refuse it;
- ``local``: it is written into the local store; ``Api().artifact()`` must refuse it (a local
  artifact's own ``file://`` references stay allowed there, as ``add_reference`` makes them).

Whatever the channel, nothing outside the download folder changes. A new endpoint that takes or
serves manifests joins as a channel; a new attack as a row of ATTACKS.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from serverkit import ServerProc, make_key, raw

import turbotrack
from turbotrack.sync import core

PAYLOAD = b"echo owned\n"
PAYLOAD_SIZE = len(PAYLOAD)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
ENTITY, PROJECT, NAME = "local", "tests", "evil"


@dataclass(frozen=True)
class Attack:
    id: str
    path: str  # "{victim}" is the absolute path of the victim's folder, outside the download folder
    ref: Optional[str] = None
    digest: Any = SHA
    size: Any = PAYLOAD_SIZE
    local_ok: bool = False  # a local manifest may hold it (a file:// reference of the local store)

    def entry_path(self, victim: Path) -> str:
        return self.path.replace("{victim}", str(victim))

    def manifest(self, victim: Path) -> dict[str, Any]:
        entry: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            entry["ref"] = self.ref
            if self.digest == SHA:
                entry["digest"] = self.ref  # a reference logged without a checksum
        return {
            "name": NAME,
            "type": "dataset",
            "version": 0,
            "description": None,
            "metadata": {},
            "digest": "0" * 64,
            "created_at": 0.0,
            "logged_by": None,
            "files": {"ok.txt": {"digest": SHA, "size": len(PAYLOAD)}, self.entry_path(victim): entry},
        }


ATTACKS = [
    Attack("absolute", "{victim}/.bashrc"),
    Attack("dotdot", "../home/.bashrc"),
    Attack("inner_dotdot", "a/../../home/.bashrc"),
    Attack("backslash", "..\\home\\.bashrc"),
    Attack("dot", "./x"),
    Attack("empty_component", "a//b"),
    Attack("trailing_slash", "a/"),
    Attack("nul", "a\x00b"),
    Attack("control", "a\nb"),
    Attack("drive_letter", "C:/Users/x/.bashrc"),
    Attack("not_utf8", "a\udc80b"),
    Attack("file_and_folder", "ok.txt/inner"),
    Attack("file_ref", "passwd", ref="file:///etc/passwd", local_ok=True),
    Attack("file_ref_upper", "passwd", ref="FILE:///etc/passwd", local_ok=True),
    Attack("bare_path_ref", "passwd", ref="/etc/passwd"),
    Attack("drive_ref", "passwd", ref="C:\\Windows\\win.ini"),
    Attack("digest_not_text", "x.bin", digest=123),
    Attack("digest_not_sha", "x.bin", digest="../../x"),
    Attack("size_not_int", "x.bin", size="big"),
    Attack("size_negative", "x.bin", size=-1),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    root = tmp_path_factory.mktemp("hostile-server")
    s = ServerProc(root)
    s.key = make_key(root, ENTITY)[1]  # type: ignore[attr-defined]
    s.start()
    assert raw(s.url, "PUT", f"/api/v1/artifacts/{ENTITY}/{PROJECT}/blobs/{SHA}", s.key, PAYLOAD)[0] == 200
    yield s
    s.stop()


class Hostile:
    """A loopback server that answers every artifact version with ``manifest`` and every blob with PAYLOAD."""

    def __init__(self) -> None:
        self.manifest: dict[str, Any] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if "/blobs/" in self.path:
                    body, kind = PAYLOAD, "application/octet-stream"
                elif "/versions/" in self.path:
                    body = json.dumps({"version": 0, "aliases": ["latest"], "manifest": outer.manifest}).encode()
                    kind = "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    h = Hostile()
    yield h
    h.close()


def _store_dir(root: Path) -> Path:
    return root / "turbotrack" / ENTITY / PROJECT / "artifacts"


def _plant(root: Path, name: str, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` as v0 of ``name`` into the store under ``root``, with the blob it names."""
    folder = _store_dir(root) / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v0.json").write_text(json.dumps(dict(manifest, name=name)))
    (folder / "aliases.json").write_text(json.dumps({"latest": 0}))
    blob = _store_dir(root) / ".blobs" / SHA[:2] / SHA
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(PAYLOAD)


def _outside(base: Path, out: Path) -> dict[str, bytes]:
    """Every file under ``base`` but not under the download folder ``out``, with its bytes."""
    return {
        str(p): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and not p.is_symlink() and out not in p.parents
    }


def _download(get: Callable[[], Any], out: Path) -> Optional[Exception]:
    """What fetching and downloading raised (``None``: it went through)."""
    try:
        get().download(str(out))
    except Exception as e:
        return e
    return None


def _refused(error: Optional[Exception], attack: Attack, victim: Path) -> Callable[[], None]:
    """The check, run once the test has looked outside the download folder: refused, naming the entry."""

    def check() -> None:
        assert isinstance(error, ValueError) and "refused" in str(error), f"not refused: {error!r}"
        assert repr(attack.entry_path(victim)) in str(error)

    return check


Check = Optional[Callable[[], None]]


def _upload(attack: Attack, server: ServerProc, hostile: Hostile, tmp_path: Path, victim: Path, out: Path) -> Check:
    name = f"up-{attack.id}"
    body = json.dumps({"manifest": attack.manifest(victim), "aliases": []}).encode()
    status, data, _ = raw(
        server.url, "PUT", f"/api/v1/artifacts/{ENTITY}/{PROJECT}/versions/{name}/v0", server.key, body
    )
    assert status == 400, f"the server took it: {status} {data[:300]!r}"
    error = json.loads(data)["error"]
    assert repr(attack.entry_path(victim)) in error, error
    assert not (_store_dir(server.root) / name / "v0.json").exists()
    return None


def _planted(attack: Attack, server: ServerProc, hostile: Hostile, tmp_path: Path, victim: Path, out: Path) -> Check:
    name = f"planted-{attack.id}"
    _plant(server.root, name, attack.manifest(victim))
    api = turbotrack.Api(base_url=server.url, api_key=server.key)
    error = _download(lambda: api.artifact(f"{ENTITY}/{PROJECT}/{name}:latest"), out)

    def check() -> None:
        _refused(error, attack, victim)()
        url = f"/api/v1/artifacts/{ENTITY}/{PROJECT}/versions/{name}"
        status, data, _ = raw(server.url, "GET", f"{url}/latest", server.key)
        assert status == 409, f"the server served it: {status} {data[:300]!r}"
        assert repr(attack.entry_path(victim)) in json.loads(data)["error"]
        listing = json.loads(raw(server.url, "GET", url, server.key)[1])
        assert listing["versions"] == {} and "v0" in listing["refused"]

    return check


def _hostile_server(
    attack: Attack, server: ServerProc, hostile: Hostile, tmp_path: Path, victim: Path, out: Path
) -> Check:
    hostile.manifest = attack.manifest(victim)
    api = turbotrack.Api(base_url=hostile.url, api_key="any")
    return _refused(_download(lambda: api.artifact(f"{ENTITY}/{PROJECT}/{NAME}:latest"), out), attack, victim)


def _local(attack: Attack, server: ServerProc, hostile: Hostile, tmp_path: Path, victim: Path, out: Path) -> Check:
    root = tmp_path / "local-store"
    _plant(root, NAME, attack.manifest(victim))
    api = turbotrack.Api(dir=str(root))
    if attack.local_ok:  # a local file:// reference: copied from where it points, as add_reference made it
        art = api.artifact(f"{ENTITY}/{PROJECT}/{NAME}:latest")
        assert art.get_entry(attack.path).ref == attack.ref
        return None
    return _refused(_download(lambda: api.artifact(f"{ENTITY}/{PROJECT}/{NAME}:latest"), out), attack, victim)


CHANNELS = {"upload": _upload, "planted": _planted, "hostile_server": _hostile_server, "local": _local}


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_hostile_manifest_is_refused_and_nothing_outside_is_written(
    attack: Attack, channel: str, server: ServerProc, hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "teammate"
    victim, out = base / "home", base / "work" / "out"
    victim.mkdir(parents=True)
    (victim / ".bashrc").write_text("# the teammate's own\n")
    out.mkdir(parents=True)
    monkeypatch.chdir(base / "work")  # a relative path must not land beside the download folder either
    before = _outside(base, out)
    check = CHANNELS[channel](attack, server, hostile, tmp_path, victim, out)
    assert _outside(base, out) == before, "a file outside the download folder was written"
    assert not (out / "passwd").exists(), "a local file was copied in"
    if check is not None:
        check()


def test_a_normal_artifact_round_trips_through_sync_and_download(root: Path, new_run: Any, tmp_path: Path) -> None:
    """Nested paths, odd but valid names and a checksummed file:// reference (sent as a stored file,
    since the server takes no local reference) come back byte for byte."""
    server = ServerProc(root / "server")
    key = make_key(root / "server", ENTITY)[1]
    server.start()
    try:
        src = tmp_path / "src"
        (src / "deep/er").mkdir(parents=True)
        (src / "deep/er/w.bin").write_bytes(os.urandom(50_000))
        (src / "naïve name.txt").write_text("unicode and a space\n")
        (tmp_path / "referenced.csv").write_text("1,2\n")
        run = new_run(id="ok-run")
        art = turbotrack.Artifact("fine", "dataset")
        art.add_dir(str(src), name="data")
        art.add_reference((tmp_path / "referenced.csv").as_uri())
        run.log_artifact(art)
        run.finish()
        client = core.Client(server.url, key)
        core.RunSync(client, Path(run.dir)).sync()
        client.close()
        stored = json.loads((_store_dir(server.root) / "fine/v0.json").read_text())
        assert "ref" not in stored["files"]["referenced.csv"]

        got = turbotrack.Api(base_url=server.url, api_key=key).artifact(f"{ENTITY}/{PROJECT}/fine:latest")
        out = Path(got.download(str(tmp_path / "out")))
        assert (out / "data/deep/er/w.bin").read_bytes() == (src / "deep/er/w.bin").read_bytes()
        assert (out / "data/naïve name.txt").read_text() == "unicode and a space\n"
        assert (out / "referenced.csv").read_text() == "1,2\n"
        # downloading again over the same folder replaces the files
        (out / "referenced.csv").write_text("changed")
        got.download(str(out))
        assert (out / "referenced.csv").read_text() == "1,2\n"

        # a symlink in the download folder is never written through
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        (fresh / "data").symlink_to(elsewhere, target_is_directory=True)
        with pytest.raises(ValueError, match="symlink") as e:
            got.download(str(fresh))
        assert "'data/" in str(e.value) and not list(elsewhere.iterdir())
    finally:
        server.stop()


def test_a_local_artifact_with_a_symlink_in_the_download_folder_is_refused(new_run: Any, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    f = tmp_path / "a.txt"
    f.write_text("artifact\n")
    art = turbotrack.Artifact("linked", "dataset")
    art.add_file(str(f))
    new_run().log_artifact(art)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").symlink_to(victim)
    with pytest.raises(ValueError, match=r"'a\.txt' is refused.*symlink"):
        art.download(str(out))
    assert victim.read_text() == "mine\n"
