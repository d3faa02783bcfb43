"""What every request of one server process shares: the storage root, the databases, keys and
sessions, the index, ingest, the history cache, the artifacts and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .artifact_store import ArtifactStore
from .auth import Keys, Sessions
from .db import Database
from .history import HistoryCache
from .index import Index
from .ingest import Ingest
from .objects import Objects, is_local
from .reindex import Reindexer

#: The largest request body accepted (413 above it); sync sends STREAM files in smaller pieces.
DEFAULT_MAX_BODY = 64 << 20


@dataclass(frozen=True)
class Limits:
    """What the server bounds, and why (docs/server.md): a slow or hostile client holds nothing long."""

    max_body: int = DEFAULT_MAX_BODY
    #: a connection must send a whole request head within this many seconds (and an idle kept-alive
    #: one is closed after it): a silent or trickling socket cannot hold a file descriptor for ever
    idle_timeout: float = 10.0
    #: a request body must arrive within this many seconds
    body_timeout: float = 120.0
    #: open connections plus requests in flight; beyond it new connections get 503
    max_connections: int = 2048
    #: a request's head (request line and headers) in bytes
    max_head: int = 64 << 10


class ServerState:
    """Built once per server process."""

    def __init__(
        self,
        root: Path,
        index_db: Database,
        auth_db: Database,
        limits: Limits = Limits(),
        store: Optional[str] = None,
    ) -> None:
        """``store``: the object store's URL (``--store``); None (or ``file://`` naming ``root``)
        keeps the run files under ``root`` itself."""
        self.root = root
        self.index_db = index_db
        self.auth_db = auth_db
        self.keys = Keys(auth_db)
        self.sessions = Sessions(auth_db)
        self.index = Index(index_db, root)
        self.store = store if store and not is_local(store, root) else None
        if self.store is None:
            self.ingest: Ingest = Ingest(root)
        else:
            from .replica import ObjectIngest

            replica = ObjectIngest(root, index_db, Objects(self.store))
            replica.start_sweeping()
            self.ingest = replica
            self.index.signer = replica.signature
        #: when an upload's run is read again into the index (at once, or marked and a little later)
        self.reindex = Reindexer(self.index, self.ingest)
        self.reindex.start()
        self.history = HistoryCache()
        self.artifacts = ArtifactStore(root, self.ingest)
        self.limits = limits

    def close(self) -> None:
        self.reindex.stop()
        self.index.stop()
        self.ingest.close()
        self.index_db.close()
        if self.auth_db is not self.index_db:
            self.auth_db.close()


__all__ = ["DEFAULT_MAX_BODY", "Limits", "ServerState"]
