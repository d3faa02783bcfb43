"""The online uploader: a daemon thread that syncs a run folder with the same code as
``turbotrack sync`` whenever the run's writer stored a new block (``Core.wait_sealed``, when it
has the run's core), and at least every ``sync_interval`` seconds; it heartbeats while the run lives.

It never blocks ``log()``: it reads only what the writer has already sealed on disk. While the
server is away it retries with exponential backoff and jitter; ``finish()`` waits at most
``sync_timeout`` seconds for a last full pass, then warns with the command that completes it.
A server that refuses the key (401, 403) is no passing trouble: the uploader says so on stderr at
once, in one line naming the server and what to do, and stops; ``finish()`` then waits for nothing."""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import KeyRefusedError
from ..store import layout
from ..store.client import Client, check_base_url, resolve_base_url
from .core import FilesFailed, RunSync

MAX_BACKOFF = 30.0
#: The least time between two passes woken by new blocks (a run logging flat out seals many a
#: second). Each pass is Python work on a thread of the run's process, taking the GIL from the
#: training loop: 0.5 s against 0.1 s cut an online run's log() calls over 100 µs from 95-137 to
#: 29-53 in 600,000 (``benches/tail.py --online --min-gap``, RESULTS.md section 26), for at most
#: 0.4 s more before a block is on the server.
MIN_GAP = 0.5


