"""Real PyTorch: a DDP training loop under torchrun with every rank logging into one shared run,
tensors in log() and the summary, and watch(). PyTorch comes from a cache that scripts/torch-env.sh
makes once (PyPI's torch is several GB); the children run this interpreter with it on PYTHONPATH
(tests/cached_env.py), so they import the turbotrack under test."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from cached_env import child_env, site_packages

import turbotrack

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def torch_site() -> str:
    return site_packages()


@pytest.mark.timeout(1800)  # the first test here may install PyTorch (scripts/torch-env.sh)
def test_torchrun_ddp_ranks_log_into_one_run(torch_site, tmp_path):
    steps = 50
    env = child_env(torch_site, OMP_NUM_THREADS="1")
    env.pop("TURBOTRACK_DIR", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "4",
            str(HERE / "scripts" / "ddp_train.py"),
            str(tmp_path),
            "ddp1",
            str(steps),
        ],
        capture_output=True,
        text=True,
        timeout=500,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r = turbotrack.Api(dir=tmp_path).run("torchrun/ddp1")
    rows = list(r.scan_history())
    assert len(rows) == 4 * steps
    assert [(x["_step"], x["_rank"]) for x in rows] == [(s, k) for s in range(steps) for k in range(4)]
    assert all(isinstance(x["loss"], float) and math.isfinite(x["loss"]) for x in rows)
    first = sum(x["loss"] for x in rows[:8]) / 8
    last = sum(x["loss"] for x in rows[-8:]) / 8
    assert last < first  # it trained
    assert r.state == "finished"
    assert r.summary["loss"] == pytest.approx(max(rows, key=lambda x: x["_timestamp"])["loss"])
    w = r.summary["final_weight"]
    assert w["_type"] == "tensor" and w["shape"] == [16, 8]
    for k in range(1, 4):
        info = json.loads((Path(r.dir) / f"run.r{k}.json").read_text())
        assert (info["rank"], info["local_rank"], info["world_size"]) == (k, k, 4)
    system = r.history(stream="system", pandas=False)
    assert {x["_rank"] for x in system} == {0, 1, 2, 3}  # each rank's samples, attributable to it
    assert all(x["system.memory"] > 0 for x in system)


@pytest.mark.timeout(1800)
def test_tensors_and_watch(torch_site, tmp_path):
    out = subprocess.run(
        [sys.executable, str(HERE / "scripts" / "torch_values.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=child_env(torch_site),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r = turbotrack.Api(dir=tmp_path).run(out.stdout.strip().splitlines()[-1])
    rows = list(r.scan_history())
    assert len(rows) == 4
    assert all(isinstance(x["loss"], float) and x["scalar_int"] == 3 for x in rows)
    assert all(x["acts"]["_type"] == "histogram" and sum(x["acts"]["values"]) == 100 for x in rows)
    watched = [x for x in rows if "parameters/weight" in x]
    assert [x["_step"] for x in watched] == [1, 3]  # every 2nd forward pass, into that step
    assert sum(watched[0]["parameters/weight"]["values"]) == 12
    assert "gradients/weight" in watched[1]
    s = r.summary["weights"]
    assert s["shape"] == [3, 4] and s["dtype"] == "float32"
