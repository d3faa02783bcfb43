"""``turbotrack sync``: local runs to a server, sending only what it lacks (see core.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

from ..errors import CommError
from ..store.client import Client, ServerError, check_base_url, resolve_base_url
from .core import Collision, FilesFailed, Progress, RunSync, SyncError, find_runs, run_path_of

__all__ = ["Client", "Collision", "FilesFailed", "Progress", "RunSync", "SyncError", "hint_for", "sync_paths"]


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


class Bar:
    """A progress bar per run on stderr (redrawn in place on a terminal, one line otherwise)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty() and not os.environ.get("NO_COLOR_BAR")
        self._last = 0.0

    def line(self, p: Progress) -> str:
        frac = p.sent_bytes / p.total_bytes if p.total_bytes else 1.0
        filled = int(frac * 24)
        return f"{p.path}  [{'#' * filled}{'.' * (24 - filled)}] {frac:4.0%}  {p.rows:,} rows  {_mb(p.sent_bytes)}"

    def update(self, p: Progress) -> None:
        now = time.monotonic()
        if self.tty and now - self._last > 0.1:
            self._last = now
            self.out.write("\r" + self.line(p))
            self.out.flush()

    def done(self, p: Progress, note: str) -> None:
        text = self.line(p) + f"  {note}"
        self.out.write(("\r" if self.tty else "") + text + "\n")
        self.out.flush()


def hint_for(e: BaseException, base_url: str) -> str:
    """What to do about a failed sync: the error's own hint (a refused key, a server away, a body
    over the limit... each says what to do), else how to resume."""
    hint = getattr(e, "hint", "")
    if isinstance(e, ServerError) and e.status == 413:
        return (
            "one block of the history is longer than the server's body limit (its manifest's max_body): "
            "raise the server's --max-body"
        )
    if isinstance(e, ServerError) and e.status >= 500:
        return f"{hint}; 'turbotrack sync' again resumes where it stopped"
    return hint or f"is the server running at {base_url}? 'turbotrack sync' again resumes where it stopped"


def sync_paths(
    paths: list[Path], base_url: Optional[str] = None, api_key: Optional[str] = None, err: TextIO = sys.stderr
) -> int:
    """Sync every run under ``paths``; 0 when all went up, 1 when any could not (with a hint), 2 when
    there was nothing to sync or nowhere to sync it to. A server that cannot be reached stops the
    sync at the first run (the others would fail the same way)."""
    url = resolve_base_url(base_url)
    if not url:
        err.write("error: no server to sync to\nhint: pass --base-url http://HOST:PORT or set TURBOTRACK_BASE_URL\n")
        return 2
    try:
        url, added = check_base_url(url)
    except ValueError as e:
        err.write(f"error: {e}\nhint: pass --base-url http://HOST:PORT\n")
        return 2
    if added:
        err.write(f"note: {base_url or url[7:]!r} has no scheme: using {url}\n")
    missing = [p for p in paths if not p.exists()]
    if missing:
        err.write(f"error: {missing[0]} does not exist\nhint: give run folders or storage roots that exist\n")
        return 2
    runs = find_runs(paths)
    if not runs:
        err.write(
            f"error: no runs under {', '.join(str(p) for p in paths)}\n"
            "hint: give run folders, or a folder holding turbotrack/ ('turbotrack ls' lists the local runs)\n"
        )
        return 2
    client = Client(url, api_key)
    bar = Bar(err)
    t0 = time.monotonic()
    rows = sent = current = ok = 0
    failed: list[tuple[Path, BaseException]] = []
    for run_dir in runs:
        try:
            rs = RunSync(client, run_dir)
            progress = Progress(rs.rp.path, on_change=bar.update)
            rs.sync(progress)
        except FilesFailed as e:  # the run went up but for these files: each named
            failed.append((run_dir, e))
            rows += progress.rows
            sent += progress.sent_bytes
            ok += 1
            bar.done(progress, f"synced but for {len(e.failed)} file(s)")
            for rel, why in e.failed:
                err.write(f"  {rs.rp.path}: {rel}: could not sync: {why}\n")
            continue
        except (CommError, SyncError, OSError, ValueError) as e:
            failed.append((run_dir, e))
            err.write(f"\r{run_dir}: could not sync: {e}\n")
            client.close()
            if isinstance(e, CommError) and (not isinstance(e, ServerError) or e.status == 401):
                break  # the server cannot be reached, or knows no such key: the other runs would fail the same way
            continue
        rows += progress.rows
        sent += progress.sent_bytes
        current += progress.up_to_date
        ok += 1
        bar.done(progress, "up to date" if progress.up_to_date else "synced")
    dt = time.monotonic() - t0
    err.write(
        f"synced {ok} of {len(runs)} runs to {url} in {dt:.1f}s: {rows:,} rows, {_mb(sent)}"
        f"{f' ({current} already up to date)' if current else ''}\n"
    )
    if failed:
        whole = [(d, e) for d, e in failed if not isinstance(e, FilesFailed)]
        files = [f"{run_path_of(d).path}/{rel}" for d, e in failed if isinstance(e, FilesFailed) for rel, _ in e.failed]
        what = []
        if whole:
            left = len(runs) - ok - len(whole)
            why = "refused the key" if isinstance(whole[-1][1], ServerError) else "cannot be reached"
            skipped = f" ({left} not tried: the server {why})" if left else ""
            names = ", ".join(run_path_of(d).path for d, _ in whole)
            what.append(f"{len(whole) + left} run(s) could not be synced ({names}){skipped}")
        if files:
            what.append(f"{len(files)} file(s) were skipped ({', '.join(files)})")
        err.write(f"error: {'; '.join(what)}\nhint: {hint_for((whole or failed)[0][1], url)}\n")
        return 1
    return 0
