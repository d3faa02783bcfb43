"""One meaning for ``Api().runs(path, filters=, order=)``: wandb's MongoDB-style query, parsed once.

:func:`parse` turns a ``filters`` dict into a small tree (:class:`Node`); :func:`parse_order` an
``order`` string into an :class:`Order`. The tree has one evaluator, the SQL of :mod:`.sql`: over the
server's index, and over an in-memory table for the local store (:func:`.sql.select`). It reads a
run through one normal form, :func:`key_rows`: one row ``(key, elem, num, txt, js)`` per field
(``elem = 1``: one more per scalar element of a list), so each rule below is written once.

Fields
    ``config.K`` and ``summary_metrics.K`` (also ``summary.K``): a dict's entries are reached with dots
    (``summary_metrics.loss.max``); a key that itself holds a dot wins over a nested path. wandb's stored
    form ``config.K.value`` means ``config.K``. ``state``, ``name`` (also ``display_name``: the run's
    display name, as ``run.name``), ``id`` (also ``run_id``), ``group``, ``job_type``, ``notes``,
    ``tags`` (a list), ``created_at`` (also ``createdAt``; Unix seconds, compared as times: an ISO 8601
    string in the query, without a zone meaning UTC, is turned into them). Any other field is a
    ``ValueError`` naming it.

Values
    Numbers (ints and floats) compare as float64; bools are their own type (``True`` is not ``1``);
    strings compare by code point; a list or dict equals only the same JSON (keys sorted). An int beyond
    float64's range counts as the largest finite float of its sign.

Missing
    A field is *missing* when the run lacks it, or holds ``null`` or NaN (NaN is never stored as a
    number). ``{"f": None}`` and ``{"f": {"$eq": None}}`` match a missing field; ``$exists: True`` a
    present one. Every other comparison fails on a missing field, so its negations (``$ne``, ``$nin``,
    ``$not``) match it, as in MongoDB.

Operators
    ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex`` (with ``$options: "i"``) and ``$not`` on a
    field; ``$and $or $nor`` (lists of queries) and ``$not`` (a query) at the top. A dict's keys are
    ``$and``-ed; ``{"f": v}`` is ``{"f": {"$eq": v}}``. Comparing across types never matches
    (``{"$gt": 1}`` fails on ``"x"``). A list field matches when the list itself or one of its scalar
    elements matches (``{"tags": "x"}``, ``{"tags": {"$in": ["x", "y"]}}``); ``$regex`` tests strings
    only (Python's ``re.search``; PostgreSQL's ``~`` on a PostgreSQL index, the same for common
    patterns). An unknown operator or a malformed query is a ``ValueError`` naming it.

Limits
    A query is at most :data:`MAX_QUERY_BYTES` of JSON, nested at most :data:`MAX_QUERY_DEPTH` deep,
    names fields at most :data:`MAX_QUERY_FIELDS` times, and gives ``$in``/``$nin`` at most
    :data:`MAX_IN_VALUES` values; over one, it is a ``ValueError`` naming the limit (a server
    answers 400), the same locally and on a server.

Order
    ``[+|-]FIELD``, no sign ascending; default ``+created_at`` (oldest first, as wandb). Values sort by
    kind, numbers, then strings, then bools, in that order in both directions, each kind by value in the
    direction asked; missing values (and lists and dicts) come last in both directions. Ties, in both
    directions, by run id ascending.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional, Sequence, Union

__all__ = [
    "DEFAULT_ORDER",
    "MAX_IN_VALUES",
    "MAX_QUERY_BYTES",
    "MAX_QUERY_DEPTH",
    "MAX_QUERY_FIELDS",
    "MAX_REGEX_CHARS",
    "And",
    "Cmp",
    "Exists",
    "Node",
    "Not",
    "Or",
    "Order",
    "Regex",
    "key_of",
    "key_rows",
    "keys_in",
    "parse",
    "parse_order",
    "plain_fields",
]

DEFAULT_ORDER = "+created_at"
#: The most JSON a query may be (bytes, as compact JSON): a 1,000-value ``$in`` of short values fits,
#: and so does its URL-encoded form in a request line (HTTP servers refuse lines over 16-64 KiB).
MAX_QUERY_BYTES = 8 * 1024
#: The deepest a query may nest (dicts and lists).
MAX_QUERY_DEPTH = 32
#: The most times a query may name a field.
MAX_QUERY_FIELDS = 100
#: The most values one ``$in`` or ``$nin`` may list.
MAX_IN_VALUES = 1000
#: A ``$regex`` pattern's length; nested unbounded repeats are refused too (see ``_regex``): Python's
#: ``re`` cannot be interrupted, so a catastrophic pattern would hold the process.
MAX_REGEX_CHARS = 256
_MAX = 1.7976931348623157e308
#: Plain fields: what a query may name -> the key of its rows.
_PLAIN = {
    "id": "id",
    "run_id": "id",
    "name": "name",
    "display_name": "name",
    "displayName": "name",
    "state": "state",
    "group": "group",
    "job_type": "job_type",
    "jobType": "job_type",
    "notes": "notes",
    "tags": "tags",
    "created_at": "created",
    "createdAt": "created",
    "created": "created",  # what older clients sent
}
_PREFIXES = (("config.", "c."), ("summary_metrics.", "s."), ("summary.", "s."))
_COMPARE = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_FIELD_OPS = ("$eq", "$ne", *_COMPARE, "$in", "$nin", "$exists", "$regex", "$options", "$not")
_LOGICAL = ("$and", "$or", "$nor", "$not")

# ---- the normal form of a run ----


def canonical(v: Any) -> str:
    """The JSON a list or dict is compared by (keys sorted, no spaces)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), default=str, allow_nan=True)


