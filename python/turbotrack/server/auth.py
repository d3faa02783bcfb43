"""API keys and browser sessions: only hashes stored, constant-time comparison, per-entity writes.

A key reads ``tt_<id>_<secret>``: ``id`` finds its row, the sha256 of the whole key is compared
with :func:`hmac.compare_digest`. The browser logs in once with the token printed at start
(``/?token=...``) and gets an HttpOnly, SameSite=Lax session cookie."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .db import Database

SESSION_COOKIE = "tt_session"
#: The header a browser session's write sends (the UI reads its value from ``GET /api/v1/session``).
CSRF_HEADER = "x-turbotrack-csrf"
#: How long a browser session lasts (seconds).
SESSION_TTL = 30 * 24 * 3600.0


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a key (of one entity, maybe read-only) or the browser session."""

    kind: str  # "key" or "session"
    entity: Optional[str]  # None: every entity (the session of whoever started the server)
    read_only: bool
    key_id: Optional[str] = None

    def can_write(self, entity: str) -> bool:
        return not self.read_only and (self.entity is None or self.entity == entity)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def csrf_token(sid: str) -> str:
    """The token a write of session ``sid`` sends in :data:`CSRF_HEADER`: derived from the HttpOnly
    cookie, so only a page that can read this origin's answers learns it; and a header another origin
    cannot send without a CORS preflight, which this server never grants."""
    return hmac.new(sid.encode("utf-8"), b"turbotrack-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(sid: str, sent: str) -> bool:
    """Whether ``sent`` is the CSRF token of session ``sid`` (constant time)."""
    return bool(sid) and hmac.compare_digest(csrf_token(sid).encode(), sent.encode("utf-8", "replace"))


class Keys:
    """The API keys in the auth store (:func:`~turbotrack.server.db.open_auth_database`; handed the
    run index, the auth store beside it)."""

    def __init__(self, db: Database) -> None:
        self.db = db.auth()

    def create(self, entity: str, read_only: bool = False) -> tuple[str, str]:
        """A new key for ``entity``: ``(key_id, key)``. Only the key's hash is stored."""
        key_id = secrets.token_hex(6)
        key = f"tt_{key_id}_{secrets.token_urlsafe(32)}"
        self.db.execute(
            "INSERT INTO api_keys (id, entity, hash, read_only, created, revoked) VALUES (?, ?, ?, ?, ?, NULL)",
            (key_id, entity, _hash(key), int(read_only), time.time()),
        )
        return key_id, key

    def list(self) -> list[dict[str, Any]]:
        """Every key: id, entity, read_only, created, revoked (never the key or its hash)."""
        rows = self.db.query("SELECT id, entity, read_only, created, revoked FROM api_keys ORDER BY created")
        return [{"id": r[0], "entity": r[1], "read_only": bool(r[2]), "created": r[3], "revoked": r[4]} for r in rows]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key; False when no live key has that id."""
        found = self.db.query("SELECT id FROM api_keys WHERE id = ? AND revoked IS NULL", (key_id,))
        if not found:
            return False
        self.db.execute("UPDATE api_keys SET revoked = ? WHERE id = ?", (time.time(), key_id))
        return True

    def check(self, key: str) -> Optional[Principal]:
        """The principal of a valid, unrevoked key; None otherwise."""
        return self.check_many([key])[0]

    def check_many(self, keys: Sequence[str]) -> builtins.list[Optional[Principal]]:
        """:meth:`check` of each key, in one query (a batch of appends: ``server/lane.py``)."""
        ids = [_key_id(k) for k in keys]
        wanted = sorted({i for i in ids if i is not None})
        rows: dict[str, tuple[Any, ...]] = {}
        if wanted:
            marks = ", ".join("?" * len(wanted))
            sql = f"SELECT id, entity, hash, read_only, revoked FROM api_keys WHERE id IN ({marks})"
            rows = {str(r[0]): r for r in self.db.query(sql, wanted)}
        out: builtins.list[Optional[Principal]] = []
        for key, key_id in zip(keys, ids):
            row = rows.get(key_id) if key_id is not None else None
            if row is None:
                if key_id is not None:
                    hmac.compare_digest(_hash(key), _hash(""))  # same work whether or not the id exists
                out.append(None)
                continue
            _, entity, stored, read_only, revoked = row
            ok = hmac.compare_digest(_hash(key), stored) and revoked is None
            out.append(Principal("key", entity, bool(read_only), key_id) if ok else None)
        return out


def _key_id(key: str) -> Optional[str]:
    """The id part of a key (``tt_<id>_<secret>``), None when it is not shaped like one."""
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "tt" or not parts[1].isalnum():
        return None
    return parts[1]


class Sessions:
    """The login token printed at start and the browser sessions it opened. Sessions are kept in the
    auth store (handed the run index, the auth store beside it) as the sha256 of their cookie with an
    expiry, so they outlive a server restart (the login token does not: each start prints a new one)."""

    def __init__(self, db: Optional[Database] = None, ttl: float = SESSION_TTL) -> None:
        self.token = secrets.token_urlsafe(24)
        self.db = db.auth() if db is not None else None
        self.ttl = ttl
        self._memory: dict[str, float] = {}  # hash -> expiry, without a database
        self._lock = threading.Lock()

    def login(self, token: str) -> Optional[str]:
        """A new session id when ``token`` is the login token."""
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return None
        sid = secrets.token_urlsafe(32)
        now = time.time()
        if self.db is None:
            with self._lock:
                self._memory[_hash(sid)] = now + self.ttl
        else:
            self.db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            self.db.execute(
                "INSERT INTO sessions (hash, created, expires) VALUES (?, ?, ?)", (_hash(sid), now, now + self.ttl)
            )
        return sid

    def check(self, sid: str) -> Optional[Principal]:
        """The principal of a live session cookie; None otherwise."""
        if not sid or len(sid) > 256:
            return None
        digest = _hash(sid)
        if self.db is None:
            with self._lock:
                found = [(h, e) for h, e in self._memory.items() if hmac.compare_digest(h, digest)]
        else:
            found = [
                (str(r[0]), float(r[1]))
                for r in self.db.query("SELECT hash, expires FROM sessions WHERE hash = ?", (digest,))
            ]
        if found and hmac.compare_digest(found[0][0], digest) and found[0][1] > time.time():
            return Principal("session", None, False)
        return None

    def logout(self, sid: str) -> None:
        """End a session."""
        if self.db is None:
            with self._lock:
                self._memory.pop(_hash(sid), None)
        else:
            self.db.execute("DELETE FROM sessions WHERE hash = ?", (_hash(sid),))
