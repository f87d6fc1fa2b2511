"""Parser for Yahoo-style daily price files, in every form found in the wild:

* classic download: `Date,Open,High,Low,Close,Adj Close,Volume`;
* yfinance `to_csv` with a three-line header: `Price,Adj Close,Close,...` / `Ticker,^SPX,...` /
  `Date,,,...` (and the same with the `Ticker`/`Date` lines missing);
* any other column order, e.g. `Date,Close,High,Low,Open,Volume` (no `Adj Close`);
* the web page's "historical data" table export: UTF-8 byte-order mark, CRLF, `"Dec 30, 2024"`
  dates newest first, quoted thousands separators, and event rows (`"Dec 20, 2024",1.966
  Dividend,,,,,`, `... 1231:1000 Stock Splits,,,,,`: one field holding an amount or ratio then
  words, the rest empty) which are not prices and are skipped.

The price is `Adj Close` where the file has it, else `Close`. Dates are sorted ascending. A
missing price (empty, `null`, `NaN`) stays NaN; a price <= 0, an unparseable value or a date
listed twice with different values is a DataError naming the file and the date (a row repeated
identically is kept once). Dates must run one way (oldest or newest first): a file whose dates
turn back is a DataError naming the line.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd

from backtest.errors import DataError

PRICE_FIELDS = ("Adj Close", "Close")
MISSING_TOKENS = frozenset({"", "null", "nan", "none", "n/a", "na", "-", "--"})

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T].*)?$")
# "1.966 Dividend", "1231:1000 Stock Splits", "0.5 Capital Gain": an amount or ratio, then words
_EVENT = re.compile(r"^[\d.,:/]+\s*[A-Za-z]")


def _header(rows: list[list[str]], source: str) -> tuple[list[str], int]:
    """Column names (first = date) and the index of the first data row."""
    if not rows:
        raise DataError(f"{source}: empty price file")
    first = [f.strip() for f in rows[0]]
    if first[0] == "Price":  # yfinance multi-line header
        start = 1
        while start < len(rows) and rows[start] and rows[start][0].strip() in ("Ticker", "Date") \
                and (rows[start][0].strip() == "Ticker" or not any(f.strip() for f in rows[start][1:])):
            start += 1
        return ["Date", *first[1:]], start
    if first[0].lower() in ("date", "datetime"):
        return ["Date", *first[1:]], 1
    raise DataError(f"{source}: not a Yahoo price file (header {','.join(first)[:80]!r}; expected Date,...,Close,...)")


def parse(data: bytes, source: str) -> pd.DataFrame:
    """Prices in one float64 column named after the field used ('Adj Close' or 'Close'),
    DatetimeIndex 'date' ascending; NaN where a price is missing."""
    frame, lines, full = _read(data, source)
    _check_order(frame.index, lines, source)
    if frame.index.has_duplicates:
        dup = frame.index.duplicated(keep=False)
        keyed = pd.Series(full, index=frame.index)[dup]
        for date, group in keyed.groupby(level=0):
            if len(set(group)) > 1:
                raise DataError(f"{source}: date {date.date()} listed twice with different values")
        frame = frame[~frame.index.duplicated(keep="first")]
    return frame.sort_index(kind="stable")


def rows(data: bytes, source: str) -> tuple[pd.DataFrame, list[int]]:
    """The price rows in file order (event rows skipped; no order or duplicate checks) and their
    1-based line numbers: what `backtest data validate` inspects."""
    frame, lines, _ = _read(data, source)
    return frame, lines


def _read(data: bytes, source: str) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    table = list(csv.reader(text.splitlines()))
    columns, start = _header(table, source)
    field = next((f for f in PRICE_FIELDS if f in columns), None)
    if field is None:
        raise DataError(f"{source}: no 'Adj Close' or 'Close' column (columns: {', '.join(columns[1:])})")
    position = columns.index(field)
    width = len(columns)

    dates: list[str] = []
    prices: list[str] = []
    full: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, row in enumerate(table[start:], start + 1):
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        values = fields[1:]
        filled = [v for v in values if v]
        if len(filled) == 1 and _EVENT.match(filled[0].replace("\u00a0", " ")):
            continue  # an event row, not a price: dividend, stock split, capital gain
        if len(fields) != width:
            raise DataError(f"{source}: line {line} (date {fields[0]}) has {len(fields)} fields, expected {width}")
        dates.append(fields[0])
        prices.append(fields[position])
        full.append(tuple(fields))
        lines.append(line)

    if not dates:
        raise DataError(f"{source}: no price rows")
    index = _dates(pd.Series(dates, dtype=object), lines, source)
    values = _prices(pd.Series(prices, dtype=object), index, field, source)
    return pd.DataFrame({field: values}, index=pd.DatetimeIndex(index, name="date")), lines, full


def out_of_order(dates: pd.DatetimeIndex) -> tuple[np.ndarray, bool]:
    """Positions k where the date turns back against the file's direction (oldest first, or newest
    first as in the web export, told by the first and last dates), and whether it is newest first."""
    steps = np.diff(dates.asi8)
    newest_first = len(dates) > 1 and dates[0] > dates[-1]
    return np.flatnonzero(steps > 0 if newest_first else steps < 0) + 1, newest_first


def _check_order(dates: pd.DatetimeIndex, lines: list[int], source: str) -> None:
    """Dates must run one way; a file that turns back somewhere is damaged, and sorting it would
    hide that."""
    wrong, newest_first = out_of_order(dates)
    if len(wrong):
        k = int(wrong[0])
        order = "newest first" if newest_first else "oldest first"
        raise DataError(f"{source}: line {lines[k]}: date {dates[k].date()} is out of order after "
                        f"{dates[k - 1].date()} (the file runs {order})")


def _dates(raw: pd.Series, lines: list[int], source: str) -> pd.Series:
    iso = raw.str.match(_ISO)
    parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    if iso.any():
        parsed[iso] = pd.to_datetime(raw[iso].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    if (~iso).any():
        parsed[~iso] = pd.to_datetime(raw[~iso], format="%b %d, %Y", errors="coerce")
    if parsed.isna().any():
        k = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(f"{source}: line {lines[k]}: {raw.iloc[k]!r} is not a date (expected YYYY-MM-DD or 'Dec 30, 2024')")
    return parsed


def _prices(raw: pd.Series, dates: pd.Series, field: str, source: str) -> np.ndarray:
    cleaned = raw.str.replace(",", "", regex=False)
    missing = cleaned.str.lower().isin(MISSING_TOKENS).to_numpy()
    values = pd.to_numeric(cleaned.where(~missing, "nan"), errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(values) & ~missing
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: date {dates.iloc[k].date()}: {field} {raw.iloc[k]!r} is not a number")
    nonpositive = values <= 0
    if nonpositive.any():
        k = int(np.flatnonzero(nonpositive)[0])
        raise DataError(f"{source}: date {dates.iloc[k].date()}: {field} {values[k]:g} is not a positive price")
    infinite = np.isinf(values)
    if infinite.any():
        k = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{source}: date {dates.iloc[k].date()}: {field} is infinite")
    return values


def price_field(frame: pd.DataFrame) -> str:
    return frame.columns[0]


def to_returns(prices: pd.Series) -> pd.Series:
    """Simple daily returns; the first row, a missing price and the row after it are NaN."""
    return prices / prices.shift(1) - 1.0


def read(path) -> pd.DataFrame:
    """Parse a Yahoo price file without the cache."""
    from pathlib import Path

    path = Path(path)
    return parse(path.read_bytes(), str(path))
