"""`_fs.replace_unsynced`: os.replace's outcome (and refusals) for files that were not fsynced,
by an exchange where Linux has one (it spares ext4's flush of a file renamed over another)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from turbotrack import _fs


def _names(d: Path) -> list[str]:
    return sorted(os.listdir(d))


@pytest.fixture(params=["exchange", "plain"])
def way(request, monkeypatch):
    """Each test both ways: by renameat2's exchange (Linux) and as a system without it."""
    if request.param == "plain":
        monkeypatch.setattr(_fs, "_renameat2", False)
    elif sys.platform != "linux":
        pytest.skip("renameat2 is Linux's")
    return request.param


def test_it_replaces_a_file_and_leaves_nothing_beside_it(tmp_path, way):
    (tmp_path / "new").write_bytes(b"new")
    (tmp_path / "f").write_bytes(b"old contents")
    _fs.replace_unsynced(tmp_path / "new", tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"new"
    assert _names(tmp_path) == ["f"]
    if way == "exchange":
        assert _fs._renameat2 not in (None, False)  # the exchange was the way taken


def test_onto_a_free_name_it_is_a_rename(tmp_path, way):
    (tmp_path / "new").write_bytes(b"x")
    _fs.replace_unsynced(tmp_path / "new", tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"x" and _names(tmp_path) == ["f"]


def test_names_relative_to_a_folder_descriptor(tmp_path, way):
    (tmp_path / "new").write_bytes(b"new")
    (tmp_path / "f").write_bytes(b"old")
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _fs.replace_unsynced("new", "f", dir_fd=dfd)
    finally:
        os.close(dfd)
    assert (tmp_path / "f").read_bytes() == b"new" and _names(tmp_path) == ["f"]


def test_a_link_is_replaced_never_written_through(tmp_path, way):
    (tmp_path / "target").write_bytes(b"kept")
    os.symlink(tmp_path / "target", tmp_path / "f")
    (tmp_path / "new").write_bytes(b"new")
    _fs.replace_unsynced(tmp_path / "new", tmp_path / "f")
    assert not (tmp_path / "f").is_symlink() and (tmp_path / "f").read_bytes() == b"new"
    assert (tmp_path / "target").read_bytes() == b"kept"


def test_a_folder_in_the_way_is_refused_as_os_replace_refuses_it(tmp_path, way):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inside").write_bytes(b"1")
    (tmp_path / "new").write_bytes(b"new")
    with pytest.raises(IsADirectoryError):
        _fs.replace_unsynced(tmp_path / "new", tmp_path / "d")
    assert (tmp_path / "d" / "inside").read_bytes() == b"1"
    assert (tmp_path / "new").read_bytes() == b"new"  # the caller's to remove, as after os.replace


def test_a_missing_source_is_file_not_found(tmp_path, way):
    (tmp_path / "f").write_bytes(b"old")
    with pytest.raises(FileNotFoundError):
        _fs.replace_unsynced(tmp_path / "nothing", tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"old"


def test_readers_see_the_old_file_or_the_new_one_never_none(tmp_path, way):
    """While one thread replaces the file 300 times, another opening it never finds it missing
    or short (each version is 4 KiB of one byte)."""
    f = tmp_path / "f"
    f.write_bytes(b"a" * 4096)
    bad: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                data = f.read_bytes()
            except FileNotFoundError:
                bad.append("missing")
                continue
            if len(data) != 4096 or len(set(data)) != 1:
                bad.append(f"{len(data)} bytes")

    t = threading.Thread(target=read)
    t.start()
    try:
        for i in range(300):
            tmp = tmp_path / "tmp"
            tmp.write_bytes(bytes([97 + i % 26]) * 4096)
            _fs.replace_unsynced(tmp, f)
    finally:
        done.set()
        t.join()
    assert bad == []
    assert _names(tmp_path) == ["f"]


def test_atomic_write_bytes_not_durable_goes_by_it(tmp_path, way, monkeypatch):
    calls: list[str] = []
    plain = _fs.replace_unsynced
    monkeypatch.setattr(_fs, "replace_unsynced", lambda s, d, dir_fd=None: (calls.append(str(d)), plain(s, d))[1])
    target = tmp_path / "m.json"
    _fs.atomic_write_bytes(target, b"1", durable=False)
    _fs.atomic_write_bytes(target, b"2", durable=False)
    _fs.atomic_write_bytes(target, b"3")  # durable: fsync and os.replace, as before
    assert target.read_bytes() == b"3" and _names(tmp_path) == ["m.json"]
    assert calls == [str(target), str(target)]
