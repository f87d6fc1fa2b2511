"""Parser for Kenneth R. French Data Library files (daily returns in percent).

Two forms, told apart by their content:

* the library's ORIGINAL download: a zip holding one `.CSV` (or that CSV itself) with a text
  preamble, then one or more blocks, each introduced by a title line (`  Value Weighted
  Returns -- Daily`, `  Equal Weighted Returns -- Daily`, `  Number of Firms in Portfolios`,
  ...), a header line starting with `,` and rows `YYYYMMDD,  v1,  v2 ...`; blocks separated by
  blank lines; a `Copyright ...` footer; CRLF line ends.
* a CLEANED one-block CSV: a header (`Date,...` or `,NoDur,...`) then the rows.

Only daily blocks are read: a block's rows stop at the first blank line or the first row whose
date is a monthly `YYYYMM` or annual `YYYY` one (some files append such blocks); a row with any
other malformed date, a repeated date or a date out of order is a DataError naming the line. The default
block is the first whose title contains "Value Weight", else the first daily block; another can
be picked by a case-insensitive title substring. `-99.99` and `-999` mean missing (NaN).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.errors import DataError

MISSING_VALUES = (-99.99, -999.0)
DEFAULT_BLOCK = "value weight"

_ROW = re.compile(r"^\s*(\d+)\s*,")
_DAILY_ROW = re.compile(r"^\s*\d{8}\s*,")


@dataclass(frozen=True)
class Block:
    """One table of a Ken French file: its title ('' if none), column names and row lines."""

    title: str
    columns: tuple[str, ...]
    header_line: int  # 0-based line number of the header
    rows: tuple[int, ...]  # 0-based line numbers of the data rows
    daily: bool


def decode(data: bytes, source: str) -> str:
    """The text of a Ken French file: the single CSV inside a zip, or the bytes themselves."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [n for n in archive.namelist() if not n.endswith("/")]
                csvs = [n for n in members if n.lower().endswith((".csv", ".txt"))] or members
                if len(csvs) != 1:
                    raise DataError(f"{source}: expected one CSV in the zip, found {len(csvs)}: {', '.join(csvs) or 'none'}")
                data = archive.read(csvs[0])
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{source}: not a readable zip file ({exc})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_header(line: str) -> bool:
    fields = line.split(",")
    return len(fields) >= 2 and fields[0].strip().lower() in ("", "date") and any(f.strip() for f in fields[1:])


