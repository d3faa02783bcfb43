"""Reading a summary both ways: ``summary["train.loss"]`` and ``summary["train"]["loss"]`` (or
``summary.train.loss``) for a metric logged as ``{"train": {"loss": ...}}``, whose summary is stored under
its dotted name. One rule for the run's summary in-process and the Api's."""

from __future__ import annotations

from typing import Any, Mapping


class Nested(dict):  # type: ignore[type-arg]
    """A dict of the summary (a group of dotted metrics, or a dict value) that also reads by attribute."""

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, Nested):
        return Nested({k: _wrap(v) for k, v in value.items()})
    return value


def lookup(flat: Mapping[str, Any], key: str) -> Any:
    """``flat[key]``; else the metrics under ``key.`` as nested dicts; else KeyError."""
    if key in flat:
        return _wrap(flat[key])
    prefix = key + "."
    out: dict[str, Any] = {}
    for name, value in flat.items():
        if name.startswith(prefix):
            node = out
            *parents, leaf = name[len(prefix) :].split(".")
            for part in parents:
                child = node.get(part)
                node = node.setdefault(part, {}) if not isinstance(child, dict) else child
            node[leaf] = value
    if not out:
        raise KeyError(key)
    return _wrap(out)


def contains(flat: Mapping[str, Any], key: object) -> bool:
    """Whether ``lookup(flat, key)`` finds something."""
    if not isinstance(key, str):
        return False
    return key in flat or any(name.startswith(key + ".") for name in flat)
