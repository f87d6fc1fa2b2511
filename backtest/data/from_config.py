"""Where a config finds its data: the `data` section's search path and user catalog files.

    data: {path: [dir, ...], catalog: my_data.yaml}     # or catalog: [a.yaml, b.yaml]

Both are relative to the config file's directory. `load` reads series the way a run of that
config does, from a validated config or a plain dict (the API's `backtest.load` style).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from backtest.data.catalog import catalog, load_returns
from backtest.errors import DataError


def _relative(entries: str | Sequence[str], base_dir: Path | str) -> list[Path]:
    entries = [entries] if isinstance(entries, (str, Path)) else entries
    return [p if p.is_absolute() else Path(base_dir) / p for p in map(Path, entries)]


def search_path(section, base_dir: Path | str) -> list[Path] | None:
    """The directories a config's `data.path` names (None: the default search path)."""
    return None if section.path is None else _relative(section.path, base_dir)


def catalog_files(section, base_dir: Path | str, source: str = "config") -> tuple[Path, ...]:
    """The user catalog files a config's `data.catalog` names (one or a list), read and checked:
    a mistake in one is a DataError naming the config (`source`), `data.catalog`, the catalog
    file and its key."""
    files = () if not section.catalog else tuple(_relative(section.catalog, base_dir))
    try:
        catalog(files)
    except DataError as exc:
        raise DataError(f"{source}: data.catalog: {exc}") from None
    return files


def section_of(config, base_dir: Path | str = "."):
    """(the `data` section, the directory its paths are relative to, the name errors start with)
    of a validated Config, or of a plain dict holding a config's `data` mapping (checked as a
    config's would be; ConfigError naming the key), relative to `base_dir`."""
    if not isinstance(config, Mapping):
        return config.data, config.base_dir, config.source
    from pydantic import ValidationError

    from backtest.config import DataSection
    from backtest.errors import ConfigError

    try:
        return DataSection.model_validate(config.get("data") or {}), Path(base_dir), "config"
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        raise ConfigError(f"config: data.{key}: {error['msg']} (got {error.get('input')!r})") from None


def load(series_ids: Sequence[str], config=None, *, base_dir: Path | str = ".",
         period: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None) -> pd.DataFrame:
    """Daily returns of `series_ids` (see `load_returns`), found where `config` says: a Config, a
    dict such as {"data": {"catalog": "my_data.yaml"}} (paths relative to `base_dir`), or None
    for the built-in catalog on the default search path."""
    if config is None:
        return load_returns(series_ids, period=period)
    section, base, source = section_of(config, base_dir)
    return load_returns(series_ids, search_path(section, base), period, catalog_files(section, base, source))
