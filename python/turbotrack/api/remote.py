"""``Api(base_url=...)``: the public Api over a server's runs (:class:`~turbotrack.store.remote.RemoteStore`)."""

from __future__ import annotations

from typing import Any, Optional

from ..store.remote import RemoteFile, RemoteRun, RemoteStore, RemoteSummary
from . import Api

__all__ = ["RemoteApi", "RemoteFile", "RemoteRun", "RemoteStore", "RemoteSummary"]


class RemoteApi(Api):
    """``Api(base_url=..., api_key=...)``: read runs from a server (a :class:`RemoteStore`)."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, **_: Any) -> None:  # type: ignore[override]
        self.base_url = base_url
        self.root = None
        self.store = self._remote = RemoteStore(base_url, api_key)
        self._client = self._remote._client
