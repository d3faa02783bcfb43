"""What every handler checks first, shared by the route table (routes.py) and the UI's writes
(run_edits.py): a path name (``layout.check_part``, 400 when it would leave ROOT), a run's path, a
JSON body, and a run as the index lists it (read into the index first when only its folder is new)."""

from __future__ import annotations

import functools
import json
from typing import Any, Mapping

from ..store import layout
from .errors import ApiError
from .state import ServerState


def part(what: str, value: str) -> str:
    """``value`` as one path part named ``what`` (``layout.check_part``), else a 400 naming it."""
    try:
        return _checked(what, value)
    except ValueError as e:
        raise ApiError(400, str(e)) from None


@functools.lru_cache(maxsize=4096)
def _checked(what: str, value: str) -> str:
    # Every request names its entity, project and run, each checked twice (the route, the handler):
    # the check's character walk was ~5 % of a small request's CPU. A name that passed is
    # remembered; one that failed is checked again (lru_cache keeps no exception).
    return layout.check_part(what, value)


def run_path(s: ServerState, p: Mapping[str, str]) -> layout.RunPath:
    return layout.RunPath(
        s.root, part("entity", p["entity"]), part("project", p["project"]), part("run id", p["run_id"])
    )


def read_run(s: ServerState, p: Mapping[str, str], streams: bool = True) -> layout.RunPath:
    """The run a read names, its files fetched into this replica's cache first when they live in an
    object store (``streams`` False: only its state files)."""
    rp = run_path(s, p)
    s.ingest.pull(rp.dir, streams)
    return rp


def json_body(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, f"{what} must be JSON") from None


def index_run(s: ServerState, rp: layout.RunPath) -> dict[str, Any]:
    """The run's row as the runs list has it, read again first when an upload only marked it
    (server/reindex.py): a run read alone is exact."""
    s.reindex.current(rp)
    found = s.index.runs(rp.entity, rp.project, run_id=rp.run_id)
    if not found and layout.is_run_dir(rp.dir):
        s.index.refresh(rp)
        found = s.index.runs(rp.entity, rp.project, run_id=rp.run_id)
    if not found:
        raise ApiError(404, f"no run {rp.path}")
    return found[0]


__all__ = ["index_run", "json_body", "part", "run_path"]
