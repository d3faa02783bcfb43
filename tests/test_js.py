"""The web UI's JavaScript unit tests (tests/js/*.test.mjs), run with ``node --test``, and its JSDoc
types checked by ``tsc --checkJs`` (Debian's node-typescript; scripts/chromium.sh installs it)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_units() -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert files, "no tests/js/*.test.mjs found"
    proc = subprocess.run(["node", "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


@pytest.mark.skipif(shutil.which("tsc") is None, reason="tsc is not installed (apt-get install node-typescript)")
def test_jsdoc_types_check() -> None:
    proc = subprocess.run(
        ["tsc", "-p", "tests/js/tsconfig.json"], cwd=ROOT, capture_output=True, text=True, timeout=110
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
