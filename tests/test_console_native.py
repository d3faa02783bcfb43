"""Console capture when native code writes while holding the GIL (issue 9, item 21): the pipes are
drained by native threads, so a write larger than a pipe's buffer completes instead of hanging."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_native_write_of_more_than_a_pipe_holds_while_holding_the_gil_completes(tmp_path: Path) -> None:
    code = f"""
        import ctypes, turbotrack
        run = turbotrack.init(dir={str(tmp_path)!r}, project="p", id="native",
                              settings={{"capture_system": False, "capture_git": False,
                                         "capture_requirements": False}})
        libc = ctypes.PyDLL(None)  # PyDLL: the GIL stays held during the call
        data = (b"x" * 1023 + b"\\n") * 2048  # 2 MiB, far more than a pipe's 64 KiB
        written = 0
        while written < len(data):
            n = libc.write(1, ctypes.c_char_p(data[written:]), len(data) - written)
            assert n > 0
            written += n
        libc.write(2, b"to stderr\\n", 10)
        print("python done", flush=True)
        run.finish()
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count(b"x" * 1023 + b"\n") == 2048 and out.stdout.endswith(b"python done\n")
    assert out.stderr.endswith(b"to stderr\n")
    log = (tmp_path / "turbotrack" / "local" / "p" / "native" / "output.log").read_text()
    lines = log.splitlines()
    assert sum(line.endswith(" stdout " + "x" * 1023) for line in lines) == 2048
    assert lines[-1].endswith(" stdout python done") or any(line.endswith(" stdout python done") for line in lines)
    assert any(line.endswith(" stderr to stderr") for line in lines)
