"""metadata.json: what ran, where and on what (host, OS, Python, program, git, GPUs, the run)."""

from __future__ import annotations

import datetime
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any, Optional

from .._fs import atomic_write_json
from .gpu import GpuInfo

#: Keys of ``run_info`` that change during the run (run.json tracks them); left out of metadata.
LIFECYCLE_KEYS = frozenset({"state", "end_time", "exit_code"})


def program_and_args(argv: Optional[list[str]] = None) -> tuple[str, list[str]]:
    """The program (a script's absolute path, ``-c``, ``-m module``, ``<python>``) and its args."""
    argv = list(sys.argv if argv is None else argv)
    if not argv or not argv[0]:
        return "<python>", argv[1:]
    first = argv[0]
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) and first != "-c":
        return f"-m {spec.name}".removesuffix(".__main__"), argv[1:]
    try:
        if os.path.exists(first):
            return os.path.abspath(first), argv[1:]
    except OSError:  # a relative path and a deleted working directory
        pass
    return first, argv[1:]


def iso_time(value: Any) -> str:
    """A start time (Unix seconds, ``datetime`` or text) as ISO 8601 UTC."""
    if isinstance(value, datetime.datetime):
        local: datetime.datetime = value if value.tzinfo else value.astimezone()
        return local.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc).isoformat()
    return str(value)


def snapshot(run_info: dict[str, Any], started: float) -> dict[str, Any]:
    """What must be read in the run's own process when capture starts (the program, its
    arguments, the working directory, the interpreter); :func:`build` adds the rest, possibly in
    another process (capture/collector.py)."""
    program, args = program_and_args()
    try:
        cwd: Optional[str] = os.getcwd()
    except OSError:  # the working directory was deleted
        cwd = None
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "host": socket.gethostname(),
        "executable": sys.executable,
        "program": program,
        "args": args,
        "cwd": cwd,
        "startedAt": iso_time(run_info.get("start_time", started)),
        "pid": os.getpid(),
    }


def os_name() -> str:
    """``platform.platform()``'s text (``Linux-6.1.0-x86_64-with-glibc2.36``) without what it costs:
    unpacking ``platform.uname()`` asks for the processor, which on Linux runs ``uname -p`` in a child
    process (see capture/spawn.py for why capture threads avoid starting children)."""
    u = os.uname()
    text = f"{u.sysname}-{u.release}-{u.machine}"
    if sys.platform.startswith("linux"):
        lib, version = platform.libc_ver()
        if lib:
            text += f"-with-{lib}{version}"
    return text


def build(
    start: dict[str, Any],
    run_info: dict[str, Any],
    git: Optional[dict[str, Any]],
    gpus: Optional[GpuInfo],
) -> dict[str, Any]:
    """The metadata.json document. ``git`` / ``gpus`` are ``None`` when not (yet) known."""
    import psutil

    meta: dict[str, Any] = {
        "os": os_name(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "host": socket.gethostname(),
        "executable": sys.executable,
        **start,
        "git": dict(git) if git else {"commit": None, "branch": None, "remote": None},
        "cpu_count": psutil.cpu_count(logical=False) or os.cpu_count(),
        "cpu_count_logical": psutil.cpu_count(logical=True) or os.cpu_count(),
        "memory": {"total": psutil.virtual_memory().total},
        "gpu": list(gpus.names) if gpus is not None else [],
        "gpu_count": len(gpus.names) if gpus is not None else 0,
    }
    if gpus is not None:
        if gpus.driver:
            meta["gpu_driver"] = gpus.driver
        if gpus.cuda_version:
            meta["cuda_version"] = gpus.cuda_version
    meta["run"] = {k: v for k, v in run_info.items() if k not in LIFECYCLE_KEYS}
    return meta


def write(path: Path, meta: dict[str, Any]) -> None:
    """Write ``meta`` to ``path`` atomically."""
    atomic_write_json(path, meta)
