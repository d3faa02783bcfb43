"""Ingest: files arrive as the bytes they are on disk, addressed by (run, file, offset), a chunk
at a time (docs/server-api.md, "Write"; docs/server.md, "Ingest").

STREAM and APPEND files grow only at the server's current length (else 409 with that length and
the sha256 of the bytes held, so that the client checks they are its own before it goes on); a
STREAM body must be whole valid blocks (and the file header first, at offset 0), each decompressed
within its declared length and decoded (a block that inflates past what it declares, or declares
more than a block may hold, is refused). REPLACE and BLOB files arrive into a hidden part file named
by the sha256 of the whole (``.<name>.<its first 16 hex digits>.part``), chunk by chunk at its length; the last
chunk's answer comes once the whole hashes to that sha256, and the part has been moved into place
atomically. Each file has a lock, held across threads and across server processes on one machine
(``--workers N``: ``flock`` on a lock file in the root's hidden ``.locks/`` folder), so two
uploaders cannot interleave, and every write is fsynced before the answer. A STREAM file's length
is that of its whole valid blocks: a torn tail a killed server left is cut at the next append.

Nothing is written through a symbolic link: every folder from the root down is opened without
following one (``O_NOFOLLOW``, one folder at a time), and so is the file itself."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import stat
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

from .._fs import replace_unsynced
from ..store import layout
from ..store.blocks import check_upload, valid_end
from ..store.digest import PrefixHashes, sha256_range
from .errors import ApiError

_PART = re.compile(r"^\.(?P<name>.+)\.(?P<sha>[0-9a-f]{16})\.part$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class IngestError(ApiError):
    """A refused upload: ``status`` is the HTTP status; for a 409 ``size`` is the server's length
    and ``sha256`` the hash of the bytes it holds."""

    def __init__(self, status: int, message: str, size: Optional[int] = None, sha256: Optional[str] = None) -> None:
        extra: dict[str, Any] = {"size": size} if size is not None else {}
        if sha256 is not None:
            extra["sha256"] = sha256
        super().__init__(status, message, **extra)
        self.size = size


def check_blocks(path: Path, offset: int, body: bytes) -> None:
    """IngestError 400 unless ``body``, to be appended at ``offset`` of a STREAM file, is whole valid
    blocks (and the file header first at offset 0)."""
    if not body:
        return
    try:
        good, _, why = check_upload(bytes(body), offset == 0)
    except ValueError as e:
        raise IngestError(400, f"{path.name}: {e}") from None
    if why is not None or good != len(body):
        raise IngestError(400, f"{path.name}: the body is not whole valid blocks ({why})")


def _is_part_of(name: str, of: str, keep: str) -> bool:
    m = _PART.match(name)
    return m is not None and m["name"] == of and m["sha"] != keep[:16]


def part_name(name: str, sha256: str) -> str:
    """The hidden file an upload of ``name`` whose whole hashes to ``sha256`` arrives into (named by
    the sha256's first 16 hex digits: a name as long as a run file's may be, less 23 bytes, fits)."""
    return f".{name}.{sha256[:16]}.part"


#: The lock files (``<root>/.locks/<n>.lock``): each path locks one of these, by its hash.
LOCK_DIR = ".locks"
LOCK_STRIPES = 256


class FileLock:
    """The lock of one file: a re-entrant thread lock, then (outermost only) ``flock`` on its lock
    file, so that server processes sharing the root take turns too. Use it as ``with``."""

    def __init__(self, lock_file: Path) -> None:
        self._thread = threading.RLock()
        self._lock_file = lock_file
        self._depth = 0
        self._fd = -1

    def __enter__(self) -> FileLock:
        self._thread.acquire()
        if self._depth == 0:
            try:
                flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                try:
                    fd = os.open(self._lock_file, flags, 0o600)
                except FileNotFoundError:  # the first lock of this root: its folder made (not tried every time)
                    self._lock_file.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(self._lock_file, flags, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
            except BaseException:
                self._thread.release()
                raise
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(
        self, kind: Optional[type[BaseException]], err: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # releases the flock
        self._thread.release()


class Ingest:
    """Writes uploads into the storage root (the files there are the run files: ``--store`` left out).
    ``server/replica.py``'s ObjectIngest is the same surface over an object store."""

    #: whether the files live elsewhere and the root is only this process's cache of them
    replicated = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, FileLock] = {}
        self._locks_lock = threading.Lock()
        # path -> (inode, size, valid length) of its last scan: bytes up to the valid length never
        # change (the file only grows past them), whichever process appends.
        self._valid: dict[Path, tuple[int, int, int]] = {}
        self._sha: dict[Path, tuple[int, int, str]] = {}
        self._prefix = PrefixHashes()  # the sha256 of what is held of growing files and parts

    def lock(self, path: Path) -> FileLock:
        """The lock of ``path``, shared by this process's threads and by other processes on this root."""
        with self._locks_lock:
            lock = self._locks.get(path)
            if lock is None:
                stripe = int.from_bytes(hashlib.sha1(os.fsencode(path)).digest()[:4], "big") % LOCK_STRIPES
                lock = self._locks[path] = FileLock(self.root / LOCK_DIR / f"{stripe}.lock")
            return lock

    def close(self) -> None:
        """Nothing to let go of: every write is on disk before its answer."""

    def pull(self, dir: Path, streams: bool = True, under: str = "", rows: Any = None) -> bool:
        """The files of ``dir`` are those under the root already: whether the folder is there."""
        return dir.is_dir()

    def rows_of(self, dirs: list[Path]) -> Optional[dict[Path, Any]]:
        """What a store holds of each folder, for :meth:`pull` (``rows=``): None, the files are here."""
        return None

    def signed(self, rows: Any) -> Optional[str]:
        """The index's signature of a folder from a store's rows (:meth:`rows_of`): none here."""
        return None

    def has(self, path: Path) -> bool:
        """Whether the file is held."""
        return path.is_file()

    def holding(self, dirs: list[Path]) -> set[Path]:
        """Those of the run folders ``dirs`` that hold any file (a batch sent as a new run's asks)."""
        return {d for d in dirs if next(iter(layout.run_files(d)), None) is not None}

    def fetch(self, path: Path) -> None:
        """The file is under the root already."""

    def publish(self, path: Path, sha256: Optional[str] = None) -> None:
        """A whole file written under the root is where it belongs already."""

    def forget(self, dir: Path) -> None:
        """A folder moved out of the root (a deleted run): nothing kept elsewhere to drop."""

    def exclusive(self, path: Path) -> contextlib.AbstractContextManager[Any]:
        """Held by one request at a time across this root's server processes (a read-modify-write)."""
        return self.lock(path)

    # ---- opening without following a symbolic link ----

    def _parent_fd(self, path: Path, create: bool) -> int:
        """An open descriptor of ``path``'s folder, reached from the root one folder at a time without
        following a symbolic link (made when ``create``). IngestError 400 on a link or a non-folder;
        FileNotFoundError when missing and not ``create``."""
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            raise IngestError(400, f"{path} is not under the storage root") from None
        parts = rel.parts
        if not parts or any(p in ("", ".", "..") for p in parts):
            raise IngestError(400, f"{rel}: not a file name under the storage root")
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if not create:
                raise
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise IngestError(400, f"{rel}: {part} is not a folder of the storage root (a link?)") from None
                    raise
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open(self, path: Path, flags: int, create: bool) -> int:
        """``path`` opened with ``flags``, never through a symbolic link (see :meth:`_parent_fd`)."""
        dfd = self._parent_fd(path, create)
        try:
            fd = os.open(path.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise IngestError(400, f"{path.name}: a symbolic link is never written through") from None
            raise
        finally:
            os.close(dfd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IngestError(400, f"{path.name}: not a regular file")
        return fd

    # ---- lengths ----

    def _stream_size(self, path: Path) -> int:
        """The length of the file's whole valid blocks (under the file's lock). Cached per inode; a
        scan starts again from the last valid length found, since what lies before it never changes,
        and reads a window at a time (``store.blocks``), never the whole file."""
        try:
            fd = self._open(path, os.O_RDONLY, create=False)
        except FileNotFoundError:
            self._valid.pop(path, None)
            return 0
        try:
            st = os.fstat(fd)
            cached = self._valid.get(path)
            if cached and cached[0] == st.st_ino and cached[1] == cached[2] == st.st_size:
                return cached[2]  # all whole blocks, and no other process appended since
            start = cached[2] if cached and cached[0] == st.st_ino and st.st_size >= cached[2] else 0
            try:
                valid = valid_end(fd, start, st.st_size)
            except ValueError:
                valid = 0
        finally:
            os.close(fd)
        self._valid[path] = (st.st_ino, st.st_size, valid)
        return valid

    def held(self, path: Path, kind: str) -> tuple[int, str]:
        """What the server holds of a STREAM/APPEND file: its length (for a STREAM: up to its last
        whole block) and the sha256 of those bytes."""
        with self.lock(path):
            size = self._stream_size(path) if kind == layout.STREAM else self.size(path, kind)
            return size, self._digest(path, size)

    def _digest(self, path: Path, n: int) -> str:
        if n == 0:
            return hashlib.sha256().hexdigest()
        fd = self._open(path, os.O_RDONLY, create=False)
        try:
            return self._prefix.digest(path, fd, n)
        finally:
            os.close(fd)

    def size(self, path: Path, kind: str) -> int:
        """What the server holds of a STREAM/APPEND file (for a STREAM: up to its last whole block)."""
        if kind == layout.STREAM:
            with self.lock(path):
                return self._stream_size(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return 0
        return st.st_size if stat.S_ISREG(st.st_mode) else 0

    def sha256(self, path: Path) -> Optional[str]:
        """The sha256 of a file (cached by size and mtime)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        cached = self._sha.get(path)
        if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
            return cached[2]
        fd = self._open(path, os.O_RDONLY, create=False)
        try:  # whole: a file rewritten in place is no longer the prefix of anything kept
            digest = str(sha256_range(fd, 0, os.fstat(fd).st_size).hexdigest())
        finally:
            os.close(fd)
        self._sha[path] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    # ---- writes ----

    def append(self, path: Path, kind: str, offset: int, body: bytes) -> int:
        """Append ``body`` at ``offset`` (which must be the current length); the new length."""
        view = memoryview(body)
        with self.lock(path):
            size = self._stream_size(path) if kind == layout.STREAM else self.size(path, kind)
            if offset != size:
                raise IngestError(
                    409, f"offset {offset} is not the server's length {size}", size, self._digest(path, size)
                )
            if kind == layout.STREAM:
                check_blocks(path, offset, body)
            ino = self._write_at(path, offset, body)
            if kind == layout.STREAM:
                self._valid[path] = (ino, offset + len(body), offset + len(body))
            self._prefix.extend(path, ino, offset, view)
            return offset + len(body)

    def replace(self, path: Path, body: bytes) -> int:
        """Write a REPLACE/BLOB file whole, atomically (a temporary file, fsync, rename), never
        through a symbolic link: one in its place is refused (400)."""
        with self.lock(path):
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                self._write_at(tmp, 0, body)
                self._move_into_place(tmp, path)
            except BaseException:
                self._unlink(tmp)
                raise
        return len(body)

    def _write_at(self, path: Path, offset: int, body: bytes, sync: bool = True) -> int:
        """Write ``body`` at ``offset`` of ``path`` (made, never through a link), cutting whatever lay
        past ``offset`` first (a torn tail a killed server left), and fsync it (unless not ``sync``:
        a replica's cache, whose bytes the object store holds already). Answers its inode."""
        fd = self._open(path, os.O_WRONLY | os.O_CREAT, create=True)
        try:
            if os.fstat(fd).st_size != offset:
                os.ftruncate(fd, offset)
            view = memoryview(body)
            written = 0
            while written < len(view):
                written += os.pwrite(fd, view[written:], offset + written)
            if sync:
                os.fsync(fd)
            return os.fstat(fd).st_ino
        finally:
            os.close(fd)

    # ---- chunked whole files (REPLACE, BLOB) ----

    def put_part(self, path: Path, offset: int, body: bytes, total: int, sha256: str) -> int:
        """Write ``body`` at ``offset`` of the upload of ``path`` whose whole is ``total`` bytes
        hashing to ``sha256``; ``offset`` must be the bytes of it held (0 starts it again). Once all
        are there and hash right, the file is moved into place atomically (a wrong hash: 400, and
        the part is dropped). Answers the bytes held. A file already holding that sha256: ``total``."""
        if not _SHA256.match(sha256):
            raise IngestError(400, "sha256 must be 64 lowercase hex digits")
        if total < 0 or offset < 0:
            raise IngestError(400, "offset and size must not be negative")
        if offset + len(body) > total:
            raise IngestError(400, f"{path.name}: more than the {total} bytes announced")
        part = path.with_name(part_name(path.name, sha256))
        with self.lock(path):
            if offset == 0 and self._regular(path) and self.sha256(path) == sha256:
                return total
            try:
                pfd = self._open(part, os.O_RDONLY, create=False)
                try:
                    have = os.fstat(pfd).st_size
                finally:
                    os.close(pfd)
            except FileNotFoundError:
                have = 0
            if offset != have and offset != 0:
                raise IngestError(409, f"offset {offset} is not the {have} bytes held of {path.name}", have)
            if offset == 0:
                self._unlink(path, keep=sha256)
            ino = self._write_at(part, offset, body)
            self._prefix.extend(part, ino, offset, body)
            have = offset + len(body)
            if have < total:
                return have
            digest = self._digest(part, have)
            self._prefix.forget(part)
            if digest != sha256:
                self._unlink(part)
                raise IngestError(400, f"{path.name}: the {total} bytes sent hash to {digest}, not {sha256}")
            self._move_into_place(part, path)
            st = os.lstat(path)
            self._sha[path] = (st.st_size, st.st_mtime_ns, digest)  # the next manifest hashes nothing
            return total

    def partials(self, run_dir: Path) -> dict[str, dict[str, Any]]:
        """The uploads under way in a run folder: ``{name: {"sha256_prefix", "size"}}`` by file
        name relative to it (at most one per name: the last one written)."""
        out: dict[str, dict[str, Any]] = {}
        found: list[tuple[float, str, dict[str, Any]]] = []
        if not layout.is_plain_run_dir(run_dir):
            return out
        for folder, _dirs, names in os.walk(run_dir):  # never into a linked folder
            for name in names:
                m = _PART.match(name)
                if m is None:
                    continue
                p = Path(folder) / name
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                rel = p.with_name(m["name"]).relative_to(run_dir).as_posix()
                if stat.S_ISREG(st.st_mode) and layout.classify(rel) in (layout.REPLACE, layout.BLOB):
                    found.append((st.st_mtime, rel, {"sha256_prefix": m["sha"], "size": st.st_size}))
        for _, rel, item in sorted(found):
            out[rel] = item
        return out

    def _regular(self, path: Path) -> bool:
        try:
            return stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False

    def _unlink(self, path: Path, keep: Optional[str] = None) -> None:
        """Remove ``path`` if there; with ``keep``, instead every part of an upload of ``path``
        but the one for that sha256 (one file, one upload under way)."""
        try:
            dfd = self._parent_fd(path, create=False)
        except (OSError, IngestError):  # no folder, or one reached through a link: nothing of ours there
            return
        try:
            names = [path.name] if keep is None else [n for n in os.listdir(dfd) if _is_part_of(n, path.name, keep)]
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=dfd)
        finally:
            os.close(dfd)

    def _move_into_place(self, part: Path, path: Path, sync: bool = True) -> None:
        """Rename the whole ``part`` over ``path`` (never over a link or a folder), and fsync the
        folder (unless not ``sync``: a replica's cache, whose bytes the object store holds)."""
        dfd = self._parent_fd(path, create=True)
        try:
            try:
                st: Optional[os.stat_result] = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):
                os.unlink(part.name, dir_fd=dfd)
                raise IngestError(400, f"{path.name}: not a regular file (a link?): never replaced")
            if sync:
                os.rename(part.name, path.name, src_dir_fd=dfd, dst_dir_fd=dfd)
                os.fsync(dfd)
            else:  # not fsynced: an exchange, which spares ext4's flush of a file renamed over another
                replace_unsynced(part.name, path.name, dir_fd=dfd)
        finally:
            os.close(dfd)
        self._sha.pop(path, None)
