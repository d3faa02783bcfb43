"""``turbotrack import wandb`` and ``turbotrack import tensorboard``: sources written in the test by the
real wandb (offline), ``torch.utils.tensorboard`` and tensorboardX; imported through the CLI, read
back through ``Api(dir=)`` and the server, compared value by value with the source."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from cached_env import child_env, site_packages
from serverkit import ServerProc, cli, make_key, raw

import turbotrack
from turbotrack import _core
from turbotrack.importers import wandb_log
from turbotrack.importers.writer import SOURCE_RUNTIME, SOURCE_TIMESTAMP

pytest.importorskip("wandb")
pytest.importorskip("tensorboard")

WANDB_ENV = {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true"}

WANDB_SCRIPT = r"""
import numpy as np, wandb
run = wandb.init(project="moving", name="first-run", tags=["base", "v2"], group="sweep-a", job_type="train",
                 notes="from wandb", config={"lr": 0.01, "layers": [64, 32], "opt": {"name": "adam", "beta": 0.9}})
run.define_metric("val/loss", summary="min")
run.define_metric("acc", summary="max,mean")
run.define_metric("ok", hidden=True)
for i in range(6):
    run.log({"loss": 1.0 / (i + 1), "acc": i / 10, "epoch": i, "ok": i % 2 == 0, "phase": f"p{i}",
             "val/loss": 2.0 - i / 4, "nest": {"a": i, "b": {"c": -i}}, "big": 2**40 + i, "lst": [i, i + 0.5],
             "none": None})
run.log({"img": wandb.Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)),
         "tbl": wandb.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]]),
         "hist": wandb.Histogram(np.arange(100) % 7)}, step=10)
run.log({"loss": 0.05}, step=12)
run.summary["best_acc"] = 0.99
run.summary["hand"] = {"k": 1, "s": "v"}
run.finish()
"""

CRASH_SCRIPT = r"""
import sys, time, wandb
run = wandb.init(project="moving", name="killed", settings=wandb.Settings(x_disable_stats=True))
for i in range(5):
    run.log({"x": i * 1.5})
print("logged", flush=True)
time.sleep(600)
"""


def _wandb_child(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **WANDB_ENV},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def wandb_dir() -> Any:
    """A folder whose wandb/ holds a finished run (every kind of value) and one killed with SIGKILL."""
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        out = _wandb_child(WANDB_SCRIPT, base)
        assert out.returncode == 0, out.stderr
        proc = subprocess.Popen(
            [sys.executable, "-c", CRASH_SCRIPT],
            cwd=base,
            env={**os.environ, **WANDB_ENV},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "logged"
            # Kill it once wandb has its five rows in the log (a condition, not a sleep).
            deadline = time.monotonic() + 120
            while True:
                killed = [p for p in (base / "wandb").glob("offline-run-*") if p.name not in _finished(base)]
                if killed and any(killed[0].glob("run-*.wandb")) and wandb_log.read_run(killed[0]).rows == 5:
                    break
                assert time.monotonic() < deadline, "wandb never wrote the killed run's rows"
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            assert proc.stdout is not None
            proc.stdout.close()
        yield base


def _finished(base: Path) -> set[str]:
    names = set()
    for p in (base / "wandb").glob("offline-run-*"):
        if any(p.glob("run-*.wandb")) and wandb_log.read_run(p).name == "first-run":
            names.add(p.name)
    return names


def _runs_by_name(root: Path, project: str) -> dict[str, Any]:
    return {r.name: r for r in turbotrack.Api(dir=root).runs(f"local/{project}")}


def _source(wandb_dir: Path, name: str) -> tuple[Path, wandb_log.WandbRun]:
    for p in sorted((wandb_dir / "wandb").glob("offline-run-*")):
        src = wandb_log.read_run(p)
        if src.name == name:
            return p, src
    raise AssertionError(name)


def _core_takes(value: Any) -> bool:
    """Whether this build's core stores ``value`` in a history row (lists and None: being added)."""
    with tempfile.TemporaryDirectory() as d:
        core = _core.Core(Path(d) / "h.ttrk", converter=turbotrack.data_types.Converter(None))
        try:
            core.log({"v": value})
            return True
        except TypeError:
            return False
        finally:
            core.finish()


