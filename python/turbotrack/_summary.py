"""``run.summary``: a mutable mapping over the native streaming summary."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from . import _core
from ._fs import atomic_write_bytes, read_json
from .data_types import to_numpy
from .data_types.base import Media, escape_key
from .store import layout
from .store.summary_view import contains, lookup

if TYPE_CHECKING:
    from ._run_files import RunFiles
    from ._streams import Streams


def tensor_summary(value: Any, run_dir: Path, key: str, tag: str = "") -> dict[str, Any] | None:
    """Persist an array/tensor of more than one element whole and return its statistics. The file is
    ``tensors/<escaped key>[~<tag>].npy``: one per key (``w/1`` and ``w_1`` differ) and process tag."""
    arr = to_numpy(value)
    if arr is None or arr.size <= 1:
        return None
    import numpy as np

    if arr.dtype.kind not in "biuf":
        raise TypeError(f"summary[{key!r}]: an array of dtype {arr.dtype} has no statistics")
    rel = Path(layout.TENSORS_DIR) / f"{escape_key(key)}{'~' + tag if tag else ''}.npy"
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    atomic_write_bytes(run_dir / rel, buf.getvalue())
    stats = _core.tensor_stats(np.ascontiguousarray(arr, dtype=np.float64).ravel())
    return {
        "_type": "tensor",
        "shape": list(arr.shape),
        "dtype": str(arr.dtype),
        "path": rel.as_posix(),
        **stats,
    }


def to_summary_json(value: Any, run_dir: Path, key: str, tag: str = "") -> str:
    """The JSON text stored for a value set by hand (by ``run.summary`` or ``Api().run().summary``)."""
    tensor = tensor_summary(value, run_dir, key, tag)
    if tensor is not None:
        value = tensor
    elif isinstance(value, Media):
        value = value.to_json(run_dir, key, 0)
    elif hasattr(value, "item") and (type(value).__module__ == "numpy" or to_numpy(value) is not None):
        value = value.item()  # a NumPy scalar, or an array or tensor of one element
    return json.dumps(value, allow_nan=True, default=str)


class Summary(MutableMapping):
    """The run's summary: each metric's last value, or the statistics ``define_metric`` asks for.

    Reading it reflects every ``log()`` made before. Metrics logged as nested dicts read both ways:
    ``summary["train.loss"]``, ``summary["train"]["loss"]``, ``summary.train.loss``. Setting a key
    (``summary["best"] = x``, ``summary.best = x``, ``update()``) replaces the aggregated value;
    assigning an array or tensor stores it whole in the run's folder and keeps its statistics here.
    """

    def __init__(self, streams: Streams, files: RunFiles) -> None:
        object.__setattr__(self, "_streams", streams)
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_cache", None)

    def _data(self) -> dict[str, Any]:
        self._streams.drain()  # GPU scalars in flight are part of "every log() before"
        core = self._streams.history
        if core.finished:
            return read_json(self._files.path_of(layout.SUMMARY), {})
        sent = core.sent
        if self._cache is None or self._cache[0] != sent:  # nothing queued since: the same summary
            object.__setattr__(self, "_cache", (sent, json.loads(core.summary_json())))
        return self._cache[1]

    def __getitem__(self, key: str) -> Any:
        value = lookup(self._data(), key)
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value  # the cache stays intact

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"summary keys must be strings, got {type(key).__name__}")
        tag = self._streams.media_tag()
        self._writable().set_summary(key, to_summary_json(value, self._files.dir, key, tag))

    def __delitem__(self, key: str) -> None:
        if key not in self._data():
            raise KeyError(key)
        self._writable().set_summary(key, None)

    def _writable(self) -> Any:
        core = self._streams.history
        if core.finished:
            path = self._files.path
            raise _core.Error(
                f"run {path} is finished; change its summary with "
                f"turbotrack.Api().run({path!r}).summary, then .summary.update()"
            )
        return core

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())

    def __contains__(self, key: object) -> bool:
        return contains(self._data(), key)

    def get(self, key: str, default: Any = None) -> Any:
        """``summary[key]``, or ``default`` when there is no such key."""
        try:
            return self[key]
        except KeyError:
            return default

    def items(self) -> Any:  # type: ignore[override]
        return self._data().items()

    def keys(self) -> Any:  # type: ignore[override]
        return self._data().keys()

    def values(self) -> Any:  # type: ignore[override]
        return self._data().values()

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys at once (``summary.update({"best": 0.9})``)."""
        for k, v in dict(other, **kwargs).items():
            self[k] = v

    def __repr__(self) -> str:
        return f"Summary({self._data()!r})"
