"""The runs query (:mod:`turbotrack.store.query`: what a filter and an order mean) compiled to SQL,
the same on SQLite and PostgreSQL, parameterised: the one evaluator of a query. The server runs it
over its index; :func:`select` runs it over runs in hand (the local store's, or a remote listing of
several projects merged) in an in-memory SQLite table of the same rows.

Every field a query can name is denormalised into ``run_keys`` by
:func:`~turbotrack.store.query.key_rows` (one narrow, indexed row per run and field, one more per
scalar element of a list). A condition on a field is ``b.run_id IN (the ids of the project's runs
whose rows of that key match)``: a subquery that does not depend on the run, so it is evaluated once
per query, by value through the indexes ``run_keys_txt``/``run_keys_num`` (``entity, project, key,
value, run_id``). Equalities on one key and kind, as ``$in`` makes them, are one ``IN (...)`` list,
not one subquery per value (a 300-value ``$in`` over 10,000 runs was 300 subqueries per run). A sort
reads one ``LEFT JOIN``-ed row per run, so sorting 10,000 runs never reads the wide rows of
``runs``.

``state`` is stored as recorded, except ``live`` while a rank is recorded as running: that is
resolved at query time with the ids of the runs alive now (``running``). ``$regex`` is Python's
``re.search`` on SQLite (a function registered on the connection, see ``db.py``) and ``~`` on
PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Callable, Optional, Sequence, TypeVar

from .query import And, Cmp, Exists, Node, Not, Or, Order, Regex

#: ``state`` of a run with a rank recorded as running: ``running`` or ``crashed`` depends on now.
LIVE = "live"
#: The SQLite function that ``$regex`` calls: ``tt_regexp(pattern, ignore_case, text)``.
REGEXP_FUNCTION = "tt_regexp"

_SQL_OPS = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_COLUMN = {"num": "k.num", "txt": "k.txt"}


class Sql:
    """A fragment of SQL with its ``?`` parameters, in order."""

    def __init__(self, text: str, params: Optional[list[Any]] = None) -> None:
        self.text = text
        self.params = list(params or [])


def _state_txt(alias: str, running: list[str]) -> Sql:
    """A run's state from its ``state`` row ``alias``: ``live`` resolved with the ids ``running``."""
    if not running:
        return Sql(f"(CASE WHEN {alias}.txt = '{LIVE}' THEN 'crashed' ELSE {alias}.txt END)")
    marks = ", ".join("?" * len(running))
    return Sql(
        f"(CASE WHEN {alias}.txt = '{LIVE}' THEN (CASE WHEN {alias}.run_id IN ({marks}) THEN 'running' "
        f"ELSE 'crashed' END) ELSE {alias}.txt END)",
        list(running),
    )


