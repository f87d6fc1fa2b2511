"""Series by id: `<dataset>:<column>` resolved against the catalogs, located, read and cut.

The catalogs are the built-in one (`catalog.yaml`) and the user catalog files a caller names
(a config's `data.catalog`); every function taking `catalogs` resolves ids against both. A Ken
French or returns dataset is one file holding all its columns (plus derived columns, each the
sum of others); a prices dataset is one price file per symbol. Each file-level unit is a
`Source`: `ff_size`, ..., `index:SPX`, `etf:IWM`, `mytech:XLK`, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backtest.data import cache, kenfrench, returns_csv, yahoo
from backtest.data.datasets import Dataset, Source, builtin, merged
from backtest.data.paths import ENV_VAR, find_file, resolve_search_path
from backtest.errors import DataError, did_you_mean

DATE_UNIT = "us"
Catalogs = Sequence[Path | str]  # user catalog files


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
    price_field: str  # "Adj Close" | "Close" | ... | "returns"
    url: str
    error: str | None = None  # the DataError met loading a found file
    returns: str = "total"  # "total" | "price"
    catalog: Path | None = None  # the user catalog declaring it (None: built-in)


def catalog(catalogs: Catalogs = ()) -> dict[str, Dataset]:
    """Dataset name -> Dataset: the built-in ones, then those of the user catalog files."""
    return merged(tuple(Path(c) for c in catalogs)) if catalogs else builtin()


def all_sources(catalogs: Catalogs = ()) -> list[Source]:
    seen: dict[str, Source] = {}
    for dataset in catalog(catalogs).values():
        for source in [*dataset.sources.values(), *filter(None, [dataset.open_source])]:
            seen.setdefault(source.name, source)
    return list(seen.values())


def resolve_id(series_id: str, catalogs: Catalogs = ()) -> tuple[Source, str]:
    """(source, column) of a series id; DataError naming the id and the valid choices. A column of
    a dataset whose columns are the file's own is checked when the file is read."""
    datasets = catalog(catalogs)
    if not isinstance(series_id, str) or ":" not in series_id:
        raise DataError(f"series id {series_id!r} must be '<dataset>:<column>', e.g. 'ff_size:Lo 30' "
                        f"(datasets: {', '.join(datasets)})")
    name, column = series_id.split(":", 1)
    dataset = datasets.get(name)
    if dataset is None:
        hint = did_you_mean(name, list(datasets))
        raise DataError(f"unknown series id {series_id!r}: no dataset {name!r}{hint} (datasets: {', '.join(datasets)})")
    source = dataset.source_for(column)
    if source is None:
        hint = did_you_mean(column, dataset.columns)
        raise DataError(f"unknown series id {series_id!r}: {name} has no column {column!r}{hint} "
                        f"(columns: {', '.join(dataset.columns)})")
    return source, column


def check_series_id(series_id: str, catalogs: Catalogs = ()) -> None:
    """Validate a series id against the catalogs only (no data file is read)."""
    resolve_id(series_id, catalogs)


def locate(source: Source, directories: Sequence[Path]) -> Path:
    if source.path is not None:  # a user's file, named by its catalog
        if not source.path.is_file():
            raise DataError(f"{source.path}: no such data file (dataset {source.name}, declared in {source.catalog})")
        return source.path
    path = find_file(source.files, directories)
    if path is None:
        searched = ", ".join(str(d) for d in directories) or "(empty search path)"
        raise DataError(f"dataset {source.name} not found: tried {', '.join(source.files)} in {searched}; "
                        f"run `backtest data fetch {source.name}` or set {ENV_VAR}")
    return path


def parse(source: Source, data: bytes, where: str) -> pd.DataFrame:
    """A source's file parsed (Ken French and returns: fractions; prices: prices), uncached."""
    if source.kind == "kenfrench":
        return kenfrench.parse(data, where, source.block)
    if source.kind == "returns":
        return returns_csv.parse(data, where, source.unit, source.date, source.missing)
    return yahoo.parse(data, where, source.date, source.column)


# the parsers' names in the cache keys (a built-in price file keeps the key it always had)
_PARSER = {"kenfrench": "kenfrench", "prices": "yahoo", "returns": "returns"}


def read_source(source: Source, path: Path) -> pd.DataFrame:
    """A source's parsed file, via the cache."""
    frame = cache.cached_parse(path, _PARSER[source.kind], source.parser_options,
                               lambda data: parse(source, data, str(path)))
    if frame.index.unit != DATE_UNIT:
        frame.index = frame.index.as_unit(DATE_UNIT)
    frame.index.name = "date"
    return frame


def _missing_columns(source: Source, frame: pd.DataFrame, columns) -> list[str]:
    needed = [p for c in columns for p in source.derived.get(c, (c,))]
    return [c for c in dict.fromkeys(needed) if c not in frame.columns]


def file_columns(source: Source, frame: pd.DataFrame) -> list[str]:
    """The columns a source provides: declared (or, if not declared, the file's), then derived."""
    if source.kind == "prices":
        return list(source.columns)
    return [*(frame.columns if source.columns is None else source.columns), *source.derived]