def _scalar(v: Any) -> Optional[tuple[Optional[float], Optional[str], Optional[str]]]:
    """``(num, txt, js)`` of a scalar; None for a missing one (None, NaN) or one that is not scalar."""
    if isinstance(v, bool):
        return None, None, "true" if v else "false"
    if isinstance(v, (int, float)):
        try:
            f = float(v)
        except OverflowError:  # an int beyond float64: the largest finite float of its sign
            f = _MAX if v > 0 else -_MAX
        return None if math.isnan(f) else (f, None, None)
    if isinstance(v, str):
        return None, v, None
    return None


def _flatten(prefix: str, d: dict[str, Any], seen: set[str]) -> Iterator[tuple[str, Any]]:
    """Every entry of ``d`` and of the dicts in it, as ``prefix + dotted path``; a path met first
    (a top-level key holding a dot, say) wins over the same path met deeper."""
    for k, v in d.items():
        if prefix + str(k) not in seen:
            seen.add(prefix + str(k))
            yield prefix + str(k), v
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(f"{prefix}{k}.", v, seen)


def plain_fields(
    *,
    run_id: str,
    name: Optional[str],
    state: Optional[str],
    group: Optional[str],
    job_type: Optional[str],
    notes: Optional[str],
    tags: Sequence[str],
    created: Optional[float],
) -> dict[str, Any]:
    """A run's plain fields, keyed as :func:`key_rows` takes them (both stores build them here)."""
    return {
        "id": run_id,
        "name": name,
        "state": state,
        "group": group,
        "job_type": job_type,
        "notes": notes,
        "tags": list(tags),
        "created": created,
    }


