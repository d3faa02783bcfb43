"""The benchmark harness (``turbotrack bench``): workloads, adapters in fresh processes, figures,
skipped peers, JSON and markdown output, and the read-back check. No timing is asserted: only that
every figure is there and sane. Step counts are tiny; the real peers tried: tensorboardX and wandb.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import textwrap
from pathlib import Path
from typing import Any, Optional

import pytest

from turbotrack.bench import adapters as bench_adapters
from turbotrack.bench import main, stats
from turbotrack.bench.runner import disk_bytes
from turbotrack.bench.workloads import (
    WORKLOADS,
    ValueStream,
    expected_rows,
    key_names,
    parse_workloads,
)

#: Keys every JSON object carries (the issue's schema).
SCHEMA = {
    "library",
    "version",
    "workload",
    "p50_us",
    "p99_us",
    "max_us",
    "finish_s",
    "cpu_s",
    "peak_rss_mb",
    "disk_bytes",
    "bytes_per_point",
    "ratio_p50",
    "verified",
    "skipped",
}
#: Figures that are positive for every library that ran.
POSITIVE = ("p50_us", "p99_us", "max_us", "loop_s", "startup_s", "cpu_s", "peak_rss_mb")


def bench_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> list[dict]:
    """Run ``turbotrack bench --json ARGS`` in this process; the parsed stdout."""
    code = main(["--json", "--tmpdir", str(tmp_path), *args])
    out = capsys.readouterr().out
    rows = json.loads(out)  # stdout holds nothing but the JSON (progress goes to stderr)
    assert code == 0, rows
    return rows


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_ran(row: dict[str, Any], steps: int, repeat: int) -> None:
    assert SCHEMA <= row.keys()
    assert row["skipped"] is None and row["error"] is None, row
    assert row["repeat"] == repeat
    workload = WORKLOADS[row["workload"]]
    assert row["calls"] == workload.calls(steps)
    assert row["points"] == workload.points(steps)
    for figure in POSITIVE:
        assert row[figure] is not None and row[figure] > 0, (figure, row)
    assert row["finish_s"] >= 0
    assert row["disk_bytes"] >= 0 and row["bytes_per_point"] >= 0
    assert row["p50_us"] <= row["p99_us"] <= row["max_us"]
    for figure, (lo, hi) in row["spread"].items():
        assert lo <= row[figure] <= hi, figure


# --- pure parts -----------------------------------------------------------------------------


def test_percentile_matches_linear_interpolation() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 0) == 1.0 and stats.percentile(values, 100) == 5.0
    assert stats.percentile(values, 99) == pytest.approx(4.96)
    assert math.isnan(stats.percentile([], 50))
    figures = stats.latency_figures([3000, 1000, 2000])
    assert figures == {"p50_us": 2.0, "p99_us": pytest.approx(2.98), "max_us": 3.0}


def test_summarize_gives_median_and_spread_and_ratio() -> None:
    reps = [dict.fromkeys(stats.FIGURES, float(v)) for v in (3, 1, 2)]
    reps[0]["disk_bytes"] = None
    medians, spread = stats.summarize(reps)
    assert medians["p50_us"] == 2.0 and spread["p50_us"] == [1.0, 3.0]
    assert medians["disk_bytes"] == 1.5 and spread["disk_bytes"] == [1.0, 2.0]
    assert stats.ratio(4.0, 2.0) == 2.0
    assert stats.ratio(1.0, 0.0) is None and stats.ratio(None, 1.0) is None


def test_workloads_are_reproducible_and_counted() -> None:
    w = WORKLOADS["threads4"]
    assert w.calls(10) == 40 and w.points(10) == 400
    assert WORKLOADS["split_step"].calls(10) == 20
    assert key_names(w, 2)[0] == "t2/m000"
    assert key_names(WORKLOADS["scalars200"], 0)[-1] == "train/m199"
    stream = ValueStream(w, "random", 7, 1, 5)
    a = [stream.row(s) for s in range(5)]
    b = [list(r.values()) for r in expected_rows(w, "random", 7, 1, 5)]
    assert a == b and len(a[0]) == 10
    assert a[0] != ValueStream(w, "random", 7, 2, 5).row(0)
    with pytest.raises(ValueError, match="unknown workload"):
        parse_workloads("scalars10,nope")
    assert [x.name for x in parse_workloads("procs4, scalars10")] == ["procs4", "scalars10"]


def test_smooth_data_is_a_decaying_positive_curve() -> None:
    steps = 400
    rows = list(expected_rows(WORKLOADS["scalars10"], "smooth", 0, 0, steps))
    for key in rows[0]:
        series = [r[key] for r in rows]
        assert all(v > 0 for v in series)
        assert sum(series[:20]) > sum(series[-20:])


def test_library_names_parse() -> None:
    assert bench_adapters.parse_libraries("TensorBoardX, floor") == ["tensorboardX", "floor"]
    assert bench_adapters.parse_libraries(None) == list(bench_adapters.ADAPTERS)
    with pytest.raises(ValueError, match="unknown library"):
        bench_adapters.parse_libraries("floor,comet")


def test_disk_bytes_counts_files_not_links(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 5)
    os.symlink(tmp_path / "a", tmp_path / "link")
    assert disk_bytes(tmp_path) == 15


# --- the references, in fresh processes -----------------------------------------------------


def test_floor_runs_every_workload(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = bench_json(capsys, tmp_path, "--only", "floor", "--steps", "20", "--repeat", "2")
    assert [r["workload"] for r in rows] == list(WORKLOADS)
    for row in rows:
        check_ran(row, steps=20, repeat=2)
        assert row["disk_bytes"] == 0 and row["verified"] is None
        assert row["ratio_p50"] is None  # no turbotrack in this run to compare with
    assert list(tmp_path.iterdir()) == []  # the runs' folders are removed


def test_turbotrack_and_native_floor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("turbotrack._core")
    rows = bench_json(capsys, tmp_path, "--only", "turbotrack,native_floor", "--steps", "15", "--repeat", "1")
    by = {(r["library"], r["workload"]): r for r in rows}
    for workload in WORKLOADS:
        tt, nf = by[("turbotrack", workload)], by[("native_floor", workload)]
        check_ran(tt, steps=15, repeat=1)
        check_ran(nf, steps=15, repeat=1)
        assert tt["verified"] is True, tt["verify_note"]
        assert tt["disk_bytes"] > 0 and tt["bytes_per_point"] > 0
        assert tt["ratio_p50"] == 1.0
        assert nf["ratio_p50"] == pytest.approx(nf["p50_us"] / tt["p50_us"])
        assert nf["ratios"]["cpu_s"] == pytest.approx(nf["cpu_s"] / tt["cpu_s"])
        assert nf["verified"] is None and nf["disk_bytes"] == 0


def test_read_back_catches_a_lossy_run(tmp_path: Path) -> None:
    pytest.importorskip("turbotrack._core")
    import turbotrack
    from turbotrack.bench.verify import verify_turbotrack

    workload, steps, seed = WORKLOADS["scalars10"], 6, 3
    rows = list(expected_rows(workload, "random", seed, 0, steps))
    settings = {k: False for k in ("capture_stdout", "capture_system", "capture_git")}
    settings["capture_requirements"] = False

    def logged(rows: list[dict[str, float]], where: Path) -> str:
        run = turbotrack.init(project="bench", dir=str(where), mode="offline", settings=settings)
        for row in rows:
            run.log(row)
        run.finish()
        return run.path

    good = logged(rows, tmp_path / "good")
    assert verify_turbotrack(tmp_path / "good", [good], workload, steps, "random", seed)[0]

    altered = [dict(r) for r in rows]
    altered[4]["train/m003"] += 1e-9
    path = logged(altered, tmp_path / "altered")
    ok, note = verify_turbotrack(tmp_path / "altered", [path], workload, steps, "random", seed)
    assert not ok and "row 4 train/m003" in note

    path = logged(rows[:-1], tmp_path / "short")
    ok, note = verify_turbotrack(tmp_path / "short", [path], workload, steps, "random", seed)
    assert not ok and "5 rows read back, 6 logged" in note


# --- real peers -----------------------------------------------------------------------------


@pytest.mark.skipif(not installed("tensorboardX"), reason="tensorboardX is not installed")
def test_tensorboardx(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = bench_json(
        capsys,
        tmp_path,
        *("--only", "tensorboardX", "--steps", "10", "--repeat", "1"),
        *("--workload", "scalars10,split_step,threads4"),
    )
    for row in rows:
        check_ran(row, steps=10, repeat=1)
        assert row["version"] and row["verified"] is None
        assert row["disk_bytes"] > 0 and row["bytes_per_point"] > 0
        assert "add_scalar" in row["notes"]


@pytest.mark.skipif(not installed("wandb"), reason="wandb is not installed")
def test_wandb_offline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = bench_json(
        capsys,
        tmp_path,
        "--only",
        "wandb",
        "--steps",
        "5",
        "--repeat",
        "1",
        "--workload",
        "scalars10",
    )
    (row,) = rows
    check_ran(row, steps=5, repeat=1)
    assert row["disk_bytes"] > 0
    assert "mode='offline'" in row["notes"] and "console='off'" in row["notes"]


# --- peers that are missing or broken -------------------------------------------------------


def test_missing_peer_is_skipped_with_its_pip_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Optional[Any]:
        return None if name.split(".")[0] == "aim" else real(name, *args)

    monkeypatch.setattr(bench_adapters.importlib.util, "find_spec", find_spec)
    rows = bench_json(
        capsys, tmp_path, "--only", "aim,floor", "--steps", "5", "--repeat", "1",
        "--workload", "scalars10",
    )  # fmt: skip
    aim, floor = rows
    assert aim["skipped"] == "not installed: pip install aim"
    assert aim["p50_us"] is None and aim["repeat"] == 0 and aim["verified"] is None
    assert floor["skipped"] is None and floor["p50_us"] > 0

    assert main(["--only", "aim,floor", "--steps", "5", "--repeat", "1", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "aim: skipped: not installed: pip install aim" in table
    assert "hint: pip install 'turbotrack[bench]'" in table


def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: str) -> None:
    """Shadow ``name`` in the worker processes (only: this process keeps the real one)."""
    pkg = tmp_path / "shadow" / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(code))
    path = [str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in path if p))


def test_peer_that_fails_to_import_is_skipped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_package(tmp_path, monkeypatch, "tensorboardX", "raise ImportError('simulated breakage')")
    monkeypatch.setattr(bench_adapters.TensorboardX, "missing", classmethod(lambda cls: None))
    runs = tmp_path / "runs"
    runs.mkdir()
    rows = bench_json(
        capsys, runs, "--only", "tensorboardX", "--steps", "5", "--repeat", "2",
        "--workload", "scalars10,threads4",
    )  # fmt: skip
    for row in rows:
        assert "simulated breakage" in row["skipped"] and "pip install tensorboardX" in row["skipped"]
        assert row["error"] is None and row["p50_us"] is None


def test_peer_that_crashes_is_an_error_not_a_failure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = """
        class SummaryWriter:
            def __init__(self, logdir):
                raise RuntimeError("disk on fire")
    """
    fake_package(tmp_path, monkeypatch, "tensorboardX", code)
    monkeypatch.setattr(bench_adapters.TensorboardX, "missing", classmethod(lambda cls: None))
    runs = tmp_path / "runs"
    runs.mkdir()
    rows = bench_json(
        capsys, runs, "--only", "tensorboardX,floor", "--steps", "5", "--repeat", "1",
        "--workload", "procs4",
    )  # fmt: skip
    tbx, floor = rows
    assert "RuntimeError: disk on fire" in tbx["error"] and tbx["skipped"] is None
    assert floor["error"] is None and floor["p50_us"] > 0


def test_a_hung_worker_times_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = """
        import time
        class SummaryWriter:
            def __init__(self, logdir):
                time.sleep(60)
    """
    fake_package(tmp_path, monkeypatch, "tensorboardX", code)
    monkeypatch.setattr(bench_adapters.TensorboardX, "missing", classmethod(lambda cls: None))
    runs = tmp_path / "runs"
    runs.mkdir()
    rows = bench_json(
        capsys, runs, "--only", "tensorboardX", "--steps", "5", "--repeat", "3",
        "--workload", "scalars10", "--timeout", "2",
    )  # fmt: skip
    (row,) = rows
    assert row["error"].startswith("timed out after 2 s")
    assert row["repeat"] == 0  # after a failure the other repetitions are not tried


# --- output formats -------------------------------------------------------------------------


def test_markdown_and_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    md = tmp_path / "RESULTS.md"
    runs = tmp_path / "runs"
    runs.mkdir()
    argv = [
        "--only",
        "floor",
        "--steps",
        "5",
        "--repeat",
        "2",
        "--workload",
        "scalars10,split_step",
    ]
    code = main([*argv, "--tmpdir", str(runs), "--markdown", str(md)])
    captured = capsys.readouterr()
    assert code == 0
    assert "scalars10:" in captured.out and "p50 µs" in captured.out and "floor" in captured.out
    assert "[4/4] floor · split_step · rep 2/2" in captured.err  # progress, one line per task
    text = md.read_text(encoding="utf-8")
    for needle in (
        "## scalars10",
        "## split_step",
        "| CPU |",
        "| memory |",
        "| OS |",
        "| Python |",
    ):
        assert needle in text
    assert "## How to reproduce" in text and "turbotrack bench --only floor" in text
    assert "| floor 3." in text and "<sub>" in text  # spread over the two repetitions
