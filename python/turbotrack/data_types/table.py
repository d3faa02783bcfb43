"""``Table``: rows of values under named columns, stored as a JSON file in the run's media."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

from .._fs import atomic_write_bytes
from ..store.layout import MEDIA_DIR
from .base import Media, media_name

#: wandb's columns for a table made without any.
DEFAULT_COLUMNS = ("Input", "Output", "Expected")
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")


class Table(Media):
    """A table, as wandb's: ``columns`` (default ``["Input", "Output", "Expected"]``) and rows from
    ``data`` (a list of rows, a 2-D NumPy array or a pandas DataFrame), ``rows`` (wandb's older
    name for ``data``) or ``dataframe`` (whose columns win). ``dtype``, ``optional`` and
    ``allow_mixed_types`` are accepted; column types are not enforced. Cells may hold anything
    ``log()`` takes, media (``Image``...) included: each is stored as its own file."""

    _type = "table-file"

    def __init__(
        self,
        columns: Optional[Sequence[Any]] = None,
        data: Any = None,
        rows: Optional[Sequence[Sequence[Any]]] = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: Optional[str] = "IMMUTABLE",
    ) -> None:
        if log_mode not in (*LOG_MODES, None):
            raise ValueError(f"Table: log_mode must be one of {LOG_MODES}, got {log_mode!r}")
        self.log_mode = log_mode
        if dataframe is None and _is_dataframe(data):
            dataframe, data = data, None
        if dataframe is not None:
            columns = list(dataframe.columns)
            data = dataframe.itertuples(index=False, name=None)
        elif data is None:
            data = rows
        if columns is None:
            columns = DEFAULT_COLUMNS
        if isinstance(columns, (str, bytes)) or not all(isinstance(c, (str, int)) for c in columns):
            raise TypeError(f"Table: columns must be a list of strings or ints, got {columns!r}")
        self.columns: list[Any] = list(columns)
        self.data: list[list[Any]] = []
        for row in data if data is not None else []:
            self.add_data(*row)

    def add_data(self, *data: Any) -> None:
        """Append one row; it must have one value per column."""
        if len(data) != len(self.columns):
            raise ValueError(f"This table expects {len(self.columns)} columns: {self.columns}, found {len(data)}")
        self.data.append(list(data))

    def add_row(self, *row: Any) -> None:
        """wandb's older name for :meth:`add_data`."""
        self.add_data(*row)

    def add_column(self, name: str, data: Any, optional: bool = False) -> None:
        """Add column ``name`` with one value per row (``data``: a list or a NumPy array); the first
        column of an empty table makes its rows."""
        if not isinstance(name, str):
            raise TypeError(f"Table.add_column: the name must be a string, got {type(name).__name__}")
        if name in self.columns:
            raise ValueError(f"Table.add_column: the table already has a column {name!r}")
        values = list(data)
        if self.columns and len(values) != len(self.data):
            raise ValueError(f"Table.add_column: column {name!r} has {len(values)} values for {len(self.data)} rows")
        if not self.columns:
            self.data = [[] for _ in values]
        for row, value in zip(self.data, values):
            row.append(value)
        self.columns.append(name)

    def add_computed_columns(self, fn: Callable[[int, dict[Any, Any]], dict[str, Any]]) -> None:
        """Add the columns ``fn(index, row_as_dict)`` returns (a dict of new column → value) for every row."""
        new: dict[str, list[Any]] = {}
        for i, row in self.iterrows():
            made = fn(i, dict(zip(self.columns, row)))
            if not isinstance(made, dict):
                raise TypeError(f"Table.add_computed_columns: fn must return a dict, got {type(made).__name__}")
            for k, v in made.items():
                new.setdefault(k, []).append(v)
        for k, values in new.items():
            self.add_column(k, values)

    def get_column(self, name: Any, convert_to: Optional[str] = None) -> Any:
        """The values of column ``name`` (a NumPy array with ``convert_to="numpy"``)."""
        if name not in self.columns:
            raise KeyError(f"Table.get_column: no column {name!r}; the columns are {self.columns}")
        if convert_to not in (None, "numpy"):
            raise ValueError(f"Table.get_column: convert_to must be None or 'numpy', got {convert_to!r}")
        i = self.columns.index(name)
        values = [row[i] for row in self.data]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        """The row indexes, ``[0, 1, ...]``."""
        return list(range(len(self.data)))

    def index_ref(self, index: int) -> int:
        """The index of row ``index`` (checked)."""
        if not 0 <= index < len(self.data):
            raise IndexError(f"Table.index_ref: no row {index}; the table has {len(self.data)}")
        return index

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for every row, in order."""
        yield from enumerate(self.data)

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame.from_records(self.data, columns=self.columns)

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        body = json.dumps({"columns": self.columns, "data": self._cells(run_dir, key, step)}, allow_nan=True)
        blob = body.encode("utf-8", "surrogatepass")
        out: dict[str, Any] = {"_type": self._type, "ncols": len(self.columns), "nrows": len(self.data)}
        if run_dir is not None:
            rel = Path(MEDIA_DIR) / "table" / media_name(key, step, blob, ".table.json")
            atomic_write_bytes(run_dir / rel, blob)
            out["path"] = rel.as_posix()
        return out

    def _cells(self, run_dir: Path | None, key: str, step: int) -> list[Any]:
        """Every cell as JSON: values as ``log()`` stores them, media as files of their own."""
        from .jsonify import plain

        def media(value: Any, where: str) -> Any:
            return value.to_json(run_dir, f"{key}.{where}", step)

        out = []
        for r, row in enumerate(self.data):
            cells = []
            for c, cell in enumerate(row):
                where = f"{r}.{c}"
                if isinstance(cell, Media) or getattr(cell, "_turbotrack_plot", False):
                    cells.append(media(cell, where))
                else:
                    cells.append(plain(f"{key} (table row {r}, column {self.columns[c]!r})", cell, media, True))
            out.append(cells)
        return out


def _is_dataframe(value: Any) -> bool:
    import sys

    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)
