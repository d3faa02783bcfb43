"""``Api().runs(...)``'s answer: a list of runs, as wandb's ``Runs`` is used (len, index, slices, iteration)."""

from __future__ import annotations

from typing import Any, Iterable, Optional


class Runs(list):  # type: ignore[type-arg]
    """The runs that matched a query, in its order; ``path``, ``filters`` and ``order`` say which.

    Unlike wandb's ``Runs`` every run is fetched at once (the server answers from its index), so
    ``len()`` and indexing never wait on a page."""

    def __init__(
        self, runs: Iterable[Any], path: Optional[str], filters: Optional[dict[str, Any]], order: Optional[str]
    ) -> None:
        super().__init__(runs)
        self.path = path
        self.filters: dict[str, Any] = dict(filters or {})
        self.order = order or "+created_at"

    def __repr__(self) -> str:
        return f"<Runs {self.path or '(every project)'} ({len(self)})>"


__all__ = ["Runs"]
