"""Console capture: stdout/stderr reach output.log and, byte for byte, the terminal.

Each test runs a real child Python process that starts :class:`turbotrack.capture.Capture` itself,
so pytest's own output capture is never in the way.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

import turbotrack.capture
from turbotrack.capture.outputlog import MAX_LINE, OutputLog

PACKAGE_ROOT = Path(turbotrack.capture.__file__).parents[2]
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (stdout|stderr) (.*)$")
posix_only = pytest.mark.skipif(os.name != "posix", reason="file-descriptor capture is POSIX-only")

CHILD = """
import io, json, os, subprocess, sys, time
from pathlib import Path
{setup}
from turbotrack.capture import Capture
from turbotrack.settings import Settings

run_dir = Path(sys.argv[1])
settings = Settings(**json.loads(sys.argv[2]))
cap = Capture(run_dir, settings, lambda row: None, {{"id": "console-test"}})
cap.start()
{body}
cap.stop()
cap.stop()
(run_dir.parent / "mode.txt").write_text(str(cap.console_mode))
{after}
"""


def child_env() -> dict[str, str]:
    """The environment for a child that imports the same turbotrack as this process."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)  # buffered, as in most real runs
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return env


def child_argv(tmp_path: Path, body: str, setup: str = "", after: str = "", **settings: object):
    opts = {"capture_system": False, "capture_git": False, "capture_requirements": False}
    opts.update(settings)
    code = CHILD.format(setup=textwrap.dedent(setup), body=textwrap.dedent(body), after=textwrap.dedent(after))
    import json

    return [sys.executable, "-c", code, str(tmp_path / "run"), json.dumps(opts)]


