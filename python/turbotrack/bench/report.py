"""Results as a terminal table and as RESULTS.md-style markdown, with the machine written down."""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import subprocess
import sys
from typing import Any, Optional

import psutil

from .adapters import PIP_ALL
from .workloads import WORKLOADS

TIMES = "\u00d7"  # the multiplication sign of ratios
DASH = "\u2013"  # the en dash of ranges

#: Columns of the tables: figure, heading, kind of number.
COLUMNS: list[tuple[str, str, str]] = [
    ("p50_us", "p50 µs", "num"),
    ("p99_us", "p99 µs", "num"),
    ("max_us", "max µs", "num"),
    ("loop_s", "loop s", "num"),
    ("startup_s", "start s", "num"),
    ("finish_s", "finish s", "num"),
    ("cpu_s", "CPU s", "num"),
    ("peak_rss_mb", "RSS MiB", "num"),
    ("disk_bytes", "disk", "bytes"),
    ("bytes_per_point", "B/point", "num"),
]

METHOD = (
    "Each library x workload x repetition runs in a fresh Python process. Per-call latency is "
    "`time.perf_counter_ns()` around each `log` call on the calling thread (the dict is built "
    "before the clock starts). *loop* is the wall time of the logging loop, *finish* of "
    "`finish()`/`close()`, *start* from launching the process to its run being ready to log "
    "(Python start, imports, init). *CPU* is "
    "user+system seconds of the whole process tree (interpreter start to exit, helper processes "
    "such as wandb's service included), *RSS* the peak of the tree's summed resident memory "
    "(sampled every 20 ms, never below a process's own peak), *disk* the apparent size of every "
    "file the library left in its folder, *B/point* that over the scalars logged. Figures are "
    f"medians over the repetitions; {TIMES}N is the median over turbotrack's in the same workload. "
    "*read back*: each turbotrack run is read back with `turbotrack.Api(dir).run(path)."
    "scan_history()` and compared with what was logged, point by point."
)


def environment(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    """The machine, software and options the results were measured with."""
    mem = psutil.virtual_memory().total
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": f"{psutil.cpu_count(logical=False) or '?'} physical, {psutil.cpu_count(logical=True)} logical",
        "memory": f"{mem / 2**30:.1f} GiB",
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "command": "turbotrack bench " + " ".join(shlex.quote(a) for a in argv),
        "steps": args.steps,
        "repeat": args.repeat,
        "data": args.data,
        "workloads": [w.name for w in args.workloads],
        "shared_run": args.shared_run,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True, text=True, timeout=5, check=False,
            ).stdout.strip()  # fmt: skip
        except OSError:
            pass
    return platform.processor() or platform.machine()


def fmt_num(value: Optional[float]) -> str:
    if value is None:
        return DASH
    a = abs(value)
    if a == 0:
        return "0"
    if a < 0.01:
        return f"{value:.4f}"
    if a < 10:
        return f"{value:.2f}"
    if a < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def fmt_bytes(value: Optional[float]) -> str:
    if value is None:
        return DASH
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:.0f} B"


def fmt_ratio(value: Optional[float]) -> str:
    if value is None:
        return ""
    if value < 10:
        return f"{TIMES}{value:.2f}"
    if value < 100:
        return f"{TIMES}{value:.1f}"
    return f"{TIMES}{value:,.0f}"


def _fmt(kind: str, value: Optional[float]) -> str:
    return fmt_bytes(value) if kind == "bytes" else fmt_num(value)


def _ratio_cell(row: dict[str, Any], figure: str) -> str:
    """The ratio to turbotrack, left out on turbotrack's own row (always 1)."""
    return "" if row["library"] == "turbotrack" else fmt_ratio(row["ratios"][figure])


def _spread_pct(row: dict[str, Any], figure: str) -> str:
    spread, median = row["spread"].get(figure), row.get(figure)
    if not spread or not median or row["repeat"] < 2:
        return ""
    return f"±{(spread[1] - spread[0]) / 2 / median * 100:.0f}%"


def _status(row: dict[str, Any]) -> str:
    if row["verified"] is True:
        return "✓"
    if row["verified"] is False:
        return "✗ FAILED"
    return ""


