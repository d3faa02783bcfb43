"""Writing one imported run: its history and system streams through the native core's ``log()``,
its JSON files through the store's helpers, all in a hidden folder beside the run's place that is
renamed into place once complete (a killed import leaves no half run; readers skip the folder).

Rows go through ``Core.log(row, step=N, commit=False)``: the core decides what it can store, so a
value it refuses (today a ``None`` or a list, until the core stores them) is dropped from its row
alone and named, never the row. The core stamps each row's ``_timestamp`` when it is logged, so
the source's time of each row is kept beside it as ``_source_timestamp`` and ``_source_runtime``
(hidden in the UI, as every ``_`` name), and run.json keeps the source's start and end.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from .. import _core
from .._fs import atomic_write_bytes, atomic_write_json
from ..data_types import Converter
from ..data_types.base import media_name
from ..store import layout, runinfo

#: The source's time of a row (Unix seconds) and its seconds since the source run started.
SOURCE_TIMESTAMP = "_source_timestamp"
SOURCE_RUNTIME = "_source_runtime"
#: run.json's record of where an imported run came from.
IMPORTED_FROM = "imported_from"
_TMP_PREFIX = ".import-"


class Rich:
    """A rich value (media, histogram, table) already in turbotrack's JSON form, for ``log()``."""

    __slots__ = ("data",)

    def __init__(self, obj: dict[str, Any]) -> None:
        self.data = json.dumps(obj, allow_nan=True).encode()


class _Convert:
    """The cores' converter: a :class:`Rich` as its JSON; anything else as ``log()`` converts it."""

    def __init__(self) -> None:
        self._fallback = Converter(None)

    def __call__(self, name: str, value: Any, step: int = 0) -> Any:
        if type(value) is Rich:
            return value.data
        return self._fallback(name, value, step)


def existing_import(run_dir: Path) -> Optional[dict[str, Any]]:
    """run.json of the run at ``run_dir`` when there is one (``{}`` if it has no import record)."""
    if not layout.is_run_dir(run_dir):
        return None
    info = runinfo.read(run_dir)
    found = info.get(IMPORTED_FROM)
    return found if isinstance(found, dict) else {}


