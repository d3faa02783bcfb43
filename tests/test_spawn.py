"""Capture threads start helper programs (git, nvidia-smi) so that the program's own blocking writes are
never cut short (capture/spawn.py says why): a child process writes 1 MiB at a time to a pipe with one
native ``write()`` call while turbotrack's capture runs, and every write must be whole."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from turbotrack.capture import spawn

# The writer: NATIVE_WRITES native write(1, 1 MiB) calls after SETUP, then "short=K" on stderr.
WRITER = textwrap.dedent(
    """
    import ctypes, os, sys, threading
    libc = ctypes.CDLL(None, use_errno=True)
    size = 1 << 20
    buf = ctypes.create_string_buffer(b"x" * size, size)
    {setup}
    short = 0
    for _ in range({writes}):
        n = libc.write(1, buf, size)
        if n != size:
            short += 1
    {teardown}
    os.write(2, f"short={{short}}\\n".encode())
    """
)


def run_writer(tmp_path: Path, setup: str, teardown: str = "", writes: int = 150) -> int:
    """Run the writer with its stdout a pipe this process drains; the count of short writes."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(setup=textwrap.dedent(setup).strip(), teardown=teardown, writes=writes))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]  # a busy machine
    try:
        proc = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=300, check=False
        )
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    last = proc.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("short="), proc.stderr.decode()[-3000:]
    return int(last.split("=")[1])


def test_run_returns_output_and_kills_on_timeout(tmp_path):
    done = spawn.run([sys.executable, "-c", "print('hi')"], timeout=60)
    assert (done.returncode, done.stdout) == (0, b"hi\n")
    with pytest.raises(subprocess.TimeoutExpired):
        spawn.run([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    with pytest.raises(OSError):
        spawn.run([str(tmp_path / "no-such-program")], timeout=5)
    assert subprocess._USE_POSIX_SPAWN  # the switch is restored after each child


def test_children_started_by_a_thread_do_not_cut_writes_short(tmp_path):
    """A thread starting children non-stop (spawn.run) while the main thread writes."""
    setup = f"""
    sys.path.insert(0, {str(Path(spawn.__file__).parents[2])!r})
    from turbotrack.capture import spawn
    stop = threading.Event()
    def children():
        while not stop.is_set():
            spawn.run(["true"], timeout=30)
    t = threading.Thread(target=children, daemon=True)
    t.start()
    """
    assert run_writer(tmp_path, setup, teardown="stop.set(); t.join()") == 0


def test_init_with_every_capture_does_not_cut_writes_short(tmp_path):
    """init() in a git work tree with uncommitted changes: git runs in capture threads while the
    program writes."""
    git = {"cwd": tmp_path, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **git)
    (tmp_path / "train.py").write_text("print(1)\n")
    subprocess.run(["git", "add", "train.py"], **git)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first"], **git)
    (tmp_path / "train.py").write_text("print(2)\n")  # so that diff.patch is made too
    setup = """
    import turbotrack
    run = turbotrack.init(project="writes", settings={"system_interval": 0.05})
    """
    assert run_writer(tmp_path, setup, teardown="run.finish()") == 0
    run_dir = next((tmp_path / "turbotrack" / "local" / "writes").iterdir())
    assert (run_dir / "diff.patch").exists()  # git did run during the writes
