"""Dated CSV tables, as the price and returns files of any vendor write them.

What the parsers of such files share: the text (a UTF-8 byte-order mark or Latin-1 bytes
allowed, CRLF or LF), columns found by name whatever their case or position, dates in the
forms vendors write (`2024-12-30`, `2024-12-30 00:00:00-05:00`, `20241230`, `Dec 30, 2024`),
and the rule that dates run one way (oldest or newest first) and a date listed twice must
repeat the same row.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd

from backtest.errors import DataError

# a date column is found by one of these names (case-insensitive) unless the catalog names it
DATE_NAMES = ("date", "datetime", "timestamp")
MISSING_TOKENS = frozenset({"", "null", "nan", "none", "n/a", "na", "-", "--"})

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T].*)?$")
_COMPACT = re.compile(r"^\d{8}$")


def read_rows(data: bytes) -> list[list[str]]:
    """The CSV rows of a file's bytes."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return list(csv.reader(text.splitlines()))


def folded(name: str) -> str:
    """A column name compared loosely: 'Adj Close', 'adj_close' and 'adjClose' are one."""
    return re.sub(r"[\s_\-]", "", name).casefold()


def find_column(columns: list[str], wanted: str, source: str, what: str) -> int:
    """The position of the column named `wanted` (case and spacing ignored); a DataError naming
    the file and its columns if there is none."""
    for i, name in enumerate(columns):
        if folded(name) == folded(wanted):
            return i
    raise DataError(f"{source}: no {what} column {wanted!r} (columns: {', '.join(columns)})")


def date_column(columns: list[str], wanted: str | None, source: str) -> int | None:
    """The date column: the one named `wanted`, else the first named date/Date/timestamp; None
    when there is no such column."""
    if wanted is not None:
        return find_column(columns, wanted, source, "date")
    return next((i for i, name in enumerate(columns) if folded(name) in DATE_NAMES), None)


def parse_dates(raw: list[str], lines: list[int], source: str) -> pd.DatetimeIndex:
    """Dates as written by vendors; a DataError naming the line of the first that is none."""
    text = pd.Series(raw, dtype=object)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    iso = text.str.match(_ISO)
    compact = text.str.match(_COMPACT)
    if iso.any():
        parsed[iso] = pd.to_datetime(text[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if compact.any():
        parsed[compact] = pd.to_datetime(text[compact], format="%Y%m%d", errors="coerce")
    other = ~(iso | compact)
    if other.any():
        parsed[other] = pd.to_datetime(text[other], format="%b %d, %Y", errors="coerce")
    if parsed.isna().any():
        k = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(f"{source}: line {lines[k]}: {raw[k]!r} is not a date (expected YYYY-MM-DD, YYYYMMDD or 'Dec 30, 2024')")
    return pd.DatetimeIndex(parsed, name="date")


def out_of_order(dates: pd.DatetimeIndex) -> tuple[np.ndarray, bool]:
    """Positions k where the date turns back against the file's direction (oldest first, or newest
    first as in Yahoo's web export, told by the first and last dates), and whether it is newest first."""
    steps = np.diff(dates.asi8)
    newest_first = len(dates) > 1 and dates[0] > dates[-1]
    return np.flatnonzero(steps > 0 if newest_first else steps < 0) + 1, newest_first


def check_order(dates: pd.DatetimeIndex, lines: list[int], source: str) -> None:
    """Dates must run one way; a file that turns back somewhere is damaged, and sorting it would
    hide that."""
    wrong, newest_first = out_of_order(dates)
    if len(wrong):
        k = int(wrong[0])
        order = "newest first" if newest_first else "oldest first"
        raise DataError(f"{source}: line {lines[k]}: date {dates[k].date()} is out of order after "
                        f"{dates[k - 1].date()} (the file runs {order})")


def conflicting_dates(index: pd.DatetimeIndex, rows: list[tuple[str, ...]]) -> list[pd.Timestamp]:
    """The dates listed more than once whose rows (every field, as written) differ, ascending: a
    row repeated whole is one row read twice; two different rows for a date are a conflict."""
    repeated = index.duplicated(keep=False)
    if not repeated.any():
        return []
    keyed = pd.Series(rows, index=index)[repeated]
    return [date for date, group in keyed.groupby(level=0) if len(set(group)) > 1]


def ascending(frame: pd.DataFrame, lines: list[int], rows: list[tuple[str, ...]], source: str) -> pd.DataFrame:
    """The rows of a dated table (in file order) checked and sorted oldest first: dates run one
    way, and a date listed twice repeats the same row (kept once) or is a DataError."""
    check_order(frame.index, lines, source)
    if frame.index.has_duplicates:
        differing = conflicting_dates(frame.index, rows)
        if differing:
            raise DataError(f"{source}: date {differing[0].date()} listed twice with different values")
        frame = frame[~frame.index.duplicated(keep="first")]
    return frame.sort_index(kind="stable")
