"""The README's example and the main job (examples/train.py) run for real."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import run_child

REPO = Path(__file__).parent.parent


def test_readme_example_runs(root):
    code = re.search(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    out = run_child(code, env={"TURBOTRACK_DIR": str(root), "TURBOTRACK_CAPTURE_STDOUT": "false"})
    assert out.returncode == 0, out.stderr
    rows, best = out.stdout.split()
    assert int(rows) == 10_000
    assert float(best) > 0.9


def test_example_training_loop_runs_and_learns(root):
    import subprocess

    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--steps", "1000", "--dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "run folder:" in out.stdout
    import json

    summary = json.loads(out.stdout[out.stdout.index("{") :])
    assert summary["_step"] == 999
    assert summary["val/acc"]["max"] > 0.9
    assert summary["train/loss"]["min"] < 0.3
