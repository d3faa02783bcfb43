"""The child side of the differential suite: runs one case's user code as a script would, then writes
what the user could observe in-process to a JSON file.

``python driver.py SPEC.json OUT.json``. SPEC holds the case's code (with ``import wandb`` already
rewritten to ``import turbotrack as wandb`` for the direct variant). The code runs top-level statement by
top-level statement in one namespace (as a script runs); the first exception that escapes a statement
stops the script there: its type name and the statement's index and line are recorded. Then the
epilogue observes the run (``run`` in the script's namespace if it holds one, else ``wandb.run``): its
attributes, ``run.config`` and ``run.summary``, plus whatever the code passed to ``show(label, value)``.
Without an exception the epilogue finishes every run the script holds; with one it re-raises it, so the
process ends as the script would have (a traceback, exit code 1, the library's own exit hooks).

This file imports neither wandb nor turbotrack itself: only the case's code does.
"""

from __future__ import annotations

import ast
import datetime
import json
import math
import sys
from typing import Any

SUMMARY_NOISE = ("_step", "_timestamp", "_runtime", "_wandb")


def jsonish(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data, the way a user would print it; never raises."""
    if depth > 20:
        return {"_object": "too deep"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return jsonish(value.tolist(), depth + 1)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return {"_datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"_bytes": value.decode("latin-1")}
    if isinstance(value, (list, tuple)):
        return [jsonish(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonish(v, depth + 1) for v in value), key=repr)
    keys = getattr(value, "keys", None)
    if callable(keys) and hasattr(value, "__getitem__"):  # a mapping, read as a user would: keys, then [k]
        try:
            return {str(k): jsonish(value[k], depth + 1) for k in list(keys())}
        except Exception as e:
            return {"_error": type(e).__name__}
    to_json = getattr(value, "to_json", None)
    if callable(to_json):  # a media object held by a summary
        try:
            return jsonish(to_json(), depth + 1)
        except Exception:
            pass
    return {"_object": type(value).__name__}


def error_kind(e: BaseException, ns: dict[str, Any]) -> str:
    """What a user's ``except`` can tell of ``e``: ``"library error"`` for the library's own base class
    (``wandb.errors.Error``), else the nearest builtin exception class (a pydantic ``ValidationError`` is a
    ``ValueError``)."""
    module = ns.get("wandb") or sys.modules.get("wandb")
    base = getattr(getattr(module, "errors", None), "Error", None)
    if isinstance(base, type) and isinstance(e, base):
        return "library error"
    return next(c.__name__ for c in type(e).__mro__ if c.__module__ == "builtins")


def _safe(fn: Any) -> Any:
    try:
        return jsonish(fn())
    except Exception as e:
        return {"_error": type(e).__name__}


def _looks_like_run(value: Any) -> bool:
    return type(value).__name__ in ("Run", "RunDisabled") and hasattr(value, "summary") and hasattr(value, "log")


def observe_run(run: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"present": run is not None}
    if run is None:
        return out
    # whether the run was finished when observed (a finished wandb run no longer answers for its step and
    # summary); private attributes, read only here
    out["finished"] = bool(getattr(run, "_is_finished", False) or getattr(run, "_finished", False))
    for attr in ("id", "name", "project", "path", "step"):
        out[attr] = _safe(lambda a=attr: getattr(run, a))
    out["config"] = _safe(lambda: dict(run.config))
    summary = _safe(lambda: dict(run.summary))
    if isinstance(summary, dict) and "_error" not in summary:
        summary = {k: v for k, v in summary.items() if k not in SUMMARY_NOISE}
    out["summary"] = summary
    return out


def statements(code: str) -> list[tuple[int, Any]]:
    tree = ast.parse(code, filename="case.py")
    return [(stmt.lineno, compile(ast.Module([stmt], []), "case.py", "exec")) for stmt in tree.body]


def main() -> None:
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    shown: dict[str, Any] = {}

    def show(label: str, value: Any) -> None:
        shown[label] = jsonish(value)

    ns: dict[str, Any] = {"__name__": "__main__", "__file__": "case.py", "show": show}
    error: Any = None
    failure: BaseException | None = None
    steps = statements(spec["code"])
    for index, (line, stmt) in enumerate(steps):
        try:
            exec(stmt, ns)
        except BaseException as e:
            if isinstance(e, SystemExit) and not e.code:
                break
            error = {"type": type(e).__name__, "kind": error_kind(e, ns), "stmt": index, "line": line}
            error["message"] = str(e)[:500]
            failure = e
            break
    module = ns.get("wandb") or sys.modules.get("wandb")
    run = ns.get("run") if _looks_like_run(ns.get("run")) else getattr(module, "run", None)
    result: dict[str, Any] = {"error": error, "statements": len(steps), "shown": shown, "run": observe_run(run)}
    finish_error = None
    if failure is None:
        try:
            for value in list(ns.values()):
                if _looks_like_run(value):
                    value.finish()
            if module is not None and getattr(module, "run", None) is not None:
                module.finish()
        except Exception as e:
            finish_error = {"type": type(e).__name__, "message": str(e)[:500]}
    result["finish_error"] = finish_error
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    if failure is not None:
        raise failure


if __name__ == "__main__":
    main()
