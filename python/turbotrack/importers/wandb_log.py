"""Reading a wandb run folder (``wandb/run-*``, ``wandb/offline-run-*``): its ``run-<id>.wandb``
transaction log, record by record, and what a user sees of the run in it.

The log is a sequence of 32 KiB blocks after a 7-byte header (``:W&B``, a 2-byte magic, a version
byte); each block holds chunks of a 7-byte header (CRC-32C, length, type: full, first, middle, last)
and their bytes, as LevelDB's log does. Each assembled record is a ``Record`` protobuf of wandb's own
generated classes (``wandb.proto.wandb_internal_pb2``), so reading needs the ``wandb`` package.
A torn tail (a run killed mid-write) ends the scan; nothing before it is lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mmap
import os
import struct
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

_HEADER = 7
_BLOCK = 32 * 1024
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def _pb() -> Any:
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError as e:
        raise ImportError(
            "reading wandb's run files needs the wandb package (its protobuf classes): pip install wandb"
        ) from e
    return wandb_internal_pb2


def chunks(data: Any) -> Iterator[bytes]:
    """The records' bytes in a transaction log's ``data`` (bytes or an mmap), assembled from their chunks."""
    for _end, body in spans(data):
        yield body


def spans(data: Any) -> Iterator[tuple[int, bytes]]:
    """Each record's bytes with the offset just past its last chunk (how far the scan has come)."""
    if data[:4] != b":W&B":
        raise ValueError("not a wandb transaction log (no ':W&B' header)")
    pos, pending = _HEADER, b""
    size = len(data)
    unpack = struct.unpack_from
    while pos + 7 <= size:
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = unpack("<IHB", data, pos)
        pos += 7
        if kind == 0 or pos + length > size:  # zero padding or a torn tail
            return
        body = data[pos : pos + length]
        pos += length
        if kind == _FULL:
            yield pos, body
        elif kind == _FIRST:
            pending = body
        elif kind == _MIDDLE:
            pending += body
        elif kind == _LAST:
            yield pos, pending + body
            pending = b""


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[Any]:
    """The file's bytes, memory-mapped (a log of a million steps is not read into memory at once)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            yield mm


def records(path: Path) -> Iterator[Any]:
    """Every ``Record`` of the transaction log at ``path``, in order."""
    pb = _pb()
    with _mapped(Path(path)) as data:
        for _end, body in spans(data):
            record = pb.Record()
            record.ParseFromString(body)
            yield record


def _key(item: Any) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = tree.get(part)
        if not isinstance(nxt, dict):
            nxt = tree[part] = {}
        tree = nxt
    tree[path[-1]] = value


def _remove(tree: dict[str, Any], path: list[str]) -> None:
    for part in path[:-1]:
        tree = tree.get(part)  # type: ignore[assignment]
        if not isinstance(tree, dict):
            return
    tree.pop(path[-1], None)


@dataclasses.dataclass
class WandbRun:
    """What the transaction log says of one run."""

    id: str = ""
    name: str = ""
    project: str = ""
    entity: str = ""
    group: str = ""
    job_type: str = ""
    notes: str = ""
    host: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    start_time: Optional[float] = None
    #: The config as a user sees it (``run.config``): wandb's ``{"value": ..., "desc": ...}`` wrappers
    #: are not in the log; ``_wandb`` (wandb's own bookkeeping) is kept out.
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The last summary: nested dicts as logged; ``_wandb`` kept out.
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Each history row as a dict of top-level names, in order: nested keys joined with ``.``
    #: (``{"a": {"b": 1}}`` is ``a.b``), a media value (a dict with ``_type``: image, table,
    #: histogram...) kept whole under its key, as turbotrack's history holds it. Empty when
    #: :func:`read_run` was given ``on_row``.
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: How many history rows the log holds.
    rows: int = 0
    #: Rows of the system metrics stream (``stats`` records): wandb's names, and ``_timestamp``.
    system: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: ``define_metric`` records, as wandb's ``MetricRecord`` messages.
    metrics: list[Any] = dataclasses.field(default_factory=list)
    alerts: list[Any] = dataclasses.field(default_factory=list)
    #: ``None`` when the log has no exit record (the process died before ``finish()``).
    exit_code: Optional[int] = None
    #: Seconds the run ran, from its exit record.
    runtime: Optional[float] = None
    #: The ``environment`` records merged (os, python, program, args, git, host, gpu...), as dicts.
    environment: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The console output in the log (``output_raw`` records): (``"stdout"``/``"stderr"``, text).
    output: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: The run's ``files/`` folder, when the run folder has one.
    files_dir: Optional[Path] = None
    #: Paths (relative to ``files/``) the log's ``files`` records name.
    files: list[str] = dataclasses.field(default_factory=list)
    #: Record types met that nothing here reads (``artifact``, ``tbrecord``...), with their counts.
    unread: dict[str, int] = dataclasses.field(default_factory=dict)


#: Record types that carry nothing a user sees of the run (wandb's own bookkeeping).
_BOOKKEEPING = frozenset({"header", "telemetry", "request", "final", "footer", "preempting", "noop_link_artifact"})


def log_path(run_folder: Path) -> Path:
    """The ``run-<id>.wandb`` file of a wandb run folder."""
    found = sorted(Path(run_folder).glob("run-*.wandb"))
    if not found:
        raise FileNotFoundError(f"{run_folder} holds no run-<id>.wandb transaction log: not a wandb run folder")
    return found[0]


def history_row(items: Any) -> dict[str, Any]:
    """A ``HistoryRecord``'s items as one row (see :attr:`WandbRun.history`)."""
    keys: list[Any] = []
    texts: list[str] = []
    for item in items:
        keys.append(item.nested_key or item.key)
        texts.append(item.value_json)
    return _row(keys, json.loads("[" + ",".join(texts) + "]") if texts else [])


