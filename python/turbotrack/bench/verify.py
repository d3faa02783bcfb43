"""Read turbotrack's runs back after a benchmark and check that every logged point is there.

The values are regenerated from the seed (``workloads.expected_rows``), so nothing logged needs to
be kept in memory while measuring. A build that drops, reorders or rounds points is reported, not
praised.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from .workloads import Workload, expected_rows, key_names


def verify_turbotrack(
    out: Path, run_paths: list[str], workload: Workload, steps: int, data: str, seed: int
) -> tuple[bool, str]:
    """``(ok, note)``: whether the runs under ``out`` hold every point the workload logged."""
    import turbotrack

    api = turbotrack.Api(dir=str(out))
    expected_points = workload.points(steps)
    shared = workload.procs > 1 and len(set(run_paths)) == 1
    if shared:
        groups = [(run_paths[0], list(range(workload.procs)))]
    elif len(run_paths) == workload.procs:
        t = workload.threads
        groups = [(path, list(range(r * t, (r + 1) * t))) for r, path in enumerate(run_paths)]
    else:
        return False, f"expected {workload.procs} run(s), the worker reported {run_paths!r}"

    seen_points = 0
    for path, streams in groups:
        try:
            rows = list(api.run(path).scan_history())
        except Exception as exc:  # any failure to read back fails the check
            return False, f"{path}: cannot read back: {type(exc).__name__}: {exc}"
        by_stream = _split(rows, workload, streams, shared)
        if isinstance(by_stream, str):
            return False, f"{path}: {by_stream}"
        for stream in streams:
            got = by_stream.get(stream, [])
            problem = _compare(got, expected_rows(workload, data, seed, stream, steps), steps)
            if problem:
                return False, f"{path} stream {stream}: {problem}"
            seen_points += sum(len(r) for r in got)
    if seen_points != expected_points:
        return False, f"read back {seen_points} points, logged {expected_points}"
    rows_total = steps * workload.streams()
    return True, f"{rows_total} rows x {workload.keys} keys read back, values exact"


def _user(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_") and v is not None}


def _split(
    rows: list[dict[str, Any]], workload: Workload, streams: list[int], shared: bool
) -> dict[int, list[dict[str, Any]]] | str:
    """Rows of one run, by the stream that logged them (threads: by key prefix; shared: by rank)."""
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    prefix_of = {key_names(workload, s)[0].split("/")[0]: s for s in streams}
    for row in rows:
        user = _user(row)
        if shared:
            stream = row.get("_rank")
            if stream not in streams:
                return f"row with _rank={stream!r}, expected one of {streams}"
        elif len(streams) == 1:
            stream = streams[0]
        else:
            prefixes = {k.split("/")[0] for k in user}
            if len(prefixes) != 1 or next(iter(prefixes)) not in prefix_of:
                return f"row mixes or lacks thread keys: {sorted(user)[:4]}"
            stream = prefix_of[next(iter(prefixes))]
        out[stream].append(user)
    return out


def _compare(got: list[dict[str, Any]], want: Iterable[dict[str, float]], steps: int) -> str:
    """'' when equal, else where the first difference is."""
    if len(got) != steps:
        return f"{len(got)} rows read back, {steps} logged"
    for i, (g, w) in enumerate(zip(got, want)):
        if g.keys() != w.keys():
            missing = sorted(set(w) - set(g))[:3]
            extra = sorted(set(g) - set(w))[:3]
            return f"row {i}: missing keys {missing}, unexpected keys {extra}"
        for key, value in w.items():
            if g[key] != value:
                return f"row {i} {key}: read {g[key]!r}, logged {value!r}"
    return ""