def find_blocks(text: str) -> list[Block]:
    """Every table in the text (daily or not), in file order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    previous_end: int | None = None
    i, n = 0, len(lines)
    while i < n:
        if not (_is_header(lines[i]) and i + 1 < n and _ROW.match(lines[i + 1])):
            i += 1
            continue
        columns = tuple(f.strip() for f in lines[i].split(",")[1:])
        daily = bool(_DAILY_ROW.match(lines[i + 1]))
        row_pattern = _DAILY_ROW if daily else _ROW
        j = i + 1
        while j < n and row_pattern.match(lines[j]):
            j += 1
        if daily and j < n:
            _check_block_end(lines[j], j)
        blocks.append(Block(_title(lines, i, previous_end), columns, i, tuple(range(i + 1, j)), daily))
        previous_end = j
        i = j
    return blocks


def _check_block_end(line: str, number: int) -> None:
    """A daily table ends at a blank line, a title, a header or a monthly/annual row; a row whose
    first field is anything else is a malformed date, not the end of the data."""
    first, comma, _ = line.partition(",")
    first = first.strip()
    if comma and first and not (first.isdigit() and len(first) in (4, 6)):
        raise _LineError(number, first)


class _LineError(Exception):
    """A malformed date found while scanning for tables (turned into a DataError naming the file)."""

    def __init__(self, number: int, value: str):
        super().__init__(number, value)
        self.number, self.value = number, value


def _title(lines: list[str], header: int, previous_end: int | None) -> str:
    """The title line of a block: the non-blank line right above its header; after an earlier
    block, the last non-blank line in between. A preamble separated by a blank line is no title."""
    if header > 0 and lines[header - 1].strip():
        return lines[header - 1].strip()
    if previous_end is not None:
        for k in range(header - 1, previous_end - 1, -1):
            if lines[k].strip():
                return lines[k].strip()
    return ""


def select_block(blocks: list[Block], block: str | None, source: str) -> Block:
    daily = [b for b in blocks if b.daily]
    if not daily:
        kinds = "no tables" if not blocks else "only monthly/annual tables"
        raise DataError(f"{source}: no daily Ken French table found ({kinds}; expected a header line then YYYYMMDD rows)")
    want = (block or DEFAULT_BLOCK).casefold()
    for b in daily:
        if want in b.title.casefold():
            return b
    if block is None:
        return daily[0]
    titles = ", ".join(repr(b.title or "(untitled)") for b in daily)
    raise DataError(f"{source}: no daily block titled like {block!r} (blocks: {titles})")


def parse(data: bytes, source: str, block: str | None = None) -> pd.DataFrame:
    """Daily returns as fractions (percent / 100), NaN where missing, DatetimeIndex 'date'."""
    frame, lines = rows(data, source, block)
    steps = np.diff(frame.index.asi8)
    if (steps <= 0).any():  # a repeated or out-of-order row is a damaged file, never silently fixed
        k = int(np.argmax(steps <= 0)) + 1
        where = f"{source}: line {lines[k]}:"
        if steps[k - 1] == 0:
            raise DataError(f"{where} duplicate date {frame.index[k].date()}")
        raise DataError(f"{where} date {frame.index[k].date()} comes before the previous row's "
                        f"{frame.index[k - 1].date()} (dates must be ascending)")
    return frame


def rows(data: bytes, source: str, block: str | None = None) -> tuple[pd.DataFrame, list[int]]:
    """The chosen daily block's rows in file order (returns as fractions, NaN where missing; no
    order or duplicate checks) and their 1-based line numbers: what `parse` checks and
    `backtest data validate` inspects."""
    text = decode(data, source)
    try:
        blocks = find_blocks(text)
    except _LineError as exc:
        raise DataError(f"{source}: line {exc.number + 1}: {exc.value!r} is not a YYYYMMDD date") from None
    chosen = select_block(blocks, block, source)
    return _frame(text.splitlines(), chosen, source), [k + 1 for k in chosen.rows]


def _frame(lines: list[str], block: Block, source: str) -> pd.DataFrame:
    columns = block.columns
    if any(not c for c in columns):
        raise DataError(f"{source}: empty column name in the header on line {block.header_line + 1}")
    if len(set(columns)) != len(columns):
        raise DataError(f"{source}: duplicate column names in the header on line {block.header_line + 1}")
    rows = [lines[k] for k in block.rows]
    width = len(columns)
    for k, line in zip(block.rows, rows):
        if line.count(",") != width:
            date = line.split(",", 1)[0].strip()
            raise DataError(f"{source}: line {k + 1} (date {date}) has {line.count(',') + 1} fields, expected {width + 1}")
    raw = pd.read_csv(io.StringIO("\n".join(rows)), header=None, names=["date", *columns],
                      dtype={"date": str}, skipinitialspace=True,
                      keep_default_na=False, na_values=[""])
    values = raw[list(columns)]
    for c in columns:
        if values[c].dtype.kind not in "fiu":
            bad = pd.to_numeric(values[c], errors="coerce").isna() & values[c].notna()
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{source}: date {raw['date'].iloc[k].strip()}, column {c!r}: "
                            f"{str(values[c].iloc[k]).strip()!r} is not a number")
    array = values.to_numpy(dtype="float64", copy=True)
    array[np.isin(array, MISSING_VALUES)] = np.nan
    dates = raw["date"].str.strip()
    try:
        index = pd.DatetimeIndex(pd.to_datetime(dates, format="%Y%m%d"), name="date")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(dates, format="%Y%m%d", errors="coerce")
        bad = dates[parsed.isna()].iloc[0]
        raise DataError(f"{source}: {bad!r} is not a valid YYYYMMDD date") from None
    return pd.DataFrame(array / 100.0, index=index, columns=list(columns))


def read(path, block: str | None = None) -> pd.DataFrame:
    """Parse a Ken French file (zip or CSV) without the cache."""
    from pathlib import Path

    path = Path(path)
    return parse(path.read_bytes(), str(path), block)


def block_titles(data: bytes, source: str) -> list[str]:
    """Titles of the daily blocks in a file, in order (for messages and `data list`)."""
    return [b.title for b in find_blocks(decode(data, source)) if b.daily]
