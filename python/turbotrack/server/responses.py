"""What a handler may answer besides plain data (sent as JSON): a JSON answer with a status or
headers, a file (streamed, with ``Range``), an HTML page, a redirect that opens a session, or an
empty answer (a 304). ``asgi.py`` turns each into its HTTP response."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional


@dataclass
class Json:
    data: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class File:
    """A file streamed from disk: ``filename`` set makes it an attachment; ``csp`` its policy."""

    path: Path
    stat: os.stat_result
    media_type: str
    filename: Optional[str]
    csp: Optional[str]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Html:
    text: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Redirect:
    """A 302 to ``location`` that sets the browser session cookie ``session``."""

    location: str
    session: str


@dataclass
class Empty:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


__all__ = ["Empty", "File", "Html", "Json", "Redirect"]