def terminal(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """Tables for the terminal, one per workload: each row a library, the line under it the ratio to
    turbotrack and the spread over repetitions (± half the min-max range, relative)."""
    out: list[str] = []
    heads = ["library", *(h for _, h, _ in COLUMNS), "read back"]
    for wname in info["workloads"]:
        wrows = [r for r in rows if r["workload"] == wname]
        table: list[list[str]] = []
        notes: list[str] = []
        for row in wrows:
            if row["skipped"] or (row["error"] and not row["repeat"]):
                why = f"skipped: {row['skipped']}" if row["skipped"] else f"error: {row['error']}"
                notes.append(f"  {row['library']}: {why.splitlines()[0]}")
                continue
            table.append([row["library"], *(_fmt(k, row[f]) for f, _, k in COLUMNS), _status(row)])
            table.append(
                [
                    "",
                    *(" ".join(x for x in (_ratio_cell(row, f), _spread_pct(row, f)) if x) for f, _, _ in COLUMNS),
                    "",
                ]
            )
            if row["error"]:
                notes.append(f"  {row['library']}: error: {row['error'].splitlines()[0]}")
            if row["verified"] is False:
                notes.append(f"  turbotrack read-back FAILED: {row['verify_note']}")
        w = WORKLOADS[wname]
        out.append(f"{wname}: {w.summary} · {info['steps']} steps · {info['data']} data · median of {info['repeat']}")
        if table:
            out.append(_align([heads, *table]))
        out.extend(notes)
        out.append("")
    out.append(
        f"Under each row: {TIMES}N = that figure over turbotrack's; ±% = half the min-max range "
        "over repetitions, relative to the median; read back ✓ = every point of turbotrack's runs "
        "read back exactly."
    )
    out.append("Versions: " + _versions(rows))
    out.append(f"Machine: {info['cpu']} ({info['cores']}), {info['memory']}, {info['python']}")
    missing = _skipped(rows)
    if missing:
        out.append("Skipped: " + "; ".join(f"{n} ({why})" for n, why in missing.items()))
        out.append(f"hint: {PIP_ALL} installs every peer")
    return "\n".join(out)


def _align(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for r in table:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _versions(rows: list[dict[str, Any]]) -> str:
    seen: dict[str, str] = {}
    for row in rows:
        if not row["skipped"]:
            seen.setdefault(row["library"], row["version"] or "?")
    return ", ".join(f"{k} {v}" for k, v in seen.items())


def _skipped(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {r["library"]: r["skipped"] for r in rows if r["skipped"]}


def markdown(rows: list[dict[str, Any]], info: dict[str, Any]) -> str:
    """A RESULTS.md: the machine, the software, one table per workload, notes, how to reproduce."""
    cols = COLUMNS
    md = [
        "# turbotrack benchmark results",
        "",
        f"Measured {info['date']} with `{info['command']}`.",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {info['cpu']} ({info['cores']}) |",
        f"| memory | {info['memory']} |",
        f"| OS | {info['os']} |",
        f"| Python | {info['python']} |",
        f"| libraries | {_versions(rows)} |",
        f"| options | {info['steps']} steps per thread/process, {info['repeat']} repetitions, {info['data']} data |",
        "",
        METHOD,
        "",
    ]
    for wname in info["workloads"]:
        w = WORKLOADS[wname]
        md += [f"## {wname}", "", f"{w.summary}; {w.points(info['steps']):,} scalars in all.", ""]
        md.append("| library | " + " | ".join(h for _, h, _ in cols) + " | read back |")
        md.append("|---|" + "---:|" * len(cols) + "---|")
        for row in (r for r in rows if r["workload"] == wname):
            if row["skipped"] or (row["error"] and not row["repeat"]):
                why = f"skipped: {row['skipped']}" if row["skipped"] else f"error: {row['error']}"
                md.append(f"| {row['library']} | " + _md_escape(why.splitlines()[0]) + " |")
                continue
            cells = []
            for f, _, kind in cols:
                cell = _fmt(kind, row[f])
                r = _ratio_cell(row, f)
                if r:
                    cell += f" {r}"
                spread = row["spread"].get(f)
                if spread and row["repeat"] > 1:
                    cell += f"<br><sub>{_fmt(kind, spread[0])}{DASH}{_fmt(kind, spread[1])}</sub>"
                cells.append(cell)
            status = _status(row)
            if row["error"]:
                status += " error: " + _md_escape(row["error"].splitlines()[0])
            md.append(f"| {row['library']} {row['version'] or ''} | " + " | ".join(cells) + f" | {status} |")
        md.append("")
    md += ["## Notes", ""]
    md.append(
        "- split_step: wandb and turbotrack use `log(first half, commit=False)` then `log(rest)`; "
        "the others have no commit and write both halves at the same explicit step."
    )
    md.append(
        "- procs4: each process logs its own run"
        + (" (turbotrack: one shared run, `settings={'shared': True}`)." if info["shared_run"] else ".")
    )
    md.append(
        "- Telemetry off for every library (`DO_NOT_TRACK`, `MLFLOW_DISABLE_TELEMETRY`, "
        "`HF_HUB_OFFLINE`, `WANDB_SILENT`)."
    )
    seen = set()
    for row in rows:
        if row["library"] not in seen and not row["skipped"]:
            seen.add(row["library"])
            md.append(f"- {row['library']}: {_md_escape(row['notes'])}")
    missing = _skipped(rows)
    if missing:
        md.append("- Skipped: " + "; ".join(f"{n} ({_md_escape(w)})" for n, w in missing.items()))
    md += [
        "",
        "## How to reproduce",
        "",
        f"On a quiet machine, `pip install 'turbotrack[bench]'` (turbotrack and every peer; peers "
        f"that are missing are skipped), then run `{info['command']}`. "
        f"`benches/compare.py` takes the same options. Add `--json` for machine-readable "
        f"results, `--only turbotrack,wandb` to compare fewer libraries, `--data smooth` for "
        f"loss-like curves instead of random doubles. Each turbotrack run is read back and checked "
        f"point by point, so a lossy build shows as FAILED.",
        "",
    ]
    return "\n".join(md)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
