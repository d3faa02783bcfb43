"""Process hooks, installed by the first ``init()`` (never by ``import turbotrack``).

- fork: a child forked after ``init()`` gives each live run a core of its own (``after_fork_in_child``);
- ``sys.excepthook`` and ``sys.exit``: remember how the program is ending;
- ``atexit``: finish the runs not finished yet, failed if an exception escaped, else with the status the
  program exits with (``sys.exit(3)``, a SIGTERM handler's ``sys.exit(143)``); the C library's exit
  corrects it where Python cannot see the status (``raise SystemExit(3)``; see rust/exit_status.rs).

Runs are held by strong references until they finish: a run the program dropped without ``finish()``
is still finished at exit. What is held is a run's lifecycle (``_run_life.Lifecycle``), through the
small interface :class:`Tracked`; nothing here reads a run's private parts.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from typing import Any, Optional, Protocol

from . import _core


class Tracked(Protocol):
    """What the hooks need of a live run."""

    @property
    def path(self) -> str: ...

    def finish(self, exit_code: Optional[int] = None) -> None: ...

    def after_fork_in_child(self) -> None: ...

    def exit_records(self, code_marker: str) -> Optional[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``run.json``'s path, and the records to write there when the process really ended with status 0
        or with another (``code_marker`` in place of the status); None where nothing is to be corrected."""
        ...


_live_runs: set[Tracked] = set()
#: What forked children inherited and must never touch again (a lock in them may be held forever).
_fork_leftovers: list[Any] = []
_installed = False
_install_lock = threading.Lock()
_uncaught = False
#: The status of the last sys.exit()/exit()/quit() call, as Python turns it into the process's status.
_exit_code: Optional[int] = None
_previous_hook: Any = None
_previous_exit: Any = None


def install() -> None:
    """Install the hooks once per process (the first ``init()`` calls this)."""
    global _installed, _previous_hook, _previous_exit
    with _install_lock:
        if _installed:
            return
        _installed = True
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _previous_hook, _previous_exit = sys.excepthook, sys.exit
        sys.excepthook = _excepthook
        sys.exit = _exit  # type: ignore[assignment]
        atexit.register(_finish_forgotten_runs)


def track(run: Tracked) -> None:
    """``run`` is live: finished at exit unless it finishes first."""
    install()
    _live_runs.add(run)


def untrack(run: Tracked) -> None:
    _live_runs.discard(run)


def keep_forever(inherited: Any) -> None:
    """Keep what a forked child inherited alive and untouched (dropping it could run finalizers)."""
    _fork_leftovers.append(inherited)


def exit_status(exc: BaseException) -> int:
    """The process status Python makes of a ``SystemExit``: None → 0, an int as is, else 1."""
    code = getattr(exc, "code", None)
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _after_fork_in_child() -> None:
    for run in list(_live_runs):
        run.after_fork_in_child()


def _excepthook(tp: Any, value: Any, tb: Any) -> None:
    global _uncaught
    _uncaught = True
    _previous_hook(tp, value, tb)


def _exit(status: Any = None) -> None:
    """``sys.exit`` that remembers the status for the runs finished at exit (as wandb does)."""
    global _exit_code
    _exit_code = exit_status(SystemExit(status))
    _previous_exit(status)


def _finish_forgotten_runs() -> None:
    code = 1 if _uncaught else _exit_code or 0
    finished = []
    for run in list(_live_runs):
        try:
            run.finish(exit_code=code)
        except Exception as e:  # at exit, report and go on with the others
            print(f"turbotrack: could not finish run {run.path}: {e}", file=sys.stderr)
        else:
            records = run.exit_records(_EXIT_CODE)
            if records is not None:
                finished.append(records)
    if finished:
        _correct_at_c_exit(finished, code)


def _correct_at_c_exit(runs: list[tuple[str, dict[str, Any], dict[str, Any]]], recorded: int) -> None:
    """Python cannot see the status it exits with (``raise SystemExit(3)``, or a ``sys.exit(2)``
    that was caught): have the C library's ``exit()`` rewrite these runs' run.json when the real
    status differs from ``recorded`` (glibc's ``on_exit``; elsewhere the recorded status stands)."""
    try:
        import ctypes

        on_exit = ctypes.CDLL(None).on_exit
        handler = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p)(_core.ON_EXIT_HOOK)
    except (OSError, AttributeError):
        return
    lines = [str(recorded)]
    for path, finished, failed in runs:
        if "\n" in path:
            continue
        lines += [path, *(json.dumps(x, default=str, allow_nan=True) for x in (finished, failed))]
    os.environ[_EXIT_FIX_ENV] = "\n".join(lines)
    on_exit(handler, None)


#: See rust/exit_status.rs.
_EXIT_FIX_ENV = "TURBOTRACK_EXIT_FIX"
_EXIT_CODE = "__TURBOTRACK_EXIT_CODE__"
