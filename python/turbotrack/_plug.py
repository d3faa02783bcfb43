"""Plugs the SDK's value types into the readers below it (:mod:`turbotrack.store.types`): imported
by ``turbotrack/__init__.py``, so the hooks are there before any reader runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import artifacts
from .store import types


def _table(columns: list[Any], data: list[Any]) -> Any:
    from .data_types.table import Table

    return Table(columns=columns, data=data)


def _summary_json(value: Any, run_dir: Path, key: str) -> str:
    from ._summary import to_summary_json

    return to_summary_json(value, run_dir, key)


types.provide("artifact", artifacts.load)
types.provide("remote_artifact", artifacts.remote_artifact)
types.provide("table", _table)
types.provide("summary_json", _summary_json)
