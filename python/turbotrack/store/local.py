"""Runs read from the local storage root."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .. import _core
from .._fs import DamagedFile, atomic_write_json, read_json
from . import artifacts, layout, query, runinfo, sql, types
from .base import RunStore, check_page
from .downsample import bucket_bands, m4_bucket_count, m4_rows
from .summary_view import contains, lookup

HISTORY_GLOB = layout.HISTORY_GLOB
SYSTEM_GLOB = layout.SYSTEM_GLOB
_STREAMS = layout.STREAM_GLOBS


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
        """``summary["train.loss"]``, also ``summary["train"]["loss"]`` for metrics logged as nested dicts."""
        return lookup(self._items, key)

    def __contains__(self, key: object) -> bool:
        return contains(self._items, key)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        """Set ``key`` as ``run.summary`` does during a run: an array or tensor is stored whole in
        the run's ``tensors/`` and its statistics kept here; media are written as files."""
        if not isinstance(key, str):
            raise TypeError(f"summary keys must be strings, got {type(key).__name__}")
        self._items[key] = json.loads(types.summary_json(value, self._path.parent, key))

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def update(self, other: Any = None, /, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge ``other`` and ``kwargs`` in, then write summary.json (also with no argument)."""
        for k, v in dict(other or {}, **kwargs).items():
            self[k] = v
        atomic_write_json(self._path, self._items)

    def __repr__(self) -> str:
        return f"RunSummary({self._items!r})"


class LocalRun:
    """A run on local disk, as ``Api().run(path)`` returns it.

    A damaged JSON file of the run (run.json, config, summary, metrics, metadata) does not stop
    it from opening: the file is named in a ``UserWarning``, listed in ``damaged``, and read as
    empty (``state`` is ``"unreadable"`` when the damaged file is a run.json)."""

    def __init__(self, run_dir: Path) -> None:
        self.dir = str(run_dir)
        self._dir = run_dir
        #: The run's files that could not be read (paths), each reported once with a warning.
        self.damaged: list[str] = []
        self._info = runinfo.read(run_dir, self._report)
        self.id: str = self._text("id", run_dir.name)
        self.name: str = self._text("name", self.id)
        self.project: str = self._text("project", run_dir.parent.name)
        self.entity: str = self._text("entity", run_dir.parent.parent.name)
        self.group: Optional[str] = self._text("group", None)
        self.job_type: Optional[str] = self._text("job_type", None)
        tags = self._info.get("tags")
        self.tags: list[str] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        self.notes: Optional[str] = self._text("notes", None)
        created = self._info.get("start_time")
        self.created_at: float = float(created) if isinstance(created, (int, float)) else 0.0
        self.shared: bool = bool(self._info.get("shared"))
        self.config: dict[str, Any] = self._merged_config()
        summary = self._merged_summary() if self.shared else self._read(layout.SUMMARY, {}, dict)
        self.summary = RunSummary(run_dir / layout.SUMMARY, summary)

    def _text(self, key: str, default: Any) -> Any:
        value = self._info.get(key)
        return value if isinstance(value, str) else default

    def _report(self, e: DamagedFile) -> None:
        if str(e.path) in self.damaged:
            return
        self.damaged.append(str(e.path))
        warnings.warn(f"turbotrack: {e}; it is skipped (read as empty)", stacklevel=4)

    def _read(self, name: str, default: Any, expect: type) -> Any:
        """The run's JSON file ``name``; ``default`` when it is missing or damaged (reported)."""
        try:
            return read_json(self._dir / name, default, expect)
        except DamagedFile as e:
            self._report(e)
            return default

    def _merged_config(self) -> dict[str, Any]:
        """Every rank's config; where ranks disagree, rank 0's value."""
        merged: dict[str, Any] = {}
        for p in sorted(self._dir.glob("config.r*.json"), reverse=True):
            merged.update(self._read(p.name, {}, dict))
        merged.update(self._read(layout.CONFIG, {}, dict))
        return merged

    def _merged_summary(self) -> dict[str, Any]:
        """A shared run's summary, folded natively over every rank's rows, with the values set by
        hand on rank 0 that are not logged metrics."""
        defs: dict[str, Any] = {}
        for p in sorted(self._dir.glob(layout.METRICS_GLOB), reverse=True):  # metrics.json (rank 0) last: it wins
            entries = self._read(p.name, [], list)
            good = [tuple(d) for d in entries if _is_definition(d)]
            if len(good) != len(entries):
                wanted = "[name, summary, objective, step_metric, hidden]"
                self._report(DamagedFile(p, f"holds entries that are not {wanted}"))
            defs.update({d[0]: d[:3] for d in good})
        try:
            merged = json.loads(_core.summarize_history(self._paths("default"), list(defs.values())))
        except _core.Error as e:  # a history file that cannot be read: named, and the rest still shown
            warnings.warn(f"turbotrack: the summary of run {self.dir} could not be folded: {e}", stacklevel=3)
            merged = {}
        for k, v in self._read(layout.SUMMARY, {}, dict).items():
            merged.setdefault(k, v)
        return merged

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed``, ``crashed`` (its process died unfinished), ``killed``
        (as recorded) or ``unreadable``: :func:`turbotrack.store.runinfo.resolve_state`, as the server says."""
        return runinfo.combined_state(self._dir, self._report)

    @property
    def metadata(self) -> dict[str, Any]:
        return self._read(layout.METADATA, {}, dict)

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
        ``x_axis``; with ``samples``, at most that many rows kept by M4 (per bucket of the x range,
        each key's first, last, min and max: a spike is never sampled away).

        The list form holds every value exactly as logged (a logged ``None`` too). In the
        DataFrame, a numeric column missing from some rows (or logged as ``None`` there) is
        float64 with NaN, or pandas' nullable ``Int64`` / ``boolean`` for ints and bools, so no
        int is rounded through a float."""
        paths = self._paths(stream)
        data = zoomed(paths, keys, x_axis, samples)
        if data is None:
            data = _core.read_history(paths, projection(keys, x_axis))
            _warn_damage(data["damaged"])
            n_rows, picked, nulls = select(data, keys, x_axis, samples)
        else:  # the rows kept already
            n_rows, picked, nulls = select(data, keys, x_axis, None)
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                pass
            else:
                # copy=False: the arrays are this call's own (read for it), so none is copied again.
                columns = {k: _dense(v, n_rows) for k, v in picked.items()}
                return pd.DataFrame(columns, index=range(n_rows), copy=False)
        out: list[dict[str, Any]] = [{} for _ in range(n_rows)]
        for k, (values, at) in picked.items():
            values = values.tolist() if hasattr(values, "tolist") else values
            for i, v in zip(range(n_rows) if at is None else at.tolist(), values):
                out[i][k] = v
            for i in nulls.get(k, ()):
                out[i][k] = None
        return out

    def scan_history(
        self,
        keys: Optional[Sequence[str]] = None,
        page_size: int = 1000,
        min_step: Optional[int] = None,
        max_step: Optional[int] = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row as a dict, in step order (with ``keys``: rows holding all of them), read
        ``page_size`` rows at a time: memory stays bounded however long the history."""
        scan = _core.HistoryScan(self._paths("default"), list(keys) if keys is not None else None)
        warned = 0
        while True:
            page = scan.next_page(max(int(page_size), 1))
            damaged = scan.damaged
            if len(damaged) > warned:
                _warn_damage(damaged[warned:])
                warned = len(damaged)
            if not page:
                return
            for row in page:
                step = row["_step"]
                if max_step is not None and step >= max_step:
                    return
                if min_step is None or step >= min_step:
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

    def query_rows(self) -> list[tuple[Any, ...]]:
        """The run as ``Api().runs(filters=, order=)`` reads it: its :func:`.query.key_rows`."""
        fields = query.plain_fields(
            run_id=self.id,
            name=self.name,
            state=self.state,
            group=self.group,
            job_type=self.job_type,
            notes=self.notes,
            tags=self.tags,
            created=self.created_at,
        )
        return query.key_rows(fields, self.config, dict(self.summary))

    def __repr__(self) -> str:
        return f"<turbotrack LocalRun {self.path} ({self.state})>"

    def table(self, key: str, step: Optional[int] = None) -> Any:
        """The ``Table`` logged under ``key`` at ``step`` (default: the last one logged); ``.get_dataframe()``
        gives it as a DataFrame."""
        found = None
        for row in self.scan_history(keys=[key]):
            value = row[key]
            if isinstance(value, dict) and value.get("path") and (step is None or row["_step"] == step):
                found = value
        if found is None:
            raise ValueError(
                f"run {self.path} has no table under {key!r}" + (f" at step {step}" if step is not None else "")
            )
        data = read_json(self._dir / found["path"])
        return types.table(data["columns"], data["data"])

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions this run logged."""
        return self._artifacts("logged")

    def used_artifacts(self) -> list[Any]:
        """The artifact versions this run used."""
        return self._artifacts("used")

    def _artifacts(self, action: str) -> list[Any]:
        out: dict[str, Any] = {}
        for rec in artifacts.records(self._dir):
            if rec.get("action") == action:
                entity, project, name, alias = artifacts.parse_name(rec["artifact"], self.entity, self.project)
                out[rec["artifact"]] = types.artifact(self._dir.parents[2] / entity / project, name, alias)
        return list(out.values())


def inside(root: Path, parts: Sequence[str]) -> Path:
    """``root / parts...``, refused (``ValueError``) if it resolves outside ``root`` (a symlink)."""
    folder = root.joinpath(*parts)
    base = root.resolve()
    resolved = folder.resolve()
    if resolved != base and base not in resolved.parents:
        raise ValueError(f"{'/'.join(parts)!r} leads outside the storage root {root}; refusing to open {resolved}")
    return folder


def open_run(run_dir: Path) -> LocalRun:
    if not any(run_dir.glob(layout.RUN_GLOB)):
        raise ValueError(f"no run at {run_dir}: check the path (entity/project/run_id) and the storage dir")
    return LocalRun(run_dir)


def list_runs(
    project_dirs: list[Path],
    filters: Optional[dict[str, Any]],
    order: Optional[str],
    limit: Optional[int] = None,
    offset: int = 0,
) -> list[LocalRun]:
    """The runs in ``project_dirs`` that match the query ``filters``, sorted by ``order`` (both as
    :mod:`.query` says, evaluated by :func:`.sql.select`, the server's SQL; a malformed one is a
    ``ValueError`` before any run is read), the page ``[offset, offset + limit)`` of them."""
    node = query.parse(filters)
    sort = query.parse_order(order)
    runs = [
        LocalRun(d) for p in project_dirs if p.is_dir() for d in sorted(p.iterdir()) if any(d.glob(layout.RUN_GLOB))
    ]
    return sql.select(runs, lambda r: (r.entity, r.project, r.id), LocalRun.query_rows, node, sort, limit, offset)


class LocalStore(RunStore):
    """The runs of a storage root on this disk (``<dir>/turbotrack``): what ``Api(dir=...)`` reads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def open_run(self, path: layout.RunPath) -> LocalRun:
        return open_run(inside(self.root, [path.entity, path.project, path.run_id]))

    def _project_dirs(self, project: Optional[tuple[str, str]]) -> list[Path]:
        if project is not None:
            return [inside(self.root, list(project))]
        return [p for e in sorted(self.root.glob("*")) for p in sorted(e.glob("*"))]

    def runs(
        self,
        project: Optional[tuple[str, str]],
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        offset: int = 0,
    ) -> list[LocalRun]:
        check_page(limit, offset)
        return list_runs(self._project_dirs(project), filters, order, limit, offset)

    def projects(self) -> list[dict[str, Any]]:
        counts: dict[tuple[str, str], list[float]] = {}
        for rp in layout.iter_run_dirs(self.root):
            try:
                mtime = max(p.stat().st_mtime for p in rp.dir.iterdir())
            except (OSError, ValueError):
                mtime = 0.0
            counts.setdefault((rp.entity, rp.project), []).append(mtime)
        return [
            {"entity": e, "project": p, "run_count": len(m), "last_activity": max(m)}
            for (e, p), m in sorted(counts.items())
        ]

    def artifact(self, entity: str, project: str, name: str, alias: str) -> Any:
        return types.artifact(artifacts.project_dir(self.root, entity, project), name, alias)

    def artifact_versions(self, entity: str, project: str, name: str) -> list[Any]:
        folder = artifacts.project_dir(self.root, entity, project)
        numbers = artifacts.version_numbers(artifacts.artifact_dir(folder, name))
        return [types.artifact(folder, name, f"v{n}") for n in numbers]


def _is_definition(d: Any) -> bool:
    """A ``define_metric`` entry of metrics.json: [name, summary or null, objective or null] and,
    since step metrics are kept, step_metric or null, and since hidden is kept, hidden (a bool)."""
    return (
        isinstance(d, list)
        and len(d) in (3, 4, 5)
        and isinstance(d[0], str)
        and all(x is None or isinstance(x, str) for x in d[1:4])
        and (len(d) < 5 or isinstance(d[4], bool))
    )


def _warn_damage(damaged: list[str]) -> None:
    if damaged:
        warnings.warn(
            f"turbotrack: damaged history skipped ({len(damaged)} range{'s' if len(damaged) > 1 else ''}; "
            f"the whole blocks around them were read): {'; '.join(damaged)}. "
            "'turbotrack verify' reports every file of the run",
            UserWarning,
            stacklevel=3,
        )


def projection(keys: Optional[Sequence[str]], x_axis: str) -> Optional[list[str]]:
    """The metric columns ``history(keys=..., x_axis=...)`` decodes (None: every one)."""
    return None if keys is None else list(dict.fromkeys([*keys, x_axis]))


def zoomed(
    paths: Sequence[Path],
    keys: Optional[Sequence[str]],
    x_axis: str,
    samples: Optional[int],
    lo: Optional[float] = None,
    hi: Optional[float] = None,
) -> Optional[dict[str, Any]]:
    """``history(keys=[one], samples=N)`` of a one-file run answered from its blocks' statistics
    (``_core.zoom_history``: only the blocks it must look inside are decompressed, and only their
    steps and that column), as a table of the rows kept for :func:`select` with ``samples=None``
    (``lo``/``hi`` applied). None when that does not apply (more keys or files, another x axis, a
    file written before format version 3, damage): read the table whole."""
    if samples is None or samples < 1 or x_axis != "_step" or keys is None or len(paths) != 1:
        return None
    keys = list(keys)
    if len(keys) != 1 or keys[0].startswith("_"):
        return None
    data: Optional[dict[str, Any]] = _core.zoom_history(
        paths[0], keys[0], int(samples), None if lo is None else float(lo), None if hi is None else float(hi)
    )
    return data


def select(
    data: dict[str, Any],
    keys: Optional[Sequence[str]],
    x_axis: str,
    samples: Optional[int],
    lo: Optional[float] = None,
    hi: Optional[float] = None,
) -> tuple[int, dict[str, tuple[Any, Any]], dict[str, list[int]]]:
    """The rows of a history that ``history()`` answers (see :func:`select_banded`, without bands)."""
    n, picked, nulls, _bands = select_banded(data, keys, x_axis, samples, lo, hi, bands=False)
    return n, picked, nulls


#: Per key, the min and max of the M4 bucket each answered row falls in (float64 arrays, NaN: none).
Bands = dict[str, tuple[Any, Any]]


def select_banded(
    data: dict[str, Any],
    keys: Optional[Sequence[str]],
    x_axis: str,
    samples: Optional[int],
    lo: Optional[float] = None,
    hi: Optional[float] = None,
    bands: bool = True,
) -> tuple[int, dict[str, tuple[Any, Any]], dict[str, list[int]], Bands]:
    """The rows of a history read by ``_core.read_history`` that ``history()`` answers: with ``keys``,
    rows holding all of them (a ``None`` logged counts as held), and only those columns and
    ``x_axis``; ``lo``/``hi`` bound ``x_axis``; ``samples`` keeps at most that many by M4. Returns
    the row count; per column, ``(values, at)``: its values in kept rows and the result rows they
    land in (``at`` None: every row, in order); and per column with nulls, the result rows that
    hold a null (a null is no value: it is in neither ``values`` nor ``at``); and with ``bands``,
    when M4 dropped rows, per numeric key (not ``x_axis``, not ``_``-named) the min and max of the
    bucket each answered row falls in, over every row of the range (:func:`downsample.bucket_bands`;
    empty when nothing was dropped)."""
    import numpy as np

    n = data["n_rows"]
    base: dict[str, Any] = data["columns"]
    metrics: dict[str, Any] = data["metrics"]
    null_rows: dict[str, Any] = data.get("nulls", {})
    keep = np.ones(n, dtype=bool)
    names = [*base, *metrics]
    if keys is not None:
        keys = list(keys)
        for k in keys:
            if k in metrics:
                held = _mask(metrics[k][0], n)
                if k in null_rows:
                    held[null_rows[k]] = True
                keep &= held
            elif not k.startswith("_"):
                keep[:] = False
        wanted = dict.fromkeys([x_axis, *keys])
        names = [k for k in names if k in wanted]
    if lo is not None or hi is not None:
        x = _float_column(base, metrics, x_axis, n)
        if x is not None:
            with np.errstate(invalid="ignore"):
                keep &= (x >= lo if lo is not None else True) & (x <= hi if hi is not None else True)
    if samples is None and bool(keep.all()):
        return (*_every_row(n, base, metrics, null_rows, names), {})
    rows = np.flatnonzero(keep)
    found: Bands = {}
    if samples is not None and len(rows) > samples:
        series = {k: _float_column(base, metrics, k, n) for k in dict.fromkeys([x_axis, *(keys or metrics)])}
        numeric = {k: v for k, v in series.items() if v is not None}
        kept = m4_rows(numeric, rows, x_axis, keys, samples)
        if bands:
            found = _bands(numeric, rows, kept, x_axis, keys, samples)
        rows = kept
    return (*_gather(n, base, metrics, null_rows, names, rows), found)


def _bands(
    series: dict[str, Any], rows: Any, kept: Any, x_axis: str, keys: Optional[Sequence[str]], samples: int
) -> Bands:
    """Per y series M4 ran over, the bucket min and max of each of the ``kept`` rows (M4's buckets
    over ``rows``, as :func:`downsample.m4_rows` cut them)."""
    import numpy as np

    names = [k for k in (keys if keys is not None else series) if k != x_axis and not k.startswith("_")]
    ys = {k: series[k] for k in names if k in series}
    x = series[x_axis][rows] if x_axis in series else np.asarray(rows, dtype=np.float64)
    at = np.searchsorted(rows, kept)
    buckets = m4_bucket_count(samples, len(ys))
    return {k: bucket_bands(x, y[rows], at, buckets) for k, y in ys.items()}


def zoom_bands(data: dict[str, Any], key: str, samples: int) -> Bands:
    """The bands of a :func:`zoomed` answer that M4 cut from block statistics (its ``zoom`` says
    ``from_stats``): it holds each bucket's first, last, min and max rows, so each bucket's min and
    max are those of its answered rows (the buckets: ``samples // 4`` over the answered steps'
    range, as ``_core.zoom_history`` cut them). From segments' statistics (``segments``), a bucket's
    band may miss an extreme that lies within a segment of its edge (its neighbour got it)."""
    import numpy as np

    n = data["n_rows"]
    y = _float_column(data["columns"], data["metrics"], key, n)
    if y is None:
        return {}
    x = np.asarray(data["columns"]["_step"], dtype=np.float64)
    return {key: bucket_bands(x, y, np.arange(n), m4_bucket_count(samples, 1))}


def _gather(
    n: int, base: dict[str, Any], metrics: dict[str, Any], null_rows: dict[str, Any], names: list[str], rows: Any
) -> tuple[int, dict[str, tuple[Any, Any]], dict[str, list[int]]]:
    """What :func:`select` returns for the kept ``rows`` (increasing): each column gathered."""
    import numpy as np

    # Where each kept row lands in the result (-1: not kept).
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))
    picked = {k: (base[k][rows], None) if k in base else _pick(metrics[k], pos) for k in names}
    nulls = {}
    for k in names:
        if k in null_rows:
            at = pos[null_rows[k]]
            if (at >= 0).any():
                nulls[k] = at[at >= 0].tolist()
    return len(rows), picked, nulls


def _every_row(
    n: int, base: dict[str, Any], metrics: dict[str, Any], null_rows: dict[str, Any], names: list[str]
) -> tuple[int, dict[str, tuple[Any, Any]], dict[str, list[int]]]:
    """What :func:`select` returns when every row is kept (no gather): the arrays themselves, a
    metric's rows as the rows it lands in (``at`` None when it is in every row)."""
    picked: dict[str, tuple[Any, Any]] = {}
    for k in names:
        if k in base:
            picked[k] = (base[k], None)
        else:
            rows, values, _kind = metrics[k]
            picked[k] = (values, None if len(rows) == n else rows)
    nulls = {k: null_rows[k].tolist() for k in names if k in null_rows and len(null_rows[k])}
    return n, picked, nulls


def _float_column(base: dict[str, Any], metrics: dict[str, Any], key: str, n: int) -> Any:
    """Column ``key`` as ``n`` float64 values (NaN where a row lacks it), or None when it is not numbers."""
    import numpy as np

    if key in base:
        col = base[key]
        return col.astype(np.float64) if hasattr(col, "dtype") and col.dtype.kind in "fiub" else None
    if key not in metrics:
        return None
    rows, values, _kind = metrics[key]
    if not hasattr(values, "dtype") or values.dtype.kind not in "fiub":
        return None
    out = np.full(n, np.nan)
    out[rows] = values
    return out


def _mask(rows: Any, n: int) -> Any:
    import numpy as np

    m = np.zeros(n, dtype=bool)
    m[rows] = True
    return m


def _pick(metric: tuple[Any, Any, str], pos: Any) -> tuple[Any, Any]:
    """A sparse column's values in kept rows, and where they land: ``(values, at)``."""
    import numpy as np

    rows, values, _kind = metric
    at = pos[rows]
    hit = at >= 0
    if hasattr(values, "dtype"):
        return values[hit], at[hit]
    return [values[i] for i in np.flatnonzero(hit)], at[hit]


def _dense(col: tuple[Any, Any], n: int) -> Any:
    """A column for the DataFrame, ``n`` rows long."""
    import numpy as np
    import pandas as pd

    values, at = col
    if hasattr(values, "dtype") and (at is None or len(at) == n):
        return values  # every row holds it (rows are in order)
    if at is None:
        at = np.arange(n)
    if hasattr(values, "dtype"):
        if values.dtype == np.float64:
            out = np.full(n, np.nan)
            out[at] = values
            return out
        filled = np.zeros(n, dtype=values.dtype)
        filled[at] = values
        mask = np.ones(n, dtype=bool)
        mask[at] = False
        if values.dtype == np.bool_:
            return pd.arrays.BooleanArray(filled, mask)
        return pd.arrays.IntegerArray(filled, mask)
    if all(isinstance(v, (int, float)) for v in values):  # mixed ints, floats and bools
        out = np.full(n, np.nan)
        out[at] = np.array([float(v) for v in values], dtype=np.float64)
        return out
    obj: list[Any] = [None] * n
    for i, v in zip(at.tolist(), values):
        obj[i] = v
    return obj


__all__ = ["File", "LocalRun", "LocalStore", "RunSummary"]
