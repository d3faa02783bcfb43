"""``Run`` is a thin facade over objects with one job each (docs/design.md, "The SDK's run"): no SDK class
over 300 lines, no SDK module reading another object's private attributes, and ``run.log`` the native
core's own method (no Python frame on the hot path), before and after a fork."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

import turbotrack

PACKAGE = Path(turbotrack.__file__).parent
SDK = sorted(
    [*PACKAGE.glob("_*.py"), *PACKAGE.glob("sdk/**/*.py"), PACKAGE / "watch.py", PACKAGE / "settings.py"],
)
PARTS = ("_run_files", "_streams", "_run_background", "_run_save", "_run_records", "_run_life", "_metric")


def _trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in SDK]


def test_the_parts_exist_and_no_sdk_class_is_over_300_lines() -> None:
    names = {p.stem for p in SDK}
    assert set(PARTS) <= names
    long = [
        f"{path.relative_to(PACKAGE)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300  # type: ignore[operator]
    ]
    assert not long


def test_no_sdk_module_reads_another_objects_private_attributes() -> None:
    """``x._name`` only on ``self``/``cls``: ``_hooks`` and ``_summary`` use the parts' public interface."""
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: {ast.unparse(node)}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert not found


def test_run_log_is_the_native_method(new_run) -> None:
    run = new_run()
    assert type(run.log).__name__ == "builtin_function_or_method" and run.log.__self__ is run._core
    run.log({"x": 1.0})
    assert run.step == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_run_log_is_native_in_a_forked_child_once_it_logs(new_run) -> None:
    run = new_run()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a lazy core until the first log(), then the new core's own method
        ok = type(run.log).__name__ == "method"  # LazyCore.log
        run.log({"child": 1.0})
        ok = ok and type(run.log).__name__ == "builtin_function_or_method"
        run.finish()
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1" and os.waitstatus_to_exitcode(status) == 0
    os.close(read)
    run.finish()
    forked = list(Path(run.dir).glob("history.*.ttrk"))
    assert len(forked) == 1, sorted(p.name for p in Path(run.dir).iterdir())


def test_a_failed_init_undoes_every_part(tmp_path, monkeypatch) -> None:
    """A part that fails to start: the cores started before are stopped and the folder made is removed."""
    from turbotrack import _run_life

    def boom(*args, **kwargs):
        raise OSError("no uploader today")

    monkeypatch.setattr(_run_life, "UploadHandle", boom)
    with pytest.raises(OSError, match="no uploader"):
        turbotrack.init(project="p", id="undo1", dir=str(tmp_path), settings={"capture_system": False})
    assert not (tmp_path / "turbotrack" / "local" / "p" / "undo1").exists()
    monkeypatch.undo()
    run = turbotrack.init(project="p", id="undo1", dir=str(tmp_path), reinit="create_new")
    run.log({"a": 1})
    run.finish()
    assert sys.modules["turbotrack._run"].Run is turbotrack.Run
