"""Console capture: stdout and stderr go into output.log and still reach the terminal unchanged.

Two ways, chosen per stream at start:

* ``"fd"`` (POSIX, when ``sys.stdout.fileno()`` is 1 / ``sys.stderr.fileno()`` is 2): file
  descriptors 1 and 2 are pointed at a pipe (a pseudo-terminal when the original is a terminal, so
  ``isatty()`` stays true and colours stay on). One reader thread copies every byte to the original
  descriptor and to the log. This sees C extensions, ``os.write`` and child processes.
* ``"python"`` (anywhere else: notebooks, a ``sys.stdout`` without a file descriptor, Windows):
  ``sys.stdout`` / ``sys.stderr`` are wrapped. This sees what Python code writes through them only.

At stop the streams are restored, and a marker written behind the last byte tells the reader where
this process's output ends, so nothing written before stop is lost and stop never waits for child
processes that still hold the pipe: the reader keeps forwarding their output to the terminal (not
to the log) until they close it.
"""

from __future__ import annotations

import atexit
import errno
import os
import selectors
import sys
import threading
from typing import Any, Callable, Optional

from .outputlog import OutputLog

Warn = Callable[..., None]
#: How long stop() waits for the reader to reach the end-of-capture marker.
STOP_TIMEOUT = 5.0
#: At interpreter exit, how long to wait for the reader to pass on what child processes still
#: write after stop() (it ends at once when they have all closed the pipe).
EXIT_TIMEOUT = 0.5
_READ_SIZE = 1 << 16
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
    """One redirected descriptor: the saved original, our read end and a spare write end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.fd = _FDS[name]
        self.saved = os.dup(self.fd)
        self.read_fd, self.write_fd = _open_pair(self.saved)
        self.marker = b"\x00turbotrack-end-" + os.urandom(8).hex().encode() + b"\x00"
        self.held = b""  # bytes that may be the start of the marker
        self.logging = True
        self.tee = True
        self.open = True


def _open_pair(original: int) -> tuple[int, int]:
    """A pseudo-terminal when ``original`` is a terminal (output passed raw), else a pipe."""
    if os.isatty(original):
        try:
            import fcntl
            import termios

            master, slave = os.openpty()
            attrs = termios.tcgetattr(slave)
            attrs[1] &= ~termios.OPOST  # no \n -> \r\n: the bytes reach the terminal unchanged
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            try:
                size = fcntl.ioctl(original, termios.TIOCGWINSZ, b"\0" * 8)
                fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
            except OSError:
                pass
            return master, slave
        except Exception:
            pass
    return os.pipe()


class FdCapture:
    """File-descriptor-level capture of the named streams (see the module docstring)."""

    def __init__(self, log: OutputLog, names: list[str], warn: Warn) -> None:
        self._log = log
        self._warn = warn
        self._names = names
        self._channels: list[_Channel] = []
        self._stopping = False
        self._logged_all = threading.Event()
        self._restored = False
        self._restore_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._selector: Optional[selectors.BaseSelector] = None

    def start(self) -> None:
        _flush_all(c_stdio=False)
        selector = selectors.DefaultSelector()
        try:
            for name in self._names:
                channel = _Channel(name)
                self._channels.append(channel)
                selector.register(channel.read_fd, selectors.EVENT_READ, channel)
            for channel in self._channels:
                os.dup2(channel.write_fd, channel.fd)
        except BaseException:
            for channel in self._channels:
                os.dup2(channel.saved, channel.fd)
                for fd in (channel.saved, channel.read_fd, channel.write_fd):
                    os.close(fd)
            selector.close()
            self._channels = []
            raise
        self._selector = selector
        self._thread = threading.Thread(target=self._run, name="turbotrack-console", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Restore the descriptors; wait (bounded) until all written so far reached the log."""
        if not self._channels:
            return
        _flush_all(c_stdio=True)
        self._stopping = True
        self._restore()
        for channel in self._channels:
            try:
                os.write(channel.write_fd, channel.marker)
            except OSError:
                channel.logging = False
            os.close(channel.write_fd)  # from now on only child processes can hold a write end
        self._check_logged_all()
        if not self._logged_all.wait(STOP_TIMEOUT):
            self._warn("console-stop", "output.log may miss the last output: the reader did not catch up")
        if self._thread is not None and self._thread.is_alive():
            atexit.register(self._thread.join, EXIT_TIMEOUT)

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        try:
            while selector.get_map():
                for key, _ in selector.select():
                    self._read(key.data)
        except Exception as exc:  # never leave the program writing into pipes nobody reads
            self._restore()
            self._warn("console-reader", f"the console reader stopped: {exc!r}", defer=True)
        finally:
            for channel in self._channels:
                if channel.open:
                    self._close(channel)
            selector.close()
            self._logged_all.set()

    def _restore(self) -> None:
        """Point the descriptors back at the saved originals (once)."""
        with self._restore_lock:
            if self._restored:
                return
            self._restored = True
            for channel in self._channels:
                os.dup2(channel.saved, channel.fd)

    def _read(self, channel: _Channel) -> None:
        try:
            data = os.read(channel.read_fd, _READ_SIZE)
        except OSError as exc:
            if exc.errno in (errno.EINTR, errno.EAGAIN):
                return
            data = b""  # EIO: every holder of the pseudo-terminal closed it
        if not data:
            self._close(channel)
            return
        if channel.logging and self._stopping:
            data = channel.held + data
            channel.held = b""
            cut = data.find(channel.marker)
            if cut >= 0:
                self._forward(channel, data[:cut], log=True)
                self._end_logging(channel)
                self._forward(channel, data[cut + len(channel.marker) :], log=False)
                return
            keep = _marker_prefix_len(data, channel.marker)
            if keep:
                data, channel.held = data[:-keep], data[-keep:]
        self._forward(channel, data, log=channel.logging)

    def _forward(self, channel: _Channel, data: bytes, log: bool) -> None:
        if not data:
            return
        if channel.tee:
            try:
                _write_all(channel.saved, data)
            except OSError as exc:
                channel.tee = False
                self._warn(
                    f"console-tee-{channel.name}",
                    f"writing to the original {channel.name} failed ({exc}); it is still logged",
                    defer=True,
                )
        if log:
            try:
                self._log.write_bytes(channel.name, data)
            except Exception as exc:
                self._warn("console-log", f"writing output.log failed: {exc!r}", defer=True)

    def _end_logging(self, channel: _Channel) -> None:
        channel.logging = False
        try:
            self._log.end_stream(channel.name)
        except Exception:
            pass
        self._check_logged_all()

    def _check_logged_all(self) -> None:
        if all(not c.logging or not c.open for c in self._channels):
            self._logged_all.set()

    def _close(self, channel: _Channel) -> None:
        if channel.held:
            self._forward(channel, channel.held, log=channel.logging)
            channel.held = b""
        if channel.logging:
            self._end_logging(channel)
        channel.open = False
        assert self._selector is not None
        try:
            self._selector.unregister(channel.read_fd)
        except (KeyError, ValueError):
            pass
        for fd in (channel.read_fd, channel.saved):
            try:
                os.close(fd)
            except OSError:
                pass
        self._check_logged_all()


def _marker_prefix_len(data: bytes, marker: bytes) -> int:
    """Length of the longest tail of ``data`` that is a proper prefix of ``marker``."""
    for n in range(min(len(marker) - 1, len(data)), 0, -1):
        if data.endswith(marker[:n]):
            return n
    return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


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
