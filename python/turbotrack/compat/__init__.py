"""turbotrack as ``wandb``: for frameworks (HF Transformers, PyTorch Lightning, accelerate) and scripts that
``import wandb`` themselves.

``bootstrap/`` holds a ``wandb`` package whose modules re-export turbotrack, and a ``wandb`` distribution
record (``wandb-<version>.dist-info``) so that ``importlib.metadata.version("wandb")``, lightning's
``RequirementCache("wandb>=0.12.10")`` and accelerate's ``is_wandb_available()`` accept it. Put first on
``PYTHONPATH`` (``turbotrack run`` does that, as ``ddtrace-run`` and ``opentelemetry-instrument`` do), it wins
over a real wandb installed in site-packages, in that process and in every Python process it starts.
``as_wandb()`` does the same from inside a script. ``WANDB_*`` variables are read as their ``TURBOTRACK_*``
counterparts (a ``TURBOTRACK_*`` one wins), when ``wandb.init`` is called.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Mapping, Optional

#: The folder to put first on PYTHONPATH: it holds the ``wandb`` package and its dist-info.
BOOTSTRAP_DIR = Path(__file__).resolve().parent / "bootstrap"
#: The wandb version the shim reports (one that the frameworks' version checks accept).
WANDB_VERSION = "0.21.0"
#: Set once the "wandb calls go to turbotrack" notice was shown, so child processes do not repeat it.
NOTICE_ENV = "TURBOTRACK_WANDB_NOTICE_SHOWN"


def pythonpath_with_bootstrap(current: Optional[str]) -> str:
    """``current`` (a PYTHONPATH value) with the bootstrap folder first (and only once)."""
    parts = [p for p in (current or "").split(os.pathsep) if p and Path(p).resolve() != BOOTSTRAP_DIR]
    return os.pathsep.join([str(BOOTSTRAP_DIR), *parts])


def child_env(environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment for a command run with turbotrack as wandb: ``environ`` with the bootstrap folder
    first on PYTHONPATH."""
    out = dict(os.environ if environ is None else environ)
    out["PYTHONPATH"] = pythonpath_with_bootstrap(out.get("PYTHONPATH"))
    return out


def is_shim(module: object) -> bool:
    """Whether ``module`` (e.g. ``sys.modules["wandb"]``) is turbotrack's wandb."""
    return bool(getattr(module, "__turbotrack__", False))


def as_wandb() -> None:
    """Make ``import wandb`` give turbotrack in this process and the Python processes it starts.

    Call it before importing the frameworks that import wandb. A real wandb imported already is dropped
    from ``sys.modules`` with a warning (objects that hold it keep it)."""
    path = str(BOOTSTRAP_DIR)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
    os.environ["PYTHONPATH"] = pythonpath_with_bootstrap(os.environ.get("PYTHONPATH"))
    real = sys.modules.get("wandb")
    if real is not None and not is_shim(real):
        warnings.warn(
            "as_wandb(): the real wandb was imported before; from now on `import wandb` gives turbotrack, but "
            "objects that already hold the real one keep it (call as_wandb() before importing frameworks)",
            stacklevel=2,
        )
        for name in [m for m in sys.modules if m == "wandb" or m.startswith("wandb.")]:
            del sys.modules[name]
    importlib.invalidate_caches()
    pkg_resources = sys.modules.get("pkg_resources")
    if pkg_resources is not None:  # its working set was built from sys.path at import time
        pkg_resources.working_set.add_entry(path)  # type: ignore[attr-defined]
    import wandb

    if not is_shim(wandb):  # pragma: no cover - only if something put another wandb before it
        raise ImportError(f"as_wandb(): `import wandb` still gives {wandb.__file__}")


def announce() -> None:
    """Say once (per process tree; on rank 0 only) on stderr that wandb calls go to turbotrack."""
    if os.environ.get(NOTICE_ENV):
        return
    os.environ[NOTICE_ENV] = "1"
    rank = os.environ.get("RANK") or os.environ.get("LOCAL_RANK") or "0"
    if rank not in ("0", ""):
        return
    from ..store.layout import storage_root
    from . import env

    root = storage_root(env.get("DIR"))
    print(f"turbotrack: `import wandb` is turbotrack here; wandb calls are recorded under {root}", file=sys.stderr)


__all__ = ["BOOTSTRAP_DIR", "WANDB_VERSION", "announce", "as_wandb", "child_env", "pythonpath_with_bootstrap"]
