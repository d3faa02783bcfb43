"""The UI's ES modules named up front: the page lists every module ``app.js`` imports, and theirs,
as ``<link rel="modulepreload">``, so a browser with a cold cache asks for them all at once instead
of one import level at a time (the import graph is five levels deep). The list is read from the
files' ``import ... from './x.js'`` lines, again whenever one of them changed."""

from __future__ import annotations

import re
import threading
from pathlib import Path

_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.{1,2}/[^'"]+)['"]"""  # import {a} from './x.js'
    r"""|^\s*import\s*['"](\.{1,2}/[^'"]+)['"]""",  # import './x.js'
    re.M,
)


def module_graph(static: Path, entry: str = "app.js") -> list[str]:
    """Every module ``entry`` reaches through static imports, as paths relative to ``static``
    (``entry`` first, then in the order found); imports that leave ``static`` or name no file
    are left out."""
    root = static.resolve()
    found: list[str] = []
    todo = [(root / entry).resolve()]
    while todo:
        path = todo.pop(0)
        try:
            rel = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
        except (ValueError, OSError):
            continue
        if rel in found:
            continue
        found.append(rel)
        for m in _IMPORT.finditer(text):
            todo.append((path.parent / (m.group(1) or m.group(2))).resolve())
    return found


class Preloads:
    """The ``<link rel="modulepreload">`` lines of ``static``'s modules, kept until one changes."""

    def __init__(self, static: Path) -> None:
        self.static = static
        self._lock = threading.Lock()
        self._seen: tuple[tuple[str, int], ...] = ()
        self._links = ""

    def _stamp(self, rels: list[str]) -> tuple[tuple[str, int], ...]:
        out = []
        for rel in rels:
            try:
                out.append((rel, (self.static / rel).stat().st_mtime_ns))
            except OSError:
                out.append((rel, -1))
        return tuple(out)

    def links(self) -> str:
        with self._lock:
            if not self._seen or self._stamp([r for r, _ in self._seen]) != self._seen:
                rels = module_graph(self.static)
                self._seen = self._stamp(rels)
                self._links = "".join(f'  <link rel="modulepreload" href="/static/{r}">\n' for r in rels[1:])
            return self._links
