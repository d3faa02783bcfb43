"""Scripts written for wandb, run unchanged with the real wandb (offline: the oracle) and with turbotrack as
wandb (under ``turbotrack run``, and through ``turbotrack.as_wandb()``), in fresh processes; what turbotrack
stored, read back through ``turbotrack.Api(dir=)``, is compared with what the real wandb stored (history rows,
summary, config: tests/wandb_oracle.py), and for HF, Lightning and accelerate also checked value by value
against what the framework itself logged.

The frameworks live in the cached environment that scripts/torch-env.sh makes once (several GB; torch is
shared with tests/test_torch.py); the scripts run with the CURRENT interpreter (so turbotrack is the one under
test, and the real wandb is this interpreter's) with that environment's site-packages on PYTHONPATH. Each
script makes its own tiny model from a config and synthetic data: nothing comes from a model hub."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cached_env import site_packages
from wandb_oracle import Outcome, assert_same_runs, run_script

import turbotrack

HERE = Path(__file__).parent
REPO = HERE.parent
SCRIPTS = HERE / "scripts"
#: What each framework test adds to the cached environment, pinned to versions that work with its torch.
HF = ("transformers", "lightning", "accelerate")
IGNITE = ("pytorch-ignite==0.5.5",)
OPTUNA = ("optuna==5.0.0", "optuna-integration==5.0.0")
SKORCH = ("skorch==1.4.0",)
# fastai 2.8.9+ formats its config with fastcore's init_args, which fails on plain values (bools, ints) with
# fastcore 2.2: WandbCallback.before_fit raises with the real wandb too; 2.8.8 still reads __stored_args__.
FASTAI = ("fastai==2.8.8",)
# torchtune 0.6.1 imports torchao.dtypes.nf4tensor, which torchao 0.16 moved away.
TORCHTUNE = ("torchtune==0.6.1", "torchao==0.15.0")
ULTRALYTICS = ("ultralytics==8.4.190", "torchvision==0.29.2")
TRL = ("trl==1.16.0", "datasets==5.2.0", "transformers")
SENTENCE_TRANSFORMERS = ("sentence-transformers==6.2.0", "datasets==5.2.0", "transformers")
#: Wall-clock measurements that HF Trainer logs (they differ between any two runs).
HF_TIMINGS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "eval/runtime",
    "eval/samples_per_second",
    "eval/steps_per_second",
)
# The first call of site_packages() in a session may install (a few GB for torch and these frameworks).
INSTALL_TIMEOUT = 3600


@pytest.fixture(scope="module")
def frameworks_site() -> str:
    # One cache for every heavy test package: torch (shared with tests/test_torch.py) plus these.
    return site_packages(*HF)


def no_exit_errors(outcome: Outcome) -> None:
    """No process printed an exception it could not raise (a ``__del__`` or an atexit hook failing)."""
    for way, proc in outcome.procs.items():
        assert "Exception ignored in" not in proc.stderr, f"[{way}]\n{proc.stderr[-3000:]}"


def only_run(out: Path, project: str) -> turbotrack.api.LocalRun:
    runs = turbotrack.Api(dir=out).runs(project)
    assert len(runs) == 1
    assert runs[0].state == "finished"
    return runs[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.timeout(3600)  # the first test here may install the frameworks (scripts/torch-env.sh)
def test_hf_trainer_report_to_wandb(frameworks_site, tmp_path):
    env = {"WANDB_PROJECT": "hf", "WANDB_LOG_MODEL": "end"}
    outcome = run_script(frameworks_site, SCRIPTS / "hf_trainer.py", tmp_path, ways=("run",), env=env)
    assert_same_runs(outcome, ignore=HF_TIMINGS)
    assert "breaks the naming rule" not in outcome.procs["run"].stderr
    tmp_path = outcome.folders["run"]
    r = only_run(tmp_path, "hf")
    history = json.loads((tmp_path / "log_history.json").read_text())
    assert r.name == "hf-tiny"
    rows = list(r.scan_history())
    train = [x for x in rows if "train/loss" in x]
    assert [x["train/global_step"] for x in train] == [5, 10, 15, 20]
    expected = {h["step"]: h for h in history if "loss" in h}
    for x in train:
        h = expected[x["train/global_step"]]
        assert x["train/loss"] == pytest.approx(h["loss"], rel=1e-9)
        assert x["train/learning_rate"] == pytest.approx(h["learning_rate"])
        assert x["train/grad_norm"] == pytest.approx(h["grad_norm"], rel=1e-6)
    evals = [x for x in rows if "eval/loss" in x]
    assert [x["train/global_step"] for x in evals] == [10, 20]
    expected_eval = {h["step"]: h["eval_loss"] for h in history if "eval_loss" in h}
    assert [x["eval/loss"] for x in evals] == pytest.approx([expected_eval[10], expected_eval[20]], rel=1e-9)
    final = next(h for h in history if "train_loss" in h)
    assert r.summary["train_loss"] == pytest.approx(final["train_loss"])
    assert r.summary["eval/loss"] == pytest.approx(expected_eval[20])
    assert r.config["learning_rate"] == 1e-3 and r.config["num_hidden_layers"] == 2
    assert r.config["max_steps"] == 20 and r.config["model/num_parameters"] > 0

    # WANDB_LOG_MODEL=end: the architecture at setup (base_model), the trained model at the end (final_model)
    api = turbotrack.Api(dir=tmp_path)
    base = api.artifact("hf/model-hf-tiny:base_model")
    final_art = api.artifact("local/hf/model-hf-tiny:final_model")
    assert (base.version, final_art.version) == ("v0", "v1")
    assert final_art.aliases == ["final_model", "latest"] and final_art.type == "model"
    assert {"config.json", "model.safetensors", "model_architecture.txt"} <= {e.path for e in final_art.files()}
    assert final_art.metadata["final_model"] is True
    folder = Path(final_art.download(str(tmp_path / "dl")))
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 2
    assert (folder / "model.safetensors").stat().st_size == final_art.get_entry("model.safetensors").size
    # the unchanged architecture file is stored once
    assert base.get_entry("model_architecture.txt").digest == final_art.get_entry("model_architecture.txt").digest
    blobs = list((tmp_path / "turbotrack/local/hf/artifacts/.blobs").rglob("*"))
    assert len([b for b in blobs if b.is_file()]) == len({e.digest for e in [*base.files(), *final_art.files()]})
    assert [a.version for a in r.logged_artifacts()] == ["v0", "v1"]


@pytest.mark.timeout(900)
def test_lightning_wandb_logger(frameworks_site, tmp_path):
    outcome = run_script(frameworks_site, SCRIPTS / "lightning_fit.py", tmp_path, ways=("run",))
    # graph_0: wandb's watch(log_graph=True) (Lightning's default) stores the model's graph; turbotrack has none
    assert_same_runs(outcome, ignore=("graph_0",))
    assert "breaks the naming rule" not in outcome.procs["run"].stderr
    tmp_path = outcome.folders["run"]
    r = only_run(tmp_path, "pl")
    logged = json.loads((tmp_path / "logged.json").read_text())
    assert r.name == "pl-tiny"
    assert r.config == {"lr": 0.05, "hidden": 8}
    rows = list(r.scan_history())
    train = [x for x in rows if "train/loss" in x]
    by_step = dict((g, v) for g, v in logged["train/loss"])
    assert [x["trainer/global_step"] for x in train] == [1, 3, 5, 7, 9, 11, 13, 15]
    assert all(x["train/loss"] == pytest.approx(by_step[x["trainer/global_step"]], rel=1e-7) for x in train)
    val = [x["val/loss"] for x in rows if "val/loss" in x]
    epochs = [v for _, v in logged["val/loss"]][-4:]  # after the sanity check: two batches per epoch, averaged
    assert val == pytest.approx([(epochs[0] + epochs[1]) / 2, (epochs[2] + epochs[3]) / 2], rel=1e-6)

    # watch(log="all", log_freq=4): parameters every 4th forward pass, gradients every 4th backward pass
    params = [x for x in rows if "parameters/net.0.weight" in x]
    grads = [x for x in rows if "gradients/net.2.bias" in x]
    assert params and grads
    assert sum(params[0]["parameters/net.0.weight"]["values"]) == 32  # 8x4 weights
    assert sum(grads[0]["gradients/net.2.bias"]["values"]) == 1

    # log_table, read back as a DataFrame
    df = r.table("preds").get_dataframe()
    assert list(df.columns) == ["x0", "pred"]
    assert df["pred"].tolist() == pytest.approx(logged["preds"])

    # log_image: three images under one key; integer-valued float arrays keep their values
    from PIL import Image as PILImage

    (samples,) = [x["samples"] for x in rows if "samples" in x]
    assert samples["_type"] == "images/separated" and samples["count"] == 3
    assert samples["captions"] == ["a", "b", "c"]
    pixels = [np.asarray(PILImage.open(Path(r.dir) / item["path"])) for item in samples["items"]]
    assert [int(p[0, 0]) for p in pixels] == [0, 128, 255]

    # log_model="all": one version per checkpoint; latest and best on the last one
    api = turbotrack.Api(dir=tmp_path)
    v0 = api.artifact(f"pl/model-{r.id}:v0")
    latest = api.artifact(f"pl/model-{r.id}:latest")
    assert latest.version == "v1" and sorted(latest.aliases) == ["best", "latest"]
    assert v0.aliases == [] and v0.metadata["original_filename"] == "epoch=0-step=8.ckpt"
    ckpt = tmp_path / "ckpt" / latest.metadata["original_filename"]
    assert latest.get_entry("model.ckpt").digest == sha256(ckpt)
    got = Path(latest.download(str(tmp_path / "dl"))) / "model.ckpt"
    assert got.read_bytes() == ckpt.read_bytes()


@pytest.mark.timeout(900)
def test_accelerate_log_with_wandb(frameworks_site, tmp_path):
    outcome = run_script(frameworks_site, SCRIPTS / "accelerate_loop.py", tmp_path, ways=("run", "as_wandb"))
    assert_same_runs(outcome)
    assert "breaks the naming rule" not in outcome.procs["run"].stderr
    tmp_path = outcome.folders["run"]
    r = only_run(tmp_path, "acc")
    logged = json.loads((tmp_path / "logged.json").read_text())
    assert r.name == "acc-tiny"
    assert r.config == {"lr": 0.1, "steps": 12}
    rows = list(r.scan_history())
    losses = [(x["_step"], x["loss"]) for x in rows if "loss" in x]
    assert [s for s, _ in losses] == list(range(12))
    assert [v for _, v in losses] == pytest.approx(logged, rel=1e-9)
    (images,) = [x for x in rows if "inputs" in x]
    assert images["_step"] == 12 and images["inputs"]["count"] == 2
    from PIL import Image as PILImage

    pixels = [np.asarray(PILImage.open(Path(r.dir) / i["path"])) for i in images["inputs"]["items"]]
    assert [p.shape for p in pixels] == [(4, 4, 3), (4, 4, 3)]
    assert [int(p.max()) for p in pixels] == [0, 255]  # ones in [0, 1] are scaled to 255


WATCH_UNDER_W_ERROR = """
import sys, torch, wandb
run = wandb.init(project="w", name="watched")
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
wandb.watch(net, log="all", log_freq=1)
for _ in range(2):
    net(torch.randn(5, 3)).sum().backward()
    wandb.log({"ok": 1})
