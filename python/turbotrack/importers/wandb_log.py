"""Reading a wandb run folder (``wandb/run-*``, ``wandb/offline-run-*``): its ``run-<id>.wandb``
transaction log, record by record, and what a user sees of the run in it.

The log is a sequence of 32 KiB blocks after a 7-byte header (``:W&B``, a 2-byte magic, a version
byte); each block holds chunks of a 7-byte header (CRC-32C, length, type: full, first, middle, last)
and their bytes, as LevelDB's log does. Each assembled record is a ``Record`` protobuf of wandb's own
generated classes (``wandb.proto.wandb_internal_pb2``), so reading needs the ``wandb`` package.
A torn tail (a run killed mid-write) ends the scan; nothing before it is lost.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path
from typing import Any, Iterator, Optional

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


def chunks(data: bytes) -> Iterator[bytes]:
    """The records' bytes in a transaction log's ``data``, assembled from their chunks."""
    if data[:4] != b":W&B":
        raise ValueError("not a wandb transaction log (no ':W&B' header)")
    pos, pending = _HEADER, b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack_from("<IHB", data, pos)
        pos += 7
        if kind == 0 or pos + length > len(data):  # zero padding or a torn tail
            return
        body = data[pos : pos + length]
        pos += length
        if kind == _FULL:
            yield body
        elif kind == _FIRST:
            pending = body
        elif kind == _MIDDLE:
            pending += body
        elif kind == _LAST:
            yield pending + body
            pending = b""


def records(path: Path) -> Iterator[Any]:
    """Every ``Record`` of the transaction log at ``path``, in order."""
    pb = _pb()
    for body in chunks(Path(path).read_bytes()):
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


def _flat_row(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A history row's names joined with ``.``; a media value (a dict with ``_type``, which wandb's log
    splits into one item per field) is put back together as one dict."""
    out: dict[str, Any] = {}
    for k, v in tree.items():
        if isinstance(v, dict) and v and "_type" not in v:
            out.update(_flat_row(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


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
    tags: list[str] = dataclasses.field(default_factory=list)
    start_time: Optional[float] = None
    #: The config as a user sees it (``run.config``): wandb's ``{"value": ..., "desc": ...}`` wrappers
    #: are not in the log; ``_wandb`` (wandb's own bookkeeping) is kept out.
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: The last summary: nested dicts as logged; ``_wandb`` kept out.
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Each history row as a dict of top-level names (nested keys joined with ``.``; a media value, such as
    #: ``{"_type": "image-file", ...}``, kept as one dict), in order.
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: Rows of the system metrics stream (``stats`` records).
    system: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: ``define_metric`` records, as wandb's ``MetricRecord`` dicts.
    metrics: list[Any] = dataclasses.field(default_factory=list)
    alerts: list[Any] = dataclasses.field(default_factory=list)
    exit_code: Optional[int] = None
    #: The run's ``files/`` folder, when the run folder has one.
    files_dir: Optional[Path] = None


def log_path(run_folder: Path) -> Path:
    """The ``run-<id>.wandb`` file of a wandb run folder."""
    found = sorted(Path(run_folder).glob("run-*.wandb"))
    if not found:
        raise FileNotFoundError(f"{run_folder} holds no run-<id>.wandb transaction log: not a wandb run folder")
    return found[0]


def read_run(run_folder: Path) -> WandbRun:
    """Read a wandb run folder's transaction log into a :class:`WandbRun`."""
    run = WandbRun()
    folder = Path(run_folder)
    if (folder / "files").is_dir():
        run.files_dir = folder / "files"
    for r in records(log_path(folder)):
        kind = r.WhichOneof("record_type")
        if kind == "run":
            _read_run_record(run, r.run)
        elif kind == "config":
            _apply(run.config, r.config)
        elif kind == "summary":
            _apply(run.summary, r.summary)
        elif kind == "history":
            tree: dict[str, Any] = {}
            for item in r.history.item:
                _set(tree, _key(item), json.loads(item.value_json))
            run.history.append(_flat_row(tree))
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
    run.config.pop("_wandb", None)
    run.summary.pop("_wandb", None)
    return run


def _read_run_record(run: WandbRun, rec: Any) -> None:
    run.id = rec.run_id or run.id
    run.name = rec.display_name or run.name
    run.project = rec.project or run.project
    run.entity = rec.entity or run.entity
    run.group = rec.run_group or run.group
    run.job_type = rec.job_type or run.job_type
    run.notes = rec.notes or run.notes
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