def test_wandb_import_matches_the_source(wandb_dir: Path, tmp_path: Path) -> None:
    out = cli("import", "wandb", str(wandb_dir / "wandb"), "--dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "imported 2 of 2 wandb runs" in out.stderr and "Traceback" not in out.stderr
    folder, src = _source(wandb_dir, "first-run")
    runs = _runs_by_name(tmp_path, "moving")
    run = runs["first-run"]
    assert run.id == src.id and run.state == "finished"
    assert (run.group, run.job_type, run.notes, list(run.tags)) == ("sweep-a", "train", "from wandb", ["base", "v2"])
    assert run.config == {"lr": 0.01, "layers": [64, 32], "opt": {"name": "adam", "beta": 0.9}} == src.config
    info = json.loads((Path(run.dir) / "run.json").read_text())
    assert info["imported_from"]["path"] == str(folder.resolve()) and info["start_time"] == src.start_time

    rows = list(run.scan_history())
    assert [r["_step"] for r in rows] == [s["_step"] for s in src.history] == [0, 1, 2, 3, 4, 5, 10, 12]
    lists_ok, none_ok = _core_takes([1, 2.5]), _core_takes(None)
    for got, want in zip(rows, src.history):
        assert got[SOURCE_TIMESTAMP] == want["_timestamp"] and got[SOURCE_RUNTIME] == want["_runtime"]
        for key, value in want.items():
            if key.startswith("_"):
                continue
            if (key == "lst" and not lists_ok) or (key == "none" and not none_ok):
                assert key not in got
                continue
            if isinstance(value, dict) and "path" in value:  # media: the file copied, the rest kept
                assert {k: v for k, v in got[key].items() if k != "path"} == {
                    k: v for k, v in value.items() if k != "path"
                }
                assert (Path(run.dir) / got[key]["path"]).read_bytes() == (
                    folder / "files" / value["path"]
                ).read_bytes()
                continue
            assert got[key] == value and type(got[key]) is type(value), key
    assert rows[0]["nest.b.c"] == 0 and rows[5]["big"] == 2**40 + 5 and rows[2]["ok"] is True
    assert rows[6]["hist"]["_type"] == "histogram" and rows[6]["hist"] == src.history[6]["hist"]
    table = json.loads((Path(run.dir) / rows[6]["tbl"]["path"]).read_text())
    assert table["columns"] == ["a", "b"] and table["data"] == [[1, "x"], [2, "y"]]
    if not lists_ok:
        assert "first-run" not in out.stderr  # runs are named by path
        assert f"local/moving/{run.id}: not carried over: history 'lst': list values" in out.stderr
    if not none_ok:
        assert f"local/moving/{run.id}: not carried over: history 'none': null values" in out.stderr

    summary = dict(run.summary)
    assert summary["best_acc"] == 0.99 and summary["hand"] == {"k": 1, "s": "v"}  # set by hand: as the source
    assert summary["val/loss"] == {"min": 0.75} == src.summary["val/loss"]
    assert summary["acc"] == src.summary["acc"] and set(summary["acc"]) == {"max", "mean"}
    assert summary["nest.b.c"] == -5 and summary["loss"] == 0.05 and summary["_step"] == 12
    assert (Path(run.dir) / summary["img"]["path"]).is_file()
    defs = json.loads((Path(run.dir) / "metrics.json").read_text())
    assert ["val/loss", "min", None, None, False] in defs and ["acc", "max,mean", None, None, False] in defs
    assert ["ok", None, None, None, True] in defs  # define_metric(hidden=True) carried over
    assert "requirements.txt" in {f.name for f in run.files()}
    assert run.metadata["python"].startswith("CPython") and run.metadata["program"]

    crashed = runs["killed"]
    assert crashed.state == "crashed"
    assert [r["x"] for r in crashed.scan_history()] == [0.0, 1.5, 3.0, 4.5, 6.0]


def test_wandb_import_twice_leaves_the_run_as_it_is(wandb_dir: Path, tmp_path: Path) -> None:
    first = cli("import", "wandb", str(wandb_dir / "wandb"), "--dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    run_dir = Path(_runs_by_name(tmp_path, "moving")["first-run"].dir)
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    again = cli("--dir", str(tmp_path), "import", "wandb", *(str(p) for p in (wandb_dir / "wandb").glob("offline-*")))
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already imported as local/moving/") == 2 and "imported 0 of 2" in again.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before
    assert len(list((tmp_path / "turbotrack" / "local" / "moving").iterdir())) == 2  # no temporary folder left


def test_imported_runs_show_in_the_server(wandb_dir: Path, tmp_path: Path) -> None:
    assert cli("import", "wandb", str(wandb_dir), "--dir", str(tmp_path), "--project", "ui").returncode == 0
    srv = ServerProc(tmp_path)
    key = make_key(tmp_path, "local")[1]
    srv.start()
    try:
        api = turbotrack.Api(base_url=srv.url, api_key=key)
        runs = {r.name: r for r in api.runs("local/ui")}
        assert set(runs) == {"first-run", "killed"}
        _, src = _source(wandb_dir, "first-run")
        remote = list(runs["first-run"].scan_history())
        assert [r["loss"] for r in remote if "loss" in r] == [s["loss"] for s in src.history if "loss" in s]
        assert runs["killed"].state == "crashed" and runs["first-run"].summary["best_acc"] == 0.99
        status, body, _ = raw(srv.url, "GET", "/", key)
        assert status == 200 and b"<html" in body.lower()
    finally:
        assert srv.stop() == 0


def test_import_errors_say_why_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args in (
        ("import", "wandb", str(tmp_path / "empty")),
        ("import", "wandb", str(tmp_path / "missing")),
        ("import", "tensorboard", str(tmp_path / "empty")),
    ):
        out = cli(*args, "--dir", str(tmp_path))
        assert out.returncode != 0 and "error:" in out.stderr and "hint:" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
        assert not (tmp_path / "turbotrack").exists()
    bad = tmp_path / "wandb" / "run-20250101_000000-broken"
    bad.mkdir(parents=True)
    (bad / "run-broken.wandb").write_bytes(b"not a log")
    out = cli("import", "wandb", str(tmp_path / "wandb"), "--dir", str(tmp_path))
    assert out.returncode == 1 and "could not import" in out.stderr and "hint:" in out.stderr
    assert "Traceback" not in out.stderr and not list((tmp_path / "turbotrack").rglob("run.json"))


TB_SCRIPT = r"""
import sys, numpy as np
from {module} import SummaryWriter
w = SummaryWriter(sys.argv[1])
for i in range(5):
    w.add_scalar("loss", 1.0 / (i + 1), i)
    w.add_scalar("train/acc", i / 8, i)
w.add_histogram("weights", np.arange(50) % 9, 3)
w.add_image("sample", (np.arange(48).reshape(3, 4, 4) * 5).astype(np.uint8), 2)
w.add_text("note", "hello **tb**", 4)
w.close()
"""


@pytest.fixture(scope="module")
def tb_logdir() -> Any:
    """A logdir with a run by torch.utils.tensorboard and one by tensorboardX."""
    with tempfile.TemporaryDirectory() as d:
        logdir = Path(d) / "logs"
        torch_env = child_env(site_packages())
        for module, sub, env in (("torch.utils.tensorboard", "torch", torch_env), ("tensorboardX", "tbx", None)):
            out = subprocess.run(
                [sys.executable, "-c", TB_SCRIPT.format(module=module), str(logdir / sub)],
                env=env or dict(os.environ),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert out.returncode == 0, out.stderr
        yield logdir


def _accumulated(folder: Path) -> Any:
    """TensorBoard's own view of a run folder (every value kept)."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def test_tensorboard_import_matches_the_source(tb_logdir: Path, tmp_path: Path) -> None:
    out = cli("import", "tensorboard", str(tb_logdir), "--dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "imported 2 of 2 TensorBoard runs" in out.stderr
    runs = _runs_by_name(tmp_path, "logs")
    assert set(runs) == {"torch", "tbx"}
    for name, run in runs.items():
        acc = _accumulated(tb_logdir / name)
        rows = {r["_step"]: r for r in run.scan_history()}
        assert sorted(rows) == [0, 1, 2, 3, 4] and run.state == "finished"
        tags = acc.Tags()
        for tag in tags["scalars"]:
            events = acc.Scalars(tag)
            assert [(rows[e.step][tag]) for e in events] == [e.value for e in events], (name, tag)
        for tag in tags["histograms"]:
            (h,) = acc.Histograms(tag)
            got = rows[h.step][tag]
            hv = h.histogram_value
            nonzero = [i for i, c in enumerate(hv.bucket) if c > 0]
            start, end = nonzero[0], nonzero[-1]
            assert got["_type"] == "histogram" and sum(got["values"]) == hv.num == 50
            assert got["values"] == list(hv.bucket)[start : end + 1]
            assert got["bins"] == [hv.min, *list(hv.bucket_limit)[start:end], hv.max]
        (img,) = acc.Images("sample")
        got = rows[img.step]["sample"]
        assert (got["width"], got["height"]) == (img.width, img.height) == (4, 4)
        assert (Path(run.dir) / got["path"]).read_bytes() == img.encoded_image_string
        text_tag = next(t for t in tags["tensors"] if t.startswith("note"))
        (t,) = acc.Tensors(text_tag)
        assert rows[t.step][text_tag] == t.tensor_proto.string_val[0].decode() == "hello **tb**"
        first = min(e.wall_time for tag in tags["scalars"] for e in acc.Scalars(tag))
        assert rows[0][SOURCE_TIMESTAMP] == pytest.approx(first)
        assert not math.isnan(run.summary["loss"]) and run.summary["loss"] == rows[4]["loss"]
    again = cli("import", "tensorboard", str(tb_logdir), "--dir", str(tmp_path))
    assert again.returncode == 0 and again.stderr.count("already imported as") == 2, again.stderr


def test_tensorboard_missing_package_is_an_error_with_a_hint(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "tensorboard.py").write_text("raise ImportError('blocked for the test')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), os.environ.get("PYTHONPATH", "")])}
    (tmp_path / "logs").mkdir()
    out = cli("import", "tensorboard", str(tmp_path / "logs"), "--dir", str(tmp_path), env=env)
    assert out.returncode == 2 and "needs the tensorboard package" in out.stderr
    assert "hint: pip install tensorboard" in out.stderr and "Traceback" not in out.stderr


def test_wandb_log_reader_keeps_media_whole(wandb_dir: Path) -> None:
    _, src = _source(wandb_dir, "first-run")
    row = src.history[6]
    assert set(row) >= {"img", "tbl", "hist"} and row["img"]["_type"] == "image-file"
    assert src.history[0]["nest.b.c"] == 0 and src.exit_code == 0 and src.environment["python"]
    _, killed = _source(wandb_dir, "killed")
    assert killed.exit_code is None and killed.rows == 5


def test_progress_is_sync_s_bar(wandb_dir: Path, tmp_path: Path) -> None:
    out = cli("import", "wandb", str(wandb_dir / "wandb"), "--dir", str(tmp_path))
    lines = [x for x in out.stderr.splitlines() if "[########################] 100%" in x]
    assert len(lines) == 2 and all("imported from" in x for x in lines)
    assert textwrap.dedent(out.stdout) == ""  # data on stdout only: an import prints none


def _same_run(a: wandb_log.WandbRun, b: wandb_log.WandbRun) -> None:
    assert [list(r.items()) for r in a.history] == [list(r.items()) for r in b.history]  # order too
    assert a == b


def test_native_and_python_readers_agree_on_real_wandb_logs(wandb_dir: Path) -> None:
    folders = sorted((wandb_dir / "wandb").glob("offline-run-*"))
    assert len(folders) == 2
    for p in folders:
        _same_run(wandb_log.read_run(p, native=True), wandb_log.read_run(p, native=False))


def test_native_and_python_readers_agree_on_the_bench_writer_s_log_and_its_torn_copies(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "import_wandb", Path(__file__).parent.parent / "benches" / "import_wandb.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    run = tmp_path / "offline-run-1-x"
    run.mkdir()
    log = run / "run-x.wandb"
    bench.write_log(log, 600, 1.7e9)  # ~4 blocks: records cross block boundaries
    whole = log.read_bytes()
    assert len(whole) > 4 * wandb_log._BLOCK
    native = wandb_log.read_run(run, native=True)
    assert native.rows == 600 and native.history[599]["_step"] == 599 and native.exit_code == 0
    _same_run(native, wandb_log.read_run(run, native=False))
    for cut in (len(whole) - 1, 2 * wandb_log._BLOCK + 3, wandb_log._BLOCK - 2, 40, 7, 5):
        log.write_bytes(whole[:cut])
        _same_run(wandb_log.read_run(run, native=True), wandb_log.read_run(run, native=False))
    log.write_bytes(b"PK\x03\x04" + whole[4:])
    for native_flag in (True, False):
        with pytest.raises(ValueError, match="not a wandb transaction log"):
            wandb_log.read_run(run, native=native_flag)
