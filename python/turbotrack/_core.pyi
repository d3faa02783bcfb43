"""Typed stub of the native core (rust/py/)."""

from os import PathLike
from typing import Any, Callable, Optional, Sequence, Union, final

_Path = Union[str, PathLike[str]]

__all__ = [
    "FORMAT_VERSION",
    "MAX_BLOCK",
    "MAX_DEPTH",
    "MAX_ROW_BYTES",
    "ON_EXIT_HOOK",
    "Core",
    "Error",
    "HistoryScan",
    "PushFloor",
    "Tee",
    "WandbLog",
    "check_name",
    "check_stream",
    "history_names",
    "m4_indices",
    "native_floor",
    "read_history",
    "read_rows",
    "scan_blocks",
    "summarize_history",
    "tensor_stats",
    "verify_file",
    "zoom_history",
]

FORMAT_VERSION: int
MAX_ROW_BYTES: int
"""The most text (strings, rich values' JSON), in UTF-8 bytes, one history row may carry."""
MAX_BLOCK: int
"""The most bytes a history block may hold, compressed or not; a longer one is damage."""
MAX_DEPTH: int
"""How deeply a logged dict may nest dicts."""
ON_EXIT_HOOK: int
"""Address of the C function ``void hook(int status, void *arg)`` for glibc's ``on_exit``."""

class Error(Exception):
    """Base class of turbotrack's own errors: files that cannot be read or written, a finished run."""

@final
class Core:
    """The native side of one stream of a run."""

    def __new__(
        cls,
        path: _Path,
        *,
        summary_path: Optional[_Path] = None,
        start_time: Optional[float] = None,
        flush_interval: Optional[float] = None,
        metric_names: str = "warn",
        queue_capacity: int = 16384,
        meta: str = "stream=history",
        initial_step: int = 0,
        converter: Callable[[str, Any, int], Any],
        quiet: bool = False,
    ) -> Core: ...
    def log(self, data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None: ...
    def hush(self, names: list[str]) -> None:
        """Log ``names`` from now on without the naming-rule notice (``"strict"`` still refuses them)."""
    def define_metric(
        self,
        name: str,
        step_metric: Optional[str] = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        objective: Optional[str] = None,
    ) -> None: ...
    def summary_json(self) -> str: ...
    def set_summary(self, key: str, json: Optional[str]) -> None: ...
    def resolve(self, token: int, value: Any) -> None: ...
    def flush(self) -> None: ...
    def finish(self) -> Optional[str]: ...
    def wait_sealed(self, seen: int, timeout: float) -> int:
        """Wait (without the GIL) until the history file got more blocks than ``seen``, at most
        ``timeout`` seconds; return the count of blocks written so far (at once once finished)."""
    @property
    def step(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    @property
    def start_time(self) -> float: ...

@final
class WandbLog:
    """A wandb transaction log (``run-<id>.wandb``), read a batch of records at a time: history rows
    decoded natively, ``(None, record_bytes, None, None)`` for other records."""

    def __new__(cls, path: _Path) -> WandbLog: ...
    def read(self, size: int = 4096) -> list[tuple[Optional[str], Any, Optional[str], Optional[int]]]: ...
    @property
    def offset(self) -> int: ...

@final
class Tee:
    """Native threads that drain the console capture pipes into the original descriptors and output.log."""

    def __new__(cls, log_path: _Path, streams: Sequence[tuple[str, bytes]]) -> Tee: ...
    def take_write_fds(self) -> list[int]:
        """The write end of each stream's pipe, handed over (the caller points the stream at it)."""
    def begin_stop(self) -> None: ...
    def wait_logged(self, timeout: float) -> bool: ...
    @property
    def finished(self) -> bool: ...
    def problems(self) -> list[str]: ...

def native_floor(d: dict[str, Any]) -> float: ...

@final
class PushFloor:
    """The queue push alone, as a benchmark floor (benches/tail.py). Not part of the API."""

    def __new__(cls, capacity: int = 16384) -> PushFloor: ...
    def push(self, d: dict[str, Any]) -> None: ...
    def close(self) -> None: ...

def check_name(name: str) -> Optional[str]: ...
def read_history(paths: Sequence[_Path], keys: Optional[Sequence[str]] = None) -> dict[str, Any]: ...
def history_names(paths: Sequence[_Path]) -> Optional[list[str]]:
    """The names ``read_history(paths, [])`` lists, from block statistics (None: read the files whole)."""

def zoom_history(
    path: _Path,
    key: str,
    samples: int,
    lo: Optional[float] = None,
    hi: Optional[float] = None,
    segments: bool = True,
) -> Optional[dict[str, Any]]:
    """``history(keys=[key], samples=N)`` of one file from its blocks' statistics (None: read it
    whole); ``segments=False``: never from segments' statistics (M4's exact answer)."""

@final
class HistoryScan:
    """The rows of a run's history files, streamed a page at a time in step, then rank, order."""

    def __new__(cls, paths: Sequence[_Path], keys: Optional[Sequence[str]] = None) -> HistoryScan: ...
    def next_page(self, size: int) -> list[dict[str, Any]]: ...
    @property
    def damaged(self) -> list[str]: ...

def read_rows(paths: Sequence[_Path], keys: Optional[Sequence[str]] = None) -> list[dict[str, Any]]: ...
def verify_file(path: _Path) -> dict[str, Any]: ...
def check_stream(data: bytes, at_start: bool) -> tuple[int, int, Optional[str]]:
    """Uploaded stream bytes checked block by block (each decompressed within its declared length
    and decoded): (end of the last whole block, its rows, why it stopped early or None)."""

def scan_blocks(data: bytes, pos: int = 0, at_start: bool = False) -> tuple[int, int, Optional[str]]:
    """Whole CRC-valid blocks of ``data`` from ``pos`` (``at_start``: the file header first), by
    framing alone (nothing decompressed or copied): (end of the last whole block, rows, why it
    stopped early or None). ValueError when the header is damaged or ``pos`` is past the end."""

def summarize_history(paths: Sequence[_Path], defs: Sequence[tuple[str, Optional[str], Optional[str]]]) -> str: ...
def tensor_stats(values: Any) -> dict[str, Any]: ...
def m4_indices(x: Any, ys: Sequence[Any], max_rows: int) -> Any: ...
