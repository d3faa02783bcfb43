"""Storage faults (issue 9): a torn tail before a resume, damaged blocks, a full disk that empties
again, a history file deleted while running, exact ints, streaming scans, very wide histories,
and blocks that inflate past their declared size."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from conftest import NO_CAPTURE, api_run, run_child

import turbotrack
from turbotrack import _core


def _block_offsets(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each block of an intact history file."""
    meta_len = struct.unpack_from("<H", data, 6)[0]
    pos, out = 16 + meta_len + 4, []
    while pos < len(data):
        comp_len = struct.unpack_from("<I", data, pos + 4)[0]
        out.append((pos, pos + 20 + comp_len))
        pos += 20 + comp_len
    return out


def _blocks_of(run, groups: int, rows: int) -> Path:
    """Log `groups` blocks of `rows` rows each ({"i": n}) and finish; the history file."""
    for g in range(groups):
        for i in range(rows):
            run.log({"i": g * rows + i})
        run._core.flush()
    run.finish()
    return Path(run.dir) / "history.ttrk"


def test_resume_after_a_torn_tail_keeps_every_resumed_row(new_run):
    path = _blocks_of(new_run(id="torn"), 3, 10)
    data = path.read_bytes()
    path.write_bytes(data[: _block_offsets(data)[-1][0] + 25])  # the last block cut short
    again = new_run(id="torn", resume="allow")
    for i in range(100):
        again.log({"resumed": i})
    again.finish()
    rows = list(api_run(again).scan_history())
    assert [r["resumed"] for r in rows if "resumed" in r] == list(range(100))
    assert [r["i"] for r in rows if "i" in r] == list(range(20))
    assert _core.verify_file(path)["torn"] is None


def test_a_flipped_bit_in_block_0_loses_that_block_only(new_run, root):
    run = new_run()
    path = _blocks_of(run, 5, 100)
    data = bytearray(path.read_bytes())
    start, _ = _block_offsets(bytes(data))[0]
    data[start + 30] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"damaged history skipped.*history\.ttrk: bytes"):
        rows = api_run(run).history(pandas=False)
    assert [r["i"] for r in rows] == list(range(100, 500))
    with pytest.warns(UserWarning, match="checksum"):
        assert [r["i"] for r in api_run(run).scan_history()] == list(range(100, 500))
    report = _core.verify_file(path)
    assert report["rows"] == 400 and report["torn"] is None
    assert [(s, why) for s, _, why in report["damaged"]] == [(start, "a block's checksum does not match")]
    out = subprocess.run(
        [sys.executable, "-m", "turbotrack", "verify", str(run.dir)], capture_output=True, text=True, cwd=root
    )
    assert out.returncode == 1 and "DAMAGED" in out.stdout and f"damaged bytes {start}-" in out.stdout