def run_child(tmp_path: Path, body: str, **kwargs: object) -> subprocess.CompletedProcess:
    done = subprocess.run(
        child_argv(tmp_path, body, **kwargs),  # type: ignore[arg-type]
        cwd=tmp_path,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done


def log_lines(tmp_path: Path, stream: Optional[str] = None) -> list[str]:
    """The text of each output.log line (of ``stream``), checking every line's form."""
    out = []
    raw = (tmp_path / "run" / "output.log").read_text(encoding="utf-8")
    assert raw.endswith("\n")
    for line in raw.split("\n")[:-1]:
        m = LINE.match(line)
        assert m, f"malformed output.log line: {line!r}"
        if stream is None or m.group(2) == stream:
            out.append(m.group(3))
    return out


def mode(tmp_path: Path) -> str:
    return (tmp_path / "mode.txt").read_text()


@posix_only
def test_everything_written_is_logged_and_still_reaches_the_terminal(tmp_path: Path) -> None:
    done = run_child(
        tmp_path,
        """
        print("from python", flush=True)
        os.write(1, b"from os.write\\n")
        subprocess.run(["echo", "from echo"], check=True)
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('child stderr\\\\n')"])
        print("from stderr", file=sys.stderr, flush=True)
        os.write(2, b"raw stderr\\n")
        sys.stdout.write("no newline at stop")
        """,
    )
    assert done.stdout == b"from python\nfrom os.write\nfrom echo\nno newline at stop"
    assert done.stderr == b"child stderr\nfrom stderr\nraw stderr\n"
    assert log_lines(tmp_path, "stdout") == [
        "from python",
        "from os.write",
        "from echo",
        "no newline at stop",
    ]
    assert log_lines(tmp_path, "stderr") == ["child stderr", "from stderr", "raw stderr"]
    assert mode(tmp_path) == "fd"


@posix_only
def test_progress_bar_redrawn_with_carriage_returns_is_stored_in_its_final_state(
    tmp_path: Path,
) -> None:
    done = run_child(
        tmp_path,
        """
        for i in range(101):
            sys.stdout.write(f"\\rtraining {i:3d}% |{'#' * (i // 10):<10}|")
            sys.stdout.flush()
        print()
        print("next line")
        """,
    )
    expected = "".join(f"\rtraining {i:3d}% |{'#' * (i // 10):<10}|" for i in range(101))
    assert done.stdout == (expected + "\nnext line\n").encode()
    assert log_lines(tmp_path) == ["training 100% |##########|", "next line"]


@posix_only
def test_arbitrary_bytes_and_large_output_pass_through_unchanged(tmp_path: Path) -> None:
    gen = """
    import random
    rng = random.Random(7)
    chunks = [b"\\xff\\xfe not utf-8 \\x1b[31mred\\x1b[0m\\r\\n", "caf\\u00e9 \\u2713\\n".encode()]
    for n in range(3000):
        size = rng.randrange(1, 2000)
        chunks.append(bytes(rng.randrange(32, 127) for _ in range(size)) + b"\\n" * (n % 3))
    data = b"".join(chunks)
    """
    gen = textwrap.dedent(gen)
    done = run_child(tmp_path, gen + "\nos.write(1, data)\n")
    scope: dict = {}
    exec(gen, scope)
    assert done.stdout == scope["data"]
    lines = log_lines(tmp_path, "stdout")
    assert lines[0] == "\ufffd\ufffd not utf-8 \x1b[31mred\x1b[0m"
    assert lines[1] == "caf\u00e9 \u2713"
    assert len(lines) == scope["data"].count(b"\n") + (not scope["data"].endswith(b"\n"))


@posix_only
def test_c_stdio_buffer_is_flushed_into_the_log_at_stop(tmp_path: Path) -> None:
    done = run_child(
        tmp_path,
        """
        import ctypes
        libc = ctypes.CDLL(None)
        libc.printf(b"from C printf\\n")  # stdout is a pipe: C keeps this in its buffer
        """,
    )
    assert done.stdout == b"from C printf\n"
    assert log_lines(tmp_path) == ["from C printf"]


@posix_only
def test_python_level_fallback_when_stdout_has_no_file_descriptor(tmp_path: Path) -> None:
    done = run_child(
        tmp_path,
        setup="""
        class NoFd:
            def __init__(self, inner):
                self.inner = inner
            def write(self, text):
                return self.inner.write(text)
            def flush(self):
                self.inner.flush()
            def fileno(self):
                raise io.UnsupportedOperation("fileno")
        sys.stdout = NoFd(sys.stdout)
        """,
        body="""
        print("through sys.stdout")
        print("to stderr", file=sys.stderr)
        sys.stdout.flush()
        """,
        after="assert type(sys.stdout).__name__ == 'NoFd', sys.stdout",
    )
    assert done.stdout == b"through sys.stdout\n"
    assert done.stderr == b"to stderr\n"
    assert log_lines(tmp_path, "stdout") == ["through sys.stdout"]
    assert log_lines(tmp_path, "stderr") == ["to stderr"]
    assert mode(tmp_path) == "fd+python"


@posix_only
def test_terminal_stays_a_terminal(tmp_path: Path, spawn: Any) -> None:
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST  # read back exactly the bytes written
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 117, 0, 0))
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = spawn(
            child_argv(
                tmp_path,
                """
                print("isatty", os.isatty(1), sys.stdout.isatty(), flush=True)
                print("columns", os.get_terminal_size(1).columns, flush=True)
                print("\\x1b[32mgreen\\x1b[0m", flush=True)
                """,
            ),
            cwd=tmp_path,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=slave,
            stderr=err,
        )
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert proc.wait(timeout=90) == 0, (tmp_path / "stderr.txt").read_text()
    assert received == b"isatty True True\ncolumns 117\n\x1b[32mgreen\x1b[0m\n"
    assert log_lines(tmp_path) == ["isatty True True", "columns 117", "\x1b[32mgreen\x1b[0m"]
    assert mode(tmp_path) == "fd"


@posix_only
def test_stop_does_not_wait_for_children_that_keep_the_pipe_open(tmp_path: Path) -> None:
    done = run_child(
        tmp_path,
        """
        ready = run_dir.parent / "ready"
        code = (
            "import sys, pathlib; print('early', flush=True); pathlib.Path(sys.argv[1]).touch();"
            "sys.stdin.read(); print('late', flush=True)"
        )
        child = subprocess.Popen([sys.executable, "-c", code, str(ready)], stdin=subprocess.PIPE)
        while not ready.exists():
            time.sleep(0.01)
        """,
        after="""
        child.stdin.close()  # only now, after stop(), does the child print 'late'
        assert child.wait() == 0
        """,
    )
    assert done.stdout == b"early\nlate\n"
    assert log_lines(tmp_path) == ["early"]


