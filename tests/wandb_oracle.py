"""Run one unchanged script written for wandb twice or more, in fresh processes, and compare what was stored.

The oracle is the real wandb (the version the test extra pins), offline (``WANDB_MODE=offline``): its
``run-<id>.wandb`` transaction logs are read with wandb's own protobuf classes
(:func:`turbotrack.importers.wandb_log.read_run`). The same script then runs with turbotrack as wandb, in
one or more *ways*:

- ``"run"``: under ``turbotrack run -- python SCRIPT`` (its ``import wandb`` is turbotrack's shim);
- ``"as_wandb"``: ``turbotrack.as_wandb()`` called first in the process, then the script run as ``__main__``.

Each way gets a folder of its own (``OUT/wandb``, ``OUT/run``, ``OUT/as_wandb``), passed to the script as its
first argument and used as its working directory; turbotrack's runs are read through ``turbotrack.Api(dir=)``.
What a user can see of a run is put in one comparable form (:class:`Stored`) on both sides, and
:func:`differences` lists every place where they disagree.

Canonical form: history rows and the summary are flattened into dotted names (wandb's reader joins nested
keys with ``.``, so both sides are unflattened on ``.`` first and flattened again); a rich value (a dict with
``_type``: an image, a histogram, a table) is compared by its ``_type`` and the fields in :data:`RICH_FIELDS`,
never by file names or hashes, which differ by design. ``_timestamp`` and ``_runtime`` are wall-clock values and
are left out; numbers are compared with a relative tolerance (``1`` equals ``1.0``, NaN equals NaN)."""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import turbotrack
from turbotrack.importers.wandb_log import read_run

#: Keys that hold wall-clock time; left out of history rows and summaries on both sides.
CLOCK_KEYS = frozenset({"_timestamp", "_runtime"})
#: The fields of a rich value (by ``_type``) that must agree; others (paths, hashes, sizes) differ by design.
RICH_FIELDS: Mapping[str, tuple[str, ...]] = {
    "histogram": ("values", "bins"),
    "image-file": ("width", "height"),
    "images/separated": ("count", "captions"),
    "table-file": ("ncols", "nrows"),
}
#: Prepended to ``-c`` for the ``as_wandb`` way: turbotrack becomes wandb, then the script runs as ``__main__``.
AS_WANDB = (
    "import runpy, sys, turbotrack; turbotrack.as_wandb(); sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
NOTICE = "`import wandb` is turbotrack here"


@dataclasses.dataclass
class Stored:
    """One run as a user reads it back: its identity, config, summary and history, in canonical form."""

    name: str
    project: str
    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, Any]]
    state: str


@dataclasses.dataclass
class Outcome:
    """The runs each way stored (``"wandb"`` is the oracle), and each way's folder and process."""

    runs: dict[str, list[Stored]]
    folders: dict[str, Path]
    procs: dict[str, subprocess.CompletedProcess[str]]

    @property
    def oracle(self) -> list[Stored]:
        return self.runs["wandb"]


