"""Console capture: stdout and stderr go into output.log and still reach the terminal unchanged.

Two ways, chosen per stream at start:

* ``"fd"`` (POSIX, when ``sys.stdout.fileno()`` is 1 / ``sys.stderr.fileno()`` is 2): file
  descriptors 1 and 2 are pointed at a pipe (a pseudo-terminal when the original is a terminal, so
  ``isatty()`` stays true and colours stay on). A native thread per stream (``_core.Tee``, no GIL
  needed) copies every byte to the original descriptor and to the log. This sees C extensions,
  ``os.write``, child processes, and native code that writes while holding the GIL.
* ``"python"`` (anywhere else: notebooks, a ``sys.stdout`` without a file descriptor, Windows):
  ``sys.stdout`` / ``sys.stderr`` are wrapped. This sees what Python code writes through them only.

At stop the streams are restored, and a marker written behind the last byte tells the reader where
this process's output ends, so nothing written before stop is lost and stop never waits for child
processes that still hold the pipe: the reader keeps forwarding their output to the terminal (not
to the log) until they close it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable, Optional

from .outputlog import OutputLog

Warn = Callable[..., None]
#: How long stop() waits for the reader to reach the end-of-capture marker.
STOP_TIMEOUT = 5.0
_FDS = {"stdout": 1, "stderr": 2}


def _sys_stream(name: str) -> Any:
    return getattr(sys, name, None)


def _flush_all(c_stdio: bool) -> None:
    """Flush Python's (and, with ``c_stdio``, C's) stdio buffers into the descriptors."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    if not c_stdio:
        return
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except Exception:
        pass


def fd_usable(name: str) -> bool:
    """Whether stream ``name`` can be captured at the file-descriptor level."""
    if os.name != "posix":
        return False
    stream = _sys_stream(name)
    try:
        if stream is None or stream.fileno() != _FDS[name]:
            return False
        os.fstat(_FDS[name])
    except (OSError, ValueError, AttributeError):
        return False
    except Exception:  # io.UnsupportedOperation and friends from odd stream objects
        return False
    return True


class _Channel:
    """One redirected descriptor: the saved original and the write end it is pointed at. The pipe
    (a pseudo-terminal when the original is a terminal) is made by ``_core.Tee``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fd = _FDS[name]
        self.saved = os.dup(self.fd)
        self.write_fd: Optional[int] = None
        self.marker = b"\x00turbotrack-end-" + os.urandom(8).hex().encode() + b"\x00"


class FdCapture:
    """File-descriptor-level capture of the named streams (see the module docstring).

    The pipes are drained by native threads (``turbotrack._core.Tee``) that never need the GIL:
    native code writing more than a pipe holds while it keeps the GIL (a ``ctypes.PyDLL`` call)
    cannot hang the process. They write ``output.log`` themselves, in the format of
    :class:`OutputLog`."""

    def __init__(self, log: OutputLog, names: list[str], warn: Warn) -> None:
        self._log = log
        self._warn = warn
        self._names = names
        self._channels: list[_Channel] = []
        self._restored = False
        self._restore_lock = threading.Lock()
        self._tee: Optional[Any] = None

    def start(self) -> None:
        from .. import _core

        _flush_all(c_stdio=False)
        try:
            for name in self._names:
                self._channels.append(_Channel(name))
            # The tee copies each descriptor as it is now (the original), then we point it at the pipe.
            self._tee = _core.Tee(str(self._log.path), [(c.name, c.marker) for c in self._channels])
            write_fds = self._tee.take_write_fds()
            for channel, write_fd in zip(self._channels, write_fds):
                channel.write_fd = write_fd
            for channel, write_fd in zip(self._channels, write_fds):
                os.dup2(write_fd, channel.fd)
        except BaseException:
            for channel in self._channels:
                os.dup2(channel.saved, channel.fd)
                for fd in (channel.saved, channel.write_fd):
                    if fd is not None:
                        os.close(fd)
            self._channels = []
            raise

    def stop(self) -> None:
        """Restore the descriptors; wait (at most STOP_TIMEOUT) until all written so far reached the
        log. Child processes that still hold the pipe keep being forwarded, never waited for."""
        if not self._channels or self._tee is None:
            return
        _flush_all(c_stdio=True)
        self._tee.begin_stop()
        self._restore()
        for channel in self._channels:
            assert channel.write_fd is not None
            try:
                os.write(channel.write_fd, channel.marker)
            except OSError:
                pass
            os.close(channel.write_fd)  # from now on only child processes can hold a write end
            os.close(channel.saved)
        if not self._tee.wait_logged(STOP_TIMEOUT):
            self._warn("console-stop", "output.log may miss the last output: the reader did not catch up")
        for problem in self._tee.problems():
            self._warn(f"console-{problem[:24]}", problem)
        self._channels = []

    def _restore(self) -> None:
        """Point the descriptors back at the saved originals (once)."""
        with self._restore_lock:
            if self._restored:
                return
            self._restored = True
            for channel in self._channels:
                os.dup2(channel.saved, channel.fd)


class _StreamTee:
    """Stands in for ``sys.stdout`` / ``sys.stderr``: writes go to the original and to the log."""

    def __init__(self, original: Any, name: str, log: OutputLog, warn: Warn) -> None:
        self._original = original
        self._name = name
        self._log = log
        self._warn = warn
        self._active = True

    def write(self, text: str) -> int:
        written: int = self._original.write(text)
        if self._active:
            try:
                self._log.write_text(self._name, text if isinstance(text, str) else str(text))
            except Exception as exc:
                self._warn("console-log", f"writing output.log failed: {exc!r}")
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._original.flush()

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._original, attr)


class PythonCapture:
    """Python-level capture: wraps ``sys.stdout`` / ``sys.stderr`` for the named streams."""

    def __init__(self, log: OutputLog, names: list[str], warn: Warn) -> None:
        self._log = log
        self._warn = warn
        self._names = names
        self._tees: dict[str, _StreamTee] = {}

    def start(self) -> None:
        for name in self._names:
            tee = _StreamTee(_sys_stream(name), name, self._log, self._warn)
            self._tees[name] = tee
            setattr(sys, name, tee)

    def stop(self) -> None:
        for name, tee in self._tees.items():
            try:
                tee.flush()
            except Exception:
                pass
            tee._active = False
            if _sys_stream(name) is tee:  # someone else may have replaced it since; leave theirs
                setattr(sys, name, tee._original)
            self._log.end_stream(name)
        self._tees = {}


class Console:
    """Console capture for both streams, each in the best mode available (see :attr:`mode`)."""

    def __init__(self, log: OutputLog, warn: Warn) -> None:
        self._log = log
        fd_names = [n for n in _FDS if fd_usable(n)]
        py_names = [n for n in _FDS if n not in fd_names and _sys_stream(n) is not None]
        self._parts: list[Any] = []
        if fd_names:
            self._parts.append(FdCapture(log, fd_names, warn))
        if py_names:
            self._parts.append(PythonCapture(log, py_names, warn))
        #: ``"fd"``, ``"python"``, ``"fd+python"`` (mixed), or ``None`` (nothing to capture).
        self.mode = "+".join(["fd"] * bool(fd_names) + ["python"] * bool(py_names)) or None

    def start(self) -> None:
        started = []
        try:
            for part in self._parts:
                part.start()
                started.append(part)
        except BaseException:
            for part in reversed(started):
                part.stop()
            raise

    def stop(self) -> None:
        for part in self._parts:
            part.stop()
        self._log.close()
