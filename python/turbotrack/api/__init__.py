"""The public API for reading runs back: ``turbotrack.Api``."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from ..settings import ENV, default_entity, storage_root
from .local import LocalRun, list_runs, open_run

__all__ = ["Api", "LocalRun"]


class Api:
    """Read runs back. With ``base_url`` (or ``$TURBOTRACK_BASE_URL``) from a server (a
    :class:`~turbotrack.api.remote.RemoteApi`, authenticated by ``api_key``, ``$TURBOTRACK_API_KEY``
    or ``turbotrack login``); otherwise from the local storage root (``dir``, else
    ``$TURBOTRACK_DIR``, else the current directory)."""

    def __new__(
        cls,
        base_url: Optional[str] = None,
        dir: Optional[Union[str, os.PathLike[str]]] = None,
        api_key: Optional[str] = None,
        **_: Any,
    ) -> Any:
        url = base_url or (None if dir is not None else os.environ.get(ENV["base_url"]))
        if url:
            from .remote import RemoteApi

            return RemoteApi(url, api_key)
        return super().__new__(cls)

    def __init__(
        self,
        base_url: Optional[str] = None,
        dir: Optional[Union[str, os.PathLike[str]]] = None,
        api_key: Optional[str] = None,
        **_: Any,
    ) -> None:
        self.base_url = None
        self.root = storage_root(dir)

    def _split(self, path: str, parts: int) -> list[str]:
        bits = [b for b in path.strip("/").split("/") if b]
        if len(bits) == parts - 1:
            bits.insert(0, default_entity())
        if len(bits) != parts:
            want = "entity/project/run_id" if parts == 3 else "entity/project"
            raise ValueError(f"{path!r} is not a run path: expected {want!r} or without the entity")
        return bits

    def run(self, path: str) -> LocalRun:
        """The run at ``"entity/project/run_id"`` (or ``"project/run_id"``)."""
        entity, project, run_id = self._split(path, 3)
        return open_run(self.root / entity / project / run_id)

    def runs(
        self, path: Optional[str] = None, filters: Optional[dict[str, Any]] = None, order: Optional[str] = None
    ) -> list[LocalRun]:
        """Runs of ``"entity/project"`` (every project when ``None``), filtered by equality on run
        fields (``{"group": g}``, ``{"state": "finished"}``, ``{"config.lr": 0.1}``,
        ``{"summary_metrics.acc": 1}``) and ordered, e.g. ``order="-summary_metrics.best_accuracy"``."""
        if path is None:
            folders = [p for e in sorted(self.root.glob("*")) for p in sorted(e.glob("*"))]
        else:
            entity, project = self._split(path, 2)
            folders = [self.root / entity / project]
        return list_runs(folders, filters or {}, order or "-created_at")
