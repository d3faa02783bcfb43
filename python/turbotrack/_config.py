"""``run.config``: the run's hyperparameters, a dict with attribute access, saved on change."""

from __future__ import annotations

import argparse
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from ._fs import atomic_write_json


def _as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, argparse.Namespace):
        return dict(vars(obj))
    if isinstance(obj, MutableMapping) or isinstance(obj, dict):
        return dict(obj)
    if hasattr(obj, "flag_values_dict"):  # absl flags
        return dict(obj.flag_values_dict())
    if hasattr(obj, "items"):
        return dict(obj.items())
    raise TypeError(f"config must be a dict or an argparse.Namespace, got {type(obj).__name__}")


class Config(MutableMapping):
    """Hyperparameters: ``config["lr"]``, ``config.lr``, ``config.update({...})``. Every change is
    written to ``config.json`` in the run's folder at once (atomically)."""

    def __init__(
        self,
        path: Optional[Path] = None,
        initial: Any = None,
        on_change: Optional[Callable[[dict[str, Any]], None]] = None,
    ) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_items", _as_dict(initial))
        object.__setattr__(self, "_on_change", on_change)
        self._save()

    def _save(self) -> None:
        if self._path is not None:
            atomic_write_json(self._path, self._items)
        if self._on_change is not None:
            self._on_change(self._items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._save()

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._save()

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __getattr__(self, key: str) -> Any:
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

    def update(self, other: Any = None, /, allow_val_change: bool = True, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several keys at once, saving once."""
        self._items.update(_as_dict(other), **kwargs)
        self._save()

    def setdefaults(self, d: Any) -> None:
        """Set the keys of ``d`` that are not set yet."""
        for k, v in _as_dict(d).items():
            self._items.setdefault(k, v)
        self._save()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"
