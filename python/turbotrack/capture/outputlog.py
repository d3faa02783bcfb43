"""output.log: the raw text of stdout/stderr as timestamped lines, as a terminal would show them.

Each stored line is ``<UTC time, ISO 8601 with milliseconds> <stream> <text>``, for example
``2025-01-02T03:04:05.678Z stdout epoch 1 loss 0.25``. The time is when the line was completed.
Carriage returns and backspaces move a cursor within the line, so a progress bar that redraws with
``\\r`` is stored once, in its final state. Text is decoded as UTF-8 (bad bytes become U+FFFD);
ANSI escape sequences are kept as written.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from pathlib import Path
from typing import IO, Optional

#: Streams a line can come from, as written in the log.
STREAMS = ("stdout", "stderr")
#: A line longer than this (characters, no newline yet) is stored in pieces of this size.
MAX_LINE = 1 << 20
_CONTROL = re.compile("([\r\n\b])")


def format_time(t: float) -> str:
    """``t`` (Unix seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    whole = int(t)
    millis = int((t - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class _Line:
    """The line being written on one stream: its text (in pieces, so that appending stays cheap)
    and the cursor position in it."""

    __slots__ = ("cursor", "decoder", "length", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.cursor = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    def put(self, part: str) -> None:
        """Write ``part`` at the cursor: append at the end, else overwrite as a terminal does."""
        if self.cursor == self.length:
            self.parts.append(part)
            self.length += len(part)
        else:
            text = self.text()
            text = text[: self.cursor] + part + text[self.cursor + len(part) :]
            self.parts, self.length = [text], len(text)
        self.cursor += len(part)

    def clear(self) -> None:
        self.parts, self.length, self.cursor = [], 0, 0


class OutputLog:
    """Appends each stream's completed lines to ``path``. Thread-safe; ignores input after close."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()  # a signal handler may print while a write holds it
        self._file: Optional[IO[str]] = open(path, "a", encoding="utf-8", newline="")
        self._lines = {name: _Line() for name in STREAMS}

    def write_bytes(self, stream: str, data: bytes) -> None:
        """Add raw bytes written to ``stream`` (decoded as UTF-8 across calls)."""
        with self._lock:
            if self._file is None:
                return
            line = self._lines[stream]
            self._add(stream, line, line.decoder.decode(data))
            self._file.flush()

    def write_text(self, stream: str, text: str) -> None:
        """Add text written to ``stream``."""
        with self._lock:
            if self._file is None:
                return
            self._add(stream, self._lines[stream], text)
            if "\n" in text:
                self._file.flush()

    def end_stream(self, stream: str) -> None:
        """Store what ``stream`` has left (an unfinished last line) and flush the file."""
        with self._lock:
            if self._file is None:
                return
            line = self._lines[stream]
            self._add(stream, line, line.decoder.decode(b"", final=True))
            if line.length:
                self._emit(stream, line)
            self._file.flush()

    def close(self) -> None:
        """End every stream and close the file. Idempotent."""
        for stream in STREAMS:
            self.end_stream(stream)
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _add(self, stream: str, line: _Line, text: str) -> None:
        for part in _CONTROL.split(text):
            if part == "\n":
                self._emit(stream, line)
            elif part == "\r":
                line.cursor = 0
            elif part == "\b":
                line.cursor = max(0, line.cursor - 1)
            elif part:
                line.put(part)
                while line.length > MAX_LINE:
                    text = line.text()
                    line.parts, line.length = [text[:MAX_LINE]], MAX_LINE
                    self._emit(stream, line)
                    line.put(text[MAX_LINE:])

    def _emit(self, stream: str, line: _Line) -> None:
        assert self._file is not None
        self._file.write(f"{format_time(time.time())} {stream} {line.text()}\n")
        line.clear()
