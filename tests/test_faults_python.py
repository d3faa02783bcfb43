"""Faults found by attacking turbotrack as a careful user would (issue 9), on the Python side:
finish() on a full disk, colliding media names, exit codes, Api summaries of arrays, paths that
leave the storage root, damaged JSON files, failed init(), very long keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import NO_CAPTURE, api_run, run_child

import turbotrack
from turbotrack.cli import main as cli_main

# ---------------------------------------------------------------------------------------------
# 6: finish() on a full disk can be retried


def test_finish_that_cannot_write_run_json_raises_clearly_and_can_be_retried(root):
    # RLIMIT_FSIZE makes every write beyond a few bytes fail (EFBIG), as a full disk would; raising it
    # again is the space coming back.
    out = run_child(
        f"""
        import resource, signal, turbotrack
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        run = turbotrack.init(project="p", id="full", settings={NO_CAPTURE!r})
        run.log({{"x": 1}})
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16, hard))
        try:
            run.finish()
        except turbotrack.Error as e:
            print("ERROR", e)
        else:
            print("NO ERROR")
        print("STATE", turbotrack.Api().run("p/full").state)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        run.finish()
        print("STATE", turbotrack.Api().run("p/full").state)
        """
    )
    assert out.returncode == 0, out.stderr
    error = next(line for line in out.stdout.splitlines() if line.startswith(("ERROR", "NO ERROR")))
    assert "run.json" in error and "finish() again" in error, error
    states = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("STATE")]
    assert states == ["running", "finished"]
    assert "could not finish" not in out.stderr  # nothing left for the exit hook


# ---------------------------------------------------------------------------------------------
# 7: media and summary tensors never share a file


def test_media_of_similar_keys_and_summary_tensors_get_their_own_files(new_run):
    run = new_run()
    a, b = np.zeros((4, 4)), np.ones((4, 4))
    run.log({"val/img": turbotrack.Image(a), "val_img": turbotrack.Image(b)})
    run.log({"t/a": turbotrack.Table(columns=["x"], data=[[1]]), "t_a": turbotrack.Table(columns=["x"], data=[[2]])})
    run.summary["w/1"] = np.arange(10.0)
    run.summary["w_1"] = np.arange(20.0)
    run.finish()
    api = api_run(run)
    rows = api.history(pandas=False)
    paths = [rows[0]["val/img"]["path"], rows[0]["val_img"]["path"], rows[1]["t/a"]["path"], rows[1]["t_a"]["path"]]
    assert len(set(paths)) == 4
    from PIL import Image as PILImage

    with PILImage.open(Path(run.dir) / paths[0]) as im:
        assert im.getpixel((0, 0)) == 0
    with PILImage.open(Path(run.dir) / paths[1]) as im:
        assert im.getpixel((0, 0)) == 255
    assert json.loads((Path(run.dir) / paths[3]).read_text())["data"] == [[2]]
    w1, w_1 = api.summary["w/1"], api.summary["w_1"]
    assert w1["path"] != w_1["path"]
    assert np.load(Path(run.dir) / w1["path"]).shape == (10,)
    assert np.load(Path(run.dir) / w_1["path"]).shape == (20,)


def test_media_logged_with_step_are_named_after_the_step_they_land_on(new_run):
    run = new_run()
    for epoch in (0, 5, 10):
        run.log({"pred": turbotrack.Image(np.full((2, 2), epoch / 10))}, step=epoch)
    run.finish()
    rows = api_run(run).history(pandas=False)
    assert [r["_step"] for r in rows] == [0, 5, 10]
    names = [Path(r["pred"]["path"]).name for r in rows]
    assert [n.split("_")[1] for n in names] == ["0", "5", "10"]
    assert len({(Path(run.dir) / r["pred"]["path"]).read_bytes() for r in rows}) == 3  # every epoch kept


def test_ranks_of_a_shared_run_write_media_of_their_own(root, spawn):
    script = f"""
        import sys, numpy as np, turbotrack
        rank = int(sys.argv[1])
        run = turbotrack.init(project="p", id="sh", settings={{"shared": True, "rank": rank, **{NO_CAPTURE!r}}})
        run.log({{"samples": turbotrack.Image(np.full((3, 3), rank / 4))}}, step=7)
        run.finish()
    """
    procs = [spawn([sys.executable, "-c", textwrap.dedent(script), str(k)], env={**os.environ}) for k in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    r = turbotrack.Api().run("p/sh")
    rows = list(r.scan_history())
    assert [x["_rank"] for x in rows] == [0, 1, 2]
    paths = {x["samples"]["path"] for x in rows}
    assert len(paths) == 3
    assert len({(Path(r.dir) / p).read_bytes() for p in paths}) == 3


# ---------------------------------------------------------------------------------------------
# 20 (part): any valid key works as a media key, however long


def test_media_under_very_long_keys(new_run):
    run = new_run()
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    run.log({long_a: turbotrack.Image(np.zeros((2, 2))), long_b: turbotrack.Table(columns=["x"], data=[[1]])})
    run.summary["s" * 400] = np.arange(5.0)
    run.finish()
    (row,) = api_run(run).history(pandas=False)
    for key in (long_a, long_b):
        path = Path(run.dir) / row[key]["path"]
        assert path.is_file() and len(path.name) < 200
    assert (Path(run.dir) / api_run(run).summary["s" * 400]["path"]).is_file()


# ---------------------------------------------------------------------------------------------
# 10: sys.exit(n) and SystemExit mark the run failed with that code


@pytest.mark.parametrize(
    ("ending", "state", "code"),
    [
        ("sys.exit(3)", "failed", 3),
        ("raise SystemExit(3)", "failed", 3),
        ("exit(4)", "failed", 4),
        ("sys.exit('bad')", "failed", 1),
        ("sys.exit(0)", "finished", 0),
        ("sys.exit()", "finished", 0),
        ("pass", "finished", 0),
        ("try:\n    sys.exit(2)\nexcept SystemExit:\n    pass", "finished", 0),
    ],
)
def test_exit_status_becomes_the_runs_state(root, ending, state, code):
    out = run_child(
        f"import sys, turbotrack\nrun = turbotrack.init(project='p', id='x', settings={NO_CAPTURE!r})\n"
        f"run.log({{'a': 1}})\n{ending}\n"
    )
    assert out.returncode == code, out.stderr
    info = json.loads((root / "turbotrack" / "local" / "p" / "x" / "run.json").read_text())
    assert (turbotrack.Api().run("p/x").state, info["exit_code"]) == (state, code)


def test_sigterm_handler_calling_sys_exit_marks_the_run_failed(root, spawn):
    code = f"""
        import signal, sys, time, turbotrack
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
        run = turbotrack.init(project="p", id="term", settings={NO_CAPTURE!r})
        for i in range(100000):
            run.log({{"i": i}})
            if i == 0:
                print("ready", flush=True)  # a row is logged: SIGTERM from now on
            time.sleep(0.01)
    """
    p = spawn([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 143
    p.stdout.close()
    r = turbotrack.Api().run("p/term")
    assert r.state == "failed"
    assert json.loads((Path(r.dir) / "run.json").read_text())["exit_code"] == 143
    assert len(list(r.scan_history())) > 0


def test_with_block_left_by_sys_exit_uses_its_code(root):
    out = run_child(
        f"""
        import sys, turbotrack
        with turbotrack.init(project="p", id="w", settings={NO_CAPTURE!r}) as run:
            sys.exit(0)
        """
    )
    assert out.returncode == 0, out.stderr
    assert turbotrack.Api().run("p/w").state == "finished"


# ---------------------------------------------------------------------------------------------
# 14: Api summaries store arrays as tensors, as run.summary does


def test_api_summary_update_stores_an_array_as_a_tensor(new_run):
    run = new_run()
    run.log({"x": 1})
    run.finish()
    api = api_run(run)
    values = np.random.default_rng(0).random(1000)
    api.summary["t"] = values
    api.summary["n"] = np.float32(0.5)
    api.summary.update()
    again = api_run(run).summary
    t = again["t"]
    assert t["_type"] == "tensor" and t["shape"] == [1000] and t["dtype"] == "float64"
    assert t["mean"] == pytest.approx(values.mean()) and t["max"] == pytest.approx(values.max())
    assert np.array_equal(np.load(Path(run.dir) / t["path"]), values)
    assert again["n"] == 0.5 and again["x"] == 1


# ---------------------------------------------------------------------------------------------
# 18: nothing is read or written outside the storage root and files/


@pytest.mark.parametrize(
    "path", ["../../elsewhere", "local/../../x", "local/p/..", "local//x", "./p/x", "local/p/x/y", "a\\b/p/x"]
)
def test_api_refuses_paths_that_leave_the_root(root, path):
    outside = root.parent / "elsewhere"
    (outside).mkdir(exist_ok=True)
    (outside / "run.json").write_text("{}")
    with pytest.raises(ValueError):
        turbotrack.Api(dir=root).run(path)


def test_api_refuses_a_symlink_out_of_the_root(root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "run.json").write_text("{}")
    project = root / "turbotrack" / "local" / "p"
    project.mkdir(parents=True)
    (project / "link").symlink_to(elsewhere)
    with pytest.raises(ValueError, match="outside the storage root"):
        turbotrack.Api().run("p/link")


def test_save_keeps_structure_and_never_writes_outside_files(new_run, tmp_path, monkeypatch):
    src = tmp_path / "src"
    for rel in ("a/out.txt", "b/out.txt", "b/deep/c.txt", "top.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    run = new_run()
    files = Path(run.dir) / "files"
    # ** globs and wildcards in folder parts keep the paths below the base: nothing overwritten
    saved = run.save(str(src / "**" / "*.txt"), base_path=str(src))
    assert sorted(Path(p).relative_to(files).as_posix() for p in saved) == [
        "a/out.txt",
        "b/deep/c.txt",
        "b/out.txt",
        "top.txt",
    ]
    assert (files / "a" / "out.txt").read_text() == "a/out.txt" and (files / "b" / "out.txt").read_text() == "b/out.txt"
    saved = run.save(str(src / "*" / "out.txt"))  # absolute, no base: the folders from the wildcard on
    assert {Path(p).relative_to(files).as_posix() for p in saved} == {"a/out.txt", "b/out.txt"}
    monkeypatch.chdir(src / "b")
    assert [Path(p).relative_to(files).as_posix() for p in run.save("deep/*.txt")] == ["deep/c.txt"]
    with pytest.raises(ValueError, match="not a folder above"):
        run.save("../a/out.txt")  # relative to the current folder, it climbs out of it
    with pytest.raises(ValueError, match="not a folder above"):
        run.save(str(src / "a" / "out.txt"), base_path=str(src / "b"))
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and src not in p.parents and files not in p.parents]
    assert not [p for p in outside if p.name in ("out.txt", "c.txt", "top.txt")]


# ---------------------------------------------------------------------------------------------
# 19: a damaged JSON file is named, and the rest of the store still lists


def _finished_run(project: str, run_id: str) -> Path:
    run = turbotrack.init(project=project, id=run_id, settings=NO_CAPTURE)
    run.log({"loss": 0.5})
    run.finish()
    return Path(run.dir)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("run.json", "{not json"),
        ("run.json", "[]"),
        ("summary.json", '"text"'),
        ("config.json", "\xff\xfe"),
        ("metrics.json", "[[1]]"),
        ("metadata.json", "[1, 2"),
    ],
)
def test_a_damaged_json_file_is_named_and_other_runs_still_list(root, capsys, name, content):
    bad = _finished_run("p", "bad")
    _finished_run("p", "good")
    (bad / name).write_text(content, encoding="latin-1")
    assert cli_main(["ls", "--json"]) == 0
    out, err = capsys.readouterr()
    listed = {r["id"]: r for r in json.loads(out)}
    assert set(listed) == {"bad", "good"} and listed["good"]["state"] == "finished"
    if name == "run.json":
        assert listed["bad"]["state"] == "unreadable"
        assert f"{bad / name}" in err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = turbotrack.Api().run("p/bad")
        _ = (r.state, r.metadata, r.summary, r.config)
        assert cli_main(["verify", "p/bad"]) == 0
    if name != "metrics.json":  # metrics.json is read only for shared runs
        assert any(str(bad / name) in str(w.message) for w in caught)
        assert r.damaged == [str(bad / name)]
    assert r.state == ("unreadable" if name == "run.json" else "finished")


def test_damaged_files_in_a_shared_run_are_named(root):
    for rank in (0, 1):
        run = turbotrack.init(project="p", id="s", settings={**NO_CAPTURE, "shared": True, "rank": rank})
        run.log({"loss": rank})
        run.finish()
    run_dir = root / "turbotrack" / "local" / "p" / "s"
    (run_dir / "run.r1.json").write_text("{")
    (run_dir / "metrics.json").write_text('[["loss", 5, null]]')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = turbotrack.Api().run("p/s")
        assert r.state == "unreadable"
    assert sorted(Path(p).name for p in r.damaged) == ["metrics.json", "run.r1.json"]
    assert len(caught) == 2
    assert r.summary["loss"] in (0, 1)


def test_a_failed_init_leaves_nothing_that_blocks_a_retry(root):
    with pytest.raises(TypeError, match="config"):
        turbotrack.init(project="p", id="again", config=5, settings=NO_CAPTURE)  # type: ignore[arg-type]
    run = turbotrack.init(project="p", id="again", config={"lr": 1}, settings=NO_CAPTURE)
    run.log({"x": 1})
    run.finish()
    r = turbotrack.Api().run("p/again")
    assert r.state == "finished" and r.config == {"lr": 1} and len(list(r.scan_history())) == 1
