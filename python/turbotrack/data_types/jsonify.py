"""Any value ``log()`` takes, as the JSON wandb stores for it.

wandb 0.31 writes a logged value with ``pydantic_core.to_json``, falling back to its own
``json_friendly`` for what pydantic cannot write (NumPy, tensors, callables). :func:`plain` follows
both, without needing either:

- lists, tuples, sets, frozensets and generators are arrays (a set in its iteration order); dicts
  are objects, their keys written as text (``1`` → ``"1"``, ``True`` → ``"true"``, ``None`` → ``"None"``);
- ``datetime``, ``date`` and ``time`` are ISO 8601 text (a zero UTC offset is written ``Z``),
  ``timedelta`` an ISO 8601 duration (``PT5S``, ``P1DT2H``; 365-day years, as pydantic writes them);
- ``bytes`` are decoded as UTF-8 (others are refused, as wandb refuses them: ``UnicodeDecodeError``);
- enums are their value; dataclasses and pydantic models are objects of their fields;
- ``Path``, ``UUID``, ``Decimal``, IP addresses, compiled patterns and complex numbers are text;
  a function or class is its ``module.qualname``;
- NumPy scalars are Python's; arrays and tensors of one element are that element, of at most 32
  a (nested) list, of more a 32-bin histogram (numeric ones only: wandb fails on others).

Everything else is a ``TypeError`` that names the key, where in the value the culprit sits, and its
type. Modules are looked up in ``sys.modules``: a value of a library's type exists only if the
program imported that library, so nothing is imported here to recognise one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import sys
import types
from typing import Any, Callable, Optional

from .arrays import is_tensor, to_numpy
from .base import Media
from .histogram import Histogram

#: Arrays and tensors with more elements than this are stored as a histogram (wandb's rule).
MAX_LIST_ELEMENTS = 32
#: The bins of that histogram.
ARRAY_HISTOGRAM_BINS = 32

_NATIVE = (type(None), bool, int, float, str)
_ZERO = dt.timedelta(0)

#: A hook for rich values met inside a value: ``(media, path) -> JSON``; ``None`` refuses them.
MediaHook = Optional[Callable[[Any, str], Any]]


def is_native(value: list[Any] | tuple[Any, ...]) -> bool:
    """A flat list or tuple of None, bools, ints, floats and strings only (JSON as it is)."""
    return all(type(v) in _NATIVE for v in value)


def plain(name: str, value: Any, media: MediaHook = None, whole_arrays: bool = False) -> Any:
    """``value`` as JSON-native Python (None, bool, int, float, str, list, dict), as wandb stores it.

    ``media`` turns rich values (``Image``...) met inside ``value`` into their JSON; without it they
    are refused, as wandb refuses a list that mixes media and other values. ``whole_arrays`` keeps
    arrays of any size as lists (as wandb stores a table's cells) instead of histograms."""
    return _Walk(name, media, whole_arrays).value(value, "", ())


class _Walk:
    def __init__(self, name: str, media: MediaHook, whole_arrays: bool) -> None:
        self.name = name
        self.media = media
        self.whole_arrays = whole_arrays

    def value(self, v: Any, where: str, chain: tuple[int, ...]) -> Any:
        t = type(v)
        if t in _NATIVE:
            return v
        if t is list or t is tuple:
            return self.items(v, where, chain)
        if t is dict:
            return self.mapping(v, where, chain)
        if isinstance(v, enum.Enum):  # before int and str: IntEnum, StrEnum
            return self.value(v.value, where, chain)
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, dict):
            return self.mapping(v, where, chain)
        if isinstance(v, (list, tuple, set, frozenset, types.GeneratorType)):
            return self.items(v, where, chain)
        if isinstance(v, dt.datetime):
            return iso_datetime(v)
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, dt.time):
            return iso_time(v)
        if isinstance(v, dt.timedelta):
            return iso_duration(v)
        if isinstance(v, (bytes, bytearray)):
            return self.text(bytes(v), where)
        np = sys.modules.get("numpy")
        if np is not None and isinstance(v, np.generic):
            return self.value(numpy_scalar(v, self.name, where), where, chain)
        if (np is not None and isinstance(v, np.ndarray)) or is_tensor(v):
            return self.array(v, where, chain)
        if isinstance(v, Media) or getattr(v, "_turbotrack_plot", False):
            if self.media is None:
                raise self.refuse(v, where, "rich values (Image, Table, ...) can be logged alone or in a list of them")
            return self.media(v, where)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            fields = {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
            return self.mapping(fields, where, chain)
        serializer = getattr(type(v), "__pydantic_serializer__", None)
        if serializer is not None and hasattr(type(v), "model_dump"):  # a pydantic model
            return self.value(v.model_dump(mode="json"), where, chain)
        text = _as_text(v)
        if text is not None:
            return text
        if callable(v):
            if hasattr(v, "__qualname__") and hasattr(v, "__module__"):
                return f"{v.__module__}.{v.__qualname__}"
            return str(v)
        raise self.refuse(v, where)

    def items(self, v: Any, where: str, chain: tuple[int, ...]) -> list[Any]:
        chain = self.enter(v, where, chain)
        if type(v) in (list, tuple) and is_native(v):
            return list(v)
        return [self.value(x, f"{where}[{i}]", chain) for i, x in enumerate(v)]

    def mapping(self, v: dict[Any, Any], where: str, chain: tuple[int, ...]) -> dict[str, Any]:
        chain = self.enter(v, where, chain)
        out: dict[str, Any] = {}
        for k, x in v.items():
            key = self.key(k, where)
            out[key] = self.value(x, f"{where}[{key!r}]", chain)
        return out

    def key(self, k: Any, where: str) -> str:
        """A dict key as text, as pydantic writes keys."""
        if isinstance(k, enum.Enum):
            k = k.value
        np = sys.modules.get("numpy")
        if np is not None and isinstance(k, np.generic):
            k = numpy_scalar(k)
        if isinstance(k, str):
            return str.__str__(k)
        if isinstance(k, bool):
            return "true" if k else "false"
        if isinstance(k, int):
            return str(int(k))
        if isinstance(k, float):
            return repr(float(k))
        if k is None:
            return "None"
        if isinstance(k, tuple):
            return ",".join(self.key(x, where) for x in k)
        if isinstance(k, (dt.date, dt.time, dt.timedelta, bytes)):
            return str(self.value(k, where, ()))
        text = _as_text(k)
        if text is not None:
            return text
        raise TypeError(
            f"cannot log {self.name!r}: a dict{' at ' + where if where else ''} has a key of type "
            f"{_type_name(k)}; keys must be strings, numbers, bools or None. Nothing of this log() call was recorded"
        )

    def enter(self, v: Any, where: str, chain: tuple[int, ...]) -> tuple[int, ...]:
        """``chain`` (the containers being walked) with ``v``; a container inside itself is refused."""
        if id(v) in chain:
            raise ValueError(
                f"cannot log {self.name!r}: the value contains itself{' at ' + where if where else ''} "
                "(a circular reference). Nothing of this log() call was recorded"
            )
        return (*chain, id(v))

    def text(self, b: bytes, where: str) -> str:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError as e:
            at = f" at {where}" if where else ""
            raise UnicodeDecodeError(
                e.encoding,
                e.object,
                e.start,
                e.end,
                f"{e.reason}: cannot log {self.name!r}{at}: bytes are stored as UTF-8 text. "
                "Nothing of this log() call was recorded",
            ) from None

    def array(self, v: Any, where: str, chain: tuple[int, ...]) -> Any:
        arr = to_numpy(v)
        if arr.size == 1:
            return self.value(numpy_scalar(arr.reshape(-1)[0], self.name, where), where, chain)
        if arr.size <= MAX_LIST_ELEMENTS or self.whole_arrays:
            return self.value(arr.tolist(), where, chain)
        return array_histogram(self.name, arr, where)

    def refuse(self, v: Any, where: str, why: str = "") -> TypeError:
        inside = f" (at {where})" if where else ""
        return TypeError(
            f"cannot log {self.name!r}{inside}: values of type {_type_name(v)} are not supported"
            f"{'; ' + why if why else ''}. Log numbers, bools, strings, None, lists, dicts, datetimes, NumPy "
            "arrays, tensors, or turbotrack.Histogram / Table / Image / plot objects. "
            "Nothing of this log() call was recorded"
        )


def array_histogram(name: str, arr: Any, where: str = "") -> dict[str, Any]:
    """An array of more than :data:`MAX_LIST_ELEMENTS` elements, as wandb stores it: a 32-bin histogram."""
    if arr.dtype.kind not in "biuf":
        inside = f" (at {where})" if where else ""
        raise TypeError(
            f"cannot log {name!r}{inside}: an array of {arr.size} {arr.dtype} values; arrays of more than "
            f"{MAX_LIST_ELEMENTS} elements are stored as a histogram, which needs numbers. "
            "Nothing of this log() call was recorded"
        )
    return Histogram(arr, num_bins=ARRAY_HISTOGRAM_BINS).to_json()


def numpy_scalar(v: Any, name: str = "", where: str = "") -> Any:
    """A NumPy scalar as Python's own value. Floats wider than float64 (``np.longdouble``) become the
    nearest float64; one beyond float64's range is an ``OverflowError`` naming the key."""
    import numpy as np

    item = v.item()
    if not isinstance(item, np.generic):
        return item
    # np.longdouble and other extended types: .item() gives the NumPy scalar back.
    if v.dtype.kind == "c":
        return complex(item)
    x = float(item)
    if math.isinf(x) and np.isfinite(item):
        inside = f" (at {where})" if where else ""
        raise OverflowError(
            f"cannot log {name!r}{inside}: the {type(v).__name__} value {item} is beyond float64's range, "
            "which history stores. Nothing of this log() call was recorded"
        )
    return x


def iso_datetime(v: dt.datetime) -> str:
    """ISO 8601, as pydantic writes a datetime: a zero UTC offset is ``Z``, others ``+HH:MM``."""
    offset = v.utcoffset()
    if offset is None:
        return v.isoformat()
    return v.replace(tzinfo=None).isoformat() + _offset(offset)


def iso_time(v: dt.time) -> str:
    """ISO 8601, as pydantic writes a time of day."""
    offset = v.utcoffset()
    if offset is None:
        return v.isoformat()
    return v.replace(tzinfo=None).isoformat() + _offset(offset)


def _offset(offset: dt.timedelta) -> str:
    """``+HH:MM`` (seconds dropped, as pydantic drops them), or ``Z`` for UTC itself."""
    if offset == _ZERO:
        return "Z"
    total = int(offset.total_seconds())
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"


def iso_duration(v: dt.timedelta) -> str:
    """An ISO 8601 duration, as pydantic writes a timedelta: ``[-]P[nY][nD][T[nH][nM][n[.f]S]]``, with
    365-day years; ``PT0S`` for zero."""
    negative = v < _ZERO
    v = -v if negative else v
    days, seconds, micros = v.days, v.seconds, v.microseconds
    out = "-P" if negative else "P"
    years, days = divmod(days, 365)
    if years:
        out += f"{years}Y"
    if days:
        out += f"{days}D"
    if seconds or micros:
        out += "T"
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        if hours:
            out += f"{hours}H"
        if minutes:
            out += f"{minutes}M"
        if micros:
            out += f"{secs}.{micros:06d}".rstrip("0") + "S"
        elif secs:
            out += f"{secs}S"
    elif not (years or days):
        out += "T0S"
    return out


def _as_text(v: Any) -> Optional[str]:
    """Values pydantic writes as text: paths, UUIDs, decimals, IP addresses, patterns, complex numbers."""
    if isinstance(v, complex):
        return str(v).strip("()")
    pathlib = sys.modules.get("pathlib")
    if pathlib is not None and isinstance(v, pathlib.PurePath):
        return str(v)
    for module, names in _TEXT_TYPES:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(v, tuple(getattr(mod, n) for n in names)):
            return str(v)
    re = sys.modules.get("re")
    if re is not None and isinstance(v, re.Pattern):
        return str(v.pattern)
    return None


_TEXT_TYPES = (
    ("uuid", ("UUID",)),
    ("decimal", ("Decimal",)),
    ("ipaddress", ("IPv4Address", "IPv6Address", "IPv4Network", "IPv6Network", "IPv4Interface", "IPv6Interface")),
)


def _type_name(v: Any) -> str:
    t = type(v)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
