"""``run.config``: the run's hyperparameters, a dict with attribute access, saved on change.

Values are kept JSON-native, as wandb stores them: NumPy scalars as numbers, arrays, tuples and sets
as lists, ``Path`` as its string, ``argparse.Namespace``, dataclasses, absl flags and pydantic models as
dicts (nested too); a value with no JSON form is a ``TypeError`` naming the key. As in wandb 0.31,
giving a key that is set another value raises :class:`turbotrack.errors.ConfigError` unless
``allow_val_change=True`` (any true value, as wandb); keys lose leading and trailing ``-`` as in wandb.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import enum
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Iterator, MutableMapping, Optional

from . import errors
from ._fs import atomic_write_json


def _as_dict(obj: Any) -> dict[str, Any]:
    """A config source as a dict: a mapping, ``argparse.Namespace``, dataclass, absl flags, pydantic model."""
    if obj is None:
        return {}
    if isinstance(obj, argparse.Namespace):
        return dict(vars(obj))
    if isinstance(obj, Mapping):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "flag_values_dict"):  # absl flags
        return dict(obj.flag_values_dict())
    if hasattr(obj, "model_dump"):  # pydantic
        return dict(obj.model_dump())
    if hasattr(obj, "items"):
        return dict(obj.items())
    raise TypeError(f"config must be a dict, an argparse.Namespace or a dataclass, got {type(obj).__name__}")


def to_json_value(value: Any, key: str) -> Any:
    """``value`` as the JSON-native value wandb stores for config ``key``; TypeError naming it if it has none."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, enum.Enum):
        return to_json_value(value.value, key)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [to_json_value(v, key) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (Mapping, argparse.Namespace)) or hasattr(value, "flag_values_dict"):
        return {str(k): to_json_value(v, f"{key}.{k}") for k, v in _as_dict(value).items()}
    if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or hasattr(value, "model_dump"):
        return {str(k): to_json_value(v, f"{key}.{k}") for k, v in _as_dict(value).items()}
    module = type(value).__module__.split(".")[0]
    if module in ("numpy", "torch", "jax", "jaxlib", "tensorflow") and hasattr(value, "tolist"):
        return to_json_value(value.tolist(), key)  # NumPy scalars and arrays, tensors
    raise TypeError(
        f"config[{key!r}]: a {type(value).__module__}.{type(value).__qualname__} has no JSON form; "
        "give a number, string, bool, None, list or dict (or str(value))"
    )


def load_file(path: Any) -> dict[str, Any]:
    """A config file (``init(config="params.yaml")``, ``config_paths``): JSON, or YAML when PyYAML is there."""
    text = Path(path).read_text()
    try:
        data = json.loads(text)
    except ValueError:
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise ValueError(f"config file {path} is not JSON, and reading YAML needs PyYAML") from None
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a mapping, got {type(data).__name__}")
    # wandb's config-defaults.yaml style: {"lr": {"value": 0.1, "desc": ...}}
    return {
        k: v["value"] if isinstance(v, dict) and "value" in v and set(v) <= {"value", "desc"} else v
        for k, v in data.items()
    }


def _same(a: Any, b: Any) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


class Config(MutableMapping):  # type: ignore[type-arg]
    """Hyperparameters: ``config["lr"]``, ``config.lr``, ``config.update({...})``, ``config.setdefaults``,
    ``config.as_dict()``. Every change is written to ``config.json`` in the run's folder at once
    (atomically). Changing a key set before raises ``ConfigError`` unless ``allow_val_change=True``
    (given to ``update()``, or to ``init()`` for every change)."""

    def __init__(
        self,
        path: Optional[Path] = None,
        initial: Any = None,
        on_change: Optional[Callable[[dict[str, Any]], None]] = None,
        allow_val_change: bool = False,
    ) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_on_change", on_change)
        object.__setattr__(self, "_allow_val_change", allow_val_change)
        self._apply(self._checked(_as_dict(initial), True))

    def _checked(self, items: dict[str, Any], allow_val_change: Optional[bool]) -> tuple[dict[str, Any], list[str]]:
        """``items`` converted; ConfigError for a key that would change without leave (nothing is set then).
        Values with no JSON form are left out and named in a ``TypeError`` raised by :meth:`_apply` after
        the others are set: a framework that logs a dict holding one odd object (fastai's ``Learner``) and
        catches the error keeps the rest of its config, as it does with wandb."""
        allow = self._allow_val_change if allow_val_change is None else allow_val_change
        out = {}
        refused: list[str] = []
        for k, v in items.items():
            if not isinstance(k, str):
                raise TypeError(f"config keys must be strings, got {k!r} ({type(k).__name__})")
            k = k.strip("-")  # as wandb: {"--lr": 0.1} (an argparse flag's spelling) is key "lr"
            try:
                out[k] = to_json_value(v, k)
            except TypeError as e:
                refused.append(str(e))
                continue
            if not allow and k in self._items and not _same(self._items[k], out[k]):
                raise errors.ConfigError(
                    f"Attempted to change value of key {k!r} from {self._items[k]!r} to {out[k]!r}; "
                    "if you really want to do this, pass allow_val_change=True to config.update()"
                )
        return out, refused

    def _apply(self, checked: tuple[dict[str, Any], list[str]]) -> None:
        """Set what :meth:`_checked` converted and save; then the ``TypeError`` for values it left out, if any."""
        items, refused = checked
        self._items.update(items)
        self._save()
        if refused:
            raise TypeError("; ".join(refused) + (" (the config's other keys were set)" if items else ""))

    def _save(self) -> None:
        if self._path is not None:
            atomic_write_json(self._path, self._items)
        if self._on_change is not None:
            self._on_change(self._items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._apply(self._checked({key: value}, None))

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._save()

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def update(self, other: Any = None, /, allow_val_change: Optional[bool] = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys at once (a dict, ``argparse.Namespace``, dataclass...), saving once.
        Changing a key set before raises ``ConfigError`` unless ``allow_val_change=True``."""
        self._apply(self._checked({**_as_dict(other), **kwargs}, allow_val_change))

    def setdefaults(self, d: Any) -> None:
        """Set the keys of ``d`` that are not set yet (the others keep their values)."""
        new = {k: v for k, v in _as_dict(d).items() if k not in self._items}
        self._apply(self._checked(new, True))

    def as_dict(self) -> dict[str, Any]:
        """A copy of the config as a plain dict."""
        return dict(self._items)

    def keys(self) -> Any:  # type: ignore[override]
        return self._items.keys()

    def __repr__(self) -> str:
        return f"Config({self._items!r})"
