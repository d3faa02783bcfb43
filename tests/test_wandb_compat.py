"""turbotrack as wandb without any framework: `turbotrack run` and as_wandb() serve `import wandb`
(modules, names, version) over a real wandb beside it; WANDB_* variables; the wandb names scripts use;
media as wandb logs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import api_run, rows_of

import turbotrack
from turbotrack import Settings
from turbotrack.compat import env as compat_env
from turbotrack.compat.api import login, termwarn


def fake_real_wandb(folder: Path) -> Path:
    """A site folder holding a 'real' wandb 0.16.0 that fails when imported."""
    (folder / "wandb").mkdir(parents=True)
    (folder / "wandb" / "__init__.py").write_text("raise ImportError('the real wandb was imported')\n")
    info = folder / "wandb-0.16.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wandb\nVersion: 0.16.0\n")
    return folder


def turbotrack_run(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = cwd / "script.py"
    script.write_text(textwrap.dedent(code))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "turbotrack", "run", "--", sys.executable, str(script)],
        cwd=cwd,
        env={**base, "TURBOTRACK_CAPTURE_SYSTEM": "0", "TURBOTRACK_CAPTURE_GIT": "0", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


CHECK_IMPORTS = """
    import importlib.metadata, importlib.util, subprocess, sys
    import wandb
    assert wandb.__turbotrack__ and wandb.__version__ == "0.21.0", wandb.__file__
    assert importlib.metadata.version("wandb") == "0.21.0"
    assert importlib.metadata.metadata("wandb")["Name"] == "wandb"
    assert importlib.util.find_spec("wandb") is not None
    from wandb.sdk.lib import RunDisabled
    from wandb.sdk.lib.config_util import ConfigError
    from wandb.sdk.wandb_run import Run
    from wandb.wandb_run import Run as Run2
    from wandb.util import generate_id
    from wandb.errors import CommError, Error, UsageError
    import wandb.plot
    import turbotrack
    assert Run is Run2 is turbotrack.Run and RunDisabled is turbotrack.DisabledRun
    assert issubclass(CommError, Error) and issubclass(ConfigError, turbotrack.Error)
    assert wandb.plot.confusion_matrix is turbotrack.plot.confusion_matrix
    assert len(generate_id()) == 8
    child = subprocess.run([sys.executable, "-c", "import wandb; print(wandb.__turbotrack__)"], capture_output=True, text=True)
    print("child", child.stdout.strip(), child.returncode)
