"""The package's import graph has no cycle (function-level imports included), and ``import turbotrack``
changes nothing in the process: hooks come with the first ``init()``."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import turbotrack

PACKAGE = Path(turbotrack.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports anywhere in it (not under ``if TYPE_CHECKING``)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def resolve(base: str) -> None:
        # the deepest package module that the name refers to
        while base and base not in modules:
            base = base.rpartition(".")[0]
        if base:
            found.add(base)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("turbotrack"):
                    resolve(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base = ".".join(base_parts[: len(base_parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.startswith("turbotrack"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    resolve(full if full in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    found.discard(name)
    # importing a submodule runs its package's __init__ first: that edge is not a cycle of the code
    return {m for m in found if not name.startswith(m + ".")}


def test_the_import_graph_has_no_cycle() -> None:
    files = [p for p in PACKAGE.rglob("*.py") if "bootstrap" not in p.parts]
    modules = {_module_name(p) for p in files}
    graph = {_module_name(p): _imports(p, modules) for p in files}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                dfs(dep)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_importing_turbotrack_installs_no_process_hooks(tmp_path: Path) -> None:
    code = """
    import atexit, os, sys
    before = (sys.excepthook, sys.exit, atexit._ncallbacks())
    import turbotrack
    from turbotrack import Api
    assert (sys.excepthook, sys.exit, atexit._ncallbacks()) == before, "import installed hooks"
    run = turbotrack.init(dir=sys.argv[1], mode="offline", settings={"capture_stdout": False,
                          "capture_system": False, "capture_git": False, "capture_requirements": False})
    assert sys.excepthook is not before[0] and atexit._ncallbacks() > before[2], "init installs them"
    run.finish()
    print("ok")
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_wandb_attributes_are_the_current_runs() -> None:
    code = """
    import sys, importlib
    import turbotrack
    assert turbotrack.run is None and dict(turbotrack.summary) == {} and dict(turbotrack.config) == {}
    for name in ("config", "summary", "run"):  # no submodule shadows these wandb attributes
        try:
            importlib.import_module("turbotrack." + name)
        except ModuleNotFoundError:
            pass
        else:
            raise AssertionError("turbotrack.%s is a module" % name)
    run = turbotrack.init(dir=sys.argv[1], mode="offline", config={"lr": 0.1}, settings={"capture_stdout": False,
                          "capture_system": False, "capture_git": False, "capture_requirements": False})
    assert turbotrack.run is run and turbotrack.config is run.config and turbotrack.config["lr"] == 0.1
    turbotrack.log({"a": 1})
    assert turbotrack.summary["a"] == 1
    turbotrack.finish()
    assert turbotrack.run is None
    print("ok")
    """
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        out = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), d], capture_output=True, text=True, timeout=60
        )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


#: Modules below the SDK may import these leaves of the package (no SDK in them): the native core,
#: file helpers, the environment's settings table, the manifest check, and the one exception
#: hierarchy (errors.py, which imports only the core).
_LEAVES = {
    "turbotrack._core",
    "turbotrack._fs",
    "turbotrack._envvars",
    "turbotrack._wandb_fields",
    "turbotrack._artifact_manifest",
    "turbotrack.errors",
}
#: What each layer may import besides itself and the leaves: store/ is the bottom (the local and the
#: remote run store, and the HTTP client both use); api, sync and server stand on it, and none of
#: them on the SDK.
_LAYERS = {
    "turbotrack.store": set(),
    "turbotrack.sync": {"turbotrack.store"},
    "turbotrack.server": {"turbotrack.store"},
    "turbotrack.api": {"turbotrack.store"},
}


def _layer(module: str) -> str:
    for layer in _LAYERS:
        if module == layer or module.startswith(layer + "."):
            return layer
    return ""


def _upward_imports(package: Path) -> list[str]:
    files = [p for p in package.rglob("*.py") if "bootstrap" not in p.parts]
    modules = {_module_name(p) for p in files}
    bad = []
    for p in files:
        name = _module_name(p)
        layer = _layer(name)
        if not layer:
            continue
        for dep in sorted(_imports(p, modules)):
            if dep in _LEAVES or _layer(dep) == layer or _layer(dep) in _LAYERS[layer]:
                continue
            bad.append(f"{name} imports {dep}")
    return sorted(bad)


def test_the_leaves_are_leaves() -> None:
    """What every layer may import imports nothing of the package but other leaves."""
    files = [p for p in PACKAGE.rglob("*.py") if "bootstrap" not in p.parts]
    modules = {_module_name(p) for p in files}
    for p in files:
        if _module_name(p) in _LEAVES:
            assert _imports(p, modules) <= _LEAVES, p


def test_imports_run_one_way_down_to_store() -> None:
    """store/ imports nothing of the SDK (nor of api, sync, server); api, sync and server import
    nothing of the SDK (settings, artifacts, _summary, data_types ... are the SDK's)."""
    bad = _upward_imports(PACKAGE)
    assert not bad, "imports that run upward or into the SDK:\n" + "\n".join(bad)


def test_the_layer_check_sees_a_violation(tmp_path: Path, monkeypatch) -> None:
    """The check above is not vacuous: in a copy of the package, an SDK import planted in store/
    (inside a function) and one in server/ are found."""
    import shutil

    copy = tmp_path / "turbotrack"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.so", "static", "__pycache__"))
    (copy / "store" / "planted.py").write_text("def f():\n    from .. import settings\n    return settings\n")
    (copy / "server" / "planted.py").write_text("from ..artifacts import Artifact\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    assert _upward_imports(copy) == [
        "turbotrack.server.planted imports turbotrack.artifacts",
        "turbotrack.store.planted imports turbotrack.settings",
    ]
