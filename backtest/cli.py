"""The `backtest` command: a thin face over the stages (parse -> call -> print).

User errors (bad config, unknown series, missing files) print one line and exit 2; bugs print
one line and exit 1 (set BACKTEST_DEBUG=1 for the traceback). Heavy imports (vectorbt, plotting)
happen inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from backtest.errors import UserError


class _Group(click.Group):
    """Maps exceptions to one-line messages and exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("BACKTEST_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} (BACKTEST_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backtest")
def main():
    """Config-driven historical backtests on real data."""


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _table(title: str, header: list[str], rows: list[list[str]]):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


@main.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. strategy.params.lookback=7 (repeatable).")
@click.option("--start", metavar="DATE", help="First date (YYYY-MM-DD); overrides period.start.")
@click.option("--end", metavar="DATE", help="Last date (YYYY-MM-DD); overrides period.end.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: the run is written to OUT/<run_id>/.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the statistics on stdout.")
def run(config, overrides, start, end, out, as_json):
    """Run the backtest described by CONFIG (a YAML file)."""
    from backtest import results
    from backtest.config import load_config
    from backtest.display import drawdown_rows, stat_rows
    from backtest.pipeline import run_backtest

    overrides = list(overrides)
    if start:
        overrides.append(f"period.start={start}")
    if end:
        overrides.append(f"period.end={end}")
    cfg = load_config(config, overrides)
    result = run_backtest(cfg)
    run_id = results.new_run_id(result.strategy.leg.strategy.name, cfg.to_dict())
    run_dir = results.write_run(result, out, run_id)
    summary = results.summary(result, run_id)
    if as_json:
        click.echo(json.dumps(summary))
        return

    console = _console()
    columns = {"Strategy": summary["strategy"]}
    if summary["benchmark"] is not None:
        columns["Benchmark"] = summary["benchmark"]
    prepared = result.prepared
    legs = " vs ".join(f"{leg.strategy.name}({', '.join(leg.series)})" for leg in prepared.legs)
    console.print(f"[bold]{legs}[/]  {summary['start']} → {summary['end']}, {len(prepared.returns):,} sessions")
    if prepared.dropped_rows:
        console.print(f"[dim]{prepared.dropped_rows:,} dates dropped to align the series' calendars[/]")
    console.print(_table("Performance", ["", *columns], stat_rows(columns)))
    console.print(
        _table(
            "Strategy: top drawdowns",
            ["Peak", "Trough", "Recovery", "Depth", "Days"],
            drawdown_rows(summary["strategy"]["drawdowns"]),
        )
    )
    console.print(f"Results: {run_dir}")


@main.command("strategies")
def list_strategies():
    """List the strategies in strategies/ with their parameters."""
    from backtest.strategy import load_strategy, strategy_names

    console = _console()
    for name in strategy_names():
        strategy = load_strategy(name)
        console.print(f"[bold]{name}[/]: {strategy.doc.splitlines()[0] if strategy.doc else ''}")
        rows = []
        for p in strategy.params:
            bounds = f"[{p.min}, {p.max}]" if p.min is not None or p.max is not None else ", ".join(map(str, p.choices))
            rows.append([p.name, p.kind, json.dumps(p.default), bounds, p.help])
        if rows:
            console.print(_table("", ["param", "type", "default", "range", "help"], rows))


@main.group("data")
def data_group():
    """Inspect and download the data sets."""


@data_group.command("list")
def data_list():
    """Each dataset: where it was found, its series, first/last date and rows."""
    from backtest.data import list_datasets

    rows = []
    for info in list_datasets():
        found = str(info.found_path) if info.found_path else "not found (backtest data fetch)"
        first = str(info.first_date.date()) if info.first_date is not None else "–"
        last = str(info.last_date.date()) if info.last_date is not None else "–"
        series = ", ".join(info.series)
        rows.append([info.name, found, info.price_field, first, last, f"{info.rows:,}" if info.rows else "–", series])
    _console().print(_table("Datasets", ["dataset", "file", "values from", "first", "last", "rows", "series"], rows))


@data_group.command("fetch")
@click.argument("datasets", nargs=-1)
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True)
def data_fetch(datasets, dest):
    """Download DATASETS (default: all) from their original sources into DEST."""
    from backtest.data.fetch import fetch

    for path in fetch(list(datasets) or None, dest):
        click.echo(f"saved {path}")


if __name__ == "__main__":
    main()