"""


def test_run_serves_wandb_modules_version_and_children(tmp_path):
    out = turbotrack_run(CHECK_IMPORTS, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "child True 0" in out.stdout
    assert out.stderr.count("`import wandb` is turbotrack here") == 1  # said once, not again by the child


def test_run_wins_over_a_real_wandb_beside_it(tmp_path):
    site = fake_real_wandb(tmp_path / "site")
    out = turbotrack_run(CHECK_IMPORTS, tmp_path, PYTHONPATH=str(site))
    assert out.returncode == 0, out.stderr
    # without turbotrack run, the fake real one is what Python finds
    plain = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('wandb')); import wandb"],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert plain.stdout.strip() == "0.16.0" and "the real wandb was imported" in plain.stderr


def test_as_wandb_in_process(tmp_path):
    site = fake_real_wandb(tmp_path / "site")
    code = f"import sys\nsys.path.insert(0, {str(site)!r})\nimport turbotrack\nturbotrack.as_wandb()\n"
    proc = subprocess.run(
        [sys.executable, "-c", code + textwrap.dedent(CHECK_IMPORTS)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "child True 0" in proc.stdout


def test_run_command_errors():
    from turbotrack.cli import main

    assert main(["run"]) == 2
    assert main(["run", "--", "no-such-command-here-xyz"]) == 2


def test_wandb_env_is_read_at_init(tmp_path):
    code = """
        import os, wandb
        run = wandb.init(config={"a": 1})
        print(run.path, run.name, run.group, run.job_type, list(run.tags), run.notes)
        run.finish()
        os.environ["WANDB_MODE"] = "dryrun"      # as Lightning does for offline=True: heard at the next init
        os.environ["WANDB_PROJECT"] = "second"
        os.environ.pop("WANDB_RUN_ID")
        print(wandb.init().path)
        wandb.finish()
        os.environ["WANDB_DISABLED"] = "true"
        print(type(wandb.init()).__name__)
    """
    out = turbotrack_run(
        code,
        tmp_path,
        WANDB_PROJECT="proj",
        WANDB_ENTITY="team",
        WANDB_NAME="nice",
        WANDB_RUN_ID="rid1",
        WANDB_RUN_GROUP="g",
        WANDB_JOB_TYPE="train",
        WANDB_TAGS="a, b",
        WANDB_NOTES="n",
        WANDB_DIR=str(tmp_path / "store"),
        WANDB_MODE="offline",
        TURBOTRACK_ENTITY="wins",
    )
    assert out.returncode == 0, out.stderr
    first, second, third = out.stdout.strip().splitlines()
    assert first == "wins/proj/rid1 nice g train ['a', 'b'] n"
    assert second.startswith("wins/second/")
    assert third == "DisabledRun"
    r = turbotrack.Api(dir=tmp_path / "store").run("wins/proj/rid1")
    assert r.config == {"a": 1} and r.tags == ["a", "b"]


def test_env_helpers():
    env = {"WANDB_MODE": "dryrun", "WANDB_PROJECT": "p", "TURBOTRACK_PROJECT": "q", "WANDB_TAGS": "x,,y"}
    assert compat_env.mode(env) == "offline" and compat_env.get("PROJECT", env) == "q"
    assert compat_env.tags(env) == ["x", "y"]
    with pytest.raises(ValueError, match="WANDB_MODE"):
        compat_env.mode({"WANDB_MODE": "sometimes"})
    copied = dict(env, WANDB_DISABLED="true")
    assert compat_env.copy_wandb_vars(copied) == {
        "TURBOTRACK_MODE": "offline",
        "TURBOTRACK_TAGS": "x,,y",
        "TURBOTRACK_DISABLED": "true",
    }


def test_settings_accept_wandb_keys(new_run):
    s = Settings(console="off", x_disable_stats=True, x_service_wait=5, capture_git=False)
    assert s.console == "off" and s.x_service_wait == 5 and s.capture_stdout is False
    with pytest.raises(ValueError, match="anything_else"):
        Settings(anything_else=3)
    run = turbotrack.init(project="tests", settings=s)
    try:
        assert run.settings.capture_stdout is False and run.settings.capture_system is False
        assert run.settings.capture_git is False and run.settings.console == "off"
    finally:
        run.finish()


def test_login_stores_the_key_where_turbotrack_login_does(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for var in ("TURBOTRACK_API_KEY", "WANDB_API_KEY", "TURBOTRACK_BASE_URL", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert login() is False
    assert login(key="k" * 40, host="http://server:8080") is True
    path = tmp_path / "turbotrack" / "credentials"
    assert json.loads(path.read_text())["keys"] == {"http://server:8080": "k" * 40}
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.environ["TURBOTRACK_API_KEY"] == "k" * 40
    monkeypatch.delenv("TURBOTRACK_API_KEY")
    assert login(host="http://server:8080") is True  # stored for that server
    assert login(host="http://elsewhere:8080") is False
    from turbotrack.store.client import resolve_base_url, resolve_key

    assert resolve_key("http://server:8080") == "k" * 40 and resolve_base_url() == "http://server:8080"


def test_term_functions(capsys):
    termwarn("once only", repeat=False)
    termwarn("once only", repeat=False)
    turbotrack.termerror("bad")
    turbotrack.termlog("plain", prefix=False)
    err = capsys.readouterr().err
    assert err.count("once only") == 1 and "ERROR bad" in err and "\nplain\n" in err


def test_run_wandb_methods(new_run, root, capsys):
    run = new_run(id="r1")
    assert run.url is None and run.get_url() is None and run.offline and not run.resumed
    assert run.project_name() == "tests"
    run._label(code="transformers_trainer")
    run.mark_preempting()
    run.alert("diverged", "loss is nan", level=turbotrack.compat.api.AlertLevel.WARN)
    assert "alert [WARN] diverged: loss is nan" in capsys.readouterr().err
    info = json.loads((Path(run.dir) / "run.json").read_text())
    assert info["labels"] == {"code": "transformers_trainer"} and info["preempting"] is True
    alerts = json.loads((Path(run.dir) / "alerts.json").read_text())
    assert [(a["title"], a["level"]) for a in alerts] == [("diverged", "WARN")]
    run.finish()
    again = new_run(id="r1", resume="allow")
    assert again.resumed
    again.finish()
    assert turbotrack.Api().run("local/tests/runs/r1").id == "r1"


def test_name_tags_notes_set_on_the_run_are_saved(new_run):
    run = new_run(name="first", tags=["a"])
    run.name = "renamed"
    run.tags = ("a", "b")
    run.notes = "why this run"
    assert (run.name, run.tags, run.notes) == ("renamed", ("a", "b"), "why this run")
    live = api_run(run)  # saved at once, while the run is still going
    assert (live.name, live.tags, live.notes, live.state) == ("renamed", ["a", "b"], "why this run", "running")
    run.tags = [*run.tags, "c"]  # wandb's idiom for adding a tag
    run.finish()
    done = api_run(run)
    assert (done.name, done.tags, done.state) == ("renamed", ["a", "b", "c"], "finished")
    with pytest.raises(TypeError, match="tags must be a list"):
        run.tags = "abc"
    with pytest.raises(TypeError, match="tags must be strings"):
        run.tags = ["ok", 3]
    with pytest.raises(TypeError, match=r"run\.name must be a string"):
        run.name = None
    assert api_run(run).tags == ["a", "b", "c"]


def test_name_set_under_the_wandb_shim_is_saved(tmp_path):
    code = """
        import wandb
        run = wandb.init(project="p", id="named", mode="offline")
        run.name = "set-later"
        run.tags = ["x"]
        wandb.finish()
    """
    proc = subprocess.run(
        [sys.executable, "-m", "turbotrack", "run", "--", sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "TURBOTRACK_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    r = turbotrack.Api(dir=tmp_path).run("p/named")
    assert (r.name, r.tags) == ("set-later", ["x"])


def test_config_include_and_exclude_keys(new_run):
    import argparse

    full = {"lr": 0.1, "batch": 32, "secret": "token", "nested": {"a": 1}}
    kept = new_run(config=full, config_include_keys=["lr", "nested"])
    assert dict(kept.config) == {"lr": 0.1, "nested": {"a": 1}}
    dropped = new_run(config=argparse.Namespace(**full), config_exclude_keys=("secret",), reinit="create_new")
    assert dict(dropped.config) == {"lr": 0.1, "batch": 32, "nested": {"a": 1}}
    kept.finish()
    dropped.finish()
    assert api_run(kept).config == {"lr": 0.1, "nested": {"a": 1}}
    assert api_run(dropped).config == {"lr": 0.1, "batch": 32, "nested": {"a": 1}}
    dropped_later = turbotrack.Api().run(dropped.path)
    assert "secret" not in json.dumps(dropped_later.config)
    with pytest.raises(ValueError, match="not both"):
        turbotrack.init(config=full, config_include_keys=["lr"], config_exclude_keys=["batch"])
    with pytest.raises(TypeError, match="list of keys"):
        turbotrack.init(config=full, config_exclude_keys="secret")
    disabled = turbotrack.init(mode="disabled", config=full, config_exclude_keys=["secret"])
    assert "secret" not in disabled.config
    disabled.finish()


def test_log_code(new_run, tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "train.py").write_text("print(1)\n")
    (src / "pkg" / "m.py").write_text("x = 2\n")
    (src / "notes.txt").write_text("not code\n")
    run = new_run()
    art = run.log_code(str(src))
    assert art.type == "code" and sorted(e.path for e in art.files()) == ["pkg/m.py", "train.py"]


def test_disabled_run_has_the_wandb_methods():
    run = turbotrack.init(mode="disabled", project="p")
    assert isinstance(run, turbotrack.DisabledRun)
    assert run.url is None and run.disabled and run.project_name() == "p"
    assert run.log_artifact("anything") is None and run._label(code="x") is None
    run.finish()


# ------------------------------------------------------------------------------------------------
# Media as wandb logs it


def saved_png(run, value) -> np.ndarray:
    from PIL import Image as PILImage

    with PILImage.open(Path(run.dir) / value["path"]) as img:
        return np.asarray(img)


def test_image_scaling_as_wandb(new_run):
    pytest.importorskip("PIL")
    run = new_run()
    ramp = np.linspace(0, 1, 16).reshape(4, 4)
    run.log(
        {
            "unit": turbotrack.Image(ramp),  # floats in [0, 1]: x 255
            "ints": turbotrack.Image(np.full((2, 2), 200.0)),  # integer-valued floats 0-255: kept
            "neg": turbotrack.Image(np.array([[-1.0, 0.0], [0.5, 1.0]])),  # negative min: normalised
            "chw": turbotrack.Image(np.zeros((3, 5, 6), dtype=np.uint8)),  # channels first
        }
    )
    run.finish()
    (row,) = rows_of(run)
    assert saved_png(run, row["unit"])[3, 3] == 255 and saved_png(run, row["unit"])[0, 0] == 0
    assert saved_png(run, row["unit"])[0, 1] == round(255 / 15)
    assert (saved_png(run, row["ints"]) == 200).all()
    assert saved_png(run, row["neg"]).tolist() == [[0, 128], [191, 255]]
    assert saved_png(run, row["chw"]).shape == (5, 6, 3)


def test_matplotlib_figure_as_image(new_run):
    pytest.importorskip("PIL")
    plt = pytest.importorskip("matplotlib.pyplot")
    fig = plt.figure(figsize=(2, 1), dpi=50)
    run = new_run()
    run.log({"fig": turbotrack.Image(fig), "raw": fig})
    run.finish()
    (row,) = rows_of(run)
    assert saved_png(run, row["fig"]).shape[:2] == (50, 100)
    assert saved_png(run, row["raw"]).shape[:2] == (50, 100)


def test_lists_of_media(new_run):
    pytest.importorskip("PIL")
    run = new_run()
    images = [turbotrack.Image(np.full((2, 2), v, dtype=np.uint8), caption=f"c{v}") for v in (10, 20)]
    run.log({"imgs": images, "x": 1.0})
    run.finish()
    (first,) = rows_of(run)
    assert first["imgs"]["_type"] == "images/separated" and first["imgs"]["captions"] == ["c10", "c20"]
    assert [int(saved_png(run, i)[0, 0]) for i in first["imgs"]["items"]] == [10, 20]


def test_audio_video_html(new_run, tmp_path):
    pytest.importorskip("PIL")
    run = new_run()
    tone = np.sin(np.linspace(0, 100, 800))
    frames = np.zeros((3, 3, 8, 10))
    frames[1] = 1.0
    page = tmp_path / "page.html"
    page.write_text("<p>from a file</p>")
    run.log(
        {
            "audio": turbotrack.Audio(tone, sample_rate=8000, caption="tone"),
            "video": turbotrack.Video(frames, fps=2),
            "html": turbotrack.Html("<b>hi</b>"),
            "html_file": turbotrack.Html(str(page), inject=False),
        }
    )
    run.finish()
    (row,) = rows_of(run)
    with wave.open(str(Path(run.dir) / row["audio"]["path"])) as w:
        assert (w.getframerate(), w.getnframes(), w.getnchannels()) == (8000, 800, 1)
        samples = np.frombuffer(w.readframes(800), dtype="<i2")
    assert samples == pytest.approx((np.clip(tone, -1, 1) * 32767).round(), abs=1)
    assert row["audio"]["duration"] == 0.1 and row["audio"]["caption"] == "tone"
    from PIL import Image as PILImage

    with PILImage.open(Path(run.dir) / row["video"]["path"]) as gif:
        assert gif.n_frames == 3 and gif.size == (10, 8) and row["video"]["fps"] == 2
    assert "<b>hi</b>" in (Path(run.dir) / row["html"]["path"]).read_text()
    assert (Path(run.dir) / row["html_file"]["path"]).read_text() == "<p>from a file</p>"
    with pytest.raises(ValueError, match="sample_rate"):
        turbotrack.Audio(tone)
    with pytest.raises(ValueError, match="time, channels"):
        turbotrack.Video(np.zeros((3, 8, 10)))


def test_plots(new_run):
    run = new_run()
    cm = turbotrack.plot.confusion_matrix(y_true=[0, 1, 1, 2], preds=[0, 1, 2, 2], class_names=["a", "b", "c"])
    counts = {(a, p): n for a, p, n in cm.table.data}
    assert counts[("b", "b")] == 1 and counts[("b", "c")] == 1 and counts[("c", "c")] == 1 and counts[("a", "b")] == 0
    probs = [[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.2, 0.8]]
    roc = turbotrack.plot.roc_curve([0, 1, 0, 1], probs, classes_to_plot=[1])
    assert [tuple(r[1:]) for r in roc.table.data] == [(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
    pr = turbotrack.plot.pr_curve([0, 1, 0, 1], probs, classes_to_plot=[1], interp_size=3)
    assert [tuple(r[1:]) for r in pr.table.data] == [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
    table = turbotrack.Table(columns=["x", "y"], data=[[1, 2], [3, 4]])
    custom = turbotrack.compat.api.plot_table("my/spec", table, {"x": "x", "y": "y"}, {"title": "T"})
    run.log({"cm": cm, "roc": roc, "custom": custom, "t": table})
    run.finish()
    (row,) = rows_of(run)
    assert row["cm"]["kind"] == "confusion_matrix" and row["custom"]["spec"] == "my/spec"
    assert row["custom"]["title"] == "T"
    df = api_run(run).table("t").get_dataframe()
    assert df.to_dict("list") == {"x": [1, 3], "y": [2, 4]}
    assert table.get_dataframe().equals(df)


def test_readme_framework_command_runs_as_written(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("## Use it with your framework") :]
    line = re.search(r"```sh\n(.*?)\n", section).group(1)
    command = line.split("#")[0].split()
    assert command == ["turbotrack", "run", "--", "python", "train.py"]
    (tmp_path / "train.py").write_text(
        "import wandb\nwandb.init(project='readme', config={'lr': 0.1})\nwandb.log({'loss': 0.5})\nwandb.finish()\n"
    )
    argv = [sys.executable, "-m", "turbotrack", *command[1:3], sys.executable, *command[4:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    proc = subprocess.run(
        argv, cwd=tmp_path, env={**env, "TURBOTRACK_DIR": str(tmp_path)}, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    (r,) = turbotrack.Api(dir=tmp_path).runs("readme")
    assert (r.config, [x["loss"] for x in r.scan_history()]) == ({"lr": 0.1}, [0.5])
