"""A multi-block history file cut at every offset and hit by random bit flips: every intact block
still reads back, the damage is reported, nothing crashes (issue 9). Seconds in CI; more flips
under ``-m slow``."""

from __future__ import annotations

import random
import struct
import warnings
from pathlib import Path

import pytest
from conftest import api_run

import turbotrack
from turbotrack import _core

GROUPS, ROWS = 6, 40


@pytest.fixture
def history(new_run) -> tuple[bytes, list[tuple[int, int]], object]:
    """A finished run of GROUPS blocks of ROWS rows ({"i": n, "s": str}); its bytes and block spans."""
    run = new_run()
    for g in range(GROUPS):
        for i in range(ROWS):
            n = g * ROWS + i
            run.log({"i": n, "s": f"row {n}"} if n % 3 else {"i": n})
        run._core.flush()
    run.finish()
    data = (Path(run.dir) / "history.ttrk").read_bytes()
    meta_len = struct.unpack_from("<H", data, 6)[0]
    pos, spans = 16 + meta_len + 4, []
    while pos < len(data):
        end = pos + 20 + struct.unpack_from("<I", data, pos + 4)[0]
        spans.append((pos, end))
        pos = end
    assert len(spans) == GROUPS
    return data, spans, run


def _expected(spans: list[tuple[int, int]], intact) -> list[int]:
    return [b * ROWS + i for b, span in enumerate(spans) if intact(span) for i in range(ROWS)]


def test_every_truncation_reads_every_whole_block(history, tmp_path):
    data, spans, _ = history
    p = tmp_path / "history.ttrk"
    for cut in range(len(data) + 1):
        p.write_bytes(data[:cut])
        rows = _core.read_rows([p])
        assert [r["i"] for r in rows] == _expected(spans, lambda s, cut=cut: s[1] <= cut), cut
        report = _core.verify_file(p)
        assert report["damaged"] == []  # a cut is a torn tail, never mid-file damage
        whole = cut == spans[0][0] or any(cut == s[1] for s in spans)
        assert (report["torn"] is None) == whole, cut


def _check_flips(data: bytes, spans, path: Path, flips: int, seed: int, per_file: int) -> None:
    rng = random.Random(seed)
    first = spans[0][0]
    for _ in range(flips):
        damaged = bytearray(data)
        hit = sorted(rng.randrange(first, len(data)) for _ in range(per_file))
        for at in hit:
            damaged[at] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        want = _expected(spans, lambda s, hit=hit: not any(s[0] <= at < s[1] for at in hit))
        report = _core.verify_file(path)
        assert report["rows"] == len(want), (hit, report)
        assert report["damaged"] or report["torn"], hit
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = [r["i"] for r in _core.read_rows([path])]
        assert got == want, hit
        assert not caught


def test_random_bit_flips_lose_only_the_blocks_they_hit(history, tmp_path):
    data, spans, run = history
    _check_flips(data, spans, tmp_path / "history.ttrk", flips=300, seed=9, per_file=1)
    _check_flips(data, spans, tmp_path / "history.ttrk", flips=100, seed=10, per_file=3)
    # Through the public API: a warning names the damage, the other blocks are all there.
    path = Path(run.dir) / "history.ttrk"
    damaged = bytearray(data)
    damaged[spans[2][0] + 25] ^= 0x10
    path.write_bytes(bytes(damaged))
    with pytest.warns(UserWarning, match="damaged history skipped"):
        rows = api_run(run).history(pandas=False)
    assert [r["i"] for r in rows] == _expected(spans, lambda s: s != spans[2])


def test_a_damaged_file_header_is_a_clear_error(history, tmp_path):
    data, spans, _ = history
    p = tmp_path / "history.ttrk"
    for at in range(spans[0][0]):
        damaged = bytearray(data)
        damaged[at] ^= 0x01
        p.write_bytes(bytes(damaged))
        with pytest.raises(turbotrack.Error):
            _core.read_rows([p])


@pytest.mark.slow
def test_many_random_bit_flips(history, tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long setting: run with -m slow")
    data, spans, _ = history
    for seed in range(20):
        _check_flips(data, spans, tmp_path / "history.ttrk", flips=500, seed=100 + seed, per_file=1 + seed % 4)
