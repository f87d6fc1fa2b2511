"""The dataset catalog (`catalog.yaml`) and loading series by id.

A series id is `<dataset>:<column>`. A Ken French dataset is one file holding all its columns
(plus derived columns, each the sum of others); a Yahoo dataset is one price file per symbol.
Each file-level unit is a `Source`: `ff_size`, ..., `index:SPX`, `etf:IWM`, ...
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from backtest.data import cache, kenfrench, yahoo
from backtest.data.paths import ENV_VAR, find_file, resolve_search_path
from backtest.errors import DataError, did_you_mean

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
DATE_UNIT = "us"


@dataclass(frozen=True)
class Source:
    """One file-level unit of the catalog: a Ken French dataset, or one symbol of a Yahoo dataset."""

    name: str  # "ff_size" or "index:SPX"
    dataset: str
    kind: str  # "kenfrench" | "yahoo"
    description: str
    files: tuple[str, ...]  # candidates relative to a search-path directory, in priority order
    url: str
    columns: tuple[str, ...]  # Ken French: the columns the file must have; Yahoo: (symbol,)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    block: str | None = None
    ticker: str | None = None
    adjusted: bool = True


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str
    description: str
    sources: dict[str, Source]  # column -> source

    @property
    def columns(self) -> list[str]:
        return list(self.sources)


@dataclass
class DatasetInfo:
    """What `backtest data list` shows for one source."""

    name: str
    description: str
    found_path: Path | None
    series: list[str]
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    rows: int | None
    price_field: str  # "Adj Close" | "Close" | "returns"
    url: str
    error: str | None = None  # the DataError met loading a found file


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, Dataset]:
    """Dataset name -> Dataset, from catalog.yaml."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~10x faster on start-up
    spec = yaml.load(CATALOG_FILE.read_text(encoding="utf-8"), Loader=loader)
    datasets: dict[str, Dataset] = {}
    for name, entry in spec.items():
        kind = entry["kind"]
        if kind == "kenfrench":
            derived = {k: tuple(v) for k, v in (entry.get("derived") or {}).items()}
            source = Source(name, name, kind, entry["description"], tuple(entry["files"]), entry["url"],
                            tuple(entry["columns"]), derived, entry.get("block"))
            sources = {c: source for c in [*source.columns, *derived]}
        elif kind == "yahoo":
            sources = {}
            for symbol, s in entry["symbols"].items():
                ticker = str(s["ticker"])
                sources[symbol] = Source(
                    f"{name}:{symbol}", name, kind, f"{s.get('description', symbol)}: {entry['description']}",
                    tuple(s["files"]), f"https://finance.yahoo.com/quote/{ticker.replace('^', '%5E')}/history",
                    (symbol,), ticker=ticker, adjusted=bool(entry.get("adjusted", True)))
        else:
            raise ValueError(f"{CATALOG_FILE}: dataset {name}: unknown kind {kind!r}")
        datasets[name] = Dataset(name, kind, entry["description"], sources)
    return datasets


def all_sources() -> list[Source]:
    seen: dict[str, Source] = {}
    for dataset in catalog().values():
        for source in dataset.sources.values():
            seen.setdefault(source.name, source)
    return list(seen.values())


def resolve_id(series_id: str) -> tuple[Source, str]:
    """(source, column) of a series id; DataError naming the id and the valid choices."""
    datasets = catalog()
    if not isinstance(series_id, str) or ":" not in series_id:
        raise DataError(f"series id {series_id!r} must be '<dataset>:<column>', e.g. 'ff_size:Lo 30' "
                        f"(datasets: {', '.join(datasets)})")
    name, column = series_id.split(":", 1)
    dataset = datasets.get(name)
    if dataset is None:
        hint = did_you_mean(name, list(datasets))
        raise DataError(f"unknown series id {series_id!r}: no dataset {name!r}{hint} (datasets: {', '.join(datasets)})")
    source = dataset.sources.get(column)
    if source is None:
        hint = did_you_mean(column, dataset.columns)
        raise DataError(f"unknown series id {series_id!r}: {name} has no column {column!r}{hint} "
                        f"(columns: {', '.join(dataset.columns)})")
    return source, column


def check_series_id(series_id: str) -> None:
    """Validate a series id against the catalog only (no file I/O)."""
    resolve_id(series_id)


def locate(source: Source, directories: Sequence[Path]) -> Path:
    path = find_file(source.files, directories)
    if path is None:
        searched = ", ".join(str(d) for d in directories) or "(empty search path)"
        raise DataError(f"dataset {source.name} not found: tried {', '.join(source.files)} in {searched}; "
                        f"run `backtest data fetch {source.name}` or set {ENV_VAR}")
    return path


def read_source(source: Source, path: Path) -> pd.DataFrame:
    """A source's parsed file (Ken French: returns as fractions; Yahoo: prices), via the cache."""
    if source.kind == "kenfrench":
        frame = cache.cached_parse(path, "kenfrench", {"block": source.block},
                                   lambda data: kenfrench.parse(data, str(path), source.block))
    else:
        frame = cache.cached_parse(path, "yahoo", {}, lambda data: yahoo.parse(data, str(path)))
    if frame.index.unit != DATE_UNIT:
        frame.index = frame.index.as_unit(DATE_UNIT)
    frame.index.name = "date"
    return frame


