"""The numbers a panel draws, written as CSV tables a spreadsheet or pandas opens.

A table is {column name: values}, one value per row, its first column the row's t or
training step ("t", "step"); the names say the quantity, the unit it belongs to and, where
it has one, its unit of measure ("h unit 3", "loss (nats)"). Numbers are written with 9
significant digits (float32 round-trips), booleans as 0 and 1, missing values (NaN) as
empty cells, text (a token column beside t) as it is. Each file is written atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnnviz.core.atomic import write_atomic


def table_paths(names: list[str], path: str | Path) -> list[Path]:
    """Where each table goes: `path` itself for one table, else one file a table beside it,
    named by the table ("gradients.csv" -> "gradients-time.csv", "gradients-steps.csv")."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        path = path.with_name(path.name + ".csv")
    if len(names) == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{name}.csv") for name in names]


def csv_text(table: Mapping[str, np.ndarray]) -> str:
    """The table as CSV text: a header row of names, then one row per value."""
    columns = [np.asarray(v) for v in table.values()]
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    cells = [_cells(c) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(table))
    writer.writerows(zip(*cells, strict=True))
    return out.getvalue()


def _cells(values: np.ndarray) -> list[str]:
    if values.dtype.kind in "UO":  # tokens
        return [str(v) for v in values]
    if values.dtype == bool:
        return [str(int(v)) for v in values]
    if np.issubdtype(values.dtype, np.integer):
        return [str(int(v)) for v in values]
    return ["" if np.isnan(v) else f"{v:.9g}" for v in values.astype(np.float64)]


def write_tables(tables: Mapping[str, Mapping[str, np.ndarray]], path: str | Path) -> list[Path]:
    """Write each table as CSV (see table_paths for where); the paths written."""
    paths = table_paths(list(tables), path)
    for target, table in zip(paths, tables.values(), strict=True):
        text = csv_text(table).encode("utf-8")
        write_atomic(target, lambda f, text=text: f.write(text))
    return paths


def padded(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The table with every column as long as its longest, empty cells (NaN) at the end of
    the shorter ones (runs of different lengths side by side)."""
    n = max((len(v) for v in table.values()), default=0)
    return {
        name: np.concatenate([np.asarray(v, np.float64), np.full(n - len(v), np.nan)])
        if len(v) < n
        else np.asarray(v)
        for name, v in table.items()
    }


def on_common_rows(
    key: str, series: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Series of (row keys, values) in one table: a row for every key any of them has (the
    training steps of several runs), the column `key` first, empty cells where a series has
    no value."""
    rows = np.unique(np.concatenate([np.asarray(k) for k, _ in series.values()] or [[]]))
    table = {key: rows.astype(np.int64)}
    for name, (keys, values) in series.items():
        column = np.full(len(rows), np.nan)
        column[np.searchsorted(rows, keys)] = values
        table[name] = column
    return table
