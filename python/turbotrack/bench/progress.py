"""A progress bar on stderr: redrawn in place on a terminal, one line per task otherwise."""

from __future__ import annotations

import shutil
import sys
from typing import Optional, TextIO


class Progress:
    """``start(label)`` before each task, ``close()`` at the end."""

    def __init__(self, total: int, stream: Optional[TextIO] = None, enabled: bool = True) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, label: str) -> None:
        """Show that the next task, ``label``, is running; counts the previous one as done."""
        if not self.enabled:
            return
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns
            bar_width = 24
            filled = bar_width * self.done // self.total
            bar = "█" * filled + "░" * (bar_width - filled)
            line = f"{bar} {self.done}/{self.total}  {label}"
            self.stream.write("\r" + line[: width - 1].ljust(width - 1))
        else:
            self.stream.write(f"[{self.done + 1}/{self.total}] {label}\n")
        self.stream.flush()
        self.done += 1

    def note(self, text: str) -> None:
        """A message that stays on screen above the bar."""
        if not self.enabled:
            return
        if self.tty:
            width = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            width = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self.stream.flush()