def _missing_columns(source: Source, frame: pd.DataFrame, columns) -> list[str]:
    needed = [p for c in columns for p in source.derived.get(c, (c,))]
    return [c for c in dict.fromkeys(needed) if c not in frame.columns]


def _series(source: Source, frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    if source.kind == "yahoo":
        return yahoo.to_returns(frame.iloc[:, 0].astype("float64"))
    missing = _missing_columns(source, frame, [column])
    if missing:
        raise DataError(f"{path}: no column {missing[0]!r} for series {source.dataset}:{column} "
                        f"(file columns: {', '.join(frame.columns)})")
    if column in source.derived:
        parts = source.derived[column]
        out = frame[parts[0]].astype("float64")
        for part in parts[1:]:
            out = out + frame[part]
        return out
    return frame[column].astype("float64")


def _check_missing(series: pd.Series, sid: str, source: Source, frame: pd.DataFrame, path: Path) -> None:
    """DataError naming the file, series and first date of a missing value in `series`.

    A missing value (`-99.99`/`-999` in Ken French files, an empty price in Yahoo files) is never
    read as a zero return and never silently skipped: the period must avoid it. A Yahoo file's
    first return (there is no previous price) is not missing data.
    """
    missing = series.isna().to_numpy(copy=True)
    if source.kind == "yahoo" and len(series) and series.index[0] == frame.index[0]:
        missing[0] = False
    if not missing.any():
        return
    date = series.index[int(missing.argmax())].date()
    what = "an empty price" if source.kind == "yahoo" else "a missing value (-99.99/-999 or empty)"
    raise DataError(f"{path}: {sid} has {what} on {date}, inside the period; missing data is never "
                    "read as zero: choose period.start after it or period.end before it")


def load_returns(series_ids: Sequence[str], search_path: Sequence[Path] | None = None,
                 period: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None) -> pd.DataFrame:
    """Daily simple returns (fractions), one float64 column per id, on the union of their calendars.

    With `period` = (start, end) (either may be None: open-ended) the rows are cut to it, and a
    missing value of any series inside it is a DataError naming the file, series and date.
    """
    if isinstance(series_ids, str):
        series_ids = [series_ids]
    ids = list(dict.fromkeys(series_ids))
    resolved = [(sid, *resolve_id(sid)) for sid in ids]  # all ids checked before any file I/O
    directories = resolve_search_path(search_path)
    frames: dict[str, tuple[Path, pd.DataFrame]] = {}
    columns: dict[str, pd.Series] = {}
    for sid, source, column in resolved:
        if source.name not in frames:
            path = locate(source, directories)
            frames[source.name] = path, read_source(source, path)
        path, frame = frames[source.name]
        series = _series(source, frame, column, path)
        if period is not None:
            series = series.loc[period[0]:period[1]]
            _check_missing(series, sid, source, frame, path)
        columns[sid] = series
    if not columns:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date").as_unit(DATE_UNIT), dtype="float64")
    index = None
    for s in columns.values():
        index = s.index if index is None else (index if index.equals(s.index) else index.union(s.index))
    if not index.is_monotonic_increasing:
        index = index.sort_values()
    data = {sid: (s if s.index.equals(index) else s.reindex(index)).to_numpy(dtype="float64")
            for sid, s in columns.items()}
    out = pd.DataFrame(data, index=index, columns=ids)
    out.index.name = "date"
    return out


def align_calendars(returns: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep only the rows where every column has a value; (frame, number of rows dropped)."""
    keep = returns.notna().all(axis=1)
    dropped = int((~keep).sum())
    return (returns if dropped == 0 else returns.loc[keep]), dropped


def source_files(series_ids: Sequence[str], search_path: Sequence[Path] | None = None) -> dict[str, str]:
    """{resolved path: sha256 of its bytes} of the files the ids are read from."""
    if isinstance(series_ids, str):
        series_ids = [series_ids]
    directories = resolve_search_path(search_path)
    out: dict[str, str] = {}
    for sid in dict.fromkeys(series_ids):
        source, _ = resolve_id(sid)
        path = str(locate(source, directories).resolve())
        if path not in out:
            out[path] = cache.file_sha256(Path(path))
    return out


def list_datasets(search_path: Sequence[Path] | None = None) -> list[DatasetInfo]:
    """Every source in the catalog, where it was found and what its file holds."""
    directories = resolve_search_path(search_path)
    infos: list[DatasetInfo] = []
    for source in all_sources():
        series = [f"{source.dataset}:{c}" for c in (*source.columns, *source.derived)]
        expected = "returns" if source.kind == "kenfrench" else ("Adj Close" if source.adjusted else "Close")
        info = DatasetInfo(source.name, source.description, None, series, None, None, None, expected, source.url)
        path = find_file(source.files, directories)
        if path is not None:
            info.found_path = path
            try:
                frame = read_source(source, path)
            except DataError as exc:
                info.error = str(exc)
            else:
                missing = _missing_columns(source, frame, source.columns) if source.kind == "kenfrench" else []
                if missing:
                    info.error = f"{path}: no column {', '.join(map(repr, missing))} (file columns: {', '.join(frame.columns)})"
                info.rows = len(frame)
                if len(frame):
                    info.first_date, info.last_date = frame.index[0], frame.index[-1]
                if source.kind == "yahoo":
                    info.price_field = yahoo.price_field(frame)
        infos.append(info)
    return infos
