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
in one chunk (JSON, or a blob) goes by the lane, and so does a batch of such uploads of one run
(``POST .../files``, ``store/batch.py``: a live run's pass in one request), its parts committed
with the rest and answered together.

The lane answers only what succeeds (a batch: all of its parts). Anything else (a key that does
not let the request in, a bad query, an offset the database refused, a failed commit, a bug) goes
the ordinary way, the route in a worker thread (``ServerApp._admit_and_call``), which answers it
exactly as it always did: an append is conditional on its offset and a state file is replaced
whole, so trying one again there neither loses nor doubles it."""

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
class _Unit:
    """One file's upload in a request (a batch carries several): checked, then committed."""

    path: Path
    item: _Item
    whole: bool  # a state file sent whole (else an append)
    marks: Optional[tuple[Any, str]] = None  # (run path, name) of one whose upload marks the run's row
    reads: Any = None  # the run path of a run*.json, whose upload has the run read at once
    answer: Optional[dict[str, Any]] = None  # {"size": N} once it is in the store and the cache


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
    units: list[_Unit] = field(default_factory=list)
    beat: Optional[tuple[Any, float]] = None  # (run path, ttl) of a heartbeat the request carries
    new: Optional[Path] = None  # the run folder of a batch sent as a new run's (``?new=1``)

    @property
    def many(self) -> bool:
        """A batch (``POST .../files``): answered part by part."""
        return self.route.handler is routes.upload_many


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
        """Whether a request may go by the lane: a PUT to a run file, or a batch of them, with a key
        and a small body of declared length (the lane decides the rest: appends and whole files, or
        the ordinary path)."""
        return (
            (route.handler, method) in ((routes.upload, "PUT"), (routes.upload_many, "POST"))
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
                if p.many:
                    rp, subs = routes.batch_parts(state, req)
                    p.new = rp.dir if req.query.new else None
                else:
                    rp, subs = None, [req]
                taken = [self._unit(state, sub) for sub in subs]
                if any(u is None for u in taken):
                    continue  # a part the lane does not take: the whole request goes the ordinary way
                p.units = [u for u in taken if u is not None]
                if req.query.heartbeat is not None and (p.many or not p.units[0].whole):  # as the routes take it
                    p.beat = (rp or routes.run_path(state, p.params), req.query.heartbeat)
                ready.append(p)
            except Exception:  # refused (the ordinary path says why) or unexpected: it says too
                continue
        # batches sent as new runs' first files: those whose run the server holds go the ordinary
        # way, which refuses them whole (one query for them all)
        news = [p for p in ready if p.new is not None]
        if news:
            held = state.ingest.holding([p.new for p in news if p.new is not None])
            ready = [p for p in ready if p.new is None or p.new not in held]
        if not ready:
            return
        units = [u for p in ready for u in p.units]
        if units:
            self.ingest.committer.commit([u.item for u in units])
        # the 409s and errors the ordinary path tries again and answers; the rest into the cache
        by_file: dict[Path, list[_Unit]] = {}  # one file's items in their order, on one thread
        for u in units:
            if u.item.error is None and not u.item.conflict:
                by_file.setdefault(u.path, []).append(u)
        done = [u for us in self._writes.map(self._cache, by_file.values()) for u in us]
        # the rows of the state files marked (read again a little later), and of the runs whose
        # run.json came read at once, each kind in one transaction; a run read at once is not
        # marked too (a new run's first batch: its config with its run.json, read once)
        read = {u.reads.dir for u in done if u.reads is not None}
        marked = lambda u: u.marks[0] if u.marks and u.marks[0].dir not in read else None  # noqa: E731
        done = self._indexed(done, marked, state.reindex.changed_many)
        self._indexed(done, lambda u: u.reads, state.reindex.now_many)
        # a request is answered here once all of its parts are done; else the ordinary path does
        # it all again (a part done here is then answered as the 409 of an offset already held, or
        # its whole file written again: neither loses nor doubles a byte)
        whole = [p for p in ready if all(u.answer is not None for u in p.units)]
        hits: dict[int, bool] = {}
        beats = [p for p in whole if p.beat is not None]
        if beats:
            try:
                touched = state.index.touch_many([p.beat for p in beats if p.beat is not None])
            except Exception:  # not recorded: the answer says so, the uploader sends one of its own
                touched = [False] * len(beats)
            hits = {id(p): hit for p, hit in zip(beats, touched)}
        for p in whole:
            answer: dict[str, Any] = {"parts": [u.answer for u in p.units]} if p.many else dict(p.units[0].answer or {})
            if id(p) in hits:
                answer["heartbeat"] = hits[id(p)]
            p.answer = answer

    def _unit(self, state: Any, req: routes.Req) -> Optional[_Unit]:
        """One upload checked as the route checks it and ready to commit: an append, or a file sent
        whole in one chunk; None for any other (the ordinary path takes it)."""
        target = routes.append_target(state, req)
        if target is not None:
            _, path, kind = target
            return _Unit(path, self.ingest.append_item(path, kind, req.query.offset, req.body), whole=False)
        whole = routes.whole_file_target(state, req)
        if whole is None:
            return None
        rp, name, path, action = whole
        return _Unit(
            path,
            self.ingest.whole_item(path, req.body, req.query.sha256),
            whole=True,
            marks=(rp, name) if action == "mark" else None,
            reads=rp if action == "read" else None,
        )

    @staticmethod
    def _indexed(done: list[_Unit], run_of: Any, update: Any) -> list[_Unit]:
        """``update`` (one transaction) the index rows of the runs ``run_of`` names among ``done``;
        what is left done: should it fail, those are not (their requests go the ordinary way, stored
        again, each run's row updated alone)."""
        these = [(u, run_of(u)) for u in done]
        runs = [rp for _, rp in these if rp is not None]
        if not runs:
            return done
        try:
            update(runs)
        except Exception:
            for u, rp in these:
                if rp is not None:
                    u.answer = None
            return [u for u, rp in these if rp is None]
        return done

    def _cache(self, units: list[_Unit]) -> list[_Unit]:
        """One file's committed items into the cache, in order (on one of the cache's threads);
        those done."""
        done = []
        for u in units:
            try:
                size = self.ingest.put_whole(u.path, u.item) if u.whole else self.ingest.appended(u.path, u.item)
            except Exception:
                continue
            u.answer = {"size": size}
            done.append(u)
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
