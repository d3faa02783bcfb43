"""Hostile storage, through a real server: zstd bombs (uploaded, or planted on disk), a rows page of a
large run, symbolic links planted in the storage root, and two ingest processes racing appends."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import psutil
import pytest
from conftest import NO_CAPTURE
from serverkit import ServerProc, make_key, raw

import turbotrack
from turbotrack import _core
from turbotrack.store import layout

MiB = 1 << 20


def _zstd_zeros(n: int) -> bytes:
    """One zstd frame that inflates to ``n`` zero bytes: RLE blocks of 128 KiB, 4 bytes each (no
    compressor needed; the format allows it: RFC 8878, 3.1.1)."""
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out += bytes([0x00, 7 << 3])  # no content size, no checksum; a window of 2**(10 + 7) = 128 KiB
    block = 128 << 10
    while n > 0:
        size = min(n, block)
        n -= size
        out += struct.pack("<I", (size << 3) | (1 << 1) | (1 if n == 0 else 0))[:3]  # RLE block
        out.append(0)
    return bytes(out)


def _block(payload: bytes, raw_len: int, n_rows: int = 1) -> bytes:
    """A block framed as the format says (docs/file-format.md), with whatever lengths it is given."""
    lengths = struct.pack("<III", len(payload), raw_len, n_rows)
    crc = zlib.crc32(payload, zlib.crc32(lengths))
    return b"TTBK" + lengths + struct.pack("<I", crc) + payload


def header_end(data: memoryview) -> int:
    """Where the file header ends (docs/file-format.md: 16 fixed bytes, the metadata, a CRC)."""
    assert bytes(data[:4]) == b"TTRK"
    (meta_len,) = struct.unpack_from("<H", data, 6)
    return 16 + meta_len + 4


def _header(run_dir: Path) -> bytes:
    data = (run_dir / layout.HISTORY).read_bytes()
    end = header_end(memoryview(data))
    assert end is not None
    return data[:end]


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def _reset_peak(pid: int) -> int:
    """Start counting the peak from now (``clear_refs``: 5); the resident memory now."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass
    return int(psutil.Process(pid).memory_info().rss)


def _get(srv: ServerProc, path: str) -> tuple[int, Any]:
    status, body, _ = raw(srv.url, "GET", path, srv.key)  # type: ignore[attr-defined]
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


@pytest.fixture
def local_srv(root: Path):
    """A server on the local storage root (`turbotrack server --dir .`)."""
    s = ServerProc(root)
    s.key = make_key(root, "local")[1]  # type: ignore[attr-defined]
    s.start()
    yield s
    assert s.stop() == 0


def _small_run(new_run, n: int = 10) -> Any:
    run = new_run(settings=NO_CAPTURE)
    for i in range(n):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    return run


# ---- zstd bombs ----


def test_a_zstd_bomb_upload_is_refused_naming_the_file(new_run, root, local_srv):
    """Blocks whose payload inflates past what they declare, or that declare more than a block may
    hold, or less than they hold, are refused (400, naming the file), and nothing is written."""
    run = _small_run(new_run)
    head = _header(Path(run.dir))
    url = "/api/v1/runs/local/tests/bomb/files/history.ttrk?offset=0"
    bombs = {
        "declares 1 GiB": head + b"".join(_block(_zstd_zeros(1 << 30), 1 << 30) for _ in range(4)),
        "declares 1 MiB, inflates to 64 MiB": head + _block(_zstd_zeros(64 * MiB), MiB),
        "declares 8 MiB, holds 1 MiB": head + _block(_zstd_zeros(MiB), 8 * MiB),
    }
    for what, body in bombs.items():
        assert len(body) < 200_000, what
        status, data, _ = raw(local_srv.url, "PUT", url, local_srv.key, body)
        assert status == 400, (what, status, data)
        assert "history.ttrk" in json.loads(data)["error"], what
    assert not (root / "turbotrack" / "local" / "tests" / "bomb" / "history.ttrk").exists()
    # the run's own file still goes in whole
    status, data, _ = raw(local_srv.url, "PUT", url, local_srv.key, (Path(run.dir) / "history.ttrk").read_bytes())
    assert status == 200, data


