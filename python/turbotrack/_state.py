"""The current run of this process: what ``turbotrack.run``, ``turbotrack.config`` and
``turbotrack.summary`` (served by the package's ``__getattr__``) and the module-level functions act on.

Runs set it in ``init()`` and clear it in ``finish()``; nothing here imports the SDK."""

from __future__ import annotations

from typing import Any, Optional

from . import _core
from ._config import Config

_current: Optional[Any] = None
#: ``turbotrack.config`` before ``init()``: an empty config that saves nowhere.
_unbound_config = Config()


def current() -> Optional[Any]:
    """The current run, or None."""
    return _current


def set_current(run: Optional[Any]) -> None:
    global _current
    _current = run


def forget(run: Any) -> None:
    """Called by ``finish()``: the run is no longer the current one."""
    global _current
    if _current is run:
        _current = None


def need(what: str) -> Any:
    """The current run, or ``turbotrack.Error`` saying to call ``init()`` before ``what()``."""
    if _current is None:
        raise _core.Error(f"call turbotrack.init() before turbotrack.{what}()")
    return _current


def attribute(name: str) -> Any:
    """``turbotrack.run`` / ``config`` / ``summary``: the current run's, or their empty stand-ins."""
    run = _current
    if name == "run":
        return run
    if name == "config":
        return run.config if run is not None else _unbound_config
    if name == "summary":
        return run.summary if run is not None else {}
    raise AttributeError(name)