def _row(keys: list[Any], values: list[Any]) -> dict[str, Any]:
    """The row of items' ``keys`` (a ``str`` for an item's ``key``, a sequence of its ``nested_key``
    parts otherwise) and their decoded values: wandb's nesting rule."""
    row: dict[str, Any] = {}
    tree: dict[str, Any] = {}
    for key, value in zip(keys, values):
        if isinstance(key, str):
            tree[key] = value if not isinstance(value, dict) else {**tree.get(key, {}), **value}
        elif len(key) == 1:
            tree[key[0]] = value
        else:
            _set(tree, list(key), value)
    _flatten(tree, "", row)
    return row


def _flatten(tree: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for k, v in tree.items():
        if isinstance(v, dict) and v and "_type" not in v:
            _flatten(v, f"{prefix}{k}.", out)
        else:
            out[prefix + k] = v


def read_run(
    run_folder: Path,
    on_row: Optional[Callable[[WandbRun, dict[str, Any]], None]] = None,
    on_progress: Optional[Callable[[int, int], None]] = None,
    native: bool = True,
) -> WandbRun:
    """Read a wandb run folder's transaction log into a :class:`WandbRun`.

    ``on_row(run, row)``: called with each history row instead of keeping it in ``run.history``
    (the run's identity, config and start time are known by then: the log begins with them).
    ``on_progress(done_bytes, total_bytes)``: called every few thousand records.
    ``native``: decode history records in the native core (``_core.WandbLog``) or, when false, every
    record with wandb's protobuf classes; both give the same run."""
    pb = _pb()
    run = WandbRun()
    folder = Path(run_folder)
    if (folder / "files").is_dir():
        run.files_dir = folder / "files"
    path = log_path(folder)
    total = path.stat().st_size
    if native:
        _read_native(pb, run, path, total, on_row, on_progress)
    else:
        _read_python(pb, run, path, total, on_row, on_progress)
    if on_progress is not None:
        on_progress(total, total)
    run.config.pop("_wandb", None)
    run.summary.pop("_wandb", None)
    return run


_OnRow = Optional[Callable[[WandbRun, dict[str, Any]], None]]
_OnProgress = Optional[Callable[[int, int], None]]


def _history(run: WandbRun, row: dict[str, Any], step: Optional[int], on_row: _OnRow) -> None:
    if "_step" not in row and step is not None:
        row["_step"] = step
    run.rows += 1
    if on_row is not None:
        on_row(run, row)
    else:
        run.history.append(row)


def _read_python(pb: Any, run: WandbRun, path: Path, total: int, on_row: _OnRow, on_progress: _OnProgress) -> None:
    """Every record parsed by wandb's protobuf classes."""
    count = 0
    with _mapped(path) as data:
        for end, body in spans(data):
            r = pb.Record()
            r.ParseFromString(body)
            kind = r.WhichOneof("record_type")
            count += 1
            if on_progress is not None and count % 4096 == 0:
                on_progress(end, total)
            if kind == "history":
                step = r.history.step.num if r.history.HasField("step") else None
                _history(run, history_row(r.history.item), step, on_row)
            else:
                _read_other(run, kind, r)


def _read_native(pb: Any, run: WandbRun, path: Path, total: int, on_row: _OnRow, on_progress: _OnProgress) -> None:
    """History records decoded by the native core (the framing too); the others by wandb's classes."""
    from .. import _core

    log = _core.WandbLog(path)
    loads = json.loads
    while True:
        batch = log.read(4096)
        if not batch:
            break
        for kind, keys, text, step in batch:
            if kind == "history":
                values = loads(text)  # type: ignore[arg-type]
                # One JSON value per item (else the general rule, which fails as wandb's path does).
                row = dict(zip(keys, values)) if len(values) == len(keys) else _row(keys, values)
                _history(run, row, step, on_row)
            elif kind == "nested":
                _history(run, _row(keys, loads(text)), step, on_row)  # type: ignore[arg-type]
            else:
                r = pb.Record()
                r.ParseFromString(keys)
                _read_other(run, r.WhichOneof("record_type"), r)
        if on_progress is not None:
            on_progress(log.offset, total)


def _read_other(run: WandbRun, kind: Optional[str], r: Any) -> None:
    if kind == "run":
        _read_run_record(run, r.run)
    elif kind == "config":
        _apply(run.config, r.config)
    elif kind == "summary":
        _apply(run.summary, r.summary)
    elif kind == "stats":
        row = {item.key: json.loads(item.value_json) for item in r.stats.item}
        row["_timestamp"] = r.stats.timestamp.seconds + r.stats.timestamp.nanos / 1e9
        run.system.append(row)
    elif kind == "metric":
        run.metrics.append(r.metric)
    elif kind == "alert":
        run.alerts.append(r.alert)
    elif kind == "exit":
        run.exit_code = r.exit.exit_code
        run.runtime = float(r.exit.runtime)
    elif kind == "environment":
        from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]

        env = MessageToDict(r.environment, preserving_proto_field_name=True)
        env.pop("_info", None)
        env.pop("writer_id", None)
        run.environment.update(env)
    elif kind == "output_raw":
        stream = "stdout" if r.output_raw.output_type == 1 else "stderr"
        run.output.append((stream, r.output_raw.line))
    elif kind == "output":
        stream = "stdout" if r.output.output_type == 1 else "stderr"
        run.output.append((stream, r.output.line))
    elif kind == "files":
        run.files.extend(f.path for f in r.files.files if f.path not in run.files)
    elif kind is not None and kind not in _BOOKKEEPING:
        run.unread[kind] = run.unread.get(kind, 0) + 1


def _read_run_record(run: WandbRun, rec: Any) -> None:
    run.id = rec.run_id or run.id
    run.name = rec.display_name or run.name
    run.project = rec.project or run.project
    run.entity = rec.entity or run.entity
    run.group = rec.run_group or run.group
    run.job_type = rec.job_type or run.job_type
    run.notes = rec.notes or run.notes
    run.host = rec.host or run.host
    if rec.tags:
        run.tags = list(rec.tags)
    if rec.HasField("start_time"):
        run.start_time = rec.start_time.seconds + rec.start_time.nanos / 1e9
    if rec.HasField("config"):
        _apply(run.config, rec.config)
    if rec.HasField("summary"):
        _apply(run.summary, rec.summary)


def _apply(tree: dict[str, Any], rec: Any) -> None:
    """A config or summary record's updates and removals, applied to ``tree``."""
    for item in rec.update:
        _set(tree, _key(item), json.loads(item.value_json))
    for item in getattr(rec, "remove", ()):
        _remove(tree, _key(item))