def key_rows(fields: dict[str, Any], config: dict[str, Any], summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    """``(key, elem, num, txt, js)`` rows of one run: its plain ``fields`` (keyed as :func:`key_of`
    names them: ``id``, ``name``, ``state``, ``created``, ...), then its config and summary."""
    items = list(fields.items())
    items += _flatten("c.", config, set()) if config else []
    items += _flatten("s.", summary, set()) if summary else []
    rows: list[tuple[Any, ...]] = []
    for key, v in items:
        if isinstance(v, (dict, list, tuple)):
            rows.append((key, 0, None, None, canonical(v)))
            for e in v if isinstance(v, (list, tuple)) else ():
                cell = _scalar(e)
                if cell is not None:
                    rows.append((key, 1, *cell))
            continue
        cell = _scalar(v)
        if cell is not None:
            rows.append((key, 0, *cell))
    return rows


# ---- the parsed form ----


@dataclass(frozen=True)
class Exists:
    """The field ``key`` is present (not missing)."""

    key: str


@dataclass(frozen=True)
class Cmp:
    """The field ``key`` (or an element of it) compares ``op`` (eq, gt, gte, lt, lte) with an operand
    of ``kind`` num, txt or bool (``value``: its float, its text, ``"true"``/``"false"``); or, for
    ``kind`` js, equals the list or dict whose JSON is ``value``."""

    key: str
    op: str
    kind: str
    value: Any


@dataclass(frozen=True)
class Regex:
    """The field ``key`` (or an element of it) is a string that ``pattern`` finds (``ignore_case``)."""

    key: str
    pattern: str
    ignore_case: bool


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Union[Exists, Cmp, Regex, Not, And, Or]


@dataclass(frozen=True)
class Order:
    """``key`` (the rows' key), ``desc``, and ``field`` as written."""

    key: str
    desc: bool
    field: str


def key_of(field: Any) -> str:
    """The rows' key of a query or order field; ``ValueError`` for a field no run has."""
    if isinstance(field, str):
        for prefix, short in _PREFIXES:
            if field.startswith(prefix) and len(field) > len(prefix):
                rest = field[len(prefix) :]
                if short == "c." and rest.endswith(".value") and len(rest) > len(".value"):
                    rest = rest[: -len(".value")]  # wandb's stored form of a config value
                return short + rest
        if field in _PLAIN:
            return _PLAIN[field]
    raise ValueError(
        f"unknown run field {field!r} in the query: use config.KEY, summary_metrics.KEY (summary_metrics.KEY.max "
        f"for a summary dict) or one of {', '.join(sorted(_PLAIN))}"
    )


def _time(field: str, v: Any) -> Any:
    """A ``created_at`` operand: ISO 8601 text as Unix seconds (UTC when it names no zone)."""
    if not isinstance(v, str):
        return v
    try:
        t = datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith("Z") else v)
    except ValueError:
        raise ValueError(f"{field}: {v!r} is not an ISO 8601 time (like '2024-05-01T12:00:00')") from None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()


def _operand(field: str, key: str, op: str, v: Any) -> tuple[str, Any]:
    """``(kind, value)`` of a comparison's operand (see :class:`Cmp`)."""
    if key == "created":
        v = _time(field, v)
    if isinstance(v, (dict, list, tuple)) and op == "eq":
        return "js", canonical(v)
    cell = _scalar(v)
    if cell is None:
        what = "a number, a string or a bool" + (", a list or a dict" if op == "eq" else "")
        raise ValueError(f"{field}: the operand of ${op} must be {what}, got {v!r}")
    num, txt, js = cell
    return ("num", num) if num is not None else ("txt", txt) if txt is not None else ("bool", js)


def _eq(field: str, key: str, v: Any) -> Node:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return Not(Exists(key))
    return Cmp(key, "eq", *_operand(field, key, "eq", v))


def _values(field: str, op: str, v: Any) -> list[Any]:
    if not isinstance(v, (list, tuple)):
        raise ValueError(f"{field}: {op} takes a list, got {v!r}")
    if len(v) > MAX_IN_VALUES:
        raise ValueError(
            f"{field}: {op} lists {len(v)} values, over the limit of {MAX_IN_VALUES} (MAX_IN_VALUES): "
            "split the query, or filter on a field the runs share"
        )
    return list(v)