def test_a_full_disk_that_empties_again_loses_nothing(root):
    out = run_child(
        f"""
        import io, random, resource, signal, sys, time, warnings, turbotrack
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        run = turbotrack.init(project="p", id="full", settings={{**{NO_CAPTURE!r}, "flush_interval": 0.05}})
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        sys.stderr = notices = io.StringIO()  # the core's notices are written there
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))  # the "disk" fills
            for i in range(30_000):
                run.log({{"x": random.random(), "y": i}})
                if i % 3000 == 0:
                    time.sleep(0.1)  # the writer flushes, fails, keeps the blocks
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space comes back
            for i in range(30_000, 40_000):
                run.log({{"x": random.random(), "y": i}})
                if i % 2000 == 0:
                    time.sleep(0.1)
            run.finish()
        sys.stderr = sys.__stderr__
        said = notices.getvalue()
        msgs = [str(w.message) for w in caught]
        print(said.count("could not write this run's files"),
              said.count("writes this run's files again"),
              sum("could not be written" in m for m in msgs))
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 0, out.stderr
    failed, recovered, at_finish = map(int, out.stdout.split()[:3])
    assert (failed, at_finish) == (1, 0)
    assert recovered <= 1  # the recovery may come at finish(), after the last log()
    r = turbotrack.Api(dir=root).run("p/full")
    assert [row["y"] for row in r.scan_history()] == list(range(40_000))
    assert r.state == "finished"


def test_a_deleted_history_file_is_started_again(new_run, capsys):
    run = new_run(settings={"flush_interval": 0.05})
    for i in range(50):
        run.log({"i": i})
    run._core.flush()
    path = Path(run.dir) / "history.ttrk"
    path.unlink()
    for i in range(50, 100):
        run.log({"i": i})
    run._core.flush()
    run.log({"i": 100})  # tells the user, on stderr (a notice, not a Python warning)
    err = capsys.readouterr().err
    assert err.startswith("turbotrack: WARNING ") and "deleted or moved" in err
    run.finish()
    assert [r["i"] for r in api_run(run).scan_history()] == list(range(50, 101))
    assert _core.verify_file(path)["torn"] is None


def test_a_renamed_run_folder_is_made_again_for_later_rows(new_run, capsys):
    run = new_run(settings={"flush_interval": 0.05})
    run.log({"i": 0})
    run._core.flush()
    deadline = time.time() + 20
    while not (Path(run.dir) / "metadata.json").exists() and time.time() < deadline:
        time.sleep(0.02)  # metadata capture writes in the background: let it finish first
    moved = Path(run.dir + ".moved")
    os.rename(run.dir, moved)
    run.log({"i": 1})
    run._core.flush()
    run.log({"i": 2})
    assert "deleted or moved" in capsys.readouterr().err
    run._core.flush()
    assert [r["i"] for r in _core.read_rows([Path(run.dir) / "history.ttrk"])] == [1, 2]
    assert [r["i"] for r in _core.read_rows([moved / "history.ttrk"])] == [0]


def test_history_keeps_ints_and_bools_exact(new_run):
    run = new_run()
    run.log({"a": 2**53 + 1, "f": 0.5})
    run.log({"b": True, "f": 1.5})
    run.log({"a": -(2**63), "b": False, "s": "x"})
    run.finish()
    rows = api_run(run).history(pandas=False)
    assert [r.get("a") for r in rows] == [2**53 + 1, None, -(2**63)]
    assert [type(r.get("a")) for r in rows] == [int, type(None), int]
    assert [r.get("b") for r in rows] == [None, True, False]
    assert [r.get("s") for r in rows] == [None, None, "x"]
    pd = pytest.importorskip("pandas")
    df = api_run(run).history()
    assert str(df["a"].dtype) == "Int64" and str(df["b"].dtype) == "boolean"
    assert df["a"][0] == 2**53 + 1 and pd.isna(df["a"][1]) and df["a"][2] == -(2**63)
    assert pd.isna(df["b"][0]) and bool(df["b"][1]) is True and bool(df["b"][2]) is False
    assert df["f"].dtype == "float64" and pd.isna(df["s"][0]) and df["s"][2] == "x"
    picked = api_run(run).history(keys=["a"], pandas=False)
    assert picked == [{"_step": 0, "a": 2**53 + 1}, {"_step": 2, "a": -(2**63)}]


def test_scan_history_streams_block_by_block(new_run):
    run = new_run()
    path = _blocks_of(run, 4, 5000)
    data = bytearray(path.read_bytes())
    start, _ = _block_offsets(bytes(data))[2]
    data[start + 40] ^= 0x01  # damage block 2 of 4: found only when the scan gets there
    path.write_bytes(bytes(data))
    it = api_run(run).scan_history(page_size=100)
    tracemalloc.start()
    try:
        first = next(it)  # no warning yet: block 2 has not been read
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first["i"] == 0
    assert peak < 2_000_000, peak  # one page of dicts, not 20,000
    with pytest.warns(UserWarning, match="damaged history"):
        rest = [r["i"] for r in it]
    assert rest == [*range(1, 10_000), *range(15_000, 20_000)]
    # Stops at max_step, before the damaged block is read: no warning.
    assert [r["_step"] for r in api_run(run).scan_history(min_step=3, max_step=6)] == [3, 4, 5]


def test_a_hundred_thousand_metrics_logged_once_read_back_in_bounded_memory(root):
    out = run_child(
        f"""
        import resource, turbotrack
        import numpy, pandas
        run = turbotrack.init(project="p", id="wide", settings={NO_CAPTURE!r})
        for i in range(100_000):
            run.log({{f"m{{i}}": i}})
        run.finish()
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.RLIM_INFINITY))
        r = turbotrack.Api().run("p/wide")
        rows = r.history(pandas=False)
        assert len(rows) == 100_000 and all(row[f"m{{i}}"] == i for i, row in enumerate(rows)), "rows"
        assert r.history(keys=["m7"])["m7"].tolist() == [7]
        try:
            r.history()  # 10^10 cells as a DataFrame: cannot fit, must not abort
            print("fits")
        except MemoryError:
            print("MemoryError")
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MiB")
        """,
        env={"TURBOTRACK_DIR": str(root)},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[0] == "MemoryError"


def _rle_zstd_frame(n_blocks: int) -> bytes:
    """A valid zstd frame of `n_blocks` RLE blocks of 128 KiB each: 4 bytes per 128 KiB."""
    frame = b"\x28\xb5\x2f\xfd" + b"\x00" + b"\x38"  # magic, no content size, 128 KiB window
    for k in range(n_blocks):
        header = (131072 << 3) | (1 << 1) | (k == n_blocks - 1)
        frame += header.to_bytes(3, "little") + b"\x00"
    return frame


def test_a_block_that_inflates_past_its_declared_size_is_refused(new_run):
    run = new_run()
    path = _blocks_of(run, 2, 10)
    data = path.read_bytes()
    (_, e0), _ = _block_offsets(data)
    payload = _rle_zstd_frame(32_768)  # 131 KB that inflate to 4 GiB
    lengths = struct.pack("<III", len(payload), 64, 1)
    bomb = b"TTBK" + lengths + struct.pack("<I", zlib.crc32(lengths + payload)) + payload
    path.write_bytes(data[:e0] + bomb + data[e0:])
    report = _core.verify_file(path)
    assert report["rows"] == 20
    assert len(report["damaged"]) == 1 and "declared 64 bytes" in report["damaged"][0][2]
    with pytest.warns(UserWarning, match="declared 64 bytes"):
        assert [r["i"] for r in api_run(run).history(pandas=False)] == list(range(20))
