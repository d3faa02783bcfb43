"""Typed query parameters: a route names a dataclass, and the query string is parsed into it by the
fields' annotations (``int``, ``float``, ``bool``, ``str``, ``list[str]`` from ``a,b``, each maybe
``Optional``). A value of the wrong type is a 400 that names the parameter; unknown parameters are
ignored (a cache-busting ``_=`` must not fail a read)."""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from functools import cache
from typing import Any, Callable, Mapping, TypeVar

from .errors import ApiError

T = TypeVar("T")
_MAX_VALUE = 64 << 10  # one parameter's text: the run filters are the longest (limits in store/query.py)


def _whole(name: str, text: str) -> int:
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 19:
        raise ApiError(400, f"bad query: {name} must be a whole number, not {text[:40]!r}")
    return int(text)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, f"bad query: {name} must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ApiError(400, f"bad query: {name} must be a finite number, not {text[:40]!r}")
    return value


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("", "0", "false", "no"):
        return False
    if text.lower() in ("1", "true", "yes"):
        return True
    raise ApiError(400, f"bad query: {name} must be 1 or 0, not {text[:40]!r}")


def _names(name: str, text: str) -> list[str]:
    return [k for k in text.split(",") if k]


_PARSERS: dict[Any, Callable[[str, str], Any]] = {
    int: _whole,
    float: _number,
    bool: _flag,
    str: lambda name, text: text,
    list[str]: _names,
}


@cache
def _plan(model: type) -> tuple[tuple[str, Callable[[str, str], Any]], ...]:
    hints = typing.get_type_hints(model, vars(sys.modules[model.__module__]))
    plan = []
    for f in dataclasses.fields(model):
        tp = hints[f.name]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) is typing.Union and len(args) == 1:
            tp = args[0]
        plan.append((f.name, _PARSERS[tp]))
    return tuple(plan)


def parse(model: type[T], query: Mapping[str, str]) -> T:
    """``model`` filled from ``query`` (the last value of each parameter)."""
    values: dict[str, Any] = {}
    for name, parse_one in _plan(model):  # type: ignore[arg-type]
        text = query.get(name)
        if text is None:
            continue
        if len(text) > _MAX_VALUE:
            raise ApiError(400, f"bad query: {name} is over {_MAX_VALUE} characters")
        values[name] = parse_one(name, text)
    try:
        return model(**values)
    except ValueError as e:  # a __post_init__ check
        raise ApiError(400, f"bad query: {e}") from None


@dataclasses.dataclass(frozen=True)
class NoQuery:
    """A route that takes no parameters."""


__all__ = ["NoQuery", "parse"]
