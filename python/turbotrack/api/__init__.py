"""The public API for reading runs back: ``turbotrack.Api``, a thin facade over a run store
(:mod:`turbotrack.store.base`): the local storage root's (:class:`~turbotrack.store.local.LocalStore`)
or a server's (:class:`~turbotrack.api.remote.RemoteStore`)."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from ..store.base import RunStore
from ..store.layout import RunPath, default_entity, parse_project_path, storage_root
from ..store.local import LocalRun, LocalStore
from .runs import Runs

__all__ = ["Api", "LocalRun", "Runs"]

#: The server ``Api()`` reads from when no ``base_url`` or ``dir`` is given.
BASE_URL_ENV = "TURBOTRACK_BASE_URL"


class Api:
    """Read runs back. With ``base_url`` (or ``$TURBOTRACK_BASE_URL``) from a server (a
    :class:`~turbotrack.api.remote.RemoteApi`, authenticated by ``api_key``, ``$TURBOTRACK_API_KEY`` or ``turbotrack
    login``); otherwise from the local storage root (``dir``, else ``$TURBOTRACK_DIR``, else the
    current directory). Either way the same methods, the same run paths (:meth:`RunPath.parse`) and
    the same query language answer the same runs."""

    store: RunStore
    #: The local storage root (None for a server).
    root: Any = None
    base_url: Optional[str] = None

    def __new__(
        cls,
        base_url: Optional[str] = None,
        dir: Optional[Union[str, os.PathLike[str]]] = None,
        api_key: Optional[str] = None,
        **_: Any,
    ) -> Any:
        url = base_url or (None if dir is not None else os.environ.get(BASE_URL_ENV))
        if url and cls is Api:
            from .remote import RemoteApi

            return RemoteApi(url, api_key=api_key)
        return super().__new__(cls)

    def __init__(
        self,
        base_url: Optional[str] = None,
        dir: Optional[Union[str, os.PathLike[str]]] = None,
        api_key: Optional[str] = None,
        **_: Any,
    ) -> None:
        self.root = storage_root(dir)
        self.store = LocalStore(self.root)

    def run(self, path: str) -> Any:
        """The run at ``"entity/project/run_id"`` (or ``"project/run_id"``, or ``"entity/project/runs/run_id"``)."""
        return self.store.open_run(RunPath.parse(path, self.root))

    def runs(
        self,
        path: Optional[str] = None,
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        per_page: int = 50,
    ) -> Runs:
        """Runs of ``"entity/project"`` (every project when ``None``) that match ``filters``, wandb's
        MongoDB-style query (``{"group": g}``, ``{"summary_metrics.acc": {"$gt": 0.9}}``,
        ``{"$or": [{"tags": "x"}, {"config.lr": {"$lte": 0.01}}]}``), sorted by ``order``
        (``"-summary_metrics.best_accuracy"``; default ``"+created_at"``, oldest first). What each
        operator, a missing field and mixed types mean: :mod:`turbotrack.store.query`. A malformed
        query is a ``ValueError`` naming what is wrong. ``per_page`` is accepted as wandb's: every run
        is read at once, so it changes nothing."""
        project = None if path is None else parse_project_path(path)
        return Runs(self.store.runs(project, filters, order), path, filters, order)

    def projects(self) -> list[dict[str, Any]]:
        """Every project that holds a run: entity, project, run_count, last_activity."""
        return self.store.projects()

    def _artifact_path(self, name: str) -> tuple[str, str, str, str]:
        from ..store.artifacts import parse_name

        entity, project, art_name, alias = parse_name(name, default_entity(), "")
        if not project:
            raise ValueError(f"{name!r}: give the project too, as 'project/name:alias' or 'entity/project/name:alias'")
        return entity, project, art_name, alias

    def artifact(self, name: str, type: Optional[str] = None) -> Any:
        """The artifact version ``"entity/project/name:alias"`` (or ``"project/name:alias"``; alias
        ``latest`` when left out); from a server its ``download()`` fetches the files, checked by sha256."""
        art = self.store.artifact(*self._artifact_path(name))
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.name} has type {art.type!r}, not {type!r}")
        return art

    def artifact_versions(self, type_name: str, name: str) -> list[Any]:
        """Every version of artifact ``"entity/project/name"`` (or ``"project/name"``), oldest first."""
        entity, project, art_name, _ = self._artifact_path(name)
        return [a for a in self.store.artifact_versions(entity, project, art_name) if a.type == type_name]
