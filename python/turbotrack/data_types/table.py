"""``Table``: rows of values under named columns, stored as a JSON file in the run's media."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Sequence

from .._fs import atomic_write_bytes
from ..store.layout import MEDIA_DIR
from .base import Media, media_name


class Table(Media):
    """A table with ``columns`` and rows ``data`` (or a pandas ``dataframe``). ``add_data(*row)``
    appends a row."""

    _type = "table-file"

    def __init__(
        self,
        columns: Optional[Sequence[str]] = None,
        data: Optional[Sequence[Sequence[Any]]] = None,
        dataframe: Any = None,
    ) -> None:
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.itertuples(index=False, name=None)
        self.columns: list[str] = list(columns or [])
        self.data: list[list[Any]] = []
        for row in data or []:
            self.add_data(*row)

    def add_data(self, *row: Any) -> None:
        """Append one row; it must have one value per column."""
        if self.columns and len(row) != len(self.columns):
            raise ValueError(f"a row of this table needs {len(self.columns)} values ({self.columns}), got {len(row)}")
        self.data.append([_plain(v) for v in row])

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        body = json.dumps({"columns": self.columns, "data": self.data}, default=str).encode()
        out: dict[str, Any] = {"_type": self._type, "ncols": len(self.columns), "nrows": len(self.data)}
        if run_dir is not None:
            rel = Path(MEDIA_DIR) / "table" / media_name(key, step, body, ".table.json")
            atomic_write_bytes(run_dir / rel, body)
            out["path"] = rel.as_posix()
        return out

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.data, columns=self.columns or None)

    def get_column(self, name: str, convert_to: Optional[str] = None) -> Any:
        """The values of column ``name`` (a NumPy array with ``convert_to="numpy"``)."""
        values = [row[self.columns.index(name)] for row in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values


def _plain(v: Any) -> Any:
    item = getattr(v, "item", None)
    if callable(item) and getattr(v, "ndim", 0) == 0:
        return item()
    return v
