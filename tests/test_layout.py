"""The storage layout lives in one module (turbotrack.store.layout): every file a run writes is one it
names, and every path part is checked against leaving the storage root."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from turbotrack.store import layout

CHILD = """
import os, numpy as np, turbotrack
from turbotrack.data_types import Histogram, Image, Table
root, rank = {root!r}, {rank}
run = turbotrack.init(dir=root, project="lay", id="shared1", config={{"lr": 0.1}},
                      settings={{"shared": True, "rank": rank, "capture_system": True, "system_interval": 0.1,
                                 "capture_stdout": True, "capture_git": True, "capture_requirements": True}})
run.define_metric("loss", summary="min,max")
print("hello from rank", rank)
for i in range(5):
    run.log({{"loss": 1.0 / (i + 1), "h": np.arange(10.0) * i}})
run.log({{"img": Image(np.zeros((4, 4, 3), dtype=np.uint8)), "tab": Table(columns=["a"], data=[[1]])}})
run.summary["w"] = np.arange(6.0)
open(os.path.join(root, "notes.txt"), "w").write("x")
run.save(os.path.join(root, "notes.txt"), base_path=root)
if os.fork() == 0:  # a forked worker that logs
    run.log({{"worker": 1}})
    os._exit(0)
os.wait()
run.finish()
"""


def test_every_file_of_a_run_folder_is_named_by_the_layout(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for rank in (1, 0):
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CHILD.format(root=str(tmp_path), rank=rank))],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
    run_dir = layout.RunPath(layout.storage_root(tmp_path), "local", "lay", "shared1").dir
    names = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    unnamed = [n for n in names if layout.classify(n) is None]
    assert not unnamed, f"files the layout does not name: {unnamed}"
    listed = sorted(rel for rel, _, _ in layout.run_files(run_dir))
    assert listed == names
    kinds = {rel: kind for rel, _, kind in layout.run_files(run_dir)}
    # what each rank writes is where the layout says
    for rank in (0, 1):
        assert kinds[layout.ranked(layout.HISTORY, rank, shared=True)] == layout.STREAM
        assert kinds[layout.ranked(layout.SYSTEM, rank, shared=True)] == layout.STREAM
        assert kinds[layout.ranked(layout.OUTPUT, rank, shared=True)] == layout.APPEND
        for name in (layout.RUN, layout.CONFIG, layout.SUMMARY, layout.METADATA):
            assert kinds[layout.ranked(name, rank, shared=True)] == layout.REPLACE
    assert any(kind == layout.STREAM and ".p" in rel for rel, kind in kinds.items()), "the forked worker's file"
    assert layout.REQUIREMENTS in kinds
    assert any(rel.startswith(layout.MEDIA_DIR + "/") for rel in kinds)
    assert any(rel.startswith(layout.TENSORS_DIR + "/") for rel in kinds)
    assert any(rel.startswith(layout.FILES_DIR + "/") for rel in kinds)
    assert [r.path for r in layout.iter_run_dirs(layout.storage_root(tmp_path))] == ["local/lay/shared1"]


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b", "a\\b", ".hidden", "a\0b", "a\nb", "x" * 256, " r", "r:1"])
def test_path_parts_that_could_leave_the_root_are_refused(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a valid name"):
        layout.RunPath(tmp_path, "local", "p", bad)


@pytest.mark.parametrize("good", ["%2e%2e", "-x", "run 1", "é", "a.b"])
def test_run_ids_wandb_accepts_stay_inside_their_folder(good: str, tmp_path: Path) -> None:
    rp = layout.RunPath(tmp_path, "local", "p", good)
    assert rp.dir.parent == tmp_path / "local" / "p" and rp.dir.name == good


def test_run_paths_parse_every_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TURBOTRACK_ENTITY", raising=False)
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    for spelling in ("e/p/r1", "e/p/runs/r1", "/e/p/r1/"):
        assert layout.RunPath.parse(spelling, tmp_path).path == "e/p/r1"
    assert layout.RunPath.parse("p/r1", tmp_path).path == "local/p/r1"
    assert layout.RunPath.parse("p/r1", entity="me").path == "me/p/r1"
    assert layout.RunPath.parse("r1", tmp_path, project="x").path == "local/x/r1"
    assert layout.RunPath.parse("Jane Doe/my project/run 1").url_path == "Jane%20Doe/my%20project/run%201"
    assert layout.RunPath.parse("e/p/r1", tmp_path).dir == tmp_path / "e" / "p" / "r1"
    with pytest.raises(ValueError, match="has no storage root"):
        _ = layout.RunPath.parse("e/p/r1").dir
    for bad in ("a/b/c/d/e", "r1", "", "e/p/x/r1"):
        with pytest.raises(ValueError, match="is not a run path"):
            layout.RunPath.parse(bad)
    with pytest.raises(ValueError, match="'e/p#/r1' is not a run path: project 'p#'"):
        layout.RunPath.parse("e/p#/r1")
    with pytest.raises(TypeError):
        layout.RunPath.parse(3)  # type: ignore[arg-type]
    monkeypatch.setenv("WANDB_ENTITY", "team")
    assert layout.RunPath.parse("p/r1").path == "team/p/r1"
    assert layout.parse_project_path("p") == ("team", "p")
    assert layout.parse_project_path("e/p") == ("e", "p")


def test_storage_root_follows_the_argument_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TURBOTRACK_DIR", str(tmp_path / "env"))
    assert layout.storage_root() == (tmp_path / "env" / "turbotrack").resolve()
    assert layout.storage_root(tmp_path) == (tmp_path / "turbotrack").resolve()
    monkeypatch.delenv("TURBOTRACK_DIR")
    assert layout.storage_root() == Path(os.getcwd()).resolve() / "turbotrack"


def test_a_finished_rank_reads_its_own_summary(tmp_path: Path) -> None:
    import turbotrack

    settings = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
    runs = []
    for rank in (0, 1):
        run = turbotrack.init(
            dir=tmp_path, project="p", id="sh", reinit="create_new", settings={**settings, "shared": True, "rank": rank}
        )
        run.log({"a": rank * 10, f"only{rank}": 1})
        runs.append(run)
    for run in reversed(runs):
        run.finish()
    assert runs[1].summary["a"] == 10 and "only0" not in runs[1].summary
    assert runs[0].summary["a"] == 0 and "only1" not in runs[0].summary
