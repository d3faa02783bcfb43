"""``wandb.Settings``: wandb's settings object, with the keys turbotrack understands translated and the rest kept.

``init(settings=wandb.Settings(start_method="thread", console="off"))`` works: ``start_method`` and other
wandb-only keys are accepted and kept (readable as attributes); the ones with a turbotrack meaning become
turbotrack settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Iterator

from ..settings import Settings as TurbotrackSettings

_FIELDS = {f.name for f in dataclasses.fields(TurbotrackSettings)}
_OFF = {"off", "false", "0", "none"}


def _translate(key: str, value: Any) -> dict[str, Any]:
    """The turbotrack settings a wandb setting means (empty when it means nothing here)."""
    if key in _FIELDS:
        return {key: value}
    if key == "console":
        return {"capture_stdout": str(value).strip().lower() not in _OFF}
    if key in ("_disable_stats", "x_disable_stats", "disable_stats"):
        return {"capture_system": not value}
    if key in ("disable_git", "x_disable_git"):
        return {"capture_git": not value}
    if key in ("_stats_sample_rate_seconds", "x_stats_sampling_interval"):
        return {"system_interval": float(value)}
    if key == "x_primary" and value is False:
        return {"shared": True}
    if key == "base_url" and value:
        return {"base_url": value}
    return {}


class Settings(Mapping):
    """wandb's ``Settings(**kwargs)``: every keyword is accepted and readable as an attribute; as a
    mapping it holds only the turbotrack settings they translate to (what ``turbotrack.init`` reads)."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_given", dict(kwargs))

    def _turbotrack(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self._given.items():
            if key == "mode" and value is not None:
                from .env import _MODES

                value = _MODES.get(str(value), value)
            out.update(_translate(key, value) if value is not None else {})
        return out

    def __getitem__(self, key: str) -> Any:
        return self._turbotrack()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._turbotrack())

    def __len__(self) -> int:
        return len(self._turbotrack())

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self._given.get(key)

    def __setattr__(self, key: str, value: Any) -> None:
        self._given[key] = value

    def update(self, other: Any = None, **kwargs: Any) -> None:
        """Set several settings at once."""
        self._given.update(dict(other or {}, **kwargs))

    def to_dict(self) -> dict[str, Any]:
        """Every setting as given."""
        return dict(self._given)

    def __repr__(self) -> str:
        return f"wandb.Settings({self._given!r})"


def as_turbotrack(settings: Any) -> Any:
    """``settings`` as ``turbotrack.init`` takes them: wandb Settings or a dict with wandb keys become a dict of
    turbotrack settings; turbotrack's own ``Settings`` and ``None`` pass through."""
    if settings is None or isinstance(settings, TurbotrackSettings):
        return settings
    if isinstance(settings, Settings):
        return dict(settings)
    if isinstance(settings, Mapping):
        return dict(Settings(**dict(settings)))
    if hasattr(settings, "model_dump"):  # a real wandb.Settings (pydantic) object
        return dict(Settings(**{k: v for k, v in settings.model_dump().items() if v is not None}))
    raise TypeError(f"settings must be a dict or wandb.Settings, got {type(settings).__name__}")
