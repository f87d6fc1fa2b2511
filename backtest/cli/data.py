"""`backtest data list|validate|fetch`: the datasets, their checks and their downloads."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import click

from backtest.cli.output import print_wide, table, wrap_items


@click.group()
def data():
    """Inspect and download the data sets."""


CONFIG_DATA = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
    help="Also the datasets of this config's user catalogs (data.catalog), on its search path (data.path).")


def _config_data(config) -> tuple[list[Path] | None, tuple[Path, ...]]:
    """(search path, user catalog files) of a --config file; (None, ()) without one."""
    if config is None:
        return None, ()
    from backtest.config import data_section
    from backtest.data.from_config import catalog_files, search_path

    section, base_dir, source = data_section(config)
    return search_path(section, base_dir), catalog_files(section, base_dir, source)


@data.command("list")
@CONFIG_DATA
def data_list(config):
    """Each dataset: its period and rows, return type, the file it was found in, its series."""
    from backtest.data import list_datasets

    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    for i, info in enumerate(list_datasets(*_config_data(config))):
        if i:
            click.echo()
        if info.first_date is not None:
            span = f"{info.first_date.date()} → {info.last_date.date()}, {info.rows:,} rows"
        else:
            span = "not found (backtest data fetch)"
        click.echo(click.style(info.name, bold=True) + f"  {span}, {info.returns} returns")
        if info.found_path:
            click.echo(textwrap.fill(f"file: {info.found_path} (values from {info.price_field})", width,
                                     initial_indent="  ", subsequent_indent="    "))
        if info.series == [info.name]:  # a price file of one symbol: the dataset's name is its series id
            click.echo(f"  series: {info.name}")
            continue
        for line in wrap_items(f"series ({info.name}:<name>):", [s.split(":", 1)[1] for s in info.series], width):
            click.echo(line)


@data.command("validate")
@click.argument("datasets", nargs=-1)
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), help="Check the series this config uses (and their calendars against each other).")
@click.option("--strict", is_flag=True, help="Exit 2 on warnings too (gaps, big moves, sentinels, calendar mismatches).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as one JSON list.")
def data_validate(datasets, config, strict, as_json):
    """Check DATASETS (names like ff_size, sources like etf:IWM, or series ids; default: every
    file found) for duplicates, unsorted rows, long gaps, ±50 % daily moves, sentinels and, for
    series used together, calendar mismatches. Exit 0 when no errors, 2 when any (or, with
    --strict, any warning)."""
    from backtest.data.validate import validate

    names = list(datasets)
    search_path, catalogs = _config_data(config)
    if config is not None:
        from backtest.config import load_config
        from backtest.pipeline import resolve_legs

        names += resolve_legs(load_config(config))[1]
    findings = validate(list(dict.fromkeys(names)), search_path, together=True if config is not None else None, catalogs=catalogs)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings]))
    elif findings:
        rows = [[f.source, f.check, f.severity, f.date or "–", f.column or "–", f"{f.count:,}", f.detail] for f in findings]
        found = table("Data findings", ["source", "check", "severity", "first date", "column", "count", "detail"], rows)
        found.columns[-1].justify = "left"
        print_wide(found)
    else:
        click.echo("no findings")
    errors = sum(f.severity == "error" for f in findings)
    failing = len(findings) if strict else errors
    if failing:
        from backtest.errors import DataError

        files = len({f.file for f in findings})
        raise DataError(f"data validate: {errors} error(s), {len(findings) - errors} warning(s) in {files} file(s)"
                        + (" (--strict: warnings fail too)" if strict and not errors else ""))


@data.command("fetch")
@click.argument("datasets", nargs=-1)
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True)
@CONFIG_DATA
def data_fetch(datasets, dest, config):
    """Download DATASETS (default: all) from their original sources into DEST."""
    from backtest.data.fetch import fetch

    for path in fetch(list(datasets) or None, dest, catalogs=_config_data(config)[1]):
        click.echo(f"saved {path}")


@data.command("add")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(["prices", "returns", "kenfrench"]), help="What the file holds (default: told by its form; returns when --unit is given).")
@click.option("--returns", "return_type", type=click.Choice(["total", "price"]), help="Whether its returns include dividends (required, except for Ken French files: total).")
@click.option("--unit", type=click.Choice(["percent", "fraction"]), help="A returns file's unit.")
@click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path), default=Path("my_data.yaml"), show_default=True, help="The catalog file to write or extend (name it in a config: data: {catalog: ...}).")
def data_add(name, file, kind, return_type, unit, catalog):
    """Declare FILE as dataset NAME (NAME:SYMBOL for a price file's symbol) in a user catalog,
    after reading it as a run would; print the series ids the dataset now provides."""
    from backtest.data.add import add_dataset

    series = add_dataset(name, file, kind, return_type, catalog, unit)
    click.echo(f"{catalog}: {', '.join(series)}")
