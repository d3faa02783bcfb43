"""Rows paged from a run being written: each page costs its own rows, not every row before it."""

from __future__ import annotations

import os
from pathlib import Path

from turbotrack.server.history import HistoryCache
from turbotrack.store.blocks import spans


def _blocks_of_runs(new_run, runs: int, rows: int) -> list[bytes]:
    """A history file's pieces: its header, then blocks of ``rows`` rows each (steps increasing)."""
    pieces: list[bytes] = []
    for k in range(runs):
        run = new_run()
        for i in range(rows):
            run.log({"x": float(i)}, step=k * rows + i)
        run.finish()
        path = Path(run.dir) / "history.ttrk"
        fd = os.open(path, os.O_RDONLY)
        try:
            got = [bytes(b) for _, b, _ in spans(fd, 0, os.fstat(fd).st_size, 1)]
        finally:
            os.close(fd)
        pieces.extend(got if k == 0 else got[1:])
    return pieces


def test_paging_a_growing_history_decodes_each_row_about_once(new_run, tmp_path):
    pieces = _blocks_of_runs(new_run, 40, 250)
    assert len(pieces) == 41  # the header and one block per run: 40 x 250 rows
    target = tmp_path / "history.ttrk"
    target.write_bytes(b"".join(pieces[:21]))  # 20 blocks there when the first page is asked
    rest = pieces[21:]
    cache = HistoryCache()
    offset, steps = 0, []
    while offset is not None:
        page, offset = cache.rows_page([target], None, offset, 250)
        steps.extend(r["_step"] for r in page)
        if rest:  # the run goes on writing between pages
            with open(target, "ab") as fh:
                fh.write(rest.pop(0))
    assert steps == list(range(len(steps))) and len(steps) >= 20 * 250
    print(f"growing: {cache.rows_decoded} rows decoded for {len(steps)}")
    assert cache.rows_decoded <= len(steps) + 250, f"{cache.rows_decoded} rows decoded for {len(steps)}"
    # a new scan reads what the file holds now
    offset, total = 0, 0
    while offset is not None:
        page, offset = cache.rows_page([target], None, offset, 1000)
        total += len(page)
    assert total == 40 * 250


def test_pages_served_in_turn_by_two_server_processes_each_go_on_from_their_last(new_run, tmp_path):
    """``--workers 2``: a reader's pages alternate between two processes (two caches); each goes on
    from the scan it paused at its last page, so the whole read decodes each row about twice, not
    every row before each page."""
    pieces = _blocks_of_runs(new_run, 20, 250)
    target = tmp_path / "history.ttrk"
    target.write_bytes(b"".join(pieces))
    workers = [HistoryCache(), HistoryCache()]
    offset, steps, turn = 0, [], 0
    while offset is not None:
        page, offset = workers[turn % 2].rows_page([target], None, offset, 100)
        steps.extend(r["_step"] for r in page)
        turn += 1
    assert steps == list(range(20 * 250))
    decoded = sum(w.rows_decoded for w in workers)
    print(f"two workers: {decoded} rows decoded for {len(steps)}")
    assert decoded <= 2 * len(steps) + 200, f"{decoded} rows decoded for {len(steps)}"
