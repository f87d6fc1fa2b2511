"""`backtest data add NAME FILE`: declare a file of one's own in a user catalog, after reading it.

    backtest data add mom F-F_Momentum_Factor_daily_CSV.zip          # kenfrench (told by its form)
    backtest data add mytech files/XLK.csv --returns total           # prices: mytech:XLK
    backtest data add mytech:TECH files/xlk_tiingo.csv --returns total   # prices, symbol TECH
    backtest data add myfunds returns.csv --unit percent --returns total # returns

The file is parsed as a run would parse it (so a bad file is refused with the line or date at
fault) before the catalog is touched; the catalog is then written whole to a temporary file,
read back like any catalog and renamed into place. A new dataset is appended to the catalog's
text (its comments stay); a new symbol of an existing prices dataset rewrites it, which a
catalog holding comments refuses (the line to add by hand is given instead).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from backtest.data import kenfrench, yahoo
from backtest.data.catalog import file_columns, read_source
from backtest.data.datasets import KINDS, RETURN_TYPES, UNITS, Dataset, builtin, parse_catalog
from backtest.errors import DataError

DEFAULT_CATALOG = Path("my_data.yaml")


def guess_kind(path: Path, unit: str | None) -> str:
    """The kind of a file when none is given: a returns CSV when a unit is given, else a price
    file when its header names a date and a close column, else a Ken French file when it has the
    library's form (a zip, or a header then YYYYMMDD rows)."""
    if unit is not None:
        return "returns"
    data = path.read_bytes()
    if yahoo.has_price_header(data):
        return "prices"
    try:
        kenfrench.rows(data, str(path))
    except DataError:
        raise DataError(f"{path}: neither a price file (a date and a close column) nor a Ken French file; "
                        "give --kind prices|returns|kenfrench (returns with --unit)") from None
    return "kenfrench"


def entry_for(kind: str, file: str, returns: str, unit: str | None) -> dict:
    """The catalog entry of a one-file dataset (kenfrench, returns)."""
    entry = {"kind": kind, "returns": returns, "file": file}
    if kind == "returns":
        entry["unit"] = unit
    return entry


def add_dataset(name: str, file: Path | str, kind: str | None = None, returns: str | None = None,
                catalog: Path | str = DEFAULT_CATALOG, unit: str | None = None) -> list[str]:
    """Declare `file` as dataset `name` (for prices, `name` or `name:SYMBOL`, the symbol by default
    the file's stem) in the user catalog `catalog` (created if absent); the series ids the dataset
    now provides. DataError (nothing written) for a bad file, name or option."""
    file, catalog = Path(file), Path(catalog)
    dataset, _, symbol = name.partition(":")
    if not file.is_file():
        raise DataError(f"{file}: no such file to add")
    kind = kind or guess_kind(file, unit)
    for value, choices, what in ((kind, KINDS, "--kind"), (unit, (*UNITS, None), "--unit")):
        if value not in choices:
            raise DataError(f"data add: {what} {value!r}: expected one of {' | '.join(c for c in choices if c)}")
    if kind == "returns" and unit is None:
        raise DataError(f"{file}: a returns file needs --unit percent|fraction (is 1.25 a 1.25 % return?)")
    if returns is None and kind == "kenfrench":
        returns = "total"  # the library's portfolios and factors reinvest dividends
    if returns not in RETURN_TYPES:
        raise DataError(f"{file}: give --returns total|price (does the {'close' if kind == 'prices' else 'file'} include dividends?)")
    if dataset in builtin():
        raise DataError(f"{catalog}: dataset {dataset!r} would shadow the built-in dataset {dataset!r}; choose another name")
    if symbol and kind != "prices":
        raise DataError(f"data add: {name!r}: only a prices dataset takes NAME:SYMBOL (a {kind} file's columns are its series)")

    if catalog.is_file():
        parse_catalog(catalog)  # a damaged catalog is named as it is, before anything is added
    text = catalog.read_text(encoding="utf-8-sig") if catalog.is_file() else ""
    spec = yaml.safe_load(text) if text.strip() else {}
    if not isinstance(spec, dict):
        raise DataError(f"{catalog}: not a data catalog (a mapping of dataset names to datasets)")
    relative = os.path.relpath(file.absolute(), catalog.absolute().parent)
    if kind == "prices":
        symbol = symbol or file.stem
        existing = spec.get(dataset)
        if existing is None:
            text = _appended(text, {dataset: {"kind": kind, "returns": returns, "symbols": {symbol: {"file": relative}}}})
        else:
            if existing.get("kind") != "prices" or existing.get("returns") != returns:
                raise DataError(f"{catalog}: dataset {dataset!r} is already declared ({existing.get('kind')}, "
                                f"returns {existing.get('returns')}); choose another name")
            if symbol in (existing.get("symbols") or {}):
                raise DataError(f"{catalog}: {dataset}.symbols.{symbol} is already declared; choose another NAME:SYMBOL")
            # a comment: "#" at a line's start or after a blank (the YAML rule; inside a quoted
            # value this refuses too, which only asks for the line to be added by hand)
            if any(re.search(r"(^|\s)#", line) for line in text.splitlines()):
                raise DataError(f"{catalog}: holds comments that rewriting it would lose; add under {dataset}.symbols "
                                f"by hand: {symbol}: {{file: {relative}}}")
            existing.setdefault("symbols", {})[symbol] = {"file": relative}
            text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    else:
        if dataset in spec:
            raise DataError(f"{catalog}: dataset {dataset!r} is already declared; choose another name")
        text = _appended(text, {dataset: entry_for(kind, relative, returns, unit)})
    return _write_checked(catalog, text, dataset)


def _appended(text: str, entry: dict) -> str:
    block = yaml.safe_dump(entry, sort_keys=False, allow_unicode=True)
    return f"{text.rstrip()}\n\n{block}" if text.strip() else block


def _write_checked(catalog: Path, text: str, name: str) -> list[str]:
    """Write the catalog's new text to a temporary file beside it, read it back as a catalog and
    every file of dataset `name` as a run would, then rename it into place; the series ids."""
    directory = catalog.absolute().parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{catalog.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        dataset: Dataset = parse_catalog(Path(tmp))[name]
        sources = {s.name: s for s in [*dataset.sources.values(), *filter(None, [dataset.open_source])]}
        series = []
        for source in sources.values():
            frame = read_source(source, source.path)
            series += [f"{name}:{column}" for column in file_columns(source, frame)]
        os.replace(tmp, catalog)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return list(dict.fromkeys(series))
