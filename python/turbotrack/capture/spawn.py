"""Running a helper program (``git``, ``nvidia-smi``) from a capture thread without disturbing the program.

CPython's ``subprocess`` starts children with ``vfork()`` (3.10+) or ``posix_spawn()``, both of which
make the child share the parent's address space until it execs. Measured here (tests/test_spawn.py):
while one thread starts a child that way, another thread's blocking ``write()`` of a large buffer to
a full pipe returns short (65,536 or 131,072 bytes written of 1 MiB), which programs that write
with a single native ``write`` call and do not loop (C extensions, some loggers) take as a lost tail.
A child started with ``fork()`` does not do this. So capture threads start their children with
fork: :func:`run` turns off subprocess's vfork and posix_spawn paths (its documented kill switches,
``subprocess._USE_VFORK`` since 3.11 and ``_USE_POSIX_SPAWN``) while the child is being created, under
a lock. The program's own subprocess calls in that instant merely fork too; nothing else changes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import IO, Any, Iterator, Mapping, Optional, Sequence, Union

_lock = threading.Lock()


@contextlib.contextmanager
def _forking() -> Iterator[dict[str, Any]]:
    """Inside: subprocess creates children with fork(); yields extra Popen arguments."""
    switches = [name for name in ("_USE_VFORK", "_USE_POSIX_SPAWN") if hasattr(subprocess, name)]
    with _lock:
        saved = {name: getattr(subprocess, name) for name in switches}
        for name in switches:
            setattr(subprocess, name, False)
        try:
            # Python 3.9/3.10 have no vfork switch: a preexec_fn makes _posixsubprocess fork (a C builtin
            # runs no bytecode in the child).
            yield {} if "_USE_VFORK" in switches or sys.platform == "win32" else {"preexec_fn": os.getpid}
        finally:
            for name, value in saved.items():
                setattr(subprocess, name, value)


def popen(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **kwargs)`` with the child started with fork() (see the module's
    docstring). Raises as ``Popen`` does."""
    with _forking() as extra:
        return subprocess.Popen(list(argv), **kwargs, **extra)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Optional[Union[str, os.PathLike[str]]] = None,
    env: Optional[Mapping[str, str]] = None,
    stdout: Union[int, IO[Any]] = subprocess.PIPE,
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(argv)`` with stdin and stderr at /dev/null, the child started with fork()
    (see the module's docstring). Raises ``OSError`` / ``subprocess.TimeoutExpired`` as ``run`` does;
    a child that outlives ``timeout`` is killed and reaped."""
    proc = popen(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )
    with proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)
