"""Every argument ``Run`` accepts does what wandb 0.31 does with it, or is refused naming it.

The oracle is the real wandb, offline: tests/scripts/wandb_arguments.py makes the same calls under wandb and
under turbotrack as wandb, and prints what each did; the stored config and summary are compared too
(tests/wandb_oracle.py). The rest checks what the oracle cannot see offline (the content a save policy
keeps, alerts, init's refusals) against wandb's documented behaviour."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest
from wandb_oracle import assert_same_runs, run_script

import turbotrack

SCRIPTS = Path(__file__).parent / "scripts"


def _results(stdout: str) -> dict:
    (line,) = [x for x in stdout.splitlines() if x.startswith("RESULTS ")]
    return json.loads(line[len("RESULTS ") :])


@pytest.mark.timeout(600)
def test_arguments_do_what_wandb_does(tmp_path: Path) -> None:
    outcome = run_script("", SCRIPTS / "wandb_arguments.py", tmp_path, ways=("as_wandb",))
    assert_same_runs(outcome)
    want = _results(outcome.procs["wandb"].stdout)
    got = _results(outcome.procs["as_wandb"].stdout)
    assert got == want
    # what the oracle says, spelled out (a change of wandb's behaviour shows here first)
    (run,) = outcome.oracle
    summary = {k: v for k, v in run.summary.items() if k[0] in "abce" and k[1:2] in ("", ".")}
    assert summary == {"a.min": 1, "a.max": 3, "b.max": 3, "c.min": 1, "c.max": 3, "e.min": 1}
    assert want["overwrite_str"] == ["refused", "Error"] and want["summary_bad"][0] == "refused"
    assert want["update"] == want["update_false"] == want["update_none"] == ["refused", "ConfigError"]
    assert want["update_truthy"] == ["ok", None] and want["setattr"] == ["refused", "ConfigError"]
    assert want["lr"] == 0.4 and run.config["momentum"] == 0.9
    assert want["save_policy_LIVE"] == want["save_policy_None"] == ["refused", "ValueError"]
    assert want["save_end"] == ["ok", ["end.txt"]] and want["save_literal"] == ["ok", ["lit[1].txt"]]
    assert want["save_absolute"] == ["ok", ["absdir/abs.txt"]]  # one folder kept
    assert want["save_after_finish"] == ["refused", "UsageError"]


def test_save_policies_keep_the_content_each_policy_uploads(new_run, tmp_path, monkeypatch):
    """now: the content at the call; live: the last content (copied again at finish); end: copied at finish."""
    monkeypatch.chdir(tmp_path)
    for policy in ("now", "live", "end", "same"):
        (tmp_path / f"{policy}.txt").write_text("v1")
    run = new_run()
    files = Path(run.dir) / "files"
    saved = {p: run.save(f"{p}.txt", policy=p) for p in ("now", "live", "end")}
    run.save("same.txt", policy="live")
    assert {p: [Path(x).name for x in v] for p, v in saved.items()} == {p: [f"{p}.txt"] for p in saved}
    assert (files / "now.txt").read_text() == (files / "live.txt").read_text() == "v1"
    assert not (files / "end.txt").exists()  # copied when the run ends, with its content then
    for policy in ("now", "live", "end"):
        (tmp_path / f"{policy}.txt").write_text("v2, longer")
    (tmp_path / "same.txt").unlink()  # a live file gone by finish keeps its last copy
    run.finish()
    assert (files / "now.txt").read_text() == "v1"
    assert (files / "live.txt").read_text() == (files / "end.txt").read_text() == "v2, longer"
    assert (files / "same.txt").read_text() == "v1"
    with pytest.raises(turbotrack.errors.UsageError, match="is finished"):
        run.save("now.txt")


def test_save_policy_and_glob_arguments(new_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lit[1].txt").write_text("x")
    (tmp_path / "lit1.txt").write_text("y")
    run = new_run()
    for bad in ("LIVE", None, 3):
        with pytest.raises(ValueError, match="policy"):
            run.save("lit1.txt", policy=bad)
    assert [Path(p).name for p in run.save("lit[1].txt")] == ["lit1.txt"]  # a glob: [1] is a character class
    assert [Path(p).name for p in run.save("lit[1].txt", glob=False)] == ["lit[1].txt"]
    assert run.save("gs://bucket/x") == []
    sub = tmp_path / "d" / "e"
    sub.mkdir(parents=True)
    (sub / "f.txt").write_text("z")
    (saved,) = run.save(str(sub / "f.txt"))  # absolute, no base_path: one folder kept, as wandb
    assert Path(saved).relative_to(Path(run.dir) / "files").as_posix() == "e/f.txt"
    turbotrack.save("lit1.txt", policy="now", glob=True)
    run.finish()


def test_define_metric_refuses_what_wandb_refuses(new_run):
    run = new_run()
    for kwargs in ({"overwrite": "yes"}, {"hidden": "no"}, {"step_sync": 1}, {"summary": 3}):
        with pytest.raises(turbotrack.Error, match=next(iter(kwargs))) as e:
            run.define_metric("x", **kwargs)
        assert isinstance(e.value, TypeError)
    with pytest.raises(turbotrack.Error, match="sometimes") as e:
        run.define_metric("x", summary="sometimes")
    assert isinstance(e.value, ValueError)
    assert run.define_metric("y", summary="MIN,Max").summary == ("min", "max")  # wandb lower-cases the words
    m = run.define_metric("z", summary="min", step_metric="s")
    m2 = run.define_metric("z", summary="max", overwrite=False)
    assert (m2.summary, m2.step_metric) == (("min", "max"), "s") and m.summary == ("min",)
    assert run.define_metric("z", summary="last", overwrite=True).step_metric is None
    run.finish()


def test_config_allow_val_change(new_run):
    run = new_run(config={"lr": 0.1})
    with pytest.raises(turbotrack.errors.ConfigError, match="allow_val_change=True"):
        run.config.update({"lr": 0.2}, allow_val_change=False)
    run.config.update({"lr": 0.2}, allow_val_change="yes")  # wandb: any true value
    assert run.config.lr == 0.2
    free = new_run(config={"lr": 0.1}, allow_val_change=True)  # init's: every later change allowed
    free.config.lr = 0.5
    assert free.config.lr == 0.5
    with pytest.raises(turbotrack.errors.ConfigError):
        free.config.update({"lr": 0.6}, allow_val_change=False)  # update's own word wins
    run.finish()
    free.finish()


def test_alert_level_and_wait_duration(new_run, capsys):
    run = new_run()
    with pytest.raises(ValueError, match="level"):
        run.alert("t", "x", level="LOUD")
    with pytest.raises(TypeError, match="wait_duration"):
        run.alert("t", "x", wait_duration="soon")
    run.alert("diverged", "first", level="WARN")
    run.alert("diverged", "again within a minute")  # the default wait_duration: dropped, as wandb's server
    run.alert("other", "a", wait_duration=datetime.timedelta(seconds=0.001))
    run.alert("zero", "a", wait_duration=1e-9)
    run.alert("zero", "b", wait_duration=1e-9)
    alerts = json.loads((Path(run.dir) / "alerts.json").read_text())
    assert [(a["title"], a["text"]) for a in alerts] == [
        ("diverged", "first"),
        ("other", "a"),
        ("zero", "a"),
        ("zero", "b"),
    ]
    assert alerts[0]["wait_duration"] == 60.0 and alerts[0]["level"] == "WARN"
    assert "again within a minute" not in capsys.readouterr().err
    run.finish()


def test_init_refuses_wandb_server_features(new_run):
    for kwargs in ({"fork_from": "abc12345?_step=10"}, {"resume_from": "abc12345?_step=10"}):
        with pytest.raises(turbotrack.errors.UnsupportedError, match=next(iter(kwargs))):
            new_run(**kwargs)
    with pytest.raises(ValueError, match="fork_from"):
        new_run(fork_from="abc")  # wandb's own check of the value
    with pytest.raises(ValueError, match="mutually exclusive"):
        new_run(fork_from="abc12345?_step=10", resume="allow")
    for arg in ("tensorboard", "sync_tensorboard", "monitor_gym"):
        with pytest.raises(turbotrack.errors.UnsupportedError, match=arg):
            new_run(**{arg: True})
    run = new_run(sync_tensorboard=False, force=True, anonymous="never")
    with pytest.raises(turbotrack.errors.UnsupportedError, match="tags"):
        run.log_artifact(str(Path(run.dir) / "run.json"), name="x", type="data", tags=["t"])
    run.finish(quiet=True)
    with pytest.raises(TypeError, match="quiet"):
        run.finish(quiet="yes")


def test_save_code_copies_the_main_script(tmp_path):
    """wandb's save_code=True: the script at files/code/<its path from the git root, else the cwd>."""
    (tmp_path / "sub").mkdir()
    script = tmp_path / "sub" / "train.py"
    script.write_text(
        "import sys, turbotrack\n"
        "for save in (True, False, None):\n"
        "    r = turbotrack.init(project='p', dir=sys.argv[1], save_code=save, reinit='create_new')\n"
        "    print(r.dir)\n"
        "    r.finish()\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    dirs = [Path(line) for line in out.stdout.split()]
    assert (dirs[0] / "files" / "code" / "sub" / "train.py").read_text() == script.read_text()
    assert not (dirs[1] / "files" / "code").exists() and not (dirs[2] / "files" / "code").exists()