class Uploader:
    """Background sync of one run folder to one server."""

    def __init__(
        self,
        run_dir: Path,
        base_url: str,
        api_key: Optional[str],
        interval: float = 2.0,
        core: Any = None,
        rank: Optional[int] = None,
    ) -> None:
        """``rank``: in a shared run, this process's rank; its uploader sends only the files that rank
        writes (:func:`layout.writer_rank`, and the ``files/`` it saved: :meth:`claim`), each rank its own.
        None (a run of one process): every file of the run folder."""
        self.run_dir = Path(run_dir)
        self.rank = rank
        self._claimed: set[str] = set()  # files/ this process saved: sent although rank 0 owns files/
        self._core = core  # the run's history stream (turbotrack._core.Core), to wake on new blocks
        self._sealed = 0
        self.base_url = base_url
        self.interval = max(0.05, float(interval))
        self._client = Client(base_url, api_key, timeout=max(30.0, self.interval * 5))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._final = threading.Event()  # a pass that started after finish() succeeded
        self._finishing = False
        self.last_error: Optional[BaseException] = None
        self.refused: Optional[KeyRefusedError] = None  # the server refused the key: stopped for good
        self._thread = threading.Thread(target=self._loop, name="turbotrack-uploader", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        backoff = self.interval
        sync: Optional[RunSync] = None
        while not self._stop.is_set():
            finishing = self._finishing
            try:
                sync = sync or self._run_sync()
                sync.sync(heartbeat_ttl=max(3 * self.interval, 10.0), live=not finishing)
                self.last_error = None
                backoff = self.interval
                if finishing:
                    self._final.set()
                    return
                delay = self.interval
            except KeyRefusedError as e:  # a wrong key stays wrong: say so now, once, and stop
                self.last_error = self.refused = e
                self._client.close()
                self._say_refused(e)
                return
            except FilesFailed as e:  # the rest went up: keep the pace; finish() names what did not
                self.last_error = e
                backoff = delay = self.interval
                if finishing:
                    self._final.set()
                    return
            except Exception as e:  # the server is away or failed: retry later, never raise
                self.last_error = e
                self._client.close()
                sync = None
                backoff = min(MAX_BACKOFF, backoff * 2)
                delay = backoff * (0.5 + random.random() / 2)
                if finishing:
                    delay = min(delay, 1.0)
            self._sleep(delay)

    def _say_refused(self, e: KeyRefusedError) -> None:
        what = "refused the API key" if e.status == 401 else "refused this key's writes"
        why = e.body.get("error") or e.message
        print(
            f"turbotrack: ERROR {self.base_url} {what} (HTTP {e.status}: {why}); the run is saved locally, "
            f"not uploaded. To fix: {e.hint}; then 'turbotrack sync {self.run_dir} --base-url {self.base_url}'",
            file=sys.stderr,
            flush=True,
        )

    def _run_sync(self) -> RunSync:
        if self.rank is None:
            return RunSync(self._client, self.run_dir)
        rank, claimed = self.rank, self._claimed
        return RunSync(
            self._client,
            self.run_dir,
            only=lambda rel: layout.writer_rank(rel) == rank or rel in claimed,
            marker_key=f"{self.base_url}#r{rank}",
        )

    def claim(self, rels: Iterable[str]) -> None:
        """Send these files too (names relative to the run folder): the ``files/`` a rank > 0 saved."""
        self._claimed.update(rels)
        self._wake.set()

    def _sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds, or less: until finish() asks, or (while the server answers) until
        the writer stored a new block."""
        core = self._core
        deadline = time.monotonic() + delay
        while core is not None and self.last_error is None and not self._wake.is_set() and not core.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            seen = core.wait_sealed(self._sealed, min(left, 0.5))
            if seen != self._sealed:
                self._sealed = seen
                deadline = min(deadline, time.monotonic() + MIN_GAP)
                break
        self._wake.wait(max(0.0, deadline - time.monotonic()))
        self._wake.clear()

    def finish(self, timeout: float = 30.0) -> bool:
        """Ask for a last pass and wait at most ``timeout`` seconds; warn when it did not complete.
        After a refused key (said when it happened) it waits for nothing and warns no more."""
        if self.refused is not None or not self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            return False
        self._finishing = True
        self._wake.set()
        deadline = time.monotonic() + max(0.0, timeout)
        while not self._final.is_set() and time.monotonic() < deadline:
            self._final.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            self._wake.set()
        done = self._final.is_set()
        self._stop.set()
        self._wake.set()
        if done and isinstance(self.last_error, FilesFailed):
            names = "; ".join(f"{rel} ({why})" for rel, why in self.last_error.failed)
            warnings.warn(
                f"turbotrack: the run is on {self.base_url} except {len(self.last_error.failed)} file(s): "
                f"{names}; once fixed, send them with: turbotrack sync {self.run_dir} --base-url {self.base_url}",
                stacklevel=3,
            )
            return False
        if not done:
            why = f" ({self.last_error})" if self.last_error else ""
            warnings.warn(
                f"turbotrack: the run is saved locally but not yet fully on {self.base_url}{why}; "
                f"finish the upload with: turbotrack sync {self.run_dir} --base-url {self.base_url}",
                stacklevel=3,
            )
        return done


_warned_no_server = False


def for_run(settings: Any, run_dir: Path, core: Any = None) -> Optional[Uploader]:
    """The uploader of a run in online mode (``settings.mode == "online"``) to its server: the
    ``base_url`` setting, else ``$TURBOTRACK_BASE_URL``, else the last ``turbotrack login``'s; None
    offline. Online with no server at all: one warning line on stderr (once a process, none when
    ``silent``), and None.
    ``core``: the run's history stream, whose new blocks wake the uploader. Each rank of a shared run
    uploads only its own files."""
    global _warned_no_server
    if settings.mode != "online":
        return None
    base_url = resolve_base_url(settings.base_url)
    if not base_url:
        env = os.environ.get("TURBOTRACK_SILENT") or os.environ.get("WANDB_SILENT") or ""
        silent = settings.silent or env.lower() in ("1", "true")  # as compat.term's notices
        if not _warned_no_server and not silent:
            _warned_no_server = True
            print(
                "turbotrack: WARNING mode='online' but no server is configured: this run is written locally "
                "only; set settings base_url, $TURBOTRACK_BASE_URL or 'turbotrack login --base-url URL KEY', "
                "or upload it later with 'turbotrack sync --base-url URL'",
                file=sys.stderr,
                flush=True,
            )
        return None
    base_url = check_base_url(base_url)[0]
    rank = int(settings.rank or 0) if settings.shared else None
    return Uploader(run_dir, base_url, settings.api_key, settings.sync_interval, core, rank)
