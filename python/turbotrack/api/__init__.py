"""The public API for reading runs back: ``turbotrack.Api``."""

from __future__ import annotations

import os
from typing import Any, Optional, Union

from ..settings import ENV, default_entity
from ..store.layout import RunPath, parse_project_path, storage_root
from ..store.local import LocalRun, inside, list_runs, open_run
from .runs import Runs

__all__ = ["Api", "LocalRun", "Runs"]


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

    def run(self, path: str) -> LocalRun:
        """The run at ``"entity/project/run_id"`` (or ``"project/run_id"``, or ``"entity/project/runs/run_id"``)."""
        rp = RunPath.parse(path, self.root)
        return open_run(inside(self.root, [rp.entity, rp.project, rp.run_id]))

    def artifact(self, name: str, type: Optional[str] = None) -> Any:
        """The artifact version ``"entity/project/name:alias"`` (or ``"project/name:alias"``; alias
        ``latest`` when left out)."""
        from .. import artifacts

        entity, project, art_name, alias = artifacts.parse_name(name, default_entity(), "")
        if not project:
            raise ValueError(f"{name!r}: give the project too, as 'project/name:alias' or 'entity/project/name:alias'")
        art = artifacts.load(self.root / entity / project, art_name, alias)
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.name} has type {art.type!r}, not {type!r}")
        return art

    def artifact_versions(self, type_name: str, name: str) -> list[Any]:
        """Every version of artifact ``"entity/project/name"`` (or ``"project/name"``), oldest first."""
        from .. import artifacts

        entity, project, art_name, _ = artifacts.parse_name(name, default_entity(), "")
        folder = self.root / entity / project / artifacts.ARTIFACTS_DIR / art_name
        numbers = sorted(int(p.stem[1:]) for p in folder.glob("v*.json") if p.stem[1:].isdigit())
        found = [artifacts.load(self.root / entity / project, art_name, f"v{n}") for n in numbers]
        return [a for a in found if a.type == type_name]

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
        if path is None:
            folders = [p for e in sorted(self.root.glob("*")) for p in sorted(e.glob("*"))]
        else:
            folders = [inside(self.root, list(parse_project_path(path)))]
        return Runs(list_runs(folders, filters, order), path, filters, order)