def _check_size(filters: dict[str, Any]) -> None:
    """``ValueError`` naming the limit a query is over: its JSON size, its nesting, its fields."""
    try:
        size = len(json.dumps(filters, separators=(",", ":"), default=repr, allow_nan=True).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as e:
        raise ValueError(f"the query cannot be read as JSON: {e}") from None
    if size > MAX_QUERY_BYTES:
        raise ValueError(f"the query is {size} bytes of JSON, over the limit of {MAX_QUERY_BYTES} (MAX_QUERY_BYTES)")
    todo: list[tuple[Any, int]] = [(filters, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_QUERY_DEPTH:
            raise ValueError(f"the query nests deeper than the limit of {MAX_QUERY_DEPTH} (MAX_QUERY_DEPTH)")
        if isinstance(node, dict):
            todo.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, (list, tuple)):
            todo.extend((v, depth + 1) for v in node)


def _field(field: str, key: str, want: Any) -> Node:
    """The condition on one field: an operator dict, or a value it must equal."""
    if not (isinstance(want, dict) and any(isinstance(k, str) and k.startswith("$") for k in want)):
        return _eq(field, key, want)
    plain = [k for k in want if not (isinstance(k, str) and k.startswith("$"))]
    if plain:
        raise ValueError(f"{field}: operators and plain keys mixed in {want!r} (plain: {plain!r})")
    nodes: list[Node] = []
    for op, v in want.items():
        if op == "$eq":
            nodes.append(_eq(field, key, v))
        elif op == "$ne":
            nodes.append(Not(_eq(field, key, v)))
        elif op in _COMPARE:
            nodes.append(Cmp(key, _COMPARE[op], *_operand(field, key, _COMPARE[op], v)))
        elif op == "$in":
            nodes.append(Or(tuple(_eq(field, key, x) for x in _values(field, op, v))))
        elif op == "$nin":
            nodes.append(Not(Or(tuple(_eq(field, key, x) for x in _values(field, op, v)))))
        elif op == "$exists":
            if not isinstance(v, bool):
                raise ValueError(f"{field}: $exists takes true or false, got {v!r}")
            nodes.append(Exists(key) if v else Not(Exists(key)))
        elif op == "$regex":
            nodes.append(_regex(field, key, v, want.get("$options", "")))
        elif op == "$options":
            if "$regex" not in want:
                raise ValueError(f"{field}: $options goes with $regex")
        elif op == "$not":
            if not isinstance(v, dict) or not v:
                raise ValueError(f"{field}: $not takes an operator dict like {{'$gt': 1}}, got {v!r}")
            nodes.append(Not(_field(field, key, v if any(str(k).startswith("$") for k in v) else {"$eq": v})))
        else:
            raise ValueError(f"{field}: unknown operator {op!r} (known: {', '.join(_FIELD_OPS)})")
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _unbounded_repeat_inside_another(pattern: str) -> bool:
    """Whether the pattern repeats without bound a part made only of repeats, one of them unbounded
    (``(a+)+``, ``(x*)*``, ``(\\w+\\s?)+``): the shape whose backtracking takes exponential time.
    ``[a-z]+(-[a-z]+)*`` passes (the ``-`` each repetition must match)."""
    try:
        from re import _parser as sre  # type: ignore[attr-defined]
    except ImportError:  # Python < 3.11
        import sre_parse as sre

    unbounded = sre.MAXREPEAT

    def only_repeats(items: Any) -> tuple[bool, bool]:
        """(every element may repeat or be skipped, one repeats without bound)."""
        free = False
        for op, av in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, hi, _ = av
                if lo > 0 and hi <= 1:  # exactly once: a fixed element
                    return False, False
                free = free or hi == unbounded
            elif name == "SUBPATTERN":
                ok, inner = only_repeats(av[-1])
                if not ok:
                    return False, False
                free = free or inner
            elif name in ("AT", "ASSERT", "ASSERT_NOT"):
                continue
            else:
                return False, False
        return True, free

    def walk(items: Any) -> bool:
        for op, av in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT"):
                _, hi, sub = av
                if hi == unbounded and only_repeats(sub) == (True, True):
                    return True
                if walk(sub):
                    return True
            elif name == "SUBPATTERN" and walk(av[-1]):
                return True
            elif name == "BRANCH" and any(walk(b) for b in av[1]):
                return True
            elif name in ("ASSERT", "ASSERT_NOT") and walk(av[1]):
                return True
        return False

    return walk(sre.parse(pattern))


def _regex(field: str, key: str, pattern: Any, options: Any) -> Regex:
    if not isinstance(pattern, str):
        raise ValueError(f"{field}: $regex takes a pattern string, got {pattern!r}")
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(
            f"{field}: $regex is {len(pattern)} characters, over the limit of {MAX_REGEX_CHARS} (MAX_REGEX_CHARS)"
        )
    if options not in ("", "i"):
        raise ValueError(f"{field}: $options {options!r} is not supported (only 'i', ignore case)")
    try:
        re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{field}: $regex {pattern!r} is not a regular expression: {e}") from None
    if _unbounded_repeat_inside_another(pattern):
        raise ValueError(
            f"{field}: $regex {pattern[:60]!r} repeats a repetition without bound (like '(a+)+'), which can "
            "take exponential time: write it without the nested repeat"
        )
    return Regex(key, pattern, options == "i")


def parse(filters: Optional[dict[str, Any]]) -> Node:
    """The tree of a ``filters`` query (``None`` or ``{}``: every run); ``ValueError`` naming what
    is wrong in a malformed one."""
    if filters is None:
        return And(())
    if not isinstance(filters, dict):
        raise ValueError(f"filters must be a dict (a MongoDB-style query), got {type(filters).__name__}")
    _check_size(filters)
    return _parse(filters, [0])


def _parse(filters: dict[str, Any], fields: list[int]) -> Node:
    """The tree of a query; ``fields[0]`` counts the fields named so far (:data:`MAX_QUERY_FIELDS`)."""
    nodes: list[Node] = []
    for k, v in filters.items():
        if isinstance(k, str) and k.startswith("$"):
            if k not in _LOGICAL:
                raise ValueError(f"unknown operator {k!r} at the top of the query (known: {', '.join(_LOGICAL)})")
            if k == "$not":
                if not isinstance(v, dict):
                    raise ValueError(f"$not takes a query dict, got {v!r}")
                nodes.append(Not(_parse(v, fields)))
                continue
            if not isinstance(v, (list, tuple)) or not v or not all(isinstance(q, dict) for q in v):
                raise ValueError(f"{k} takes a non-empty list of query dicts, got {v!r}")
            parts = tuple(_parse(q, fields) for q in v)
            nodes.append(And(parts) if k == "$and" else Or(parts) if k == "$or" else Not(Or(parts)))
        else:
            fields[0] += 1
            if fields[0] > MAX_QUERY_FIELDS:
                raise ValueError(f"the query names more than {MAX_QUERY_FIELDS} fields, the limit (MAX_QUERY_FIELDS)")
            nodes.append(_field(str(k), key_of(k), v))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def parse_order(order: Optional[str]) -> Order:
    """``[+|-]FIELD`` (None or ``""``: ``+created_at``)."""
    order = order or DEFAULT_ORDER
    if not isinstance(order, str):
        raise ValueError(f"order must be a string like '-summary_metrics.acc', got {order!r}")
    field = order[1:] if order[:1] in "+-" else order
    return Order(key_of(field.strip()), order.startswith("-"), field)


def keys_in(node: Node) -> set[str]:
    """The rows' keys a tree reads."""
    if isinstance(node, (And, Or)):
        return set().union(*(keys_in(n) for n in node.nodes))
    if isinstance(node, Not):
        return keys_in(node.node)
    return {node.key}
