"""The history file's framing, as sync and the server check it: the file header and whole
CRC-valid blocks (docs/file-format.md; the CRC is CRC-32 as zlib computes it), and the full check
of uploaded bytes (each block decompressed within its declared length and decoded, by the core)."""

from __future__ import annotations

import struct
import zlib
from typing import Optional

from .. import _core

FILE_MAGIC = b"TTRK"
BLOCK_MAGIC = b"TTBK"
BLOCK_HEADER = 20
HEADER_FIXED = 16
#: The most bytes a block holds, compressed or not (the core's bound: a longer one is damage).
MAX_BLOCK: int = _core.MAX_BLOCK


def header_end(data: memoryview) -> Optional[int]:
    """The end of a valid file header at the start of ``data``; None when cut short; ValueError when damaged."""
    if len(data) < HEADER_FIXED:
        if bytes(data[:4]) != FILE_MAGIC[: min(4, len(data))]:
            raise ValueError("not a turbotrack history file (bad magic bytes)")
        return None
    if bytes(data[:4]) != FILE_MAGIC:
        raise ValueError("not a turbotrack history file (bad magic bytes)")
    (meta_len,) = struct.unpack_from("<H", data, 6)
    end = HEADER_FIXED + meta_len
    if len(data) < end + 4:
        return None
    (crc,) = struct.unpack_from("<I", data, end)
    if crc != zlib.crc32(data[:end]):
        raise ValueError("the file header is damaged (checksum mismatch)")
    return end + 4


def scan_blocks(data: memoryview, pos: int = 0) -> tuple[int, int, Optional[str]]:
    """Walk whole CRC-valid blocks from ``pos``: (end of the last whole block, rows, why it stopped
    early or None when the data ends exactly there)."""
    rows = 0
    n = len(data)
    while pos < n:
        if n - pos < BLOCK_HEADER:
            return pos, rows, f"at byte {pos}: a block header is cut short"
        if bytes(data[pos : pos + 4]) != BLOCK_MAGIC:
            return pos, rows, f"at byte {pos}: no block starts here"
        comp_len, raw_len, n_rows, crc = struct.unpack_from("<IIII", data, pos + 4)
        if comp_len > MAX_BLOCK or raw_len > MAX_BLOCK:
            return pos, rows, f"at byte {pos}: a block length is implausible"
        end = pos + BLOCK_HEADER + comp_len
        if end > n:
            return pos, rows, f"at byte {pos}: the block is cut short"
        if zlib.crc32(data[pos + BLOCK_HEADER : end], zlib.crc32(data[pos + 4 : pos + 16])) != crc:
            return pos, rows, f"at byte {pos}: block checksum mismatch"
        rows += n_rows
        pos = end
    return pos, rows, None


def valid_prefix(data: memoryview, at_start: bool) -> tuple[int, int, Optional[str]]:
    """The whole-block prefix of stream bytes (``at_start``: they begin with the file header)."""
    pos = 0
    if at_start:
        end = header_end(data)
        if end is None:
            return 0, 0, "the file header is cut short"
        pos = end
    return scan_blocks(data, pos)


def check_upload(data: bytes, at_start: bool) -> tuple[int, int, Optional[str]]:
    """As :func:`valid_prefix`, and each block also decompressed, bounded by its declared length
    (at most :data:`MAX_BLOCK`), to exactly that length, and decoded to the rows its header says:
    what the server accepts, so that no upload holds a block that inflates past what it declares.
    ValueError when ``at_start`` and the file header is damaged."""
    return _core.check_stream(data, at_start)