class ImportedRun:
    """One run being written by an importer. ``log()`` rows, ``system()`` rows, add files, then
    ``finish()`` (moves the run into place) or ``abort()`` (removes what was written)."""

    def __init__(self, rp: layout.RunPath, source: dict[str, Any], start_time: Optional[float]) -> None:
        self.rp = rp
        self.source = source
        self.start_time = start_time
        self.dir = rp.dir.parent / f"{_TMP_PREFIX}{rp.run_id}-{os.getpid()}"
        _remove_stale(rp)
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        #: What could not be carried over: a description → how many times.
        self.lost: Counter[str] = Counter()
        self.rows = 0
        #: Every history key logged (as given to log(): nested names dotted).
        self.keys: set[str] = set()
        self._convert = _Convert()
        self._history: Any = None
        self._system: Any = None
        self._media: dict[str, str] = {}

    def _core(self, name: str, stream: str, summary: bool) -> Any:
        return _core.Core(
            self.dir / name,
            summary_path=self.dir / layout.SUMMARY if summary else None,
            start_time=time.time(),
            flush_interval=3600.0,  # seal blocks by size: nothing reads the run before it is moved into place
            metric_names="off",  # names as the source has them
            meta=f"stream={stream};run={self.rp.run_id};imported=1",
            converter=self._convert,
        )

    def log(self, row: dict[str, Any], step: int) -> None:
        """Log ``row`` as the source's step ``step`` (steps must not go backwards)."""
        if self._history is None:
            self._history = self._core(layout.HISTORY, "history", summary=True)
        core = self._history
        try:
            core.log(row, step, False)
        except (TypeError, ValueError, OverflowError):
            # Nothing of the call was recorded: log key by key and name what the core refuses.
            for key, value in row.items():
                try:
                    core.log({key: value}, step, False)
                except (TypeError, ValueError, OverflowError) as e:
                    self.lost[f"history {key!r}: {_kind(value)} values ({_first_line(e)})"] += 1
        self.rows += 1
        self.keys.update(row)

    def system(self, row: dict[str, Any]) -> None:
        """One row of the system metrics stream."""
        if self._system is None:
            self._system = self._core(layout.SYSTEM, "system", summary=False)
        try:
            self._system.log(row)
        except (TypeError, ValueError, OverflowError) as e:
            self.lost[f"a system metrics row ({_first_line(e)})"] += 1

    def copy_media(self, src: Path, kind: str, key: str, step: int) -> str:
        """Copy ``src`` into the run's ``media/<kind>/`` under turbotrack's name; its path in the run."""
        cached = self._media.get(str(src))
        if cached is not None:
            return cached
        data = src.read_bytes()
        name = src.name
        ext = ".table.json" if name.endswith(".table.json") else src.suffix
        rel = f"{layout.MEDIA_DIR}/{kind}/{media_name(key, step, data, ext)}"
        atomic_write_bytes(self.dir / rel, data)
        self._media[str(src)] = rel
        return rel

    def write_media(self, data: bytes, kind: str, key: str, step: int, ext: str) -> str:
        """Write ``data`` as a media file of the run; its path in the run."""
        rel = f"{layout.MEDIA_DIR}/{kind}/{media_name(key, step, data, ext)}"
        atomic_write_bytes(self.dir / rel, data)
        return rel

    def copy_file(self, src: Path, rel: str) -> None:
        """Copy ``src`` to ``rel`` in the run folder (a name of the store's layout)."""
        dest = self.dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)

    def write_json(self, name: str, obj: Any) -> None:
        atomic_write_json(self.dir / name, obj)

    def finish(self, info: dict[str, Any], summary: Optional[dict[str, Any]] = None) -> None:
        """Close the streams, write run.json (``info``: name, state, ... over the defaults) and the
        source's ``summary`` if given (else the one the core aggregated), and move the run into place."""
        for core in (self._history, self._system):
            if core is not None:
                failure = core.finish()
                if failure:
                    raise _core.Error(f"writing {self.dir} failed: {failure}")
        if summary is not None:
            self.write_json(layout.SUMMARY, summary)
        elif not (self.dir / layout.SUMMARY).exists():
            self.write_json(layout.SUMMARY, {})
        now = time.time()
        record = {**self.source, "imported_at": now}
        if self.lost:
            record["not_carried_over"] = [f"{n} × {what}" if n > 1 else what for what, n in self.lost.items()]
        base: dict[str, Any] = {
            "id": self.rp.run_id,
            "name": self.rp.run_id,
            "project": self.rp.project,
            "entity": self.rp.entity,
            "group": None,
            "job_type": None,
            "tags": [],
            "notes": None,
            "state": "finished",
            "start_time": self.start_time if self.start_time is not None else now,
            "end_time": None,
            "exit_code": None,
            "shared": False,
            "rank": 0,
            "host": None,
        }
        runinfo.write(self.dir, {**base, **info, IMPORTED_FROM: record})
        try:
            os.rename(self.dir, self.rp.dir)
        except OSError as e:
            raise FileExistsError(f"{self.rp.dir} appeared while importing ({e}); the import was not moved in") from e

    def abort(self) -> None:
        """Stop the streams and remove what this import wrote."""
        for core in (self._history, self._system):
            if core is not None and not core.finished:
                try:
                    core.finish()
                except Exception:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _remove_stale(rp: layout.RunPath) -> None:
    """Remove hidden folders of imports of this run whose process is gone (killed mid-import)."""
    parent = rp.dir.parent
    if not parent.is_dir():
        return
    for p in parent.glob(f"{_TMP_PREFIX}{rp.run_id}-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not runinfo.process_alive(int(pid), None):
            shutil.rmtree(p, ignore_errors=True)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _first_line(e: BaseException) -> str:
    text = str(e).split(". Nothing of", 1)[0].split(". Log ", 1)[0]
    return text.splitlines()[0] if text else type(e).__name__