wandb.finish()
"""


@pytest.mark.timeout(600)
def test_watch_of_nested_modules_under_W_error(frameworks_site, tmp_path):
    # PyTorch's parameter names (net.0.weight) break turbotrack's naming rule: no warning per name, so a
    # suite run with -W error (or filterwarnings = error) keeps going.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "TURBOTRACK_"))}
    clean.update(PYTHONPATH=frameworks_site, OMP_NUM_THREADS="1", TURBOTRACK_DIR=str(tmp_path))
    cmd = [sys.executable, "-m", "turbotrack", "run", "--", sys.executable, "-W", "error", "-c", WATCH_UNDER_W_ERROR]
    proc = subprocess.run(cmd, cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Warning" not in proc.stderr
    (r,) = turbotrack.Api(dir=tmp_path).runs("w")
    rows = list(r.scan_history())
    assert [sorted(k for k in x if k.startswith("parameters/")) for x in rows] == [
        ["parameters/0.bias", "parameters/0.weight", "parameters/2.bias", "parameters/2.weight"]
    ] * 2
    assert all(sum(x["gradients/0.weight"]["values"]) == 12 for x in rows)


# Frameworks with a wandb integration of their own, each compared with the real wandb running the same script.


def rows_with(outcome: Outcome, key: str) -> list[dict]:
    """The oracle's history rows that hold ``key``: a check that the comparison compared something."""
    (run,) = outcome.oracle
    return [r for r in run.history if key in r]


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_ignite_wandb_logger(tmp_path):
    site = site_packages(*IGNITE, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "ignite_wandb.py", tmp_path)
    assert_same_runs(outcome)
    assert [r["_step"] for r in rows_with(outcome, "training/loss")] == list(range(1, 13))  # 2 epochs of 6 batches
    assert [r["_step"] for r in rows_with(outcome, "validation/mse")] == [6, 12]
    assert outcome.oracle[0].config == {"lr": 0.05, "batch_size": 8}


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_optuna_weights_and_biases_callback(tmp_path):
    site = site_packages(*OPTUNA, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "optuna_wandb.py", tmp_path)
    assert_same_runs(outcome)
    (run,) = outcome.oracle
    assert [r["_step"] for r in run.history] == list(range(6))  # one row per trial, at step trial.number
    assert {"x", "kind", "loss"} <= set(run.history[0])
    assert run.config["direction"] == ["MINIMIZE"]
    assert run.summary["best_value"] == min(r["loss"] for r in run.history)


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_skorch_wandb_logger(tmp_path):
    site = site_packages(*SKORCH, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "skorch_wandb.py", tmp_path)
    assert_same_runs(outcome, ignore=("dur",))  # dur: each epoch's wall-clock duration
    assert len(rows_with(outcome, "valid_loss")) == 3


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_fastai_wandb_callback(tmp_path):
    # fastai logs its losses as fastai.torch_core.TensorBase (a torch.Tensor subclass): recorded as tensors
    site = site_packages(*FASTAI, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "fastai_wandb.py", tmp_path)
    # train_samples_per_sec: a wall-clock rate per batch. Learner: wandb stores str() of the Learner (no JSON
    # form), which holds its memory address; the CONTRACT refuses such a config value with a TypeError instead.
    assert_same_runs(outcome, ignore=("train_samples_per_sec", "Learner"))
    assert len(rows_with(outcome, "train_loss")) == 8  # 2 epochs of 4 batches
    assert len(rows_with(outcome, "valid_loss")) == 2
    assert outcome.oracle[0].config["batch per epoch"] == 4


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_torchtune_wandb_logger_alive_at_exit(tmp_path):
    # the logger is still referenced when the interpreter shuts down: its __del__ reads wandb.run then
    site = site_packages(*TORCHTUNE, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "torchtune_wandb.py", tmp_path)
    no_exit_errors(outcome)
    assert_same_runs(outcome)
    assert [r["global_step"] for r in rows_with(outcome, "loss")] == [1, 2, 3, 4, 5]
    assert outcome.oracle[0].config["model"] == {"dim": 16, "layers": 2}


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_ultralytics_yolo_wandb_callback(tmp_path):
    site = site_packages(*ULTRALYTICS, timeout=INSTALL_TIMEOUT)
    # ultralytics keeps its settings (wandb on, analytics off) in YOLO_CONFIG_DIR: one per test
    env = {"YOLO_CONFIG_DIR": str(tmp_path / "yolo-settings"), "YOLO_OFFLINE": "1"}
    outcome = run_script(site, SCRIPTS / "ultralytics_wandb.py", tmp_path, ways=("run",), env=env)
    # save_dir: an absolute path inside each run's own folder; the speed: wall-clock milliseconds per image
    assert_same_runs(outcome, ignore=("save_dir", "model/speed_PyTorch(ms)"))
    (row,) = rows_with(outcome, "train/box_loss")
    assert row["epoch"] == 1 and row["model/parameters"] > 0 and "metrics/mAP50-95(B)" in row
    assert outcome.oracle[0].config["imgsz"] == 32


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_trl_sft_report_to_wandb(tmp_path):
    site = site_packages(*TRL, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "trl_sft.py", tmp_path, ways=("run",))
    assert_same_runs(outcome, ignore=HF_TIMINGS)
    assert [r["train/global_step"] for r in rows_with(outcome, "train/loss")] == [1, 2, 3, 4]
    assert "train/mean_token_accuracy" in rows_with(outcome, "train/loss")[0]
    assert outcome.oracle[0].config["n_embd"] == 16


@pytest.mark.timeout(INSTALL_TIMEOUT)
def test_sentence_transformers_trainer_report_to_wandb(tmp_path):
    site = site_packages(*SENTENCE_TRANSFORMERS, timeout=INSTALL_TIMEOUT)
    outcome = run_script(site, SCRIPTS / "sentence_transformers_fit.py", tmp_path, ways=("run",))
    assert_same_runs(outcome, ignore=HF_TIMINGS)
    assert [r["train/global_step"] for r in rows_with(outcome, "train/loss")] == [1, 2, 3, 4]
    assert [r["train/global_step"] for r in rows_with(outcome, "eval/loss")] == [2, 4]
