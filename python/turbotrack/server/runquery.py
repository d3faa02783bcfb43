"""Filters and order of the runs table in SQL, the same on SQLite and PostgreSQL, with the semantics
of the local ``Api.runs(filters=, order=)``.

Every field a filter or an order can name is denormalised into ``run_keys`` (one narrow, indexed
row per run and field: ``num`` for numbers and bools, ``txt`` for strings, ``js`` for a dict or list,
which never sorts; one more row per scalar element of a list, ``elem = 1``), so a sort of 10,000 runs
reads an index, never the wide rows of ``runs``. Names:

- ``summary_metrics.K`` / ``summary.K`` -> ``s.K``; ``config.K`` -> ``c.K`` (a dict's entries are
  flattened as ``K.sub``; a top-level key holding a dot wins over a nested path, as in Python);
- ``name``, ``group``, ``job_type``, ``notes``, ``id``, ``created`` (``created_at``), ``state``
  (``live`` while a rank is recorded as running: resolved at query time), ``runtime`` (as of the
  last refresh), ``tags`` (a list).

A filter is equality (``1 == 1.0 == True``), membership when the stored value is a list and the
wanted one is not, ``{"$in": [...]}``; an order is ``[+-]FIELD``: numbers, then strings, missing
values (absent, null, NaN, dict, list) last in both directions; ties by run id."""

from __future__ import annotations

import json
import math
from typing import Any, Iterator, Optional

_MAX = 1.7976931348623157e308
_ALIASES = {"created_at": "created", "createdAt": "created", "run_id": "id"}
_FIELDS = ("name", "group", "job_type", "notes", "id", "created", "state", "runtime", "tags", "entity", "project")
#: ``state`` of a run with a rank recorded as running: ``running`` or ``crashed`` depends on now.
LIVE = "live"


def key_of(field: str) -> Optional[str]:
    """The ``run_keys.key`` of a filter or order field; None when no run has it."""
    for prefix, short in (("summary_metrics.", "s."), ("summary.", "s."), ("config.", "c.")):
        if field.startswith(prefix):
            return short + field[len(prefix) :]
    field = _ALIASES.get(field, field)
    return field if field in _FIELDS else None


def _scalar(v: Any) -> tuple[Optional[float], Optional[str]]:
    if isinstance(v, bool):
        return float(v), None
    if isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:
            f = math.copysign(_MAX, v)
        if math.isnan(f):
            return None, None
        return (max(-_MAX, min(_MAX, f))), None
    if isinstance(v, str):
        return None, v
    return None, None


def _flatten(prefix: str, d: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, Any]]:
    for k, v in d.items():
        if prefix + str(k) not in seen:
            seen.add(prefix + str(k))
            yield prefix + str(k), v
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(f"{prefix}{k}.", v, seen)


def key_rows(fields: dict[str, Any], config: dict[str, Any], summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``(key, elem, num, txt, js)`` rows of one run: its plain ``fields`` then config and summary."""
    items = list(fields.items())
    items += _flatten("c.", config, set()) if config else []
    items += _flatten("s.", summary, set()) if summary else []
    rows: list[tuple[Any, ...]] = []
    for key, v in items:
        if isinstance(v, (dict, list, tuple)):
            rows.append((key, 0, None, None, json.dumps(v, separators=(",", ":"), default=str, allow_nan=True)))
            for e in v if isinstance(v, (list, tuple)) else ():
                num, txt = _scalar(e)
                if num is not None or txt is not None:
                    rows.append((key, 1, num, txt, None))
            continue
        num, txt = _scalar(v)
        if num is not None or txt is not None:
            rows.append((key, 0, num, txt, None))
    return rows


class Sql:
    """A fragment of SQL with its ``?`` parameters, in order."""

    def __init__(self, text: str, params: Optional[list[Any]] = None) -> None:
        self.text = text
        self.params = list(params or [])


_SAME_RUN = "k.entity = b.entity AND k.project = b.project AND k.run_id = b.run_id AND k.key = ?"


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
    """SQL for one project's runs; ``running``: ids of the live runs alive now."""

    def __init__(self, running: set[str]) -> None:
        self.running = sorted(running)

    def _exists(self, key: str, cond: Sql) -> Sql:
        return Sql(f"EXISTS (SELECT 1 FROM run_keys k WHERE {_SAME_RUN} AND {cond.text})", [key, *cond.params])

    def _value(self, key: str, want: Any, elements: bool) -> Sql:
        """The run's ``key`` equals ``want`` (or, with ``elements``, is a list holding it)."""
        if want is None:
            return Sql(f"NOT {self._exists(key, Sql('k.elem = 0')).text}", [key])
        elem = "" if elements else "k.elem = 0 AND "
        if isinstance(want, (dict, list, tuple)):
            return self._exists(key, Sql("k.elem = 0 AND k.js = ?", [json.dumps(want, separators=(",", ":"))]))
        num, txt = _scalar(want)
        if key == "state" and txt is not None:
            s = _state_txt("k", self.running)
            return self._exists(key, Sql(f"{s.text} = ?", [*s.params, txt]))
        if num is not None:
            return self._exists(key, Sql(f"{elem}k.num = ?", [num]))
        if txt is not None:
            return self._exists(key, Sql(f"{elem}k.txt = ?", [txt]))
        return Sql("(1 = 0)")

    def where(self, filters: Optional[dict[str, Any]]) -> Sql:
        """``AND``-ed conditions on the base row ``b`` (empty when there are none)."""
        out = Sql("")
        for field, want in (filters or {}).items():
            key = key_of(str(field))
            if isinstance(want, dict) and "$in" in want:
                wants = list(want["$in"] or [])
                if key is None:
                    cond = Sql("(1 = 1)" if None in wants else "(1 = 0)")
                elif not wants:
                    cond = Sql("(1 = 0)")
                else:
                    items = [self._value(key, w, False) for w in wants]
                    cond = Sql("(" + " OR ".join(i.text for i in items) + ")", [p for i in items for p in i.params])
            elif key is None:
                cond = Sql("(1 = 1)" if want is None else "(1 = 0)")
            else:
                cond = self._value(key, want, not isinstance(want, (list, tuple, dict)))
            out = Sql(f"{out.text} AND {cond.text}", out.params + cond.params)
        return out

    def order(self, order: Optional[str]) -> tuple[Sql, Sql]:
        """``(join, order_by)``: the LEFT JOIN of the sort key ``o`` and the ``ORDER BY`` clause."""
        order = order or "-created"
        desc = " DESC" if order.startswith("-") else ""
        key = key_of(order.lstrip("+-"))
        if key is None:
            return Sql(""), Sql("ORDER BY b.run_id")
        join = Sql(
            "LEFT JOIN run_keys o ON o.entity = b.entity AND o.project = b.project AND o.run_id = b.run_id "
            "AND o.key = ? AND o.elem = 0",
            [key],
        )
        if key == "state":
            s = _state_txt("o", self.running)
            return join, Sql(f"ORDER BY {s.text}{desc} NULLS LAST, b.run_id", s.params)
        return join, Sql(f"ORDER BY o.num{desc} NULLS LAST, o.txt{desc} NULLS LAST, b.run_id")


__all__ = ["LIVE", "RunQuery", "Sql", "key_of", "key_rows"]