class RunQuery:
    """SQL for one project's runs, over the base row ``b`` (a run's ``id`` row). ``running``: ids of
    the live runs alive now; ``postgres``: the dialect; ``entity`` and ``project``: the project the
    conditions' subqueries read (None: the base row's, a subquery evaluated per run)."""

    def __init__(
        self,
        running: set[str],
        postgres: bool = False,
        entity: Optional[str] = None,
        project: Optional[str] = None,
    ) -> None:
        self.running = sorted(running)
        self.postgres = postgres
        self.entity = entity
        self.project = project

    def _txt(self, alias: str, key: str) -> Sql:
        return _state_txt(alias, self.running) if key == "state" else Sql(f"{alias}.txt")

    def _exists(self, key: str, cond: Sql) -> Sql:
        """True for the runs with a row of ``key`` that ``cond`` (over ``k``) holds for."""
        if self.entity is None or self.project is None:
            same = "k.entity = b.entity AND k.project = b.project AND k.run_id = b.run_id AND k.key = ?"
            return Sql(f"EXISTS (SELECT 1 FROM run_keys k WHERE {same} AND {cond.text})", [key, *cond.params])
        return Sql(
            "b.run_id IN (SELECT k.run_id FROM run_keys k WHERE k.entity = ? AND k.project = ? AND k.key = ? "
            f"AND {cond.text})",
            [self.entity, self.project, key, *cond.params],
        )

    def _value(self, node: Cmp) -> Sql:
        """The column a comparison of ``node``'s kind reads (``state`` resolved)."""
        if node.kind == "txt":
            return self._txt("k", node.key)
        return Sql(_COLUMN.get(node.kind, "k.js"))

    def _cmp(self, node: Cmp) -> Sql:
        op = _SQL_OPS[node.op]
        value = self._value(node)
        if node.kind in ("num", "txt"):
            return self._exists(node.key, Sql(f"{value.text} {op} ?", [*value.params, node.value]))
        if node.kind == "bool":
            return self._exists(node.key, Sql(f"k.js IN ('true', 'false') AND k.js {op} ?", [node.value]))
        return self._exists(node.key, Sql("k.elem = 0 AND k.js = ?", [node.value]))

    def _in(self, key: str, kind: str, values: list[Any]) -> Sql:
        """The equalities ``key == v`` for ``v`` in ``values`` (one kind), as one ``IN`` list."""
        if len(values) == 1:
            return self._cmp(Cmp(key, "eq", kind, values[0]))
        marks = ", ".join("?" * len(values))
        value = self._value(Cmp(key, "eq", kind, None))
        if kind == "js":
            return self._exists(key, Sql(f"k.elem = 0 AND k.js IN ({marks})", values))
        return self._exists(key, Sql(f"{value.text} IN ({marks})", [*value.params, *values]))

    def _regex(self, node: Regex) -> Sql:
        txt = self._txt("k", node.key)
        if self.postgres:
            op = "~*" if node.ignore_case else "~"
            return self._exists(node.key, Sql(f"{txt.text} {op} ?", [*txt.params, node.pattern]))
        cond = Sql(f"{REGEXP_FUNCTION}(?, ?, {txt.text}) = 1", [node.pattern, int(node.ignore_case), *txt.params])
        return self._exists(node.key, cond)

    def _or(self, nodes: tuple[Node, ...]) -> list[Sql]:
        """The parts of an ``OR``: equalities on one key and kind merged into one ``IN`` list each."""
        groups: dict[tuple[str, str], list[Any]] = {}
        parts: list[Optional[Sql]] = []
        slots: dict[tuple[str, str], int] = {}
        for n in nodes:
            if isinstance(n, Cmp) and n.op == "eq" and n.kind != "bool":
                k = (n.key, n.kind)
                if k not in groups:
                    groups[k] = []
                    slots[k] = len(parts)
                    parts.append(None)
                if n.value not in groups[k]:
                    groups[k].append(n.value)
            else:
                parts.append(self.condition(n))
        for k, values in groups.items():
            parts[slots[k]] = self._in(k[0], k[1], values)
        return [p for p in parts if p is not None]

    def condition(self, node: Node) -> Sql:
        """The SQL of a parsed query: true for the runs it matches."""
        if isinstance(node, (And, Or)):
            if not node.nodes:
                return Sql("(1 = 1)" if isinstance(node, And) else "(1 = 0)")
            parts = self._or(node.nodes) if isinstance(node, Or) else [self.condition(n) for n in node.nodes]
            joiner = " AND " if isinstance(node, And) else " OR "
            return Sql("(" + joiner.join(p.text for p in parts) + ")", [x for p in parts for x in p.params])
        if isinstance(node, Not):
            inner = self.condition(node.node)
            return Sql(f"(NOT {inner.text})", inner.params)
        if isinstance(node, Exists):
            return self._exists(node.key, Sql("k.elem = 0"))
        if isinstance(node, Regex):
            return self._regex(node)
        return self._cmp(node)

    def where(self, node: Node) -> Sql:
        """``AND`` and the condition, to follow a WHERE clause (empty when the query is every run)."""
        if isinstance(node, And) and not node.nodes:
            return Sql("")
        cond = self.condition(node)
        return Sql(f" AND {cond.text}", cond.params)

    def order(self, order: Order) -> tuple[Sql, Sql]:
        """``(join, order_by)``: the LEFT JOIN of the sort row ``o`` and the ``ORDER BY`` clause:
        numbers, strings, bools, missing; each kind by value; ties by run id (by code point)."""
        join = Sql(
            "LEFT JOIN run_keys o ON o.entity = b.entity AND o.project = b.project AND o.run_id = b.run_id "
            "AND o.key = ? AND o.elem = 0",
            [order.key],
        )
        txt = self._txt("o", order.key)
        desc = " DESC" if order.desc else ""
        rank = (
            "(CASE WHEN o.num IS NOT NULL THEN 0 WHEN o.txt IS NOT NULL THEN 1 "
            "WHEN o.js IN ('true', 'false') THEN 2 ELSE 3 END)"
        )
        bools = "(CASE WHEN o.js IN ('true', 'false') THEN o.js END)"
        run_id = 'b.run_id COLLATE "C"' if self.postgres else "b.run_id"
        return join, Sql(f"ORDER BY {rank}, o.num{desc}, {txt.text}{desc}, {bools}{desc}, {run_id}", txt.params)


