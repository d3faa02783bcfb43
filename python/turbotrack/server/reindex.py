"""When a run's row in the index is read again from its state files (docs/server.md, "The index").

A live run's uploader rewrites its summary every few seconds; reading the run again at each such
upload was most of a replica's CPU at a thousand live runs (benches/RESULTS.md section 22). So an
upload of ``summary*.json``, ``config*.json`` or ``metrics*.json`` to a run the index holds only
*marks* its row (``runs.dirty``: one statement) and is remembered here; the row is read again
``DEBOUNCE`` seconds after the first mark, so at most once per ``DEBOUNCE`` per run. An upload of
``run*.json`` (a run starting, finishing, renamed) is read at once, with every state file; another
state file of a run the index lacks is read at once only when the run's ``run*.json`` is here (a
starting run's config comes first, and its run.json's upload reads it).

Readers: a run read alone (``GET .../<id>``, its logs: ``checks.index_run``) is read again first
when marked, so its page is exact; the runs list and its filters may show a live run's summary up
to ``DEBOUNCE`` seconds old (its row's ``updated`` is then bumped, so the UI's ``since=`` poll
lists it).

Across replicas the mark lives in the database: another replica reading the run alone sees it, and
a replica killed with marked runs leaves them marked; every ``SWEEP`` seconds each replica takes
the marks older than ``STALE`` (each run by one replica, under a lease written into the mark) and
reads those runs again."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from ..store import layout
from .index import Index
from .ingest import Ingest

log = logging.getLogger("turbotrack.server")

#: A marked run is read again this long after its first mark (seconds).
DEBOUNCE = 10.0
#: A mark this old (seconds) was left by a replica that did not read the run again (killed): any
#: replica takes it.
STALE = 3 * DEBOUNCE
#: How often each replica looks for such marks, and how long one that took a run has to read it.
SWEEP = 5.0
LEASE = 60.0
#: runs read again in one transaction (their old signatures in one query)
CHUNK = 64
#: A file whose upload is only marked: the ones a live run rewrites. ``run*.json`` is read at once.
_MARKED = ("summary", "config", "metrics")

_Key = tuple[str, str, str]


class Reindexer:
    """The index's rows read again from the files: at once, or a little later (see the module)."""

    def __init__(
        self, index: Index, ingest: Ingest, debounce: float = DEBOUNCE, stale: float = STALE, sweep: float = SWEEP
    ) -> None:
        self.index = index
        self.ingest = ingest
        self.debounce = debounce
        self.stale = stale
        self.sweep_every = sweep
        self._pending: dict[_Key, float] = {}  # run -> its first mark here (time.monotonic())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._error = ""

    # ---- what the routes call ----

    def now(self, rp: layout.RunPath, force: bool = False, bump: bool = False) -> bool:
        """Read the run's state files into its row now (a replica fetches them first); whether the
        row holds them (``Index.refresh``). Clears its mark."""
        read_at = time.time()  # before the fetch: a change marked after it is read again later
        with self._lock:
            self._pending.pop((rp.entity, rp.project, rp.run_id), None)
        self.ingest.pull(rp.dir, streams=False)
        return self.index.refresh(rp, force=force, read_at=read_at, bump=bump)

    def now_many(
        self, runs: list[layout.RunPath], bump: bool = False, failed: Optional[Callable[[_Key, Exception], None]] = None
    ) -> list[layout.RunPath]:
        """:meth:`now` of each run, their rows in one transaction (``server/lane.py``'s batches of
        ``run*.json`` uploads; the debounced re-reads); the runs read. ``failed``: told of a run
        whose files could not be fetched (it is left out), else that failure goes up."""
        read_at = time.time()  # before the fetches: a change marked after it is read again later
        with self._lock:
            for rp in runs:
                self._pending.pop((rp.entity, rp.project, rp.run_id), None)
        # a replica reads every run's rows in one query: the fetches and the signatures go by them
        rows = self.ingest.rows_of([rp.dir for rp in runs])
        fetched: list[layout.RunPath] = []
        for rp in runs:
            try:
                self.ingest.pull(rp.dir, streams=False, rows=None if rows is None else rows[rp.dir])
            except Exception as e:
                if failed is None:
                    raise
                failed((rp.entity, rp.project, rp.run_id), e)
                continue
            fetched.append(rp)
        signed = None if rows is None else {rp: self.ingest.signed(rows[rp.dir]) for rp in fetched}
        self.index.refresh_many(fetched, read_at, bump=bump, signed=signed)
        return fetched

    def changed(self, rp: layout.RunPath, name: str) -> None:
        """A state file ``name`` of the run was uploaded: its row is read again now or marked."""
        if not name.startswith(_MARKED):
            self.now(rp)
            return
        self._marked(rp, self.index.mark(rp))

    def changed_many(self, runs: list[layout.RunPath]) -> None:
        """:meth:`changed` of a marked state file (``summary*``, ``config*``, ``metrics*``) of each
        run, the marks in one transaction (``server/lane.py``'s batches)."""
        for rp, hit in zip(runs, self.index.mark_many(runs)):
            self._marked(rp, hit)

    def _marked(self, rp: layout.RunPath, hit: bool) -> None:
        if not hit:
            # Not indexed: a run starting sends its config and metadata before its run.json (the
            # uploader's order), and that upload reads every state file. Read now only a run whose
            # run.json is here already (an index rebuilt meanwhile): two reads a start fewer.
            if layout.is_run_dir(rp.dir):
                self.now(rp)
            return
        with self._lock:
            self._pending.setdefault((rp.entity, rp.project, rp.run_id), time.monotonic())

    def current(self, rp: layout.RunPath) -> None:
        """Before the run's row is read alone: read it again when it is marked (by any replica)."""
        if self.index.is_dirty(rp):
            self.now(rp)

    def pending(self) -> int:
        """Runs marked here and not read again yet."""
        with self._lock:
            return len(self._pending)

    # ---- the background pass ----

    def flush(self, everything: bool = False) -> int:
        """Read again the runs marked here ``debounce`` seconds ago or more (``everything``: all of
        them); how many. A failure keeps the run marked (in the database too): retried."""
        cutoff = time.monotonic() - (0.0 if everything else self.debounce)
        with self._lock:
            due = [k for k, t in self._pending.items() if t <= cutoff]
        done = 0
        for i in range(0, len(due), CHUNK):
            if self._stop.is_set() and not everything:
                break
            done += self._read_again(due[i : i + CHUNK])
        return done

    def _read_again(self, keys: list[_Key]) -> int:
        """:meth:`now_many` of the runs (bumped); how many were read. A run that failed stays
        marked (retried)."""
        runs = [layout.RunPath(self.index.root, *key) for key in keys]
        try:
            return len(
                self.now_many(
                    runs,
                    bump=True,
                    failed=lambda k, e: self._again([k], f"reading run {'/'.join(k)} again failed (retried): {e}"),
                )
            )
        except Exception as e:
            self._again(keys, f"reading runs again failed (retried): {e}")
            return 0

    def _again(self, keys: list[_Key], why: str) -> None:
        with self._lock:
            for key in keys:
                self._pending.setdefault(key, time.monotonic())
        self._say(why)

    def sweep(self) -> int:
        """Read again the runs whose mark is older than ``stale`` seconds (left by a replica killed
        before it read them), each taken by one replica of all; how many."""
        lease = time.time() + LEASE
        taken = self.index.claim_stale(self.stale, lease)
        for key in taken:
            rp = layout.RunPath(self.index.root, *key)
            self.now(rp, bump=True)  # a failure leaves the lease: taken again once it ends
            self.index.release(rp, lease)
        return len(taken)

    def start(self) -> None:
        """Flush and sweep in a daemon thread until :meth:`stop`."""
        if self._thread is not None:
            return

        def loop() -> None:
            tick = max(0.05, min(1.0, self.debounce / 4))
            last_sweep = time.monotonic()
            while not self._stop.wait(tick):
                try:
                    self.flush()
                    if time.monotonic() - last_sweep >= self.sweep_every:
                        last_sweep = time.monotonic()
                        self.sweep()
                    self._error = ""
                except Exception as e:  # the database is away: the marks stay, tried at the next tick
                    self._say(f"reading marked runs again failed (retried): {e}")

        self._thread = threading.Thread(target=loop, name="turbotrack-reindex", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, reading again what is marked here first (best effort: a mark left over
        is swept by another replica or at the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush(everything=True)
        except Exception as e:
            log.warning("reading marked runs again at shutdown failed: %s", e)

    def _say(self, message: str) -> None:
        if message != self._error:
            self._error = message
            log.warning("%s", message)


__all__ = ["DEBOUNCE", "Reindexer"]
