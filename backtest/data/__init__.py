"""The data layer: catalogs (built-in and the user's), parsers (Ken French, price files, returns
CSVs), search path, Parquet cache, downloads, validation.

Public surface:

    load_returns(series_ids, search_path=None, period=None, catalogs=()) -> DataFrame
                                                     daily simple returns, union calendar
    load(series_ids, config=None, base_dir=".")   -> DataFrame   as a config (or dict) finds them
    align_calendars(returns) -> (DataFrame, rows dropped)       intersection calendar
    check_series_id(series_id, catalogs=()) -> None             catalog-only validation
    source_files(series_ids, search_path=None, catalogs=()) -> {path: sha256}
    list_datasets(search_path=None, catalogs=()) -> list[DatasetInfo]
    return_types(series_ids, catalogs=()) -> {id: "total" | "price"}
    mixed_returns_message(return_types) -> str | None           the notice of a run mixing them
    default_search_path() -> list[Path]

Series ids are `<dataset>:<column>` (see catalog.yaml). `catalogs` are user catalog files (a
config's `data.catalog`, see `from_config`). `backtest.data.fetch.fetch` downloads,
`backtest.data.add.add_dataset` writes a user catalog entry.
"""

from backtest.data import from_config
from backtest.data.catalog import (
    DatasetInfo,
    align_calendars,
    check_series_id,
    list_datasets,
    load_returns,
    source_files,
)
from backtest.data.paths import default_search_path
from backtest.data.return_types import mixed_returns_message, return_types

__all__ = [
    "DatasetInfo",
    "align_calendars",
    "check_series_id",
    "default_search_path",
    "from_config",
    "list_datasets",
    "load_returns",
    "mixed_returns_message",
    "return_types",
    "source_files",
]
