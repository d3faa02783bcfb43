"""The append lane: a replica's appends and live state files answered in batches by one thread
(docs/server.md, "Replicas").

A live run's uploader sends an append a pass and its summary every few seconds, so at a thousand
live runs these are nearly all of a replica's requests. Each one used to go through a worker
thread of its own: its key looked up (a query), its item handed to the committer and its thread
woken once the pack was in, its bytes written into the cache, the event loop woken to answer.
Under that load most of a replica's CPU was the kernel switching those threads (the GIL changed
hands ten times or so a request; benches/RESULTS.md section 28). Here such a request waits on the
event loop while this one thread takes them in batches: the keys of a batch in one query, each
request's checks (the route's own), one pack and one transaction (``Committer.commit``), the
bytes into the cache (a batch's files at once, on a few threads: each waits on the disk), the
heartbeats the appends carry in one transaction, the index rows of the state files marked in one
more, the runs whose ``run*.json`` came (a run starting or finishing: read at once) read with their
rows in one more, then the event loop woken once for the whole batch. Any state file sent whole
in one chunk (JSON) goes by the lane.

The lane answers only what succeeds. Anything else (a key that does not let the request in, a bad
query, an offset the database refused, a failed commit, a bug) goes the ordinary way, the route in
a worker thread (``ServerApp._admit_and_call``), which answers it exactly as it always did: an
append is conditional on its offset and a state file is replaced whole, so trying one again there
neither loses nor doubles it."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from . import routes
from .replica import WINDOW, ObjectIngest, _Item

if TYPE_CHECKING:
    from .asgi import ServerApp

log = logging.getLogger("turbotrack.server")

#: answered by the ordinary path, not the lane
FALLBACK = object()
#: at most this many appends a batch (one pack, one transaction)
MAX_BATCH = 256
#: threads writing a batch's bytes into the cache
CACHE_THREADS = 8


@dataclass
class _Pending:
    route: routes.Route
    params: dict[str, str]
    headers: dict[str, str]
    method: str
    scope: dict[str, Any]
    body: bytes
    future: asyncio.Future[Any]
    answer: Any = FALLBACK
    path: Optional[Path] = None
    item: Optional[_Item] = None
    beat: Optional[tuple[Any, float]] = None  # (run path, ttl) of a heartbeat an append carries
    whole: bool = False  # a state file sent whole (else an append)
    marks: Optional[tuple[Any, str]] = None  # (run path, name) of one whose upload marks the run's row
    reads: Any = None  # the run path of a run*.json, whose upload has the run read at once
    extra: dict[str, Any] = field(default_factory=dict)


class Lane:
    """Takes a replica's small appends and state files sent with an API key (see the module)."""

    def __init__(self, app: ServerApp, ingest: ObjectIngest, window: float = WINDOW) -> None:
        self.app = app
        self.ingest = ingest
        self.window = window
        self._q: queue.SimpleQueue[Optional[_Pending]] = queue.SimpleQueue()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        #: requests the lane answered, and those it sent the ordinary way (the tests read them)
        self.answered = 0
        self.passed_on = 0
        #: a batch's bytes go into the cache at once: each file's open, write and rename wait on the
        #: disk (ext4 flushes a file renamed over another), not on the GIL
        self._writes = ThreadPoolExecutor(CACHE_THREADS, thread_name_prefix="turbotrack-lane-cache")
        self._thread = threading.Thread(target=self._run, name="turbotrack-lane", daemon=True)
        self._thread.start()

    @staticmethod
    def takes(route: routes.Route, method: str, headers: dict[str, str], length: str, small: int) -> bool:
        """Whether a request may go by the lane: a PUT to a run file with a key and a small body of
        declared length (the lane decides the rest: an append, or the ordinary path)."""
        return (
            route.handler is routes.upload
            and method == "PUT"
            and headers.get("authorization", "").startswith("Bearer ")
            and length.isdigit()
            and int(length) <= small
        )

    async def answer(
        self,
        route: routes.Route,
        params: dict[str, str],
        headers: dict[str, str],
        method: str,
        scope: dict[str, Any],
        body: bytes,
    ) -> Any:
        """The route's answer, or :data:`FALLBACK` when the ordinary path must answer."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        fut: asyncio.Future[Any] = loop.create_future()
        self._q.put(_Pending(route, params, headers, method, scope, body, fut))
        return await fut

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=10)
        self._writes.shutdown(wait=False)

    # ---- the lane's thread ----

    def _run(self) -> None:
        while True:
            first = self._q.get()
            if first is None:
                return
            time.sleep(self.window)  # what arrives meanwhile shares the pack and the transaction
            batch, stop = [first], False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            try:
                self._serve(batch)
            except Exception:  # a bug: every request of the batch goes the ordinary way, which says
                log.exception("the append lane failed a batch of %d; they go the ordinary way", len(batch))
                for p in batch:
                    p.answer = FALLBACK
            self._deliver(batch)
            if stop:
                return

    def _serve(self, batch: list[_Pending]) -> None:
        state = self.app.state
        keys = [p.headers.get("authorization", "")[7:].strip() for p in batch]
        whos = state.keys.check_many(keys)
        ready: list[_Pending] = []
        for p, who in zip(batch, whos):
            if who is None:
                continue  # the ordinary path answers the 401
            try:
                who = self.app._admit(p.route, p.params, p.headers, p.method, p.scope, who=who)
                req = self.app.request(p.route, p.params, who, p.body, p.headers, p.scope)
                target = routes.append_target(state, req)
                if target is not None:
                    rp, path, kind = target
                    p.item = self.ingest.append_item(path, kind, req.query.offset, p.body)
                    if req.query.heartbeat is not None:
                        p.beat = (rp, req.query.heartbeat)
                else:
                    whole = routes.state_file_target(state, req)
                    if whole is None:
                        continue
                    rp, name, path, action = whole
                    p.item = self.ingest.whole_item(path, p.body, req.query.sha256)
                    p.whole = True
                    p.marks = (rp, name) if action == "mark" else None
                    p.reads = rp if action == "read" else None
                p.path = path
                ready.append(p)
            except Exception:  # refused (the ordinary path says why) or unexpected: it says too
                continue
        if not ready:
            return
        self.ingest.committer.commit([p.item for p in ready if p.item is not None])
        # the 409s and errors the ordinary path tries again and answers; the rest into the cache
        by_file: dict[Path, list[_Pending]] = {}  # one file's items in their order, on one thread
        for p in ready:
            if p.item is not None and p.item.error is None and not p.item.conflict and p.path is not None:
                by_file.setdefault(p.path, []).append(p)
        done = [p for ps in self._writes.map(self._cache, by_file.values()) for p in ps]
        # the rows of the state files marked (read again a little later), and of the runs whose
        # run.json came read at once, each kind in one transaction
        done = self._indexed(done, lambda p: p.marks[0] if p.marks else None, state.reindex.changed_many)
        done = self._indexed(done, lambda p: p.reads, state.reindex.now_many)
        beats = [p for p in done if p.beat is not None]
        if beats:
            try:
                hits = state.index.touch_many([p.beat for p in beats if p.beat is not None])
            except Exception:  # not recorded: the answer says so, the uploader sends one of its own
                hits = [False] * len(beats)
            for p, hit in zip(beats, hits):
                p.extra["heartbeat"] = hit
        for p in done:
            p.answer = p.extra

    @staticmethod
    def _indexed(done: list[_Pending], run_of: Any, update: Any) -> list[_Pending]:
        """``update`` (one transaction) the index rows of the runs ``run_of`` names among ``done``;
        what is left to answer: should it fail, those go the ordinary way (stored again, each run's
        row updated alone)."""
        these = [(p, run_of(p)) for p in done]
        runs = [rp for _, rp in these if rp is not None]
        if not runs:
            return done
        try:
            update(runs)
        except Exception:
            for p, rp in these:
                if rp is not None:
                    p.extra = {}
            return [p for p, rp in these if rp is None]
        return done

    def _cache(self, items: list[_Pending]) -> list[_Pending]:
        """One file's committed items into the cache, in order (on one of the cache's threads);
        those done."""
        done = []
        for p in items:
            assert p.item is not None and p.path is not None
            try:
                if p.whole:
                    size = self.ingest.put_whole(p.path, p.item)
                else:
                    size = self.ingest.appended(p.path, p.item)
            except Exception:
                continue
            p.extra = {"size": size}
            done.append(p)
        return done

    def _deliver(self, batch: list[_Pending]) -> None:
        ours = sum(1 for p in batch if p.answer is not FALLBACK)
        self.answered += ours
        self.passed_on += len(batch) - ours
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def resolve() -> None:
            for p in batch:
                if not p.future.done():
                    p.future.set_result(p.answer)

        try:
            loop.call_soon_threadsafe(resolve)  # the event loop woken once a batch
        except RuntimeError:  # the loop closed meanwhile (the server stopping)
            pass


__all__ = ["FALLBACK", "Lane"]