@posix_only
def test_forked_child_output_is_captured_and_its_stop_does_nothing(tmp_path: Path) -> None:
    done = run_child(
        tmp_path,
        """
        print("before fork", flush=True)
        pid = os.fork()
        if pid == 0:
            print("from forked child", flush=True)
            cap.stop()  # the parent owns the capture: nothing happens here
            print("child after stop", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        print("parent after fork", flush=True)
        """,
    )
    expected = ["before fork", "from forked child", "child after stop", "parent after fork"]
    assert done.stdout.decode().splitlines() == expected
    assert log_lines(tmp_path, "stdout") == expected


@posix_only
def test_a_capture_never_stopped_is_stopped_at_exit_with_nothing_lost(tmp_path: Path) -> None:
    proc = subprocess.run(
        child_argv(
            tmp_path,
            """
            sys.stdout.write("buffered, never flushed by the program")
            raise RuntimeError("boom")  # skips cap.stop(): the traceback goes to stderr first
            """,
        ),
        cwd=tmp_path,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == b"buffered, never flushed by the program"
    assert proc.stderr.startswith(b"Traceback (most recent call last):")
    assert log_lines(tmp_path, "stdout") == ["buffered, never flushed by the program"]
    assert log_lines(tmp_path, "stderr") == proc.stderr.decode().splitlines()
    assert not (tmp_path / "mode.txt").exists()


def test_capture_stdout_off_writes_no_output_log(tmp_path: Path) -> None:
    done = run_child(tmp_path, 'print("hello")', capture_stdout=False)
    assert done.stdout == b"hello\n"
    assert not (tmp_path / "run" / "output.log").exists()
    assert mode(tmp_path) == "None"


# -- the line assembly, without any file descriptors ---------------------------------------------


def read_log(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = LINE.match(line)
        assert m, line
        out.append((m.group(2), m.group(3)))
    return out


def test_carriage_return_and_backspace_overwrite_like_a_terminal(tmp_path: Path) -> None:
    log = OutputLog(tmp_path / "output.log")
    log.write_text("stdout", "abcdef\rXY\n")
    log.write_text("stdout", "12345\b\b!\n")
    log.write_text("stdout", "done\r\n")
    log.write_text("stderr", "\n")
    log.close()
    log.close()
    log.write_text("stdout", "after close\n")
    assert read_log(tmp_path / "output.log") == [
        ("stdout", "XYcdef"),
        ("stdout", "123!5"),
        ("stdout", "done"),
        ("stderr", ""),
    ]


def test_utf8_split_across_reads_and_streams_kept_apart(tmp_path: Path) -> None:
    log = OutputLog(tmp_path / "output.log")
    log.write_bytes("stdout", b"caf\xc3")
    log.write_bytes("stderr", b"err \xe2\x9c")
    log.write_bytes("stdout", b"\xa9\n")
    log.write_bytes("stderr", b"\x93\n")
    log.close()
    assert read_log(tmp_path / "output.log") == [("stdout", "caf\u00e9"), ("stderr", "err \u2713")]


def test_a_huge_line_is_stored_in_pieces(tmp_path: Path) -> None:
    log = OutputLog(tmp_path / "output.log")
    log.write_text("stdout", "x" * (MAX_LINE * 2 + 5) + "\n")
    log.close()
    assert [len(text) for _, text in read_log(tmp_path / "output.log")] == [MAX_LINE, MAX_LINE, 5]


def test_log_appends_for_a_resumed_run(tmp_path: Path) -> None:
    for word in ("first", "second"):
        log = OutputLog(tmp_path / "output.log")
        log.write_text("stdout", word + "\n")
        log.close()
    assert read_log(tmp_path / "output.log") == [("stdout", "first"), ("stdout", "second")]
