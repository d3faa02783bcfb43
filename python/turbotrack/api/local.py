"""Runs read from the local storage root."""

from __future__ import annotations

import json
import math
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .. import _core, runinfo
from .._fs import atomic_write_json, read_json
from .downsample import m4_rows

HISTORY_GLOB = "history*.ttrk"
SYSTEM_GLOB = "system*.ttrk"
_STREAMS = {"default": HISTORY_GLOB, "history": HISTORY_GLOB, "system": SYSTEM_GLOB}


@dataclass(frozen=True)
class File:
    """A file of a run: ``name`` (relative to the run's folder), ``size`` in bytes, ``path``."""

    name: str
    size: int
    path: str


class RunSummary(MutableMapping):
    """A run's summary as saved. Assign, then call ``update()`` with no argument to save."""

    def __init__(self, path: Path, items: Optional[dict[str, Any]] = None) -> None:
        self._path = path
        self._items: dict[str, Any] = items if items is not None else read_json(path, {}) or {}

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def update(self, other: Any = None, /, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge ``other`` and ``kwargs`` in, then write summary.json (also with no argument)."""
        self._items.update(dict(other or {}, **kwargs))
        atomic_write_json(self._path, self._items)

    def __repr__(self) -> str:
        return f"RunSummary({self._items!r})"


class LocalRun:
    """A run on local disk, as ``Api().run(path)`` returns it."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = str(run_dir)
        self._dir = run_dir
        self._info = runinfo.read(run_dir)
        self.id: str = self._info.get("id", run_dir.name)
        self.name: str = self._info.get("name", self.id)
        self.project: str = self._info.get("project", run_dir.parent.name)
        self.entity: str = self._info.get("entity", run_dir.parent.parent.name)
        self.group: Optional[str] = self._info.get("group")
        self.job_type: Optional[str] = self._info.get("job_type")
        self.tags: list[str] = self._info.get("tags") or []
        self.notes: Optional[str] = self._info.get("notes")
        self.created_at: float = self._info.get("start_time", 0.0)
        self.shared: bool = bool(self._info.get("shared"))
        self.config: dict[str, Any] = self._merged_config()
        self.summary = RunSummary(run_dir / "summary.json", self._merged_summary() if self.shared else None)

    def _merged_config(self) -> dict[str, Any]:
        """Every rank's config; where ranks disagree, rank 0's value."""
        merged: dict[str, Any] = {}
        for p in sorted(self._dir.glob("config.r*.json"), reverse=True):
            merged.update(read_json(p, {}) or {})
        merged.update(read_json(self._dir / "config.json", {}) or {})
        return merged

    def _merged_summary(self) -> dict[str, Any]:
        """A shared run's summary, folded natively over every rank's rows, with the values set by
        hand on rank 0 that are not logged metrics."""
        defs: dict[str, Any] = {}
        for p in sorted(self._dir.glob("metrics*.json"), reverse=True):  # metrics.json (rank 0) last: it wins
            defs.update({d[0]: d for d in read_json(p, []) or []})
        merged = json.loads(_core.summarize_history(self._paths("default"), [tuple(d) for d in defs.values()]))
        for k, v in (read_json(self._dir / "summary.json", {}) or {}).items():
            merged.setdefault(k, v)
        return merged

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed`` or ``crashed`` (its process died unfinished)."""
        return runinfo.combined_state(self._dir) if self.shared else runinfo.state_of(runinfo.read(self._dir))

    @property
    def metadata(self) -> dict[str, Any]:
        return read_json(self._dir / "metadata.json", {}) or {}

    def _paths(self, stream: str) -> list[Path]:
        if stream not in _STREAMS:
            raise ValueError(f"stream must be 'default' or 'system', got {stream!r}")
        return sorted(self._dir.glob(_STREAMS[stream]))

    def history(
        self,
        keys: Optional[Sequence[str]] = None,
        x_axis: str = "_step",
        samples: Optional[int] = None,
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """The history as a pandas DataFrame (a list of row dicts when pandas is not installed or
        ``pandas=False``). With ``keys``, only rows holding all of them, with those columns and
        ``x_axis``; with ``samples``, at most that many rows kept by M4 (each bucket's extremes)."""
        import numpy as np

        data = _core.read_history(self._paths(stream))
        columns: dict[str, Any] = data["columns"]
        present: dict[str, Any] = data["present"]
        n = data["n_rows"]
        keep = np.ones(n, dtype=bool)
        if keys is not None:
            keys = list(keys)
            for k in keys:
                if k in present:
                    keep &= present[k]
                elif not k.startswith("_"):
                    keep[:] = False
            wanted = [*dict.fromkeys([x_axis, *keys])]
            columns = {k: v for k, v in columns.items() if k in wanted}
        rows = np.flatnonzero(keep)
        if samples is not None and len(rows) > samples:
            rows = m4_rows(columns, rows, x_axis, keys, samples)
        picked = {k: _take(v, rows) for k, v in columns.items()}
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                pandas = False
            else:
                return pd.DataFrame(picked)
        return _rows(picked, {k: _take(present[k], rows) for k in picked if k in present}, len(rows))

    def scan_history(
        self,
        keys: Optional[Sequence[str]] = None,
        page_size: int = 1000,
        min_step: Optional[int] = None,
        max_step: Optional[int] = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row as a dict, in step order (with ``keys``: rows holding all of them)."""
        for row in _core.read_rows(self._paths("default"), list(keys) if keys is not None else None):
            step = row["_step"]
            if (min_step is None or step >= min_step) and (max_step is None or step < max_step):
                yield row

    def files(self) -> list[File]:
        """The run's files (history shards and hidden temporaries excluded)."""
        out = []
        for root, dirs, names in os.walk(self._dir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith(".") or name.endswith(".ttrk"):
                    continue
                p = Path(root) / name
                out.append(File(p.relative_to(self._dir).as_posix(), p.stat().st_size, str(p)))
        return out

    def _field(self, key: str) -> Any:
        """A run field by dotted name, for filters and ordering."""
        if key.startswith(("summary_metrics.", "summary.")):
            return self.summary.get(key.split(".", 1)[1])
        if key.startswith("config."):
            return self.config.get(key.split(".", 1)[1])
        if key in ("created_at", "createdAt"):
            return self.created_at
        if key == "state":
            return self.state
        return (
            getattr(self, key, None)
            if key in ("id", "name", "group", "job_type", "tags", "notes", "project")
            else self._info.get(key)
        )

    def __repr__(self) -> str:
        return f"<turbotrack LocalRun {self.path} ({self.state})>"


def open_run(run_dir: Path) -> LocalRun:
    if not any(run_dir.glob("run*.json")):
        raise ValueError(f"no run at {run_dir}: check the path (entity/project/run_id) and the storage dir")
    return LocalRun(run_dir)


def list_runs(project_dirs: list[Path], filters: dict[str, Any], order: str) -> list[LocalRun]:
    runs = [LocalRun(d) for p in project_dirs if p.is_dir() for d in sorted(p.iterdir()) if any(d.glob("run*.json"))]
    runs = [r for r in runs if all(_matches(r._field(k), v) for k, v in filters.items())]
    desc = order.startswith("-")
    key = order.lstrip("+-")

    def sort_key(r: LocalRun) -> tuple[int, Any]:
        v = r._field(key)
        if isinstance(v, dict):
            v = next(iter(v.values()), None)
        missing = v is None or (isinstance(v, float) and math.isnan(v))
        return (1 if missing else 0, 0 if missing else (-v if desc and isinstance(v, (int, float)) else v))

    if desc and not all(isinstance(r._field(key), (int, float, type(None))) for r in runs):
        runs.sort(key=lambda r: str(r._field(key)), reverse=True)
    else:
        runs.sort(key=sort_key)
    return runs


def _matches(value: Any, want: Any) -> bool:
    if isinstance(want, dict) and "$in" in want:
        return value in want["$in"]
    if isinstance(value, list) and not isinstance(want, list):
        return want in value
    return value == want


def _take(v: Any, rows: Any) -> Any:
    if hasattr(v, "dtype"):
        return v[rows]
    return [v[i] for i in rows]


def _rows(columns: dict[str, Any], present: dict[str, Any], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{} for _ in range(n)]
    for k, col in columns.items():
        mask = present.get(k)
        values = col.tolist() if hasattr(col, "tolist") else col
        for i in range(n):
            if mask is None or mask[i]:
                out[i][k] = values[i]
    return out


__all__ = ["File", "LocalRun", "RunSummary"]
