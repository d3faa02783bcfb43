"""``turbotrack bench``: run every workload through turbotrack and each installed peer, then report.

Each library x workload x repetition runs in a fresh process (``runner.run_rep``). Repetitions are
interleaved (all libraries once, then again) so a machine that drifts does not favour one library.
Results: one row per library and workload with the medians over repetitions, their spread, and each
figure as a ratio to turbotrack's in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from . import report, stats
from .adapters import ADAPTERS, PIP_ALL, parse_libraries
from .progress import Progress
from .runner import Rep, Task, run_rep
from .workloads import DATA_KINDS, WORKLOADS, parse_workloads

DEFAULT_STEPS = 1000
DEFAULT_REPEAT = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="turbotrack bench",
        description="Benchmark turbotrack's log() against other experiment trackers, each workload "
        "in a fresh process per library and repetition.",
        epilog=f"Peers that are not installed are skipped; {PIP_ALL} installs them all.",
    )
    p.add_argument(
        "--workload",
        default=",".join(WORKLOADS),
        help=f"comma-separated workloads (default: all): {', '.join(WORKLOADS)}",
    )
    p.add_argument(
        "--steps",
        type=_positive,
        default=DEFAULT_STEPS,
        help=f"steps per logging thread/process (default {DEFAULT_STEPS})",
    )
    p.add_argument("--repeat", type=_positive, default=DEFAULT_REPEAT, help="repetitions (default 3)")
    p.add_argument(
        "--only",
        default=None,
        help=f"comma-separated libraries (default: all): {', '.join(ADAPTERS)}",
    )
    p.add_argument(
        "--data",
        choices=DATA_KINDS,
        default="random",
        help="values logged: random doubles (default) or smooth decaying noisy loss curves",
    )
    p.add_argument("--json", action="store_true", help="print results as JSON on stdout")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="write a RESULTS.md-style report")
    p.add_argument(
        "--shared-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="procs4: turbotrack's processes log into one shared run (settings={'shared': True}); "
        "--no-shared-run gives each process a run of its own (default: shared)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the logged values (default 0)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds one worker may take (default 600)")
    p.add_argument("--tmpdir", type=Path, default=None, help="where the runs are written")
    p.add_argument("--keep", action="store_true", help="keep the runs' folders (paths on stderr)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        workloads = parse_workloads(args.workload)
        libraries = parse_libraries(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    args.workloads = workloads
    args.libraries = libraries

    skipped = {name: ADAPTERS[name].missing() for name in libraries}
    runnable = [n for n in libraries if skipped[n] is None]
    reps: dict[tuple[str, str], list[Rep]] = {(n, w.name): [] for n in libraries for w in workloads}
    errors: dict[tuple[str, str], str] = {}
    progress = Progress(len(runnable) * len(workloads) * args.repeat, enabled=not args.quiet)
    for r in range(args.repeat):
        for workload in workloads:
            for name in runnable:
                key = (name, workload.name)
                label = f"{name} · {workload.name} · rep {r + 1}/{args.repeat}"
                progress.start(label)
                if skipped[name] or key in errors:
                    continue
                task = Task(
                    name, workload, args.steps, args.data, args.seed, args.shared_run,
                    args.timeout, args.keep, args.tmpdir,
                )  # fmt: skip
                rep = run_rep(task, r)
                if rep.workdir is not None:
                    progress.note(f"kept {label}: {rep.workdir}")
                if rep.skipped:
                    skipped[name] = rep.skipped
                    progress.note(f"{name}: skipped ({rep.skipped})")
                elif rep.error:
                    errors[key] = rep.error
                    progress.note(f"{label}: error: {rep.error.splitlines()[0]}")
                else:
                    reps[key].append(rep)
                    if rep.verified is False:
                        progress.note(f"{label}: READ-BACK FAILED: {rep.verify_note}")
    progress.close()

    rows = build_rows(args, reps, skipped, errors)
    info = report.environment(args, argv if argv is not None else sys.argv[1:])
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(report.terminal(rows, info))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.markdown(rows, info), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    return _exit_code(rows)


def build_rows(
    args: argparse.Namespace,
    reps: dict[tuple[str, str], list[Rep]],
    skipped: dict[str, Optional[str]],
    errors: dict[tuple[str, str], str],
) -> list[dict[str, Any]]:
    """One object per library and workload: medians, spread, ratios to turbotrack, checks."""
    rows: list[dict[str, Any]] = []
    for workload in args.workloads:
        base: dict[str, Optional[float]] = {}
        if reps.get(("turbotrack", workload.name)):
            base, _ = stats.summarize([r.figures for r in reps[("turbotrack", workload.name)]])
        for name in args.libraries:
            adapter = ADAPTERS[name]
            done = reps.get((name, workload.name), [])
            medians, spread = stats.summarize([r.figures for r in done])
            ratios = {f: stats.ratio(medians[f], base.get(f)) for f in stats.FIGURES}
            checks = [r.verified for r in done if r.verified is not None]
            row: dict[str, Any] = {
                "library": name,
                "version": adapter.version(),
                "workload": workload.name,
                "data": args.data,
                "steps": args.steps,
                "repeat": len(done),
                "calls": done[0].calls if done else None,
                "points": workload.points(args.steps),
                **medians,
                "ratio_p50": ratios["p50_us"],
                "ratios": ratios,
                "spread": spread,
                "verified": (all(checks) if checks else None) if name == "turbotrack" else None,
                "verify_note": next(
                    (r.verify_note for r in done if r.verified is False),
                    done[0].verify_note if done else "",
                ),
                "skipped": skipped.get(name),
                "error": errors.get((name, workload.name)),
                "notes": done[0].applied if done else adapter.notes,
            }
            rows.append(row)
    return rows


def _exit_code(rows: list[dict[str, Any]]) -> int:
    """1 when turbotrack failed: an error, or a run that did not read back whole."""
    for row in rows:
        if row["library"] == "turbotrack" and (row["error"] or row["verified"] is False):
            return 1
    return 0
