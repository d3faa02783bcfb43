"""The run-store interface: what every reader of runs goes through (``turbotrack.Api``, the CLI's
readers, the server's listing), whether the runs are on this disk (:class:`~.local.LocalStore`) or
on a server (:class:`turbotrack.api.remote.RemoteStore`).

A store answers runs by :class:`~.layout.RunPath`, lists them with one query language
(:mod:`.query`: wandb's MongoDB-style ``filters`` and ``order``, paged by ``limit`` and ``offset``),
and hands out run objects that offer the :class:`StoredRun` surface. Both stores resolve a run's
state with :func:`.runinfo.resolve_state`; tests/test_query_parity.py and tests/test_run_state.py
check that they answer the same.
"""

from __future__ import annotations

import abc
from typing import Any, Iterator, Optional, Protocol, Sequence, runtime_checkable

from .layout import RunPath


@runtime_checkable
class StoredRun(Protocol):
    """What a store's run offers (a local ``LocalRun`` or a server's ``RemoteRun``)."""

    entity: str
    project: str
    id: str
    name: str
    config: Any
    summary: Any

    @property
    def path(self) -> str: ...

    @property
    def state(self) -> str: ...

    def history(
        self,
        keys: Optional[Sequence[str]] = None,
        x_axis: str = "_step",
        samples: Optional[int] = None,
        pandas: bool = True,
        stream: str = "default",
    ) -> Any: ...

    def scan_history(self, keys: Optional[Sequence[str]] = None, page_size: int = ...) -> Iterator[dict[str, Any]]: ...

    def files(self) -> list[Any]: ...


class RunStore(abc.ABC):
    r"""Where runs are read from; its runs are :class:`StoredRun`\ s."""

    #: Where the store reads (a storage root's path, or a server's URL), for messages.
    location: str

    @abc.abstractmethod
    def open_run(self, path: RunPath) -> Any:
        """The run at ``path``; ``ValueError`` naming it when there is none."""

    @abc.abstractmethod
    def runs(
        self,
        project: Optional[tuple[str, str]],
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        offset: int = 0,
    ) -> list[Any]:
        """The runs of ``project`` (``(entity, project)``; every project when None) that match
        ``filters``, sorted by ``order`` (:mod:`.query`), then ``[offset, offset + limit)`` of them.
        A malformed query is a ``ValueError`` naming what is wrong."""

    @abc.abstractmethod
    def projects(self) -> list[dict[str, Any]]:
        """Every project that holds a run: ``entity``, ``project``, ``run_count``, ``last_activity``."""

    @abc.abstractmethod
    def artifact(self, entity: str, project: str, name: str, alias: str) -> Any:
        """Artifact version ``name:alias`` of a project, as an ``Artifact``; ``ValueError`` when absent."""

    @abc.abstractmethod
    def artifact_versions(self, entity: str, project: str, name: str) -> list[Any]:
        """Every version of artifact ``name`` of a project, oldest first."""


def check_page(limit: Optional[int], offset: int) -> tuple[Optional[int], int]:
    """``limit`` (None: no limit) and ``offset`` as a store takes them; ``ValueError`` naming the argument."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative int, got {offset!r}")
    return limit, offset


def page(items: list[Any], limit: Optional[int], offset: int) -> list[Any]:
    """``items[offset : offset + limit]`` (every item from ``offset`` when ``limit`` is None)."""
    limit, offset = check_page(limit, offset)
    return items[offset:] if limit is None else items[offset : offset + limit]


__all__ = ["RunStore", "StoredRun", "check_page", "page"]