def test_a_bomb_planted_on_disk_does_not_make_reads_allocate(new_run, root, local_srv):
    """A history file written straight into the root (no ingest) with blocks declaring 1 GiB each of
    zeros: reading the run (its page, history, rows) decompresses none of it."""
    run = _small_run(new_run)
    history = Path(run.dir) / "history.ttrk"
    good = history.read_bytes()
    history.write_bytes(good + b"".join(_block(_zstd_zeros(1 << 30), 1 << 30) for _ in range(4)))
    pid = local_srv.proc.pid  # type: ignore[union-attr]
    base = f"/api/v1/runs/{run.path}"
    assert _get(local_srv, "/api/v1/projects")[0] == 200  # warm up
    before = _reset_peak(pid)
    status, detail = _get(local_srv, base)
    assert status == 200 and "loss" in detail["keys"]["history"]
    status, hist = _get(local_srv, base + "/history?keys=loss&samples=100")
    assert status == 200 and hist["rows"] == 10  # the whole blocks before the bomb are read
    status, rows = _get(local_srv, base + "/rows?limit=5")
    assert status == 200 and len(rows["rows"]) == 5
    grown = _peak_rss(pid) - before
    assert grown < 100 * MiB, f"reading a planted bomb grew the server by {grown / MiB:.0f} MiB"


# ---- a rows page of a large run ----


def test_rows_limit_1_on_a_large_run_reads_one_page(root, local_srv):
    """`rows?limit=1` on a 500,000-step run must not build every row (today: hundreds of MB)."""
    run = turbotrack.init(project="big", settings=NO_CAPTURE)
    for i in range(500_000):
        run.log({"a": float(i), "b": i * 0.5, "c": -float(i), "d": i})
    run.finish()
    pid = local_srv.proc.pid  # type: ignore[union-attr]
    base = f"/api/v1/runs/{run.path}"
    assert _get(local_srv, "/api/v1/projects")[0] == 200
    before = _reset_peak(pid)
    status, page = _get(local_srv, base + "/rows?limit=1")
    assert status == 200 and page["next"] == 1 and page["rows"][0]["_step"] == 0 and page["rows"][0]["d"] == 0
    status, page = _get(local_srv, base + "/rows?limit=2&offset=499998")
    assert status == 200 and page["next"] is None and [r["d"] for r in page["rows"]] == [499_998, 499_999]
    grown = _peak_rss(pid) - before
    assert grown < 100 * MiB, f"two small pages grew the server by {grown / MiB:.0f} MiB"


# ---- symbolic links ----


