"""The current run of this process: what ``turbotrack.run``, ``turbotrack.config``, ``turbotrack.summary``
and the module-level functions act on.

``run``, ``config`` and ``summary`` are plain attributes of the front-door modules (``turbotrack``, and
the ``wandb`` that ``turbotrack run`` serves), set here whenever the current run changes, as wandb does:
code that reads ``wandb.run`` during interpreter shutdown (torchtune's ``WandBLogger.__del__``), when a
module ``__getattr__`` may no longer work, still finds it. Nothing here imports the SDK."""

from __future__ import annotations

import types
from typing import Any, Optional

from . import errors
from ._config import Config

_current: Optional[Any] = None
#: The settings ``turbotrack.setup(settings=)`` gave, under every later ``init()``'s.
setup_settings: Any = None
_modules: list[types.ModuleType] = []


class _Unbound(dict):  # type: ignore[type-arg]
    """``turbotrack.summary`` before ``init()``: an empty dict that also reads by attribute."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def register(module: types.ModuleType) -> None:
    """Keep ``module.run``, ``.config`` and ``.summary`` in step with the current run."""
    if module not in _modules:
        _modules.append(module)
    _publish()


def current() -> Optional[Any]:
    """The current run, or None."""
    return _current


def set_current(run: Optional[Any]) -> None:
    """Make ``run`` the current one (``turbotrack.run``)."""
    global _current
    _current = run
    _publish()


def forget(run: Any) -> None:
    """Called by ``finish()``: the run is no longer the current one."""
    if _current is run:
        set_current(None)


def need(what: str) -> Any:
    """The current run, or ``turbotrack.errors.UsageError`` saying to call ``init()`` before ``what()``."""
    if _current is None:
        raise errors.UsageError(f"You must call turbotrack.init() before turbotrack.{what}()")
    return _current


def _publish() -> None:
    run = _current
    config = run.config if run is not None else Config()
    summary = run.summary if run is not None else _Unbound()
    for module in _modules:
        module.run = run  # type: ignore[attr-defined]
        module.config = config  # type: ignore[attr-defined]
        module.summary = summary  # type: ignore[attr-defined]