def _unflatten(row: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in row.items():
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return tree


def _rich(value: Mapping[str, Any]) -> dict[str, Any]:
    kind = value["_type"]
    return {"_type": kind, **{f: value[f] for f in RICH_FIELDS.get(kind, ()) if f in value}}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "_type" in value:
            out[name] = _rich(value)
        elif isinstance(value, dict) and value:
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` (a history row or a summary) flattened into dotted names, without clock keys or ``_wandb``."""
    flat = _flatten(_unflatten({k: v for k, v in row.items() if k not in CLOCK_KEYS}))
    return {k: v for k, v in flat.items() if not k.startswith("_wandb")}


def same(a: Any, b: Any, rel: float = 1e-6) -> bool:
    """Whether two stored values agree: numbers within ``rel`` (bools only as bools), containers item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], rel) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, rel) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _diff_maps(where: str, want: Mapping[str, Any], got: Mapping[str, Any], rel: float) -> list[str]:
    out = []
    for key in sorted(want.keys() | got.keys()):
        if key not in got:
            out.append(f"{where}: {key!r} missing (wandb: {want[key]!r})")
        elif key not in want:
            out.append(f"{where}: {key!r} not in wandb's (turbotrack: {got[key]!r})")
        elif not same(want[key], got[key], rel):
            out.append(f"{where}: {key!r} wandb {want[key]!r} != turbotrack {got[key]!r}")
    return out


def differences(want: Stored, got: Stored, rel: float = 1e-6, ignore: Iterable[str] = ()) -> list[str]:
    """Every disagreement between the oracle's run ``want`` and turbotrack's ``got`` (empty when they agree).
    ``ignore`` names keys (history, summary and config alike) left out on both sides; each test says why."""
    skip = set(ignore)

    def keep(d: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in skip}

    out = [
        f"{field}: wandb {getattr(want, field)!r} != turbotrack {getattr(got, field)!r}"
        for field in ("name", "project", "state")
        if getattr(want, field) != getattr(got, field)
    ]
    out += _diff_maps("config", keep(want.config), keep(got.config), rel)
    out += _diff_maps("summary", keep(want.summary), keep(got.summary), rel)
    want_rows = [keep(r) for r in want.history]
    got_rows = [keep(r) for r in got.history]
    # a row left with nothing but its _step once ignored keys are out (skorch's "dur" alone, say) is no row
    want_rows, got_rows = [r for r in want_rows if set(r) - {"_step"}], [r for r in got_rows if set(r) - {"_step"}]
    if len(want_rows) != len(got_rows):
        out.append(
            f"history: {len(want_rows)} rows in wandb's, {len(got_rows)} in turbotrack's; steps "
            f"{[r.get('_step') for r in want_rows]} vs {[r.get('_step') for r in got_rows]}"
        )
    for i, (w, g) in enumerate(zip(want_rows, got_rows)):
        out += _diff_maps(f"history[{i}] (_step {w.get('_step')})", w, g, rel)
    return out


def assert_same_runs(outcome: Outcome, rel: float = 1e-6, ignore: Iterable[str] = ()) -> None:
    """Each turbotrack way stored what the real wandb stored: as many runs, and no difference in any."""
    ignore = tuple(ignore)
    problems = []
    for way, runs in outcome.runs.items():
        if way == "wandb":
            continue
        if len(runs) != len(outcome.oracle):
            problems.append(f"[{way}] {len(outcome.oracle)} runs in wandb's, {len(runs)} in turbotrack's")
        for i, (want, got) in enumerate(zip(outcome.oracle, runs)):
            problems += [f"[{way}] run {i}: {d}" for d in differences(want, got, rel, ignore)]
    assert not problems, "turbotrack stored other values than the real wandb:\n" + "\n".join(problems[:60])


def read_wandb(folder: Path) -> list[Stored]:
    """The runs the real wandb wrote under ``folder`` (its ``wandb/`` folder), oldest first."""
    runs = []
    for run_folder in sorted(folder.glob("**/wandb/offline-run-*")):
        w = read_run(run_folder)
        state = "finished" if w.exit_code == 0 else "crashed" if w.exit_code is None else "failed"
        rows = sorted((canonical(r) for r in w.history), key=lambda r: r.get("_step", -1))
        runs.append((w.start_time or 0.0, Stored(w.name, w.project, w.config, canonical(w.summary), rows, state)))
    return [r for _, r in sorted(runs, key=lambda t: t[0])]


def read_turbotrack(folder: Path) -> list[Stored]:
    """The runs turbotrack wrote in storage roots under ``folder`` (a script may pass ``init(dir=)``), oldest
    first, each read through ``Api(dir=ROOT)``."""
    runs = []
    for run_json in sorted(folder.glob("**/turbotrack/*/*/*/run.json")):
        root = run_json.parents[4]
        entity, project, run_id = run_json.parent.relative_to(root / "turbotrack").parts
        r = turbotrack.Api(dir=root).run(f"{entity}/{project}/{run_id}")
        rows = [canonical(x) for x in r.scan_history()]
        runs.append((r, Stored(r.name, project, dict(r.config), canonical(dict(r.summary)), rows, r.state)))
    runs.sort(key=lambda t: t[0].created_at)
    return [s for _, s in runs]


def _run(cmd: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``cmd`` in a session of its own; on a timeout the whole session (wandb's service too) is killed."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{cmd} ran past {timeout}s:\n{err[-4000:]}") from None
    finally:
        try:  # nothing the script started may outlive it (wandb's service exits with its client)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def base_env(site: str, **env: str) -> dict[str, str]:
    """This process's environment without WANDB_*/TURBOTRACK_* variables, the cached packages after what
    PYTHONPATH already holds (so the children import the turbotrack under test), one thread, no network."""
    # PYTEST_CURRENT_TEST: frameworks (ultralytics) switch their wandb logging off under pytest
    drop = ("WANDB_", "TURBOTRACK_", "PYTEST_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    clean["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), site) if p)
    clean.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
        **env,
    )
    return clean


def run_script(
    site: str,
    script: Path,
    out: Path,
    *args: str,
    ways: Sequence[str] = ("run", "as_wandb"),
    timeout: float = 600,
    env: Optional[Mapping[str, str]] = None,
) -> Outcome:
    """Run ``script`` (``python SCRIPT FOLDER ARGS...``) with the real wandb offline, then in each of ``ways``
    with turbotrack as wandb, each in its own folder under ``out``; every process must exit 0. The same
    environment (``env`` added, ``WANDB_MODE=offline``) goes to every way: turbotrack reads ``WANDB_*``."""
    common = base_env(site, WANDB_MODE="offline", WANDB_SILENT="true", **(env or {}))
    outcome = Outcome({}, {}, {})
    for way in ("wandb", *ways):
        folder = out / way
        folder.mkdir(parents=True)
        e = {**common, "WANDB_DIR": str(folder)}
        py = [sys.executable]
        if way == "wandb":
            cmd = [*py, str(script), str(folder), *args]
        elif way == "run":
            cmd = [sys.executable, "-m", "turbotrack", "run", "--", *py, str(script), str(folder), *args]
        elif way == "as_wandb":
            cmd = [*py, "-c", AS_WANDB, str(script), str(folder), *args]
        else:
            raise ValueError(f"unknown way {way!r}")
        proc = _run(cmd, folder, e, timeout)
        assert proc.returncode == 0, f"[{way}] exit {proc.returncode}:\n{proc.stderr[-6000:]}"
        if way == "run":
            assert proc.stderr.count(NOTICE) == 1, proc.stderr[-3000:]
        outcome.procs[way] = proc
        outcome.folders[way] = folder
        outcome.runs[way] = read_wandb(folder) if way == "wandb" else read_turbotrack(folder)
    assert outcome.oracle, f"the real wandb stored no run:\n{outcome.procs['wandb'].stderr[-3000:]}"
    return outcome
