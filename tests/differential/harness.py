"""The differential suite's harness: one piece of user code, run three ways in fresh processes, and what a
user observes of each, compared with the real wandb's.

The variants (each in its own empty folder, as the current directory):
- ``wandb``: the real wandb (the oracle), offline (``WANDB_MODE=offline`` unless the case sets it);
- ``direct``: the same code with ``import wandb`` rewritten to ``import turbotrack as wandb``;
- ``run``: the code unchanged, under ``python -m turbotrack run -- python driver.py``, where ``import
  wandb`` gives turbotrack.

What is observed: the exception that escaped the script (its type name and the statement it stopped at),
the run's attributes (id and name when the case gives them, project, the path's shape, ``run.step``),
``run.config`` and ``run.summary`` in-process, what the code ``show()``\\ ed, and what was stored: every run
the process made, with its history rows, final summary, config, tags, group, job type and whether it
failed. wandb's runs are read from their ``run-<id>.wandb`` logs (``turbotrack.importers.wandb_log``),
turbotrack's through ``turbotrack.Api(dir=)``.

Normalisation: ``_timestamp``, ``_runtime`` and ``_wandb`` keys dropped; media dicts reduced to their
``_type`` (paths and hashes differ; a histogram keeps its bins and values); summaries flattened to dotted
names (``{"a": {"b": 1}}`` and ``{"a.b": 1}`` read the same, as the contract has both); floats compared
with a tolerance, NaN equal to NaN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

DRIVER = Path(__file__).resolve().parent / "driver.py"
VARIANTS = ("wandb", "direct", "run")
#: Seconds one variant of one case may take (a wandb process takes ~3 s offline; a busy CI machine more).
CASE_TIMEOUT = float(os.environ.get("DIFF_CASE_TIMEOUT", "90"))
#: Processes run at once: the suite's CI machine has 2 cores.
JOBS = int(os.environ.get("DIFF_JOBS", "2"))
#: Where the oracle's outcomes are kept (as read, before normalising), by a hash of the case, the wandb
#: version, the driver and the reader of wandb's log (so a change to any of them runs the oracle again); ``DIFF_ORACLE_CACHE=off`` runs it always.
ORACLE_CACHE = os.environ.get("DIFF_ORACLE_CACHE") or str(
    Path(__file__).resolve().parents[2] / ".pytest_cache" / "differential-oracle"
)
ASPECTS = ("error", "run", "config", "summary", "shown", "stored")
HISTORY_NOISE = ("_timestamp", "_runtime")


@dataclasses.dataclass(frozen=True)
class Case:
    """One piece of user code, written as a wandb script would (``import wandb`` ...).

    ``env``: variables set for the script (``WANDB_MODE=offline`` is set unless given here).
    ``intended_difference``: why turbotrack differs on purpose; then ``differs`` names the aspects not
    compared with wandb (of :data:`ASPECTS`), and ``expect(outcome)`` checks what turbotrack does instead.
    """

    name: str
    code: str
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    intended_difference: Optional[str] = None
    differs: Sequence[str] = ()
    expect: Optional[Callable[[Outcome], None]] = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9_]+", self.name):
            raise ValueError(f"case name {self.name!r}: lowercase letters, digits and _ only")
        unknown = {d for d in self.differs if d not in ASPECTS and not d.startswith("stored.")}
        if unknown:
            raise ValueError(f"case {self.name}: unknown aspects {sorted(unknown)}")
        if bool(self.intended_difference) != bool(self.differs) or bool(self.intended_difference) != bool(self.expect):
            raise ValueError(f"case {self.name}: intended_difference, differs and expect go together")

    @property
    def gives_id(self) -> bool:
        return bool(re.search(r"init\([^)]*\bid\s*=", self.code, re.S)) or "WANDB_RUN_ID" in self.env

    @property
    def gives_name(self) -> bool:
        return bool(re.search(r"init\([^)]*\bname\s*=", self.code, re.S)) or "WANDB_NAME" in self.env


@dataclasses.dataclass
class Outcome:
    """What one variant of a case showed."""

    variant: str
    returncode: Optional[int]
    stdout: str
    stderr: str
    #: The driver's JSON (error, run, shown, finish_error), or None when it wrote none.
    observed: Optional[dict[str, Any]]
    #: Every run stored, oldest first, as read: id, name, project, tags, group, job_type, failed, history,
    #: summary, config (:attr:`normal_stored` is what is compared).
    stored: list[dict[str, Any]]
    timed_out: bool = False

    @property
    def normal_stored(self) -> list[dict[str, Any]]:
        """:attr:`stored` with history rows, summary and config normalised."""
        return [
            {
                **r,
                "history": [normal_row(row) for row in r["history"]],
                "summary": normal_summary(r["summary"]),
                "config": normal(r["config"]),
            }
            for r in self.stored
        ]

    @property
    def error(self) -> Optional[dict[str, Any]]:
        return (self.observed or {}).get("error")

    @property
    def run(self) -> dict[str, Any]:
        return (self.observed or {}).get("run") or {}

    @property
    def shown(self) -> dict[str, Any]:
        return (self.observed or {}).get("shown") or {}

    def describe(self) -> str:
        tail = self.stderr[-3000:]
        return f"[{self.variant}] rc={self.returncode} timed_out={self.timed_out}\n--- stderr tail ---\n{tail}"


def case(name: str, code: str, **kwargs: Any) -> Case:
    """A :class:`Case` whose ``code`` is written indented in a triple-quoted string."""
    return Case(name, textwrap.dedent(code).strip("\n") + "\n", **kwargs)


def rewrite_direct(code: str) -> str:
    """``import wandb`` (alone on its line) as ``import turbotrack as wandb``."""
    out, n = re.subn(r"^(\s*)import wandb\s*$", r"\1import turbotrack as wandb", code, flags=re.M)
    if n == 0:
        raise ValueError("a case's code must `import wandb` on a line of its own")
    return out


def child_env(case: Case, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    env["WANDB_MODE"] = "offline"
    # wandb's caches and settings stay in the case's folder, away from the user's
    for var, sub in (
        ("WANDB_CONFIG_DIR", ".wandb-config"),
        ("WANDB_CACHE_DIR", ".wandb-cache"),
        ("WANDB_DATA_DIR", ".wandb-data"),
    ):
        env[var] = str(work / sub)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "default"
    env.update(case.env)
    return env


def _oracle_key(case: Case) -> str:
    from turbotrack.importers import wandb_log

    h = hashlib.sha256()
    h.update(json.dumps([case.code, sorted(case.env.items()), importlib.metadata.version("wandb")]).encode())
    for source in (DRIVER, Path(wandb_log.__file__)):  # what makes the outcome (it is kept as read)
        h.update(source.read_bytes())
    return h.hexdigest()[:32]


def run_oracle(case: Case, stop: threading.Event) -> Outcome:
    """The real wandb's outcome for ``case``: from the cache when it holds one, else run (and kept)."""
    if ORACLE_CACHE.lower() in ("off", "0", "no"):
        return run_variant(case, "wandb", stop)
    path = Path(ORACLE_CACHE) / f"{case.name}-{_oracle_key(case)}.json"
    if path.exists():
        return Outcome(**json.loads(path.read_text()))
    outcome = run_variant(case, "wandb", stop)
    if outcome.observed is not None and not outcome.timed_out:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(outcome)))
        os.replace(tmp, path)
    return outcome


