"""Typed stub of the native core (rust/py/)."""

from os import PathLike
from typing import Any, Callable, Optional, Sequence, Union, final

_Path = Union[str, PathLike[str]]

__all__ = [
    "FORMAT_VERSION",
    "Core",
    "Error",
    "check_name",
    "m4_indices",
    "native_floor",
    "read_history",
    "read_rows",
    "summarize_history",
    "tensor_stats",
    "verify_file",
]

FORMAT_VERSION: int

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
        flush_interval: float = 1.0,
        metric_names: str = "warn",
        queue_capacity: int = 16384,
        meta: str = "stream=history",
        initial_step: int = 0,
        converter: Callable[[str, Any, int], Any],
    ) -> Core: ...
    def log(self, data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None: ...
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
    @property
    def step(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    @property
    def start_time(self) -> float: ...

def native_floor(d: dict[str, Any]) -> float: ...
def check_name(name: str) -> Optional[str]: ...
def read_history(paths: Sequence[_Path]) -> dict[str, Any]: ...
def read_rows(paths: Sequence[_Path], keys: Optional[Sequence[str]] = None) -> list[dict[str, Any]]: ...
def verify_file(path: _Path) -> dict[str, Any]: ...
def summarize_history(paths: Sequence[_Path], defs: Sequence[tuple[str, Optional[str], Optional[str]]]) -> str: ...
def tensor_stats(values: Any) -> dict[str, Any]: ...
def m4_indices(x: Any, ys: Sequence[Any], max_rows: int) -> Any: ...