def _outside_run(tmp: Path) -> Path:
    """A run written into another root, outside the server's."""
    code = textwrap.dedent(
        f"""
        import turbotrack
        run = turbotrack.init(project="p", dir={str(tmp)!r}, settings={NO_CAPTURE!r})
        for i in range(7):
            run.log({{"secret": 42.0 + i}})
        run.finish()
        print(run.dir)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(turbotrack.__file__).parents[1])}  # the turbotrack under test
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip().splitlines()[-1])


def test_a_linked_run_folder_is_not_listed_served_or_appended_to(new_run, root, local_srv, tmp_path_factory):
    outside = _outside_run(tmp_path_factory.mktemp("outside"))
    before = {p.name: p.read_bytes() for p in outside.iterdir() if p.is_file()}
    real = _small_run(new_run)  # the project exists, with one real run
    (root / "turbotrack" / "local" / "tests" / "linked").symlink_to(outside, target_is_directory=True)
    base = "/api/v1/runs/local/tests/linked"
    assert _get(local_srv, f"/api/v1/runs/{real.path}")[0] == 200  # indexed when asked for
    assert _get(local_srv, base)[0] == 404  # not indexed when asked for
    status, listing = _get(local_srv, "/api/v1/runs/local/tests")
    assert status == 200 and "linked" not in json.dumps(listing) and listing["total"] == 1
    for endpoint in ("/history?keys=secret", "/rows?limit=5", "/files", "/manifest"):
        status, body = _get(local_srv, base + endpoint)
        assert "secret" not in json.dumps(body) and "42" not in json.dumps(body), endpoint
    status, body, _ = raw(local_srv.url, "PUT", base + "/files/output.log?offset=0", local_srv.key, b"planted\n")
    assert status == 400, body
    status, body, _ = raw(local_srv.url, "PUT", base + "/files/config.json", local_srv.key, b"{}")
    assert status == 400, body
    chunk = f"/files/config.json?offset=0&size=2&sha256={hashlib.sha256(b'{}').hexdigest()}"
    status, body, _ = raw(local_srv.url, "PUT", base + chunk, local_srv.key, b"{}")
    assert status == 400, body
    assert {p.name: p.read_bytes() for p in outside.iterdir() if p.is_file()} == before


def test_a_linked_file_in_a_run_folder_is_not_read_or_appended_to(new_run, root, local_srv, tmp_path_factory):
    outside = _outside_run(tmp_path_factory.mktemp("outside"))
    run = _small_run(new_run)
    run_dir = Path(run.dir)
    (run_dir / "history.ttrk").unlink()
    (run_dir / "history.ttrk").symlink_to(outside / "history.ttrk")
    (run_dir / "output.log").symlink_to(outside / "notes.log")
    (outside / "notes.log").write_text("secret notes\n")
    (run_dir / "files").mkdir()
    (run_dir / "files" / "pub").symlink_to(outside, target_is_directory=True)
    before = (outside / "history.ttrk").read_bytes()
    base = f"/api/v1/runs/{run.path}"
    status, detail = _get(local_srv, base)
    assert status == 200 and "secret" not in detail["keys"]["history"]
    status, hist = _get(local_srv, base + "/history?keys=secret")
    assert status == 200 and not hist.get("rows")
    status, rows = _get(local_srv, base + "/rows?limit=5")
    assert status == 200 and rows["rows"] == []
    status, files = _get(local_srv, base + "/files")
    names = {f["name"] for f in files["files"]}
    assert status == 200 and "run.json" in names and not {"history.ttrk", "output.log"} & names, names
    assert not any(name.startswith("files/") for name in names), names
    status, manifest = _get(local_srv, base + "/manifest")
    assert status == 200 and not {"history.ttrk", "output.log"} & set(manifest["files"])
    assert not any(name.startswith("files/") for name in manifest["files"])
    status, body, _ = raw(local_srv.url, "PUT", base + "/files/output.log?offset=0", local_srv.key, b"planted\n")
    assert status == 400, body
    status, body, _ = raw(local_srv.url, "PUT", base + "/files/files/pub/x.txt", local_srv.key, b"planted")
    assert status == 400, body
    chunk = f"/files/files/pub/x.txt?offset=0&size=7&sha256={hashlib.sha256(b'planted').hexdigest()}"
    status, body, _ = raw(local_srv.url, "PUT", base + chunk, local_srv.key, b"planted")
    assert status == 400, body
    (outside / f".x.txt.{'0' * 16}.part").write_bytes(b"secret")  # a part outside: never listed
    assert not any(name.startswith("files/") for name in _get(local_srv, base + "/manifest")[1]["files"])
    assert (outside / "notes.log").read_text() == "secret notes\n" and not (outside / "x.txt").exists()
    assert (outside / "history.ttrk").read_bytes() == before


def test_a_linked_parent_of_an_upload_target_is_not_written_through(root, local_srv, tmp_path_factory):
    """A link as the entity or project folder of a new run: an upload is refused, nothing lands outside."""
    outside = tmp_path_factory.mktemp("outside")
    (root / "turbotrack" / "local").mkdir(parents=True, exist_ok=True)
    (root / "turbotrack" / "local" / "proj").symlink_to(outside, target_is_directory=True)
    status, body, _ = raw(
        local_srv.url, "PUT", "/api/v1/runs/local/proj/r1/files/run.json", local_srv.key, b'{"state": "finished"}'
    )
    assert status == 400, body
    status, body, _ = raw(
        local_srv.url, "PUT", "/api/v1/runs/local/proj/r1/files/output.log?offset=0", local_srv.key, b"x"
    )
    assert status == 400, body
    assert list(outside.iterdir()) == []


def test_safe_file_refuses_links_on_the_way(tmp_path):
    root = tmp_path / "turbotrack"
    real = root / "e" / "p" / "r"
    real.mkdir(parents=True)
    (real / "run.json").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "run.json").write_text("{}")
    (root / "e" / "q").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (real / "link.json").symlink_to(real / "run.json")
    assert layout.safe_file(root, real / "run.json") == real / "run.json"
    for bad in (root / "e" / "q" / "run.json", real / "link.json", real / "missing.json", real):
        with pytest.raises(FileNotFoundError):
            layout.safe_file(root, bad)
    for outside in (tmp_path / "elsewhere" / "run.json", root / "e" / ".." / "p"):
        with pytest.raises(ValueError):
            layout.safe_file(root, outside)


# ---- two ingest processes ----

_RACER = """
import sys
from pathlib import Path
from turbotrack.server.ingest import Ingest, IngestError
root, name, n, kind = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ingest = Ingest(root)
path = root / "local" / "p" / "r" / ("history.ttrk" if kind == "stream" else "output.log")
block = Path(sys.argv[5]).read_bytes() if kind == "stream" else b""
print("ready", flush=True)
sys.stdin.readline()  # both start together
for i in range(n):
    chunk = block if kind == "stream" else (f"<{name}:{i}:" + "x" * 200 + ">\\n").encode()
    while True:
        try:
            ingest.append(path, kind, ingest.size(path, kind), chunk)
            break
        except IngestError as e:
            assert e.status == 409, e
"""


def _race(root: Path, n: int, kind: str, blocks: tuple[Path, Path] = (Path(), Path())) -> None:
    """Two processes, each with an ``Ingest`` of its own on ``root``, append ``n`` times at once."""
    env = {**os.environ, "PYTHONPATH": str(Path(turbotrack.__file__).parents[1])}  # the turbotrack under test
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(root), name, str(n), kind, str(block)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, block in zip("AB", blocks)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            assert p.wait(300) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdin, p.stdout):
                if f:
                    f.close()


@pytest.fixture
def fast_dir(tmp_path):
    """A folder in memory when the machine has one (fsync costs nothing there, so the two processes
    spend their time checking offsets and writing, where they would collide), else ``tmp_path``."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm, prefix="turbotrack-test-") as d:
        yield Path(d)


def test_two_ingest_processes_never_interleave_appends(fast_dir):
    root = fast_dir / "turbotrack"
    n = 10_000
    _race(root, n, "append")
    lines = (root / "local" / "p" / "r" / "output.log").read_text().splitlines()
    want = sorted(f"<{name}:{i}:" + "x" * 200 + ">" for name in "AB" for i in range(n))
    assert sorted(lines) == want, f"{len(lines)} lines, {len(set(lines) & set(want))} of {len(want)} whole"


def test_two_ingest_processes_append_whole_blocks_and_see_each_others(new_run, fast_dir):
    """STREAM appends from two processes: every block lands whole, once (each process's length of
    the file follows the other's appends)."""
    blocks = []
    for rows in (3, 5):
        data = (Path(_small_run(new_run, rows).dir) / "history.ttrk").read_bytes()
        end = header_end(memoryview(data))
        assert end is not None
        blocks.append(data[end:])
        head = data[:end]
    target = fast_dir / "turbotrack" / "local" / "p" / "r" / "history.ttrk"
    target.parent.mkdir(parents=True)
    target.write_bytes(head)
    files = (fast_dir / "a.blocks", fast_dir / "b.blocks")
    for f, b in zip(files, blocks):
        f.write_bytes(b)
    n = 4000
    _race(fast_dir / "turbotrack", n, "stream", files)
    data = target.read_bytes()
    good, rows, why = _core.scan_blocks(data, 0, True)
    assert (good, why) == (len(data), None) and rows == n * (3 + 5)
    assert len(data) == len(head) + n * sum(len(b) for b in blocks)