def regexp(pattern: str, ignore_case: int, text: Optional[str]) -> int:
    """``$regex`` on SQLite (registered as :data:`REGEXP_FUNCTION`): Python's ``re.search``."""
    if text is None:
        return 0
    return int(re.search(pattern, text, re.IGNORECASE if ignore_case else 0) is not None)


#: ``run_keys`` as :func:`select` holds it (the server's index has the same columns, see db.py).
_KEYS_TABLE = (
    "CREATE TABLE run_keys (entity TEXT NOT NULL, project TEXT NOT NULL, run_id TEXT NOT NULL, "
    "key TEXT NOT NULL, elem INTEGER NOT NULL, num DOUBLE PRECISION, txt TEXT, js TEXT)"
)
_KEYS_INDEX = "CREATE INDEX run_keys_key ON run_keys (entity, project, key, run_id, elem, num, txt)"

T = TypeVar("T")


def select(
    items: Sequence[T],
    ident: Callable[[T], tuple[str, str, str]],
    rows: Callable[[T], list[tuple[Any, ...]]],
    node: Node,
    order: Order,
    limit: Optional[int] = None,
    offset: int = 0,
) -> list[T]:
    """The ``items`` (runs) that match ``node``, sorted by ``order``, the page ``[offset, offset +
    limit)`` of them: the SQL the server runs, over an in-memory table of each item's
    :func:`~turbotrack.store.query.key_rows` (``rows``), ``ident`` being its (entity, project, run
    id). Ties go by run id, then entity and project. States are as ``rows`` gives them (resolved)."""
    by_id: dict[tuple[str, str, str], T] = {}
    con = sqlite3.connect(":memory:")
    try:
        con.create_function(REGEXP_FUNCTION, 3, regexp, deterministic=True)
        con.execute(_KEYS_TABLE)
        for x in items:
            key = ident(x)
            by_id[key] = x
            con.executemany("INSERT INTO run_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(*key, *r) for r in rows(x)])
        con.execute(_KEYS_INDEX)
        q = RunQuery(set())
        where = q.where(node)
        join, order_by = q.order(order)
        sql = (
            f"SELECT b.entity, b.project, b.run_id FROM run_keys b {join.text} "
            f"WHERE b.key = 'id' AND b.elem = 0{where.text} {order_by.text}, b.entity, b.project"
        )
        args = join.params + where.params + order_by.params
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, max(0, offset)]
        found = con.execute(sql, args).fetchall()
    finally:
        con.close()
    return [by_id[tuple(r)] for r in found]  # type: ignore[index]


__all__ = ["LIVE", "REGEXP_FUNCTION", "RunQuery", "Sql", "regexp", "select"]
