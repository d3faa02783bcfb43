"""The history file's framing as sync and the server need it, all of it walked by the native core
(``_core.scan_blocks``: header, block magic, lengths, CRC; ``_core.check_stream``: the full check
of uploaded bytes, each block decompressed within its declared length and decoded). This module
only reads a file a window at a time, so a walk never holds more than one window (or one block,
when a block is larger) in memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Optional

from .. import _core

#: The most bytes a block holds, compressed or not (the core's bound: a longer one is damage).
MAX_BLOCK: int = _core.MAX_BLOCK
#: The most a file header and one block take together: a window this long that holds no whole
#: block holds damage, not a block cut short by the window.
_MAX_SPAN = MAX_BLOCK + (1 << 17)


def scan(data: bytes, at_start: bool) -> tuple[int, int, Optional[str]]:
    """Whole CRC-valid blocks of ``data`` (``at_start``: the file header first): (end of the last
    whole block, rows, why it stopped early or None). ValueError when the header is damaged."""
    return _core.scan_blocks(data, 0, at_start)


def check_upload(data: bytes, at_start: bool) -> tuple[int, int, Optional[str]]:
    """As :func:`scan`, and each block also decompressed, bounded by its declared length (at most
    :data:`MAX_BLOCK`), to exactly that length, and decoded to the rows its header says: what the
    server accepts, so that no upload holds a block that inflates past what it declares.
    ValueError when ``at_start`` and the file header is damaged."""
    return _core.check_stream(data, at_start)


def spans(fd: int, start: int, end: int, window: int) -> Iterator[tuple[int, memoryview, int]]:
    """Runs of whole valid blocks of the open file ``fd`` between ``start`` and ``end`` (at 0 the
    file header counts as a block of no rows): ``(offset, bytes, rows)`` each, at most ``window``
    bytes unless one block alone is longer. Stops at the first byte that starts no whole block (a
    torn tail, damage). ValueError when the file header is damaged."""
    pos = start
    size = max(1, window)
    while pos < end:
        want = min(size, end - pos)
        data = os.pread(fd, want, pos)
        got, rows, _ = _core.scan_blocks(data, 0, pos == 0)
        if got == 0:
            if len(data) < want or pos + want >= end or want >= _MAX_SPAN:
                return  # the bytes end inside a block, or no block starts here
            size = min(_MAX_SPAN, size * 2)  # one block longer than the window: look further
            continue
        yield pos, memoryview(data)[:got], rows
        pos += got
        size = max(1, window)


def valid_end(fd: int, start: int, end: int, window: int = 4 << 20) -> int:
    """Where the whole valid blocks of ``fd`` from ``start`` (a block boundary, or 0) end."""
    pos = start
    for at, data, _rows in spans(fd, start, end, window):
        pos = at + len(data)
    return pos
