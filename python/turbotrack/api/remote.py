"""Runs read from a server (``Api(base_url=...)``): the local Api's surface over the HTTP API."""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import quote

from .. import artifacts
from .._artifact_manifest import ManifestError, check_manifest
from .._fs import atomic_write_bytes
from ..artifacts import Artifact
from ..settings import default_entity
from ..store import query
from ..store.layout import RunPath, parse_project_path
from ..store.local import _dense
from ..sync.client import Client, ServerError, run_url
from .runs import Runs

__all__ = ["RemoteApi", "RemoteArtifact", "RemoteFile", "RemoteRun", "RemoteSummary"]


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
        e, p, r = (quote(x, safe="") for x in (self.entity, self.project, self.id))
        return f"{self._client.base_url}/{e}/{p}/runs/{r}"

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


class RemoteApi:
    """``Api(base_url=..., api_key=...)``: read runs from a server."""

    def __init__(self, base_url: str, api_key: Optional[str] = None) -> None:
        self.base_url = base_url
        self._client = Client(base_url, api_key)

    def run(self, path: str) -> RemoteRun:
        """The run at ``"entity/project/run_id"`` (or ``"project/run_id"``)."""
        rp = RunPath.parse(path)
        entity, project, run_id = rp.entity, rp.project, rp.run_id
        try:
            return RemoteRun(self._client, self._client.json("GET", run_url(entity, project, run_id)))
        except ServerError as e:
            if e.status == 404:
                raise ValueError(f"no run {entity}/{project}/{run_id} on {self.base_url}") from None
            raise

    def runs(
        self,
        path: Optional[str] = None,
        filters: Optional[dict[str, Any]] = None,
        order: Optional[str] = None,
        per_page: int = 50,
    ) -> Runs:
        """Runs of ``"entity/project"`` (every project when ``None``) from the server's index: the
        query is sent as is and means what it means locally (:mod:`turbotrack.store.query`); a
        malformed one is a ``ValueError`` with the server's message. ``per_page`` (wandb's) changes
        nothing: every run comes in one answer."""
        if path is None:
            projects = [(p["entity"], p["project"]) for p in self._client.json("GET", "/api/v1/projects")["projects"]]
        else:
            projects = [parse_project_path(path)]
        out: list[RemoteRun] = []
        for e, p in projects:
            params: dict[str, Any] = {"order": order or query.DEFAULT_ORDER}
            if filters is not None:
                params["filters"] = json.dumps(filters)
            url = f"/api/v1/runs/{quote(e, safe='')}/{quote(p, safe='')}"
            try:
                found = self._client.json("GET", url, query=params)["runs"]
            except ServerError as err:
                if err.status == 400:
                    raise ValueError(f"{err.body.get('error') or err} (from {self.base_url})") from None
                raise
            out.extend(RemoteRun(self._client, r) for r in found)
        if len(projects) > 1:  # each project came sorted; one order over all, as locally
            out = query.sort_runs(out, query.parse_order(order), _cells, lambda r: (r.id, r.entity, r.project))
        return Runs(out, path, filters, order)

    def projects(self) -> list[dict[str, Any]]:
        """The server's projects: entity, project, run_count, last_activity."""
        return list(self._client.json("GET", "/api/v1/projects")["projects"])

    def artifact(self, name: str, type: Optional[str] = None) -> Artifact:
        """The artifact version ``"entity/project/name:alias"`` (or ``"project/name:alias"``; alias
        ``latest`` when left out) on the server; its ``download()`` fetches the files, checked by sha256."""
        entity, project, art_name, alias = artifacts.parse_name(name, default_entity(), "")
        if not project:
            raise ValueError(f"{name!r}: give the project too, as 'project/name:alias' or 'entity/project/name:alias'")
        base = "/api/v1/artifacts/" + "/".join(quote(p, safe="") for p in (entity, project))
        try:
            out = self._client.json("GET", f"{base}/versions/{quote(art_name, safe='')}/{quote(alias, safe='')}")
        except ServerError as e:
            if e.status == 404:
                raise ValueError(f"no artifact {entity}/{project}/{art_name}:{alias} on {self.base_url}") from None
            if e.status == 409:  # a manifest on the server that fails the server's own check
                raise ValueError(f"{e.body.get('error') or e} (from {self.base_url})") from None
            raise
        try:  # what the server sent passes the check an upload passes, or nothing is downloaded
            m = check_manifest(out.get("manifest") if isinstance(out, dict) else None)
        except ManifestError as e:
            where = f"{entity}/{project}/{art_name}:{alias} from {self.base_url}"
            raise ValueError(f"artifact {where} is refused: {e}") from None
        art = RemoteArtifact(art_name, m["type"], m.get("description"), m.get("metadata"))
        for path, f in m["files"].items():
            art._add(artifacts.ArtifactEntry(path, f["digest"], f.get("size"), ref=f.get("ref")), True)
        version, aliases = out.get("version"), out.get("aliases") or []
        if not isinstance(version, int) or isinstance(version, bool) or version < 0 or not isinstance(aliases, list):
            raise ValueError(
                f"artifact {entity}/{project}/{art_name}:{alias} from {self.base_url} is refused: "
                f"its version {version!r} or aliases {aliases!r} are not what a server sends"
            )
        art._version = version
        art._aliases = [str(a) for a in aliases]
        art.entity, art.project = entity, project
        art.created_at, art.logged_by = m.get("created_at"), m.get("logged_by")
        art._client, art._base = self._client, base
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.name} has type {art.type!r}, not {type!r}")
        return art


class RemoteArtifact(Artifact):
    """An artifact version on a server: files are fetched by ``download()`` and checked by sha256."""

    _client: Client
    _base: str

    def _materialize(self, entry: artifacts.ArtifactEntry, root: Path) -> str:
        if entry.ref is not None:  # a URI the server keeps; never read from this machine (no file://)
            raise FileNotFoundError(
                f"reference {entry.ref} of {self.qualified_name} (entry {entry.path!r}) is not fetched from a server"
            )
        dest = self._target(entry, root)  # refused before a byte is fetched
        status, _, data = self._client.request("GET", f"{self._base}/blobs/{entry.digest}")
        if status >= 400:
            raise ServerError(status, data[:200].decode(errors="replace"))
        if hashlib.sha256(data).hexdigest() != entry.digest:
            raise ValueError(f"{entry.path} of {self.qualified_name}: the bytes received do not hash to {entry.digest}")
        atomic_write_bytes(dest, data)  # replaces whatever is at dest, never writes through it
        return str(root / entry.path)


def _cells(run: RemoteRun) -> dict[str, list[query.Cell]]:
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
    return query.cells_of(query.key_rows(fields, run.config, dict(run.summary)))


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
