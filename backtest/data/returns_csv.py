"""Parser for a CSV of daily returns: a date column and one column per series.

    Date,Fund A,Fund B            (a date column named date/Date/timestamp, or named by `date=`)
    2024-01-02,0.52,-0.10         (YYYY-MM-DD, YYYYMMDD or 'Jan 2, 2024'; oldest or newest first)

Values are in percent (0.52 means +0.52 %) or fractions, as the catalog's `unit` says. An empty
field (or `null`, `NaN`, ...) and any value listed in `missing` (e.g. -99.99) are missing (NaN);
anything else that is not a number, an infinite value, a malformed date, a row of the wrong
width, a date listed twice with different values or dates that turn back are DataErrors naming
the file and the line or date.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from backtest.data import table
from backtest.errors import DataError

UNITS = {"percent": 100.0, "fraction": 1.0}


def parse(data: bytes, source: str, unit: str, date: str | None = None, missing: Sequence[float] = ()) -> pd.DataFrame:
    """Returns as fractions, one float64 column per series, DatetimeIndex 'date' ascending."""
    frame, lines, full = _read(data, source, unit, date, missing)
    return table.ascending(frame, lines, full, source)


def rows(data: bytes, source: str, unit: str, date: str | None = None, missing: Sequence[float] = ()
         ) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]]]:
    """The rows in file order (no order or duplicate checks), their 1-based line numbers and every
    field as written: what `backtest data validate` inspects."""
    return _read(data, source, unit, date, missing)


def _read(data: bytes, source: str, unit: str, date: str | None, missing: Sequence[float]
          ) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]]]:
    rows_ = table.read_rows(data)
    if not rows_:
        raise DataError(f"{source}: empty returns file")
    header = [f.strip() for f in rows_[0]]
    date_at = table.date_column(header, date, source)
    if date_at is None:
        raise DataError(f"{source}: no date column in the header {','.join(header)[:80]!r} (expected one named "
                        f"{', '.join(table.DATE_NAMES)}, or one named by the catalog's date:)")
    columns = [name for i, name in enumerate(header) if i != date_at]
    if not columns or any(not name for name in columns):
        raise DataError(f"{source}: line 1: every column needs a name (header {','.join(header)[:80]!r})")
    if len(set(columns)) != len(columns):
        raise DataError(f"{source}: line 1: duplicate column names (header {','.join(header)[:80]!r})")

    dates: list[str] = []
    values: list[list[str]] = []
    full: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, row in enumerate(rows_[1:], 2):
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        if len(fields) != len(header):
            raise DataError(f"{source}: line {line} has {len(fields)} fields, expected {len(header)}")
        dates.append(fields[date_at])
        values.append([v for i, v in enumerate(fields) if i != date_at])
        full.append(tuple(fields))
        lines.append(line)
    if not dates:
        raise DataError(f"{source}: no rows of returns")
    index = table.parse_dates(dates, lines, source)
    array = _numbers(np.array(values, dtype=object), index, lines, columns, source)
    array[np.isin(array, np.asarray(missing, dtype="float64"))] = np.nan
    return pd.DataFrame(array / UNITS[unit], index=index, columns=columns), lines, full


def _numbers(text: np.ndarray, dates: pd.DatetimeIndex, lines: list[int], columns: list[str], source: str) -> np.ndarray:
    """The fields as float64, NaN where missing; a DataError naming the first that is no number."""
    out = np.full(text.shape, np.nan)
    for j, name in enumerate(columns):
        column = pd.Series(text[:, j], dtype=object)
        blank = column.str.lower().isin(table.MISSING_TOKENS).to_numpy()
        numbers = pd.to_numeric(column.where(~blank, "nan"), errors="coerce").to_numpy(dtype="float64")
        bad = (np.isnan(numbers) & ~blank) | np.isinf(numbers)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise DataError(f"{source}: line {lines[k]} (date {dates[k].date()}), column {name!r}: "
                            f"{column.iloc[k]!r} is not a number")
        out[:, j] = numbers
    return out
