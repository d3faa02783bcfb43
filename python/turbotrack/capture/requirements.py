"""requirements.txt: installed distributions as ``name==version`` lines, from importlib.metadata."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from .._fs import atomic_write_bytes

_NORMALIZE = re.compile(r"[-_.]+")


def installed() -> list[tuple[str, str]]:
    """``(name, version)`` of every distribution on ``sys.path``, sorted by name.

    When a name is installed twice, the one first on ``sys.path`` (the one ``import`` uses) wins.
    """
    seen: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:  # a broken .dist-info folder: skip it
            continue
        if not name or not version:
            continue
        key = _NORMALIZE.sub("-", name).lower()
        seen.setdefault(key, (name, version))
    return [seen[key] for key in sorted(seen)]


def render(dists: list[tuple[str, str]]) -> str:
    """The requirements.txt text for ``dists``."""
    return "".join(f"{name}=={version}\n" for name, version in dists)


def write_requirements(path: Path) -> None:
    """Write requirements.txt to ``path`` atomically."""
    atomic_write_bytes(path, render(installed()).encode("utf-8"))
