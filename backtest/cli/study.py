"""`backtest study ...`: research questions answered from the data (`backtest.study`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from backtest.cli.output import console, options, print_wide, table

# options every study takes, ytd included
_output_options = options(
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: the study is written to OUT/study-<name>-<...>/."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object (returns as fractions, NaN as null)."),
)

# options of the studies that test their groups over a period
_study_options = options(
    click.option("--start", metavar="DATE", help="First date (YYYY-MM-DD) of the period studied."),
    click.option("--end", metavar="DATE", help="Last date (YYYY-MM-DD) of the period studied."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the bootstrap and the permutations."),
    click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True, help="Bootstrap resamples and permutations."),
    _output_options,
)

# the series of the studies of small vs large caps
_size_pair_options = options(
    click.option("--small", default="ff_size:Lo 30", show_default=True, help="Small-cap series id."),
    click.option("--large", default="ff_size:Hi 30", show_default=True, help="Large-cap series id."),
    click.option("--market", default="ff_factors:Mkt", show_default=True, help="Market series id."),
)

# the T-bill rate regime of the monthly studies
_rate_regime_options = options(
    click.option("--rf", default="ff_factors:RF", show_default=True, help="T-bill series id (daily return)."),
    click.option("--months", type=click.IntRange(min=1), default=6, show_default=True, help="Rate change over the prior M months."),
)



def _run_study(name, as_json, out, **params):
    from backtest import study
    from backtest.study.common import report

    module = study.module(name)
    result = study.run(name, out, **params)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    tables, lines = report(result, module.COLUMNS, module.OUTCOMES, module.MAX_ROWS)
    print_wide(*(table(title, header, rows) for title, header, rows in tables))
    out_console = console()
    for line in lines:
        out_console.print(line, markup=False)
    out_console.print(f"Results: {result.directory}", markup=False)


@click.group()
def study():
    """Research questions answered from the data, with bootstrap intervals and permutation tests."""


@study.command("first10")
@_size_pair_options
@click.option("--lookback", type=click.IntRange(min=1), default=10, show_default=True, help="Sessions at the start of the year (N).")
@_study_options
def study_first10(as_json, out, **params):
    """Small minus large over the first N sessions vs the market's rest of the year."""
    _run_study("first10", as_json, out, **params)


@study.command("january")
@_size_pair_options
@_study_options
def study_january(as_json, out, **params):
    """Small minus large in January vs the market's rest of the year."""
    _run_study("january", as_json, out, **params)


@study.command("rates")
@_size_pair_options
@_rate_regime_options
@_study_options
def study_rates(as_json, out, **params):
    """Monthly small minus large after easing vs tightening T-bill regimes."""
    _run_study("rates", as_json, out, **params)


@study.command("sectors")
@click.option("--universe", type=click.Choice(["ff", "sectors"]), default="ff", show_default=True, help="ff: Ken French industries; sectors: Select Sector SPDRs.")
@click.option("--small", help="Small-cap series id (default: ff_size:Lo 30 / etf:IWM).")
@click.option("--large", help="Large-cap series id (default: ff_size:Hi 30 / etf:SPY).")
@_rate_regime_options
@_study_options
def study_sectors(as_json, out, **params):
    """Monthly cyclicals minus defensives by rate regime and by last month's small-cap lead."""
    _run_study("sectors", as_json, out, **params)


@study.command("ytd")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--as-of", "as_of", required=True, metavar="DATE", help="Date (YYYY-MM-DD); the last close on or before it is used.")
@_output_options
def study_ytd(ids, as_of, as_json, out):
    """Year-to-date returns of series IDs as of a date (previous year's last close to that close)."""
    from backtest import study
    from backtest.study import year_to_date

    result = study.ytd(ids, as_of, out=out)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    for line in year_to_date.lines(result):
        click.echo(line)
    click.echo(f"Results: {result.directory}")
