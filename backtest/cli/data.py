"""`backtest data list|validate|fetch`: the datasets, their checks and their downloads."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import click

from backtest.cli.output import print_wide, table


@click.group()
def data():
    """Inspect and download the data sets."""


@data.command("list")
def data_list():
    """Each dataset: its period and rows, the file it was found in, its series."""
    from backtest.data import list_datasets

    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    for i, info in enumerate(list_datasets()):
        if i:
            click.echo()
        if info.first_date is not None:
            span = f"{info.first_date.date()} → {info.last_date.date()}, {info.rows:,} rows"
        else:
            span = "not found (backtest data fetch)"
        click.echo(click.style(info.name, bold=True) + f"  {span}")
        if info.found_path:
            click.echo(textwrap.fill(f"file: {info.found_path} (values from {info.price_field})", width,
                                     initial_indent="  ", subsequent_indent="    "))
        series = ", ".join(s.split(":", 1)[1] for s in info.series)
        click.echo(textwrap.fill(f"series ({info.name}:<name>): {series}", width, initial_indent="  ", subsequent_indent="    "))


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

    names, search_path = list(datasets), None
    if config is not None:
        from backtest.config import load_config
        from backtest.pipeline import resolve_legs, search_path as config_search_path

        cfg = load_config(config)
        names += resolve_legs(cfg)[1]
        search_path = config_search_path(cfg)
    findings = validate(list(dict.fromkeys(names)), search_path, together=True if config is not None else None)
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
def data_fetch(datasets, dest):
    """Download DATASETS (default: all) from their original sources into DEST."""
    from backtest.data.fetch import fetch

    for path in fetch(list(datasets) or None, dest):
        click.echo(f"saved {path}")
