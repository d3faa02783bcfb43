"""Heavy test-only packages (PyTorch, and others a test names) from a cache made once by
scripts/torch-env.sh, used by *this* interpreter: a child runs ``sys.executable`` with the cache's
site-packages on ``PYTHONPATH``, so it sees turbotrack wherever this interpreter does (a virtualenv,
the system's Python) and the cached packages beside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "torch-env.sh"


def site_packages(*extra: str, timeout: float = 3000) -> str:
    """The cache's site-packages folder, holding torch and ``extra`` (pip requirement strings),
    installed first if missing (once; a few GB for torch)."""
    out = subprocess.run(
        ["bash", str(SCRIPT), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHON": sys.executable},
    )
    if out.returncode != 0:
        raise RuntimeError(f"scripts/torch-env.sh failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def child_env(site: str, **overrides: str) -> dict[str, str]:
    """This process's environment with ``site`` added to PYTHONPATH (after what is already there)."""
    env = {**os.environ, **overrides}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), site) if p)
    return env
