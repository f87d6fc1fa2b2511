"""Where a config finds its data: the `data` section's search path and user catalog files.

    data: {path: [dir, ...], catalog: my_data.yaml}     # or catalog: [a.yaml, b.yaml]

Both are relative to the config file's directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from backtest.data.catalog import catalog
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
