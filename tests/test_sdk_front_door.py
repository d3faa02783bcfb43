"""wandb 0.31's front door on ``import turbotrack as wandb``: Settings fields, WANDB_* variables, the module
names scripts touch, plain ``run``/``config``/``summary`` attributes, reinit, summary and config as wandb's,
define_metric's Metric, the disabled run. Where wandb is installed, its own field list is the reference."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import NO_CAPTURE, api_run, run_child

import turbotrack
from turbotrack import _wandb_fields


def _clean_env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    return {**base, "TURBOTRACK_CAPTURE_SYSTEM": "0", "TURBOTRACK_CAPTURE_GIT": "0", **extra}


def test_every_wandb_settings_field_is_known():
    probe = subprocess.run(
        [sys.executable, "-c", "import json, wandb; print(json.dumps(sorted(wandb.Settings.model_fields)))"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WANDB_SILENT": "true"},
    )
    if probe.returncode != 0:
        pytest.skip("wandb is not installed")
    assert set(json.loads(probe.stdout.splitlines()[-1])) == set(_wandb_fields.DEFAULTS)


def test_settings_take_wandb_fields_and_legacy_names():
    s = turbotrack.Settings(console="off", _disable_stats=True, _disable_meta=True, _service_wait=5, disable_git=True)
    assert (s.console, s.x_disable_stats, s.x_disable_meta, s.x_service_wait) == ("off", True, True, 5)
    assert (s.capture_stdout, s.capture_system, s.capture_metadata, s.capture_git) == (False, False, False, False)
    assert turbotrack.Settings().init_timeout == 90.0 and turbotrack.Settings().show_info is True
    for name, value in _wandb_fields.DEFAULTS.items():
        turbotrack.Settings(**{name: value})  # every field, at wandb's default, is accepted
    with pytest.raises(ValueError, match="no_such_setting"):
        turbotrack.Settings(no_such_setting=1)
    with pytest.raises(ValueError, match="console"):
        turbotrack.Settings(console="sometimes")
    with pytest.raises(ValueError, match="bogus"):
        turbotrack.init(settings={"bogus": 1})


def test_settings_mean_what_they_say(root):
    run = turbotrack.init(
        project="arg",
        settings={
            **NO_CAPTURE,
            "project": "ignored",
            "run_name": "sn",
            "run_tags": ("t1",),
            "run_group": "g",
            "run_notes": "n",
            "run_job_type": "jt",
            "run_id": "myid",
            "mode": "dryrun",
            "x_stats_sampling_interval": 3,
        },
    )
    try:
        assert (run.project, run.name, run.tags, run.group, run.notes, run.job_type, run.id) == (
            "arg",
            "sn",
            ("t1",),
            "g",
            "n",
            "jt",
            "myid",
        )  # init's argument wins over settings, as in wandb
        assert run.settings.mode == "offline" and run.settings.system_interval == 3.0
    finally:
        run.finish()


def test_wandb_env_on_the_direct_import(tmp_path):
    code = """
        import os, turbotrack as wandb
        run = wandb.init(config={"a": 1})
        print(run.path, run.name, run.group, run.job_type, list(run.tags), run.notes, run.settings.capture_stdout)
        run.finish()
        os.environ["WANDB_MODE"] = "disabled"
        print(type(wandb.init()).__name__)
        wandb.finish()
    """
    env = _clean_env(
        WANDB_PROJECT="proj",
        WANDB_ENTITY="team",
        WANDB_NAME="nice",
        WANDB_RUN_ID="rid1",
        WANDB_RUN_GROUP="g",
        WANDB_JOB_TYPE="train",
        WANDB_TAGS="a,b",
        WANDB_NOTES="n",
        WANDB_DIR=str(tmp_path / "store"),
        WANDB_MODE="dryrun",
        WANDB_CONSOLE="off",
        TURBOTRACK_ENTITY="wins",
    )
    out = run_child(code, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["wins/proj/rid1 nice g train ['a', 'b'] n False", "DisabledRun"]
    assert turbotrack.Api(dir=tmp_path / "store").run("wins/proj/rid1").config == {"a": 1}


def test_wandb_mode_disabled_writes_nothing(tmp_path):
    code = """
        import turbotrack as wandb
        with wandb.init(project="p", config={"lr": 1}) as run:
            run.log({"x": 1}); run.log({"x": 2})
            run.summary["best"] = 3
            m = run.define_metric("x", summary="min")
            assert run.summary["x"] == 2 and run.summary.best == 3 and m.name == "x" and run.step == 0
            assert run.config.lr == 1 and run.save("*.py") is False and run.alert("t", "x") is None
            assert run.use_artifact("a:latest") is None and run.watch(None) is None
            assert run.path == f"local/p/{run.id}" and run.disabled
            wandb.log({"y": 1})
        print(wandb.run)
    """
    out = run_child(code, env=_clean_env(WANDB_MODE="disabled", TURBOTRACK_DIR=str(tmp_path)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None" and list(tmp_path.iterdir()) == []


def test_run_is_a_plain_attribute_read_at_interpreter_exit(tmp_path):
    code = """
        import turbotrack as wandb
        assert "run" in vars(wandb) and wandb.run is None
        class Logger:  # torchtune's WandBLogger reads wandb.run in __del__ at exit
            def __del__(self):
                print("at exit:", wandb.run is not None and wandb.run.name)
        logger = Logger()
        wandb.init(project="p", name="late")
        assert wandb.config is wandb.run.config and wandb.summary is wandb.run.summary
    """
    out = run_child(code, env=_clean_env(TURBOTRACK_DIR=str(tmp_path)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "at exit:" in out.stdout


def test_reinit_as_wandb(new_run, capfd):
    first = turbotrack.init(project="tests", settings=NO_CAPTURE)
    assert turbotrack.init(project="tests") is first  # wandb's default returns the live run
    assert "WARNING" in capfd.readouterr().err
    second = turbotrack.init(project="tests", settings=NO_CAPTURE, reinit="create_new")
    assert second is not first and turbotrack.run is first
    turbotrack.log({"q": 1})  # goes to the current run, the first
    assert "q" in first.summary and "q" not in second.summary
    second.finish()
    assert turbotrack.run is first
    third = turbotrack.init(project="tests", settings=NO_CAPTURE, reinit=True)
    assert api_run(first).state == "finished" and turbotrack.run is third
    third.finish()
    assert turbotrack.run is None and turbotrack.config == {}


def test_summary_nested_and_attribute_access(new_run):
    run = new_run()
    run.log({"train": {"loss": 1.5, "acc": 0.5}})
    s = run.summary
    assert s["train"]["loss"] == s["train.loss"] == s.train.loss == 1.5 and "train" in s
    s.best = 1
    s["d"] = {"x": 1}
    s["d"] = {"y": 2}
    s.update({"u": 3})
    assert (s["best"], s["d"], s.get("nope", 7), s.get("u")) == (1, {"y": 2}, 7, 3)
    del s["u"]
    assert "u" not in s
    with pytest.raises(AttributeError):
        _ = s.nope
    run.finish()
    back = api_run(run).summary
    assert back["train"]["loss"] == back["train.loss"] == back.train.acc * 3 and back.d == {"y": 2}


def test_config_json_native_and_val_change(new_run):
    @dataclasses.dataclass
    class Opt:
        width: int = 4

    run = new_run(config=argparse.Namespace(lr=0.1, path=Path("/data")))
    c = run.config
    c.update({"np": np.float32(1.5), "arr": np.arange(3), "t": (1, 2), "s": {3}, "dc": Opt(), "n": {"q": (1,)}})
    assert c.as_dict() == {
        "lr": 0.1,
        "path": "/data",
        "np": 1.5,
        "arr": [0, 1, 2],
        "t": [1, 2],
        "s": [3],
        "dc": {"width": 4},
        "n": {"q": [1]},
    }
    with pytest.raises(turbotrack.errors.ConfigError, match="lr"):
        c.lr = 0.2
    with pytest.raises(turbotrack.errors.ConfigError, match="lr"):
        c.update({"lr": 0.3})
    c.update({"lr": 0.1})  # the same value: no change
    c.update({"lr": 0.4}, allow_val_change=True)
    c.setdefaults({"lr": 9, "new": 2})
    with pytest.raises(TypeError, match="'bad'"):
        c.update({"bad": object()})
    assert (c.lr, c.new, "bad" in c) == (0.4, 2, False)
    run.finish()
    assert api_run(run).config["arr"] == [0, 1, 2] and api_run(run).config["lr"] == 0.4


def test_define_metric_returns_a_metric_and_merges(new_run):
    run = new_run()
    m = run.define_metric("a", summary="min")
    assert (m.name, m.summary, m.step_metric, m.step_sync) == ("a", ("min",), None, False)
    assert run.define_metric("a", summary="max").summary == ("min", "max")  # wandb merges definitions
    run.define_metric("b", summary="min")
    assert run.define_metric("b", summary="max", overwrite=True).summary == ("max",)
    assert turbotrack.define_metric("c", step_metric="s").step_sync is True
    for v in (3, 1, 2):
        run.log({"a": v, "b": v, "c": v, "s": v})
    assert run.summary["a"] == {"min": 1, "max": 3} and run.summary["b"] == {"max": 3}


def test_module_names_scripts_touch(capsys):
    from turbotrack.errors import CommError, Error, UsageError

    assert issubclass(CommError, Error) and issubclass(UsageError, turbotrack.Error)
    assert len(turbotrack.util.generate_id()) == 8 and turbotrack.AlertLevel.WARN.value == "WARN"
    assert turbotrack.sdk.wandb_run.Run is turbotrack.Run
    assert turbotrack.sdk.lib.RunDisabled is turbotrack.DisabledRun
    assert turbotrack.sdk.wandb_settings.Settings is turbotrack.Settings
    assert turbotrack.apis.public.Api is turbotrack.Api
    turbotrack.require("core")
    with pytest.raises(ValueError, match="nope"):
        turbotrack.setup(settings={"nope": 1})
    turbotrack.termwarn("careful")
    assert capsys.readouterr().err == "turbotrack: WARNING careful\n"
    with pytest.raises(UsageError, match=r"init\(\) before turbotrack\.log"):
        turbotrack.log({"x": 1})


def test_setup_settings_apply_to_later_inits(root):
    turbotrack.setup(settings={"reinit": "create_new", **NO_CAPTURE})
    try:
        a = turbotrack.init(project="p")
        b = turbotrack.init(project="p")
        assert a is not b and a.settings.capture_stdout is False
        b.finish()
        a.finish()
    finally:
        turbotrack.setup(settings=None)


def test_wandb_capture_settings_switch_capture_off(root):
    off = turbotrack.init(
        project="p",
        reinit="finish_previous",
        settings=turbotrack.Settings(console="off", _disable_stats=True, _disable_meta=True, x_save_requirements=False),
    )
    off.log({"x": 1})
    off.finish()
    written = set(os.listdir(off.dir))
    assert "history.ttrk" in written
    assert not written & {"metadata.json", "output.log", "requirements.txt", "system.ttrk"}
    on = turbotrack.init(project="p", reinit="finish_previous", settings={"console": "wrap", "_disable_stats": True})
    on.finish()
    names = {f.name for f in api_run(on).files()}
    assert {"metadata.json", "output.log"} <= names and "system.ttrk" not in names


def test_config_update_with_a_value_that_has_no_json_form(new_run):
    """TypeError naming the key; the other keys of the call are set (fastai's WandbCallback logs a dict
    holding its Learner and catches the error: it keeps its batch size and the rest, as with wandb)."""
    run = new_run()
    with pytest.raises(TypeError, match="'learner'"):
        run.config.update({"batch size": 8, "learner": object(), "lr": 0.1})
    assert dict(run.config) == {"batch size": 8, "lr": 0.1}
    assert json.loads((Path(run.dir) / "config.json").read_text()) == {"batch size": 8, "lr": 0.1}
    with pytest.raises(TypeError, match="'other'"):
        run.config["other"] = object()
    assert "other" not in run.config