def _series(source: Source, frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    if source.kind == "prices":
        return yahoo.to_returns(frame.iloc[:, 0].astype("float64"))
    missing = _missing_columns(source, frame, [column])
    if missing:
        hint = did_you_mean(missing[0], list(frame.columns)) if source.columns is None else ""
        raise DataError(f"{path}: no column {missing[0]!r} for series {source.dataset}:{column}{hint} "
                        f"(file columns: {', '.join(frame.columns)})")
    if column in source.derived:
        parts = source.derived[column]
        out = frame[parts[0]].astype("float64")
        for part in parts[1:]:
            out = out + frame[part]
        return out
    return frame[column].astype("float64")


def _check_missing(series: pd.Series, whole: pd.Series, sid: str, source: Source, path: Path) -> None:
    """DataError naming the file, series and first date of a missing value in `series` (the
    period's part of the series `whole`, as the file gives it).

    A missing value (`-99.99`/`-999` in Ken French files, an empty price or return, a returns
    file's declared `missing` values) is never read as a zero return and never silently skipped:
    the period must avoid it. A price file's first return (there is no previous price) is not
    missing data.
    """
    missing = series.isna().to_numpy(copy=True)
    if source.kind == "prices" and len(series) and series.index[0] == whole.index[0]:
        missing[0] = False
    if not missing.any():
        return
    if missing.all() and whole.isna().all():  # not a gap the period could avoid: no data at all
        raise DataError(f"{path}: {sid} has no data: every value in the file is missing; choose another series")
    date = series.index[int(missing.argmax())].date()
    what = {"prices": "an empty price", "kenfrench": "a missing value (-99.99/-999 or empty)",
            "returns": "a missing value (empty, or one the catalog calls missing)"}[source.kind]
    raise DataError(f"{path}: {sid} has {what} on {date}, inside the period; missing data is never "
                    "read as zero: choose period.start after it or period.end before it")


def load_returns(series_ids: Sequence[str], search_path: Sequence[Path] | None = None,
                 period: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
                 catalogs: Catalogs = ()) -> pd.DataFrame:
    """Daily simple returns (fractions), one float64 column per id, on the union of their calendars.

    With `period` = (start, end) (either may be None: open-ended) the rows are cut to it, and a
    missing value of any series inside it is a DataError naming the file, series and date.
    `catalogs`: user catalog files whose datasets the ids may name.
    """
    if isinstance(series_ids, str):
        series_ids = [series_ids]
    ids = list(dict.fromkeys(series_ids))
    resolved = [(sid, *resolve_id(sid, catalogs)) for sid in ids]  # all ids checked before any file I/O
    directories = resolve_search_path(search_path)
    frames: dict[str, tuple[Path, pd.DataFrame]] = {}
    columns: dict[str, pd.Series] = {}
    for sid, source, column in resolved:
        if source.name not in frames:
            path = locate(source, directories)
            frames[source.name] = path, read_source(source, path)
        path, frame = frames[source.name]
        series = whole = _series(source, frame, column, path)
        if period is not None:
            series = whole.loc[period[0]:period[1]]
            _check_missing(series, whole, sid, source, path)
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
    """Keep only the rows where every column has a value; (frame, number of rows dropped because
    the calendars differ: a row no series has a value in, such as a price file's first row, which
    has no return yet, is dropped without counting)."""
    present = returns.notna()
    keep = present.all(axis=1)
    dropped = int((~keep & present.any(axis=1)).sum())
    return (returns if keep.all() else returns.loc[keep]), dropped


def source_files(series_ids: Sequence[str], search_path: Sequence[Path] | None = None,
                 catalogs: Catalogs = ()) -> dict[str, str]:
    """{resolved path: sha256 of its bytes} of the files the ids are read from, each followed by
    the user catalog declaring it (its units and columns decide what the file's numbers mean)."""
    if isinstance(series_ids, str):
        series_ids = [series_ids]
    directories = resolve_search_path(search_path)
    out: dict[str, str] = {}
    for sid in dict.fromkeys(series_ids):
        source, _ = resolve_id(sid, catalogs)
        for path in (locate(source, directories), source.catalog):
            if path is not None and str(path.resolve()) not in out:
                out[str(path.resolve())] = cache.file_sha256(path)
    return out


def list_datasets(search_path: Sequence[Path] | None = None, catalogs: Catalogs = ()) -> list[DatasetInfo]:
    """Every source of the catalogs, where it was found and what its file holds."""
    directories = resolve_search_path(search_path)
    infos: list[DatasetInfo] = []
    for source in all_sources(catalogs):
        declared = [*(source.columns or ()), *source.derived]
        expected = "returns" if source.kind != "prices" else (source.column or ("Adj Close" if source.adjusted else "Close"))
        info = DatasetInfo(source.name, source.description, None, [f"{source.dataset}:{c}" for c in declared],
                           None, None, None, expected, source.url, returns=source.returns, catalog=source.catalog)
        path = source.path if source.path is not None and source.path.is_file() else find_file(source.files, directories)
        if path is not None:
            info.found_path = path
            try:
                frame = read_source(source, path)
            except DataError as exc:
                info.error = str(exc)
            else:
                info.series = [f"{source.dataset}:{c}" for c in file_columns(source, frame)]
                missing = _missing_columns(source, frame, source.columns or ()) if source.kind != "prices" else []
                if missing:
                    info.error = f"{path}: no column {', '.join(map(repr, missing))} (file columns: {', '.join(frame.columns)})"
                info.rows = len(frame)
                if len(frame):
                    info.first_date, info.last_date = frame.index[0], frame.index[-1]
                if source.kind == "prices":
                    info.price_field = yahoo.price_field(frame)
        infos.append(info)
    return infos
