"""Parser for daily price files: Yahoo's in every form found in the wild, and other vendors' CSVs.

* classic download: `Date,Open,High,Low,Close,Adj Close,Volume`;
* yfinance `to_csv` with a three-line header: `Price,Adj Close,Close,...` / `Ticker,^SPX,...` /
  `Date,,,...` (and the same with the `Ticker`/`Date` lines missing);
* any other column order or case, e.g. `Date,Close,High,Low,Open,Volume` (no `Adj Close`), or
  `date,open,high,low,close,volume` with CRLF (another vendor's adjusted history), or
  `timestamp,...` newest first;
* the web page's "historical data" table export: UTF-8 byte-order mark, CRLF, `"Dec 30, 2024"`
  dates newest first, quoted thousands separators, and event rows (`"Dec 20, 2024",1.966
  Dividend,,,,,`, `... 1231:1000 Stock Splits,,,,,`: one field holding an amount or ratio then
  words, the rest empty) which are not prices and are skipped.

The date column is the one named `date`/`Date`/`timestamp` (any case, any position) and the
price is the adjusted close where the file has one (`Adj Close`, `adj_close`, `adjClose`), else
the close; a catalog may name either column instead (`date=`, `column=`). Dates are sorted
ascending. A missing price (empty, `null`, `NaN`) stays NaN; a price <= 0, an unparseable value
or a date listed twice with different values is a DataError naming the file and the date (a row
repeated identically is kept once). Dates must run one way (oldest or newest first): a file whose
dates turn back is a DataError naming the line.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from backtest.data import table
from backtest.errors import DataError

PRICE_FIELDS = ("Adj Close", "Adjusted Close", "Close")  # in order of preference, names compared loosely

# "1.966 Dividend", "1231:1000 Stock Splits", "0.5 Capital Gain": an amount or ratio, then words
_EVENT = re.compile(r"^[\d.,:/]+\s*[A-Za-z]")


def _header(rows: list[list[str]], source: str) -> tuple[list[str], int]:
    """Column names and the index of the first data row."""
    if not rows:
        raise DataError(f"{source}: empty price file")
    first = [f.strip() for f in rows[0]]
    if first[0] == "Price":  # yfinance multi-line header
        start = 1
        while start < len(rows) and rows[start] and rows[start][0].strip() in ("Ticker", "Date") \
                and (rows[start][0].strip() == "Ticker" or not any(f.strip() for f in rows[start][1:])):
            start += 1
        return ["Date", *first[1:]], start
    return first, 1


def _price_column(columns: list[str], column: str | None, source: str) -> int:
    if column is not None:
        return table.find_column(columns, column, source, "price")
    for wanted in PRICE_FIELDS:
        found = [i for i, name in enumerate(columns) if table.folded(name) == table.folded(wanted)]
        if found:
            return found[0]
    raise DataError(f"{source}: no 'Adj Close' or 'Close' column (columns: {', '.join(columns)}); "
                    "name the price column with the catalog's column:")


def has_price_header(data: bytes) -> bool:
    """Whether a file's header names a date and a price column (whatever its rows hold)."""
    rows_ = table.read_rows(data)
    if not rows_ or not rows_[0]:
        return False
    columns, _ = _header(rows_, "")
    try:
        _price_column(columns, None, "")
    except DataError:
        return False
    return table.date_column(columns, None, "") is not None


def parse(data: bytes, source: str, date: str | None = None, column: str | None = None) -> pd.DataFrame:
    """Prices in one float64 column named after the file's price column ('Adj Close', 'Close',
    'close', ...), DatetimeIndex 'date' ascending; NaN where a price is missing. `date` and
    `column` name the date and price columns (default: found by name)."""
    frame, lines, full = _read(data, source, date, column)
    return table.ascending(frame, lines, full, source)


def rows(data: bytes, source: str, date: str | None = None, column: str | None = None
         ) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]]]:
    """The price rows in file order (event rows skipped; no order or duplicate checks), their
    1-based line numbers and every field as written: what `backtest data validate` inspects."""
    return _read(data, source, date, column)


def _read(data: bytes, source: str, date: str | None, column: str | None
          ) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]]]:
    rows_ = table.read_rows(data)
    columns, start = _header(rows_, source)
    date_at = table.date_column(columns, date, source)
    if date_at is None:
        raise DataError(f"{source}: not a Yahoo price file (header {','.join(columns)[:80]!r}; expected a "
                        f"date column named {', '.join(table.DATE_NAMES)}, or one named by the catalog's date:)")
    position = _price_column(columns, column, source)
    field = columns[position]
    width = len(columns)

    dates: list[str] = []
    prices: list[str] = []
    full: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, row in enumerate(rows_[start:], start + 1):
        fields = [f.strip() for f in row]
        if not any(fields):
            continue
        filled = [v for i, v in enumerate(fields) if v and i != date_at]
        if len(filled) == 1 and _EVENT.match(filled[0].replace("\u00a0", " ")):
            continue  # an event row, not a price: dividend, stock split, capital gain
        if len(fields) != width:
            raise DataError(f"{source}: line {line} (date {fields[date_at] if date_at < len(fields) else '?'}) "
                            f"has {len(fields)} fields, expected {width}")
        dates.append(fields[date_at])
        prices.append(fields[position])
        full.append(tuple(fields))
        lines.append(line)

    if not dates:
        raise DataError(f"{source}: no price rows")
    index = table.parse_dates(dates, lines, source)
    values = _prices(pd.Series(prices, dtype=object), index, field, source)
    return pd.DataFrame({field: values}, index=index), lines, full


def _prices(raw: pd.Series, dates: pd.DatetimeIndex, field: str, source: str) -> np.ndarray:
    cleaned = raw.str.replace(",", "", regex=False)
    missing = cleaned.str.lower().isin(table.MISSING_TOKENS).to_numpy()
    values = pd.to_numeric(cleaned.where(~missing, "nan"), errors="coerce").to_numpy(dtype="float64")
    bad = np.isnan(values) & ~missing
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(f"{source}: date {dates[k].date()}: {field} {raw.iloc[k]!r} is not a number")
    nonpositive = values <= 0
    if nonpositive.any():
        k = int(np.flatnonzero(nonpositive)[0])
        raise DataError(f"{source}: date {dates[k].date()}: {field} {values[k]:g} is not a positive price")
    infinite = np.isinf(values)
    if infinite.any():
        k = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{source}: date {dates[k].date()}: {field} is infinite")
    return values


def price_field(frame: pd.DataFrame) -> str:
    return frame.columns[0]


def to_returns(prices: pd.Series) -> pd.Series:
    """Simple daily returns; the first row, a missing price and the row after it are NaN."""
    return prices / prices.shift(1) - 1.0


def read(path, date: str | None = None, column: str | None = None) -> pd.DataFrame:
    """Parse a price file without the cache."""
    from pathlib import Path

    path = Path(path)
    return parse(path.read_bytes(), str(path), date, column)
