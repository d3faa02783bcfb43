"""``turbotrack import tensorboard LOGDIR``: each folder of event files (``*tfevents*``) under LOGDIR
becomes a run: scalars, histograms, images and text, read with the tensorboard package's own
event reader and value migration (no TensorFlow needed)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any, Callable, Optional

from ..store import layout
from .writer import SOURCE_RUNTIME, SOURCE_TIMESTAMP, ImportedRun, Rich

#: Event kinds that hold no metric values (and what the import says of them).
_OTHER_EVENTS = {
    "graph_def": "the model graph",
    "meta_graph_def": "the meta graph",
    "tagged_run_metadata": "run metadata (profiling)",
    "session_log": "session log events",
    "log_message": "log messages",
}
_IMAGE_TYPES = ((b"\x89PNG", ".png", "png"), (b"\xff\xd8", ".jpg", "jpeg"), (b"GIF8", ".gif", "gif"))


def tb() -> Any:
    """The tensorboard package's reader pieces, or ImportError saying how to get them."""
    try:
        from tensorboard import data_compat  # type: ignore[import-untyped]
        from tensorboard.backend.event_processing.event_file_loader import LegacyEventFileLoader  # type: ignore[import-untyped]
        from tensorboard.util import tensor_util  # type: ignore[import-untyped]
    except ImportError as e:
        raise ImportError(f"reading TensorBoard event files needs the tensorboard package ({e})") from e
    return data_compat, LegacyEventFileLoader, tensor_util


def event_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and "tfevents" in p.name)


