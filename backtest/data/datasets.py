"""Datasets as a catalog file declares them: the built-in `catalog.yaml` and users' catalogs.

One schema serves both (see catalog.yaml for the built-in datasets, the README's "Your own data"
for a user's file). A dataset is one of three kinds of file:

    kenfrench   one file of the Ken French Data Library (original zip/CSV, or a cleaned CSV)
    prices      one price file per symbol (Yahoo's forms or any vendor's dated CSV)
    returns     one CSV of daily return columns, in percent or fractions

and declares `returns: total | price` (dividends included or not). A file is named by `file:`
(relative to the catalog file), by `files:` (candidates looked up on the data search path), or,
for a Ken French dataset, by its library `name:` (the file `backtest data fetch` saves). Every
mistake in a catalog is a DataError naming the catalog file, the dataset and the key.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from backtest import io
from backtest.errors import DataError, did_you_mean

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
KINDS = ("kenfrench", "prices", "returns")
RETURN_TYPES = ("total", "price")
KENFRENCH_URL = "https://mba.tuck.dartmouth.edu/pages/faculty/ken.french/ftp/{}_CSV.zip"

_COMMON_KEYS = ("kind", "returns", "description")
KEYS = {  # the keys each kind of dataset takes
    "kenfrench": (*_COMMON_KEYS, "file", "files", "url", "name", "block", "columns", "derived"),
    "prices": (*_COMMON_KEYS, "symbols", "adjusted", "date", "column"),
    "returns": (*_COMMON_KEYS, "file", "files", "url", "date", "unit", "columns", "derived", "missing"),
}
SYMBOL_KEYS = ("file", "files", "ticker", "description", "date", "column")
UNITS = ("percent", "fraction")


@dataclass(frozen=True)
class Source:
    """One file-level unit of a catalog: a Ken French or returns dataset, or one symbol of a
    prices dataset."""

    name: str  # "ff_size", "index:SPX", "mytech:XLK"
    dataset: str
    kind: str  # "kenfrench" | "prices" | "returns"
    returns: str  # "total" | "price"
    description: str
    files: tuple[str, ...] = ()  # candidates relative to a search-path directory, in priority order
    path: Path | None = None  # a user's file (`file:`), resolved against its catalog; replaces `files`
    url: str = ""  # where `backtest data fetch` downloads a Ken French file ('' for none)
    columns: tuple[str, ...] | None = ()  # the series the file must have; None: whatever it holds
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)  # extra series, each a sum of others
    block: str | None = None  # Ken French: the titled block to read
    ticker: str | None = None  # prices: the Yahoo Finance symbol `backtest data fetch` downloads
    adjusted: bool = True  # prices fetched from Yahoo: keep "Adj Close" (dividends included)
    date: str | None = None  # the date column's name (None: found by name)
    column: str | None = None  # prices: the price column's name (None: adjusted close, else close)
    unit: str = "percent"  # returns: percent | fraction
    missing: tuple[float, ...] = ()  # returns: values that mean "missing"
    catalog: Path | None = None  # the user catalog declaring it (None: built-in)

    @property
    def parser_options(self) -> dict:
        """What, besides the file's bytes, decides its parsed form (part of the cache key)."""
        if self.kind == "kenfrench":
            return {"block": self.block}
        if self.kind == "returns":
            return {"unit": self.unit, "date": self.date, "missing": list(self.missing)}
        return {k: v for k, v in (("date", self.date), ("column", self.column)) if v is not None}


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str
    returns: str
    description: str
    sources: dict[str, Source]  # column -> the source holding it
    # the one file of a dataset whose columns are not declared: any column resolves to it (and is
    # checked against the file when read)
    open_source: Source | None = None
    catalog: Path | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.sources)

    def source_for(self, column: str) -> Source | None:
        return self.sources.get(column) or self.open_source


@functools.lru_cache(maxsize=1)
def builtin() -> dict[str, Dataset]:
    """The built-in datasets, from catalog.yaml."""
    return parse_catalog(CATALOG_FILE, builtin=True)


