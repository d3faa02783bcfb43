"""One request carrying several uploads of one run's files (``POST .../files``; docs/server.md,
"Ingest"): the framing both sides share.

A live run's uploader sends, each pass, its history's new blocks, its summary every few seconds,
and at the start five small files; one request for all of them costs the server and the client one
HTTP exchange, one key check and one commit instead of one each. The body is a JSON line naming
the parts, then their bytes back to back::

    {"parts": [{"name": "history.ttrk", "offset": 4096, "length": 812},
               {"name": "summary.json", "offset": 0, "size": 97, "sha256": "...", "length": 97}]}\\n
    <812 bytes><97 bytes>

Each part means what ``PUT .../files/<name>?offset=&size=&sha256=`` with its bytes means, and is
answered on its own (``{"size": N}``, or ``{"status": 409, "error": ..., "size": ..., "sha256": ...}``),
in order: one refused part never holds back the others."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

#: the most parts one request may carry
MAX_PARTS = 256


@dataclass(frozen=True)
class Part:
    """One upload of a batch: ``data`` for file ``name`` at ``offset`` (``size``/``sha256``: a whole
    file's or a chunk of one, as the single upload's query has them)."""

    name: str
    offset: int
    data: bytes
    size: Optional[int] = None
    sha256: Optional[str] = None


def encode(parts: list[Part]) -> bytes:
    """The body of a batch of ``parts``."""
    head = []
    for p in parts:
        d: dict[str, Any] = {"name": p.name, "offset": p.offset, "length": len(p.data)}
        if p.size is not None:
            d["size"] = p.size
        if p.sha256 is not None:
            d["sha256"] = p.sha256
        head.append(d)
    return b"".join([json.dumps({"parts": head}).encode(), b"\n", *(p.data for p in parts)])


def _count(d: dict[str, Any], key: str, i: int, needed: bool = True) -> Optional[int]:
    v = d.get(key)
    if v is None and not needed:
        return None
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"part {i}: {key!r} must be a whole number >= 0, not {v!r}")
    return v


def decode(body: bytes) -> list[Part]:
    """The parts of a batch's body; a ``ValueError`` saying what is wrong with it (a bad head, lengths
    that do not add up to the bytes after it, a file named twice, more than :data:`MAX_PARTS`)."""
    nl = body.find(b"\n")
    if nl < 0:
        raise ValueError('a batch starts with a JSON line {"parts": [...]} and a newline')
    try:
        head = json.loads(body[:nl])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the batch's first line is not JSON") from None
    items = head.get("parts") if isinstance(head, dict) else None
    if not isinstance(items, list):
        raise ValueError('the batch\'s first line must be {"parts": [...]}')
    if len(items) > MAX_PARTS:
        raise ValueError(f"a batch carries at most {MAX_PARTS} parts, not {len(items)}")
    parts: list[Part] = []
    at, seen = nl + 1, set()
    for i, d in enumerate(items):
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise ValueError(f'part {i} must be {{"name": ..., "offset": N, "length": N}}')
        name = d["name"]
        if name in seen:
            raise ValueError(f"part {i}: {name!r} is named twice in one batch")
        seen.add(name)
        offset, length = _count(d, "offset", i), _count(d, "length", i)
        assert offset is not None and length is not None
        size = _count(d, "size", i, needed=False)
        sha = d.get("sha256")
        if sha is not None and not isinstance(sha, str):
            raise ValueError(f"part {i}: 'sha256' must be a string")
        if at + length > len(body):
            raise ValueError(f"part {i} ({name}) runs past the body's end: the lengths do not add up")
        parts.append(Part(name, offset, body[at : at + length], size, sha))
        at += length
    if at != len(body):
        raise ValueError(f"{len(body) - at} bytes after the last part: the lengths do not add up")
    return parts


__all__ = ["MAX_PARTS", "Part", "decode", "encode"]