def find_runs(logdir: Path) -> list[Path]:
    """Every folder under ``logdir`` (itself included) that holds event files."""
    found = []
    for base, dirs, names in os.walk(logdir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if any("tfevents" in n for n in names):
            found.append(Path(base))
    return found


def _safe(name: str, default: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).lstrip(".-")[:128]
    return name or default


def target(
    folder: Path, logdir: Path, root: Path, entity: Optional[str], project: Optional[str]
) -> tuple[layout.RunPath, str]:
    """Where the run of ``folder`` goes, and its name. The id comes from the name of its first event
    file (a timestamp, the host and the pid), so a moved or copied logdir imports as the same run."""
    first = event_files(folder)[0].name
    run_id = "tb-" + hashlib.sha256(first.encode()).hexdigest()[:16]
    rel = folder.resolve().relative_to(logdir.resolve()).as_posix()
    name = logdir.resolve().name if rel == "." else rel
    proj = project or _safe(logdir.resolve().name, "tensorboard")
    return layout.RunPath(root, entity or "local", proj, run_id), name


class TensorBoardImport:
    """One folder of event files → one turbotrack run at ``rp``."""

    def __init__(self, folder: Path, rp: layout.RunPath, name: str) -> None:
        self.folder = folder
        self.rp = rp
        self.name = name
        self.plugins: dict[str, str] = {}
        self.rows: dict[int, dict[str, Any]] = {}
        self.times: dict[int, float] = {}
        self.start: Optional[float] = None
        self.out: Optional[ImportedRun] = None

    def run(self, on_progress: Optional[Callable[[int, int, int], None]] = None) -> ImportedRun:
        data_compat, loader, tensor_util = tb()
        files = event_files(self.folder)
        total = sum(f.stat().st_size for f in files)
        source = {"tool": "tensorboard", "path": str(self.folder.resolve()), "files": [f.name for f in files]}
        self.out = out = ImportedRun(self.rp, source, None)
        try:
            done = 0
            for f in files:
                for n, event in enumerate(loader(str(f)).Load()):
                    self._event(out, event, data_compat, tensor_util)
                    if on_progress is not None and n % 8192 == 0:
                        on_progress(done, total, len(self.rows))
                done += f.stat().st_size
                if on_progress is not None:
                    on_progress(done, total, len(self.rows))
            out.start_time = self.start
            for step in sorted(self.rows):
                row = self.rows[step]
                ts = self.times[step]
                row[SOURCE_TIMESTAMP] = ts
                if self.start is not None:
                    row[SOURCE_RUNTIME] = ts - self.start
                out.log(row, step)
            end = max(self.times.values(), default=self.start)
            out.finish({"name": self.name, "state": "finished", "end_time": end})
        except BaseException:
            out.abort()
            raise
        return out

    def _event(self, out: ImportedRun, event: Any, data_compat: Any, tensor_util: Any) -> None:
        what = event.WhichOneof("what")
        if self.start is None or event.wall_time < self.start:
            self.start = event.wall_time
        if what != "summary":
            if what in _OTHER_EVENTS:
                out.lost[_OTHER_EVENTS[what]] += 1
            return
        step = int(event.step)
        for raw in event.summary.value:
            if raw.HasField("histo"):  # old-style: read in float64 (tensorboard's migration rounds to float32)
                self._put(out, step, raw.tag, _histogram(raw.histo), event.wall_time)
                continue
            value = data_compat.migrate_value(raw)
            tag = value.tag
            plugin = value.metadata.plugin_data.plugin_name
            if plugin:
                self.plugins.setdefault(tag, plugin)
            plugin = self.plugins.get(tag, plugin)
            if not value.HasField("tensor"):
                out.lost[f"{tag!r} ({value.WhichOneof('value') or 'empty'} values)"] += 1
                continue
            arr = tensor_util.make_ndarray(value.tensor)
            converted = self._value(out, plugin, tag, step, arr)
            if converted is None:
                out.lost[f"{tag!r} ({plugin or 'unknown'} plugin data: not a scalar, histogram, image or text)"] += 1
                continue
            self._put(out, step, tag, converted, event.wall_time)

    def _put(self, out: ImportedRun, step: int, tag: str, value: Any, wall_time: float) -> None:
        row = self.rows.setdefault(step, {})
        if tag in row:
            out.lost[f"{tag!r}: a second value at one step (the last one kept)"] += 1
        row[tag] = value
        if step not in self.times or wall_time < self.times[step]:
            self.times[step] = wall_time

    def _value(self, out: ImportedRun, plugin: str, tag: str, step: int, arr: Any) -> Any:
        if plugin == "scalars" or (not plugin and arr.size == 1 and arr.dtype.kind in "biuf"):
            return arr.reshape(-1)[0].item()
        if plugin == "histograms" and arr.ndim == 2 and arr.shape[1] == 3:
            if arr.shape[0] == 0:
                return Rich({"_type": "histogram", "bins": [], "values": []})
            counts = [int(c) if float(c).is_integer() else float(c) for c in arr[:, 2]]
            bins = [float(x) for x in arr[:, 0]] + [float(arr[-1, 1])]
            return Rich({"_type": "histogram", "bins": bins, "values": counts})
        if plugin == "images" and arr.ndim == 1 and arr.size >= 3:
            width, height = int(arr[0]), int(arr[1])
            items = [
                self._image(out, data, f"{tag}.{i}" if arr.size > 3 else tag, step, width, height)
                for i, data in enumerate(arr[2:])
            ]
            if len(items) == 1:
                return Rich(items[0])
            return Rich({"_type": "images/separated", "count": len(items), "items": items})
        if plugin == "text" and arr.dtype.kind in "OSU":
            texts = [_text(x) for x in arr.reshape(-1)]
            if arr.size == 1:
                return texts[0]
            columns = [f"c{i}" for i in range(arr.shape[-1])] if arr.ndim == 2 else ["text"]
            rows = arr.reshape(arr.shape[0], -1) if arr.ndim == 2 else arr.reshape(-1, 1)
            return Rich(out_table(out, tag, step, columns, [[_text(x) for x in r] for r in rows]))
        return None

    def _image(self, out: ImportedRun, data: bytes, key: str, step: int, width: int, height: int) -> dict[str, Any]:
        ext, fmt = ".png", "png"
        for magic, e, f in _IMAGE_TYPES:
            if data.startswith(magic):
                ext, fmt = e, f
                break
        rel = out.write_media(bytes(data), "images", key, step, ext)
        return {"_type": "image-file", "path": rel, "width": width, "height": height, "format": fmt}


def _histogram(histo: Any) -> Rich:
    """An old-style ``HistogramProto`` as turbotrack's histogram, by TensorBoard's rule: the empty
    buckets at both ends dropped, the data's min and max as the outer edges (not +-DBL_MAX)."""
    counts = list(histo.bucket)
    nonzero = [i for i, c in enumerate(counts) if c > 0]
    if not nonzero:
        return Rich({"_type": "histogram", "bins": [], "values": []})
    start, end = nonzero[0], nonzero[-1]
    bins = [histo.min, *histo.bucket_limit[start:end], histo.max]
    values = [int(c) if float(c).is_integer() else c for c in counts[start : end + 1]]
    return Rich({"_type": "histogram", "bins": bins, "values": values})


def out_table(out: ImportedRun, key: str, step: int, columns: list[str], data: list[list[Any]]) -> dict[str, Any]:
    """A table file in the run's media (turbotrack's Table JSON)."""
    import json

    body = json.dumps({"columns": columns, "data": data}).encode()
    rel = out.write_media(body, "table", key, step, ".table.json")
    return {"_type": "table-file", "path": rel, "ncols": len(columns), "nrows": len(data)}


def _text(x: Any) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
