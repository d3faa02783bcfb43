"""Runs read from a server (``Api(base_url=...)``): :class:`RemoteStore`, the run store over the
server's HTTP API (through :mod:`.http`), and its runs with the local runs' surface."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import quote

from .._artifact_manifest import ManifestError, check_manifest
from . import query, sql, types
from .base import RunStore, check_page
from .client import Client, ServerError, run_url
from .layout import RunPath
from .local import _dense

__all__ = ["RemoteFile", "RemoteRun", "RemoteStore", "RemoteSummary"]


@dataclass(frozen=True)
class RemoteFile:
    """A file of a run on a server: ``name``, ``size``, ``url`` (``download()`` fetches it)."""

    name: str
    size: int
    url: str
    _client: Any = None

    def download(self) -> bytes:
        """The file's bytes."""
        status, _, data = self._client.request("GET", self.url)
        if status >= 400:
            raise ServerError(status, data[:200].decode(errors="replace"))
        return bytes(data)


class RemoteSummary(MutableMapping):
    """A run's summary on a server. Assign, then ``update()`` (with or without items) to save it there."""

    def __init__(self, run: RemoteRun, items: dict[str, Any]) -> None:
        self._run = run
        self._items = dict(items)
        self._dirty: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._items[key] = value
        self._dirty[key] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]
        self._dirty[key] = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def update(self, other: Any = None, /, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge ``other`` and ``kwargs`` in, then POST the changes to the server (also with no argument)."""
        new = dict(other or {}, **kwargs)
        self._items.update(new)
        self._dirty.update(new)
        out = self._run._client.json("POST", self._run._url("summary"), json.dumps(self._dirty, default=str).encode())
        self._items = _revive(dict(out.get("summary", self._items)))
        self._dirty = {}

    def __repr__(self) -> str:
        return f"RemoteSummary({self._items!r})"


_NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _revive(obj: Any) -> Any:
    """The server's JSON sends a NaN or infinite float as "NaN", "Infinity" or "-Infinity" (RFC 8259 has
    no such numbers): the floats again."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: _revive(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_revive(v) for v in obj]
    return obj


