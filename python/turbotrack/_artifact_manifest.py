"""What an artifact manifest may hold, checked in one place: by the server before it stores or serves
one, by the remote Api before it downloads one, and by ``artifacts.load`` for one read from disk.

A file's path is relative, ``/``-separated UTF-8 text whose every component is a plain name: no
absolute path, drive letter, backslash, ``.``, ``..``, empty component, NUL or control character, so
that ``root / path`` always names a file under ``root`` on every OS. A reference is a URI with a
scheme; a ``file://`` one (a path on the machine that reads it) is allowed only in a manifest of the
local store, never in one that crosses the network."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Optional

SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_PART_BYTES = 255  # NAME_MAX on every common file system


class ManifestError(ValueError):
    """A manifest that breaks the rules above: ``problem`` names the entry, ``file`` (if any) the
    manifest's file; the message says both."""

    def __init__(self, problem: str, file: Optional[Path] = None) -> None:
        super().__init__(f"{file} is refused: {problem}" if file is not None else problem)
        self.problem = problem
        self.file = file


def path_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot name a file of an artifact, or ``None`` when it can."""
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid UTF-8 text"
    if not path:
        return "it is empty"
    if "\x00" in path:
        return "it holds a NUL"
    if _CONTROL.search(path):
        return "it holds a control character"
    if "\\" in path:
        return "it holds a backslash (paths in an artifact are '/'-separated)"
    if path.startswith("/"):
        return "it is absolute"
    if _DRIVE.match(path):
        return "it starts with a drive letter"
    if size > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    for part in path.split("/"):
        if not part:
            return "it has an empty component ('//' or a '/' at the end)"
        if part in (".", ".."):
            return f"it has a {part!r} component"
        if len(part.encode("utf-8")) > MAX_PART_BYTES:
            return f"a component is longer than {MAX_PART_BYTES} bytes"
    return None


def check_path(path: Any) -> str:
    """``path`` when it may name a file of an artifact, else ``ManifestError`` naming it."""
    why = path_problem(path) if isinstance(path, str) else f"it is a {type(path).__name__}, not text"
    if why is not None:
        raise ManifestError(f"manifest entry {path!r} is refused: {why}")
    return str(path)


def ref_problem(ref: Any, local_refs: bool) -> Optional[str]:
    """Why ``ref`` cannot be a reference (``None`` when it can); ``file://`` only when ``local_refs``."""
    if not isinstance(ref, str) or not ref:
        return "its ref is not a URI"
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:
        return "its ref is not valid UTF-8 text"
    if _CONTROL.search(ref):
        return "its ref holds a NUL or a control character"
    m = _SCHEME.match(ref)
    if m is None or len(m.group(1)) == 1:  # "C:\..." is a drive, not a scheme
        return f"its ref {ref!r} is a local path, not a URI"
    if m.group(1).lower() == "file" and not local_refs:
        return f"its ref {ref!r} points into the file system of whoever reads it"
    return None


def _entry(path: str, f: Any, local_refs: bool) -> dict[str, Any]:
    def refuse(why: str) -> ManifestError:
        return ManifestError(f"manifest entry {path!r} is refused: {why}")

    if not isinstance(f, dict):
        raise refuse("it is not {digest, size}")
    digest, size, ref = f.get("digest"), f.get("size"), f.get("ref")
    if ref is not None:
        why = ref_problem(ref, local_refs)
        if why is not None:
            raise refuse(why)
    if not isinstance(digest, str):
        raise refuse("its digest is not text")
    if not SHA256.match(digest) and (ref is None or digest != ref):
        raise refuse(f"its digest {digest[:80]!r} is not a sha256 (64 lowercase hex digits)")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise refuse(f"its size {size!r} is not a whole number of bytes")
    if ref is None and size is None:
        raise refuse("a stored file needs its size")
    return {"digest": digest, "size": size, **({"ref": ref} if ref is not None else {})}


_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "type": (str,),
    "version": (int,),
    "description": (str, type(None)),
    "metadata": (dict, type(None)),
    "digest": (str,),
    "created_at": (int, float, type(None)),
    "logged_by": (str, type(None)),
}


def check_manifest(manifest: Any, local_refs: bool = False) -> dict[str, Any]:
    """A checked copy of ``manifest`` (only its known fields, nothing shared with the original), or
    ``ManifestError`` naming the first entry or field that breaks the rules. ``local_refs`` allows
    ``file://`` references (a manifest of the local store)."""
    if not isinstance(manifest, dict):
        raise ManifestError("a manifest is a JSON object")
    out: dict[str, Any] = {}
    for key, types in _FIELDS.items():
        if key not in manifest:
            continue
        value = manifest[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise ManifestError(f"manifest field {key!r} holds a {type(value).__name__}")
        out[key] = copy.deepcopy(value)
    if not out.get("type"):
        raise ManifestError("a manifest needs a 'type'")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ManifestError("a manifest needs 'files': {path: {digest, size}}")
    checked = {check_path(path): _entry(path, f, local_refs) for path, f in files.items()}
    for path in checked:  # "a" and "a/b": one of them could not be written
        cut = path.find("/")
        while cut != -1:
            if path[:cut] in checked:
                raise ManifestError(f"manifest entry {path!r} is refused: {path[:cut]!r} is a file, not a folder")
            cut = path.find("/", cut + 1)
    out["files"] = checked
    return out


__all__ = ["SHA256", "ManifestError", "check_manifest", "check_path", "path_problem", "ref_problem"]