def read_catalog(path: Path) -> dict[str, Dataset]:
    """A user's catalog file (read again only when it changes)."""
    path = Path(os.path.normpath(Path(path).absolute()))
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data catalog ({exc.strerror or exc})") from None
    return _read_cached(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read_cached(path: Path, size: int, mtime_ns: int) -> dict[str, Dataset]:
    return parse_catalog(path)


def parse_catalog(path: Path, builtin: bool = False) -> dict[str, Dataset]:
    """The datasets a catalog file declares (read now, uncached)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~10x faster on start-up
    spec = io.read_yaml(path, "data catalog", DataError, loader, encoding="utf-8-sig")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise DataError(f"{path}: a data catalog is a mapping of dataset names to datasets, not a {type(spec).__name__}")
    return {name: _Entry(path, name, entry, builtin).dataset() for name, entry in spec.items()}


class _Entry:
    """One dataset's entry of a catalog file, checked key by key."""

    def __init__(self, path: Path, name, entry, builtin: bool):
        self.path, self.name, self.builtin = path, name, builtin
        if not isinstance(name, str) or not name or ":" in name or name != name.strip():
            raise DataError(f"{path}: {name!r}: a dataset name is a non-empty word without ':' (series ids are '<dataset>:<column>')")
        if not isinstance(entry, dict):
            self.fail("", f"expected a mapping with kind, returns and the files, got {entry!r}")
        self.entry = entry

    def fail(self, key: str, message: str):
        raise DataError(f"{self.path}: {self.name}{'.' + key if key else ''}: {message}")

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.entry.get(key, default)
        if value is None:
            self.fail(key, f"required: one of {' | '.join(choices)}")
        if value not in choices:
            self.fail(key, f"expected one of {' | '.join(choices)}, got {value!r}{did_you_mean(str(value), list(choices))}")
        return value

    def text(self, key: str, entry: dict | None = None, where: str | None = None) -> str | None:
        value = (self.entry if entry is None else entry).get(key)
        if value is not None and (not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value) == ""):
            self.fail(where or key, f"expected a name, got {value!r}")
        return None if value is None else str(value)

    def names(self, key: str) -> tuple[str, ...] | None:
        value = self.entry.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            self.fail(key, f"expected a list of names, got {value!r}")
        return tuple(value)

    def check_keys(self, allowed: tuple[str, ...], entry: dict | None = None, where: str = "") -> None:
        for key in (self.entry if entry is None else entry):
            if key not in allowed:
                self.fail(f"{where}{key}", f"unknown key{did_you_mean(str(key), list(allowed))} (valid keys: {', '.join(allowed)})")

    def location(self, entry: dict, where: str) -> tuple[tuple[str, ...], Path | None]:
        """(search-path candidates, a user's file) from `files:` or `file:`; exactly one of them."""
        file, files = entry.get("file"), entry.get("files")
        if (file is None) == (files is None):
            self.fail(where.rstrip("."), "give the data file: file: (relative to this catalog) or files: (on the search path)")
        if file is not None:
            if not isinstance(file, str) or not file:
                self.fail(f"{where}file", f"expected a file name, got {file!r}")
            return (), Path(os.path.normpath(self.path.parent / Path(file).expanduser()))
        if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
            self.fail(f"{where}files", f"expected a list of file names, got {files!r}")
        return tuple(files), None

    def derived(self, columns: tuple[str, ...] | None) -> dict[str, tuple[str, ...]]:
        value = self.entry.get("derived") or {}
        if not isinstance(value, dict):
            self.fail("derived", f"expected a mapping of series to the columns they sum, got {value!r}")
        out = {}
        for key, parts in value.items():
            if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
                self.fail(f"derived.{key}", f"expected a list of columns to add, got {parts!r}")
            unknown = [p for p in parts if columns is not None and p not in columns]
            if unknown:
                self.fail(f"derived.{key}", f"{unknown[0]!r} is not one of the columns ({', '.join(columns)})")
            out[str(key)] = tuple(parts)
        return out

    def dataset(self) -> Dataset:
        kind = self.choice("kind", KINDS)
        self.check_keys(KEYS[kind])
        returns = self.choice("returns", RETURN_TYPES)
        description = self.text("description") or ""
        catalog = None if self.builtin else self.path
        common = dict(dataset=self.name, kind=kind, returns=returns, catalog=catalog)
        if kind == "prices":
            return Dataset(self.name, kind, returns, description, self.symbols(common, description), catalog=catalog)
        columns = self.names("columns")
        derived = self.derived(columns)
        source = Source(self.name, description=description, columns=columns, derived=derived, date=self.text("date"),
                        **common, **self.one_file(kind))
        sources = {c: source for c in [*(columns or ()), *derived]}
        return Dataset(self.name, kind, returns, description, sources, None if columns else source, catalog)

    def one_file(self, kind: str) -> dict:
        """The file fields of a Ken French or returns dataset."""
        if kind == "kenfrench" and self.entry.get("name") is not None:
            name = self.text("name")
            if "file" in self.entry or "files" in self.entry:
                self.fail("name", "give either name: (a Ken French library file) or file:/files:, not both")
            return dict(files=(f"kenfrench/{name}.csv", f"kenfrench/{name}_CSV.zip"), url=KENFRENCH_URL.format(name),
                        block=self.text("block"))
        files, path = self.location(self.entry, "")
        out = dict(files=files, path=path, url=self.text("url") or "")
        if kind == "kenfrench":
            out["block"] = self.text("block")
            return out
        out["unit"] = self.choice("unit", UNITS)
        missing = self.entry.get("missing") or []
        if not isinstance(missing, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in missing):
            self.fail("missing", f"expected a list of numbers that mean a missing value (e.g. [-99.99, -999]), got {missing!r}")
        out["missing"] = tuple(float(v) for v in missing)
        return out

    def symbols(self, common: dict, description: str) -> dict[str, Source]:
        symbols = self.entry.get("symbols")
        if not isinstance(symbols, dict) or not symbols:
            self.fail("symbols", f"expected a mapping of symbols to their files, got {symbols!r}")
        adjusted = self.entry.get("adjusted", True)
        if not isinstance(adjusted, bool):
            self.fail("adjusted", f"expected true or false, got {adjusted!r}")
        sources = {}
        for symbol, spec in symbols.items():
            if not isinstance(symbol, (str, int)) or isinstance(symbol, bool) or ":" in str(symbol):
                self.fail("symbols", f"{symbol!r} is not a symbol (quote names YAML reads as true/false/null, e.g. 'ON')")
            symbol = str(symbol)
            where = f"symbols.{symbol}."
            if not isinstance(spec, dict):
                self.fail(where.rstrip("."), f"expected a mapping such as {{file: {symbol}.csv}}, got {spec!r}")
            self.check_keys(SYMBOL_KEYS, spec, where)
            files, path = self.location(spec, where)
            ticker = self.text("ticker", spec, f"{where}ticker")
            own = self.text("description", spec, f"{where}description")
            sources[symbol] = Source(
                f"{self.name}:{symbol}", description=f"{own or symbol}: {description}" if description else (own or symbol),
                files=files, path=path, columns=(symbol,), ticker=ticker, adjusted=adjusted,
                url=f"https://finance.yahoo.com/quote/{ticker.replace('^', '%5E')}/history" if ticker else "",
                date=self.text("date", spec, f"{where}date") or self.text("date"),
                column=self.text("column", spec, f"{where}column") or self.text("column"), **common)
        return sources


def merged(catalogs: tuple[Path, ...]) -> dict[str, Dataset]:
    """The built-in datasets, then each user catalog's; a user dataset may not take a name
    already taken (DataError naming both)."""
    out = dict(builtin())
    for path in catalogs:
        for name, dataset in read_catalog(path).items():
            taken = out.get(name)
            if taken is not None:
                where = "the built-in dataset" if taken.catalog is None else f"the dataset of {taken.catalog}"
                raise DataError(f"{dataset.catalog}: dataset {name!r} shadows {where} {name!r}; choose another name")
            out[name] = dataset
    return out