def run_variant(case: Case, variant: str, stop: threading.Event) -> Outcome:
    """One fresh process for ``variant`` of ``case``; killed (with its process group) on timeout."""
    work = Path(tempfile.mkdtemp(prefix=f"diff-{case.name}-{variant}-"))
    code = rewrite_direct(case.code) if variant == "direct" else case.code
    (work / "spec.json").write_text(json.dumps({"code": code}))
    argv = [sys.executable, str(DRIVER), "spec.json", "observed.json"]
    if variant == "run":
        argv = [sys.executable, "-m", "turbotrack", "run", "--", *argv]
    if stop.is_set():
        return Outcome(variant, None, "", "cancelled", None, [], timed_out=True)
    proc = subprocess.Popen(
        argv,
        cwd=work,
        env=child_env(case, work),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        out, err = "", ""
    finally:
        _kill_group(proc)
        if timed_out:
            out, err = proc.communicate()
    observed_file = work / "observed.json"
    observed = json.loads(observed_file.read_text()) if observed_file.exists() else None
    try:
        stored = read_wandb(work) if variant == "wandb" else read_turbotrack(work)
    finally:
        if not os.environ.get("DIFF_KEEP"):  # DIFF_KEEP=1 keeps each variant's folder to look into
            shutil.rmtree(work, ignore_errors=True)
    return Outcome(variant, proc.returncode, out, err, observed, stored, timed_out)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """End the process's group (a library's helper processes included), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


# ---------------------------------------------------------------------------------------------- reading


def read_wandb(work: Path) -> list[dict[str, Any]]:
    from turbotrack.importers import wandb_log

    folders = sorted(
        {p.parent for p in work.rglob("run-*.wandb") if p.parent.name != "latest-run"},
        key=lambda f: f.name.split("-", 2)[-1],
    )
    runs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wandb's own import-time notices are not the case's
        for folder in folders:
            r = wandb_log.read_run(folder)
            runs.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "project": r.project,
                    "tags": list(r.tags),
                    "group": r.group or None,
                    "job_type": r.job_type or None,
                    "failed": bool(r.exit_code),
                    "start": r.start_time or 0.0,
                    "history": r.history,
                    "summary": r.summary,
                    "config": r.config,
                }
            )
    runs.sort(key=lambda r: r["start"])
    return runs


def read_turbotrack(work: Path) -> list[dict[str, Any]]:
    import turbotrack

    runs = []
    for info in work.rglob("run.json"):
        run_dir = info.parent
        if len(run_dir.parents) < 4 or run_dir.parents[2].name != "turbotrack":
            continue
        root = run_dir.parents[3]
        api_run = turbotrack.Api(dir=str(root)).run(f"{run_dir.parents[1].name}/{run_dir.parent.name}/{run_dir.name}")
        runs.append(
            {
                "id": api_run.id,
                "name": api_run.name,
                "project": api_run.project,
                "tags": list(api_run.tags),
                "group": api_run.group or None,
                "job_type": api_run.job_type or None,
                "failed": api_run.state != "finished",
                "start": api_run.created_at,
                "history": list(api_run.scan_history()),
                "summary": dict(api_run.summary),
                "config": dict(api_run.config),
            }
        )
    runs.sort(key=lambda r: r["start"])
    return runs


# ------------------------------------------------------------------------------------------ normalising


def normal(value: Any) -> Any:
    """JSON data with media dicts as their ``_type`` (a histogram keeps bins and values), NaN and
    infinities as the strings the driver writes."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        kind = value.get("_type")
        if isinstance(kind, str):
            if kind == "histogram":
                return {"_type": kind, "bins": normal(value.get("bins")), "values": normal(value.get("values"))}
            return {"_type": kind}
        return {str(k): normal(v) for k, v in value.items() if not str(k).startswith("_wandb")}
    if isinstance(value, (list, tuple)):
        return [normal(v) for v in value]
    return value


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v and "_type" not in v:
            out.update(flatten(v, name + "."))
        else:
            out[name] = v
    return out


def normal_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return flatten({k: v for k, v in normal(dict(row)).items() if k not in HISTORY_NOISE})


def normal_summary(summary: Any) -> Any:
    if not isinstance(summary, dict) or "_error" in summary:
        return summary
    kept = {k: v for k, v in summary.items() if k not in ("_step", "_timestamp", "_runtime", "_wandb")}
    return flatten(normal(kept))


# ------------------------------------------------------------------------------------------- comparing


def same(a: Any, b: Any) -> bool:
    """Equal as JSON data, numbers within a tolerance (bools are not numbers)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def finished_in(o: Outcome) -> bool:
    """Whether the run was finished when observed: wandb then answers for neither ``run.step`` nor
    ``run.summary`` (it warns "Summary data not available in finished run"), so neither is compared."""
    return bool(o.run.get("finished"))


def views(case: Case, o: Outcome, oracle: Outcome) -> dict[str, Any]:
    """What is compared, aspect by aspect (``oracle`` says what wandb could observe)."""
    err = o.error
    run = o.run
    attrs: dict[str, Any] = {"present": run.get("present")}
    if run.get("present"):
        attrs["project"] = run.get("project")
        attrs["step"] = None if finished_in(oracle) else run.get("step")
        if case.gives_id:
            attrs["id"] = run.get("id")
        if case.gives_name:
            attrs["name"] = run.get("name")
        path, rid, project = run.get("path"), run.get("id"), run.get("project")
        attrs["path_shape"] = isinstance(path, str) and path.split("/")[-2:] == [project, rid]
    stored = []
    for r in o.normal_stored:
        view = {k: r[k] for k in ("project", "tags", "group", "job_type", "failed", "history", "summary", "config")}
        if case.gives_id:
            view["id"] = r["id"]
        if case.gives_name:
            view["name"] = r["name"]
        stored.append(view)
    return {
        "error": None if err is None else {"kind": err["kind"], "stmt": err["stmt"]},
        "run": attrs,
        "config": normal(run.get("config")),
        "summary": None if finished_in(oracle) else normal_summary(run.get("summary")),
        "shown": normal(o.shown),
        "stored": stored,
    }


def differences(case: Case, oracle: Outcome, mine: Outcome) -> list[str]:
    """Each aspect (not declared as differing) where ``mine`` is not what the oracle showed."""
    want, got = views(case, oracle, oracle), views(case, mine, oracle)
    out = []
    for aspect in ASPECTS:
        if aspect in case.differs:
            continue
        if aspect == "stored":
            out.extend(_stored_differences(want["stored"], got["stored"], mine.variant, case.differs))
        elif not same(want[aspect], got[aspect]):
            line = f"[{mine.variant}] {aspect}: wandb {_short(want[aspect])} | turbotrack {_short(got[aspect])}"
            if aspect == "error":
                said = [
                    f"{who} raised {o.error['type']}: {o.error['message']!r}"
                    for who, o in (("wandb", oracle), ("turbotrack", mine))
                    if o.error
                ]
                line += " (" + "; ".join(said) + ")"
            out.append(line)
    return out


def _stored_differences(want: list[Any], got: list[Any], variant: str, differs: Sequence[str]) -> list[str]:
    if len(want) != len(got):
        return [f"[{variant}] stored: wandb stored {len(want)} run(s), turbotrack {len(got)}"]
    out = []
    for i, (w, g) in enumerate(zip(want, got)):
        for key in w:
            if f"stored.{key}" in differs:
                continue
            if key == "history":
                out.extend(_history_differences(w[key], g[key], f"[{variant}] stored run {i} history"))
            elif not same(w[key], g.get(key)):
                out.append(
                    f"[{variant}] stored run {i} {key}: wandb {_short(w[key])} | turbotrack {_short(g.get(key))}"
                )
    return out


def _history_differences(want: list[Any], got: list[Any], where: str) -> list[str]:
    if same(want, got):
        return []
    if len(want) != len(got):
        return [f"{where}: wandb {len(want)} rows {_short(want)} | turbotrack {len(got)} rows {_short(got)}"]
    return [
        f"{where} row {i}: wandb {_short(w)} | turbotrack {_short(g)}"
        for i, (w, g) in enumerate(zip(want, got))
        if not same(w, g)
    ][:5]


def _short(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, sort_keys=True, default=repr)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------- running


class Runner:
    """Runs the variants of the cases in a bounded pool, in the order they are asked for, so a test
    waits only for its own case (the pool works ahead)."""

    def __init__(self, jobs: int = JOBS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="differential")
        self._futures: dict[tuple[str, str], Future[Outcome]] = {}
        self._stop = threading.Event()

    def submit(self, cases: Sequence[Case]) -> None:
        # the oracle first within a case: it is the slow one, and every comparison needs it
        for case in cases:
            for variant in VARIANTS:
                key = (case.name, variant)
                if key not in self._futures:
                    if variant == "wandb":
                        self._futures[key] = self._pool.submit(run_oracle, case, self._stop)
                    else:
                        self._futures[key] = self._pool.submit(run_variant, case, variant, self._stop)

    def outcomes(self, case: Case) -> dict[str, Outcome]:
        self.submit([case])
        return {v: self._futures[(case.name, v)].result() for v in VARIANTS}

    def close(self) -> None:
        self._stop.set()
        for f in self._futures.values():
            f.cancel()
        self._pool.shutdown(wait=True)


def check(case: Case, outcomes: Mapping[str, Outcome]) -> list[str]:
    """Every difference of the turbotrack variants from the oracle, and every failed expectation of an
    intended difference; empty when the case passes."""
    oracle = outcomes["wandb"]
    problems = []
    if oracle.timed_out or oracle.observed is None:
        problems.append(f"the oracle did not run the case:\n{oracle.describe()}")
        return problems
    for variant in ("direct", "run"):
        mine = outcomes[variant]
        if mine.timed_out or mine.observed is None:
            problems.append(f"turbotrack did not run the case:\n{mine.describe()}")
            continue
        if mine.observed.get("finish_error"):
            problems.append(f"[{variant}] finish() raised {mine.observed['finish_error']}")
        problems.extend(differences(case, oracle, mine))
        if case.expect is not None:
            try:
                case.expect(mine)
            except AssertionError as e:
                problems.append(f"[{variant}] intended difference not as expected: {e}")
    return problems


# ------------------------------------------------------------------------ expectations of intended differences


def no_error(o: Outcome) -> None:
    assert o.error is None, f"raised {o.error}"


def raises(kind: str, stmt: int) -> Callable[[Outcome], None]:
    """``expect``: the script stopped at top-level statement ``stmt`` with an exception of ``kind``."""

    def expect(o: Outcome) -> None:
        assert o.error is not None, "raised nothing"
        assert (o.error["kind"], o.error["stmt"]) == (kind, stmt), f"raised {o.error}"

    return expect


def shows(**want: Any) -> Callable[[Outcome], None]:
    """``expect``: no exception, and each ``show(label, value)`` as given."""

    def expect(o: Outcome) -> None:
        no_error(o)
        for label, value in want.items():
            assert same(normal(o.shown.get(label)), normal(value)), (
                f"{label}: {o.shown.get(label)!r}, expected {value!r}"
            )

    return expect


def stores(**want: Any) -> Callable[[Outcome], None]:
    """``expect``: no exception, one run stored, and its ``history`` / ``summary`` (normalised) as given."""

    def expect(o: Outcome) -> None:
        no_error(o)
        assert len(o.stored) == 1, f"{len(o.stored)} runs stored"
        stored = o.normal_stored[0]
        for key, value in want.items():
            assert same(stored[key], value), f"stored {key}: {_short(stored[key])}, expected {_short(value)}"

    return expect


def summary_as_stored(o: Outcome) -> None:
    """``expect``: the in-process ``run.summary`` (read before finish) is already the stored final summary."""
    no_error(o)
    assert len(o.stored) == 1, f"{len(o.stored)} runs stored"
    mine, stored = normal_summary(o.run.get("summary")), o.normal_stored[0]["summary"]
    assert same(mine, stored), f"in-process {_short(mine)} | stored {_short(stored)}"


def all_of(*expects: Callable[[Outcome], None]) -> Callable[[Outcome], None]:
    def expect(o: Outcome) -> None:
        for e in expects:
            e(o)

    return expect
