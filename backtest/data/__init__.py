"""The data layer: catalog, parsers (Ken French, Yahoo), search path, Parquet cache, downloads.

Public surface:

    load_returns(series_ids, search_path=None) -> DataFrame   daily simple returns, union calendar
    align_calendars(returns) -> (DataFrame, rows dropped)       intersection calendar
    check_series_id(series_id) -> None                          catalog-only validation
    source_files(series_ids, search_path=None) -> {path: sha256}
    list_datasets(search_path=None) -> list[DatasetInfo]
    default_search_path() -> list[Path]

Series ids are `<dataset>:<column>` (see catalog.yaml). `backtest.data.fetch.fetch` downloads.
"""

from backtest.data.catalog import (
    DatasetInfo,
    align_calendars,
    check_series_id,
    list_datasets,
    load_returns,
    source_files,
)
from backtest.data.paths import default_search_path

__all__ = [
    "DatasetInfo",
    "align_calendars",
    "check_series_id",
    "default_search_path",
    "list_datasets",
    "load_returns",
    "source_files",
]
