"""The command line: ls, verify, errors with a hint and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import api_run


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "turbotrack", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_ls_lists_runs(new_run, root):
    run = new_run(name="alpha")
    for i in range(7):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    out = cli("ls", cwd=root)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if run.id in x)
    assert "alpha" in line and "finished" in line and " 7 " in line and "loss=0.1429" in line
    data = json.loads(cli("ls", "tests", "--json", cwd=root).stdout)
    assert data[0]["id"] == run.id and data[0]["steps"] == 7


def test_verify_reports_a_torn_tail(new_run, root):
    run = new_run()
    run.log({"x": 1})
    run.finish()
    ok = cli("verify", run.path, cwd=root)
    assert ok.returncode == 0 and "ok: 1 blocks, 1 rows" in ok.stdout and "finished" in ok.stdout
    history = Path(run.dir) / "history.ttrk"
    history.write_bytes(history.read_bytes()[:-5])
    torn = cli("verify", str(run.dir), cwd=root)
    assert torn.returncode == 1 and "TORN TAIL" in torn.stdout and "0 rows" in torn.stdout
    assert api_run(run).history(pandas=False) == []


def test_errors_have_a_hint_and_no_traceback(root):
    for args in (("ls",), ("verify", "nope/nothing")):
        out = cli("--dir", str(root / "empty"), *args, cwd=root)
        assert out.returncode == 2
        assert "error:" in out.stderr and "hint:" in out.stderr and "Traceback" not in out.stderr