class RemoteRun:
    """A run on a server, as ``Api(base_url=...).run(path)`` returns it."""

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self._data = data
        self.entity: str = data["entity"]
        self.project: str = data["project"]
        self.id: str = data["id"]
        self.name: str = data.get("name") or self.id
        self.group: Optional[str] = data.get("group")
        self.job_type: Optional[str] = data.get("job_type")
        self.tags: list[str] = data.get("tags") or []
        self.notes: Optional[str] = data.get("notes")
        self.created_at: float = data.get("created") or 0.0
        self.config: dict[str, Any] = _revive(data.get("config") or {})
        self.summary = RemoteSummary(self, _revive(data.get("summary") or {}))

    def _url(self, *rest: str) -> str:
        return run_url(self.entity, self.project, self.id, *rest)

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def url(self) -> str:
        return RunPath(None, self.entity, self.project, self.id).page_url(self._client.base_url)

    @property
    def state(self) -> str:
        """``running``, ``finished``, ``failed`` or ``crashed``, as the server sees it now."""
        return str(self._client.json("GET", self._url())["state"])

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._client.json("GET", self._url()).get("metadata") or {})

    def history(
        self,
        keys: Optional[Sequence[str]] = None,
        x_axis: str = "_step",
        samples: Optional[int] = None,
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """As the local ``history``: a DataFrame (rows as dicts with ``pandas=False``); with
        ``samples``, at most that many rows kept by M4 on the server."""
        query: dict[str, Any] = {"x_axis": x_axis, "stream": "system" if stream == "system" else "history"}
        if keys is not None:
            query["keys"] = ",".join(keys)
        if samples is not None:
            query["samples"] = int(samples)
        out = self._client.json("GET", self._url("history"), query=query)
        columns: dict[str, list[Any]] = _revive(out["columns"])
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                pass
            else:
                n = out["rows"]
                return pd.DataFrame({k: _dense(_sparse(v), n) for k, v in columns.items()}, index=range(n))
        n = out["rows"]
        rows = [{k: v[i] for k, v in columns.items() if v[i] is not None} for i in range(n)]
        for k, at in out.get("nulls", {}).items():  # logged as None: the key is in those rows
            for i in at:
                rows[i][k] = None
        return rows

    def scan_history(self, keys: Optional[Sequence[str]] = None, page_size: int = 10000) -> Iterator[dict[str, Any]]:
        """Every row as a dict, in step order (with ``keys``: rows holding all of them), paged."""
        offset: Optional[int] = 0
        while offset is not None:
            query: dict[str, Any] = {"offset": offset, "limit": page_size}
            if keys is not None:
                query["keys"] = ",".join(keys)
            out = self._client.json("GET", self._url("rows"), query=query)
            yield from _revive(out["rows"])
            offset = out["next"]

    def files(self) -> list[RemoteFile]:
        """The run's files (history streams excluded, as locally)."""
        out = self._client.json("GET", self._url("files"))["files"]
        return [
            RemoteFile(f["name"], f["size"], self._url("files", *f["name"].split("/")), self._client)
            for f in out
            if f["kind"] != "stream"
        ]

    def __repr__(self) -> str:
        return f"<turbotrack RemoteRun {self.path} ({self._data.get('state')})>"


class RemoteStore(RunStore):
    """The runs of a server (its HTTP API), authenticated by ``api_key`` (else ``$TURBOTRACK_API_KEY``
    or ``turbotrack login``'s file): what ``Api(base_url=...)`` reads."""

    def __init__(self, base_url: str, api_key: Optional[str] = None) -> None:
        self.base_url = base_url
        self.location = base_url
        self._client = Client(base_url, api_key)

    def open_run(self, path: RunPath) -> RemoteRun:
        try:
            return RemoteRun(self._client, self._client.json("GET", run_url(path.entity, path.project, path.run_id)))
        except ServerError as e:
            if e.status == 404:
                raise ValueError(f"no run {path.path} on {self.base_url}") from None
            raise

    def _project_runs(
        self,
        entity: str,
        project: str,
        filters: Optional[dict[str, Any]],
        order: Optional[str],
        limit: Optional[int],
        offset: int,
    ) -> list[RemoteRun]:
        params: dict[str, Any] = {"order": order or query.DEFAULT_ORDER}
        if filters is not None:
            params["filters"] = json.dumps(filters)
        if limit is not None:
            params["limit"] = limit
        if offset:
            params["offset"] = offset
        url = f"/api/v1/runs/{quote(entity, safe='')}/{quote(project, safe='')}"
        try:
            found = self._client.json("GET", url, query=params)["runs"]
        except ServerError as err:
            if err.status == 400:
                raise ValueError(f"{err.body.get('error') or err} (from {self.base_url})") from None
            raise
        return [RemoteRun(self._client, r) for r in found]

    def runs(
        self,
        project: Optional[tuple[str, str]],
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        limit: Optional[int] = None,
        offset: int = 0,
    ) -> list[RemoteRun]:
        """As :meth:`RunStore.runs`, from the server's index: one project's page is cut by the
        server (its SQL); every project's runs come whole and are merged into one order here."""
        check_page(limit, offset)
        if project is not None:
            return self._project_runs(*project, filters, order, limit, offset)
        out: list[RemoteRun] = []
        for p in self.projects():
            out.extend(self._project_runs(p["entity"], p["project"], filters, order, None, 0))
        # each project came sorted; one order over all, as locally
        everything = query.parse(None)
        return sql.select(
            out, lambda r: (r.entity, r.project, r.id), _rows, everything, query.parse_order(order), limit, offset
        )

    def projects(self) -> list[dict[str, Any]]:
        """The server's projects: entity, project, run_count, last_activity."""
        return list(self._client.json("GET", "/api/v1/projects")["projects"])

    def artifact(self, entity: str, project: str, name: str, alias: str) -> Any:
        """Version ``name:alias`` on the server; its ``download()`` fetches the files, checked by sha256."""
        base = "/api/v1/artifacts/" + "/".join(quote(p, safe="") for p in (entity, project))
        try:
            out = self._client.json("GET", f"{base}/versions/{quote(name, safe='')}/{quote(alias, safe='')}")
        except ServerError as e:
            if e.status == 404:
                raise ValueError(f"no artifact {entity}/{project}/{name}:{alias} on {self.base_url}") from None
            if e.status == 409:  # a manifest on the server that fails the server's own check
                raise ValueError(f"{e.body.get('error') or e} (from {self.base_url})") from None
            raise
        try:  # what the server sent passes the check an upload passes, or nothing is downloaded
            m = check_manifest(out.get("manifest") if isinstance(out, dict) else None)
        except ManifestError as e:
            where = f"{entity}/{project}/{name}:{alias} from {self.base_url}"
            raise ValueError(f"artifact {where} is refused: {e}") from None
        version, aliases = out.get("version"), out.get("aliases") or []
        if not isinstance(version, int) or isinstance(version, bool) or version < 0 or not isinstance(aliases, list):
            raise ValueError(
                f"artifact {entity}/{project}/{name}:{alias} from {self.base_url} is refused: "
                f"its version {version!r} or aliases {aliases!r} are not what a server sends"
            )
        client = self._client

        def fetch(digest: str) -> bytes:
            status, _, data = client.request("GET", f"{base}/blobs/{digest}")
            if status >= 400:
                raise ServerError(status, data[:200].decode(errors="replace"))
            return bytes(data)

        return types.remote_artifact(name, m, version, [str(a) for a in aliases], entity, project, fetch)

    def artifact_versions(self, entity: str, project: str, name: str) -> list[Any]:
        base = "/api/v1/artifacts/" + "/".join(quote(p, safe="") for p in (entity, project))
        try:
            out = self._client.json("GET", f"{base}/versions/{quote(name, safe='')}")
        except ServerError as e:
            if e.status == 404:
                return []
            raise
        numbers = sorted(int(v[1:]) for v in (out.get("versions") or {}) if v[1:].isdigit())
        return [self.artifact(entity, project, name, f"v{n}") for n in numbers]


def _rows(run: RemoteRun) -> list[tuple[Any, ...]]:
    """A run as the query reads it, from what the server sent (its state as of the listing)."""
    d = run._data
    fields = query.plain_fields(
        run_id=run.id,
        name=run.name,
        state=d.get("state"),
        group=run.group,
        job_type=run.job_type,
        notes=run.notes,
        tags=run.tags,
        created=d.get("created"),
    )
    return query.key_rows(fields, run.config, dict(run.summary))


def _sparse(column: list[Any]) -> tuple[Any, Any]:
    """A JSON column (None: no value) as the local reader's ``(values, at)``, typed as the local one is:
    bools and ints as NumPy arrays (so the DataFrame gets the same nullable dtypes), else a list."""
    import numpy as np

    at = [i for i, v in enumerate(column) if v is not None]
    values = [column[i] for i in at]
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.bool_), np.array(at, dtype=np.int64)
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64), np.array(at, dtype=np.int64)
    if all(isinstance(v, float) for v in values):
        return np.array(values, dtype=np.float64), np.array(at, dtype=np.int64)
    return values, np.array(at, dtype=np.int64)
