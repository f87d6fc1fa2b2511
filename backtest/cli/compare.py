"""`backtest compare`: runs and configs side by side on the dates they share, with tests of each against the first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from backtest.cli.output import console, notes, print_wide, table


@click.command()
@click.argument("items", nargs=-1, required=True, metavar="RUN_OR_CONFIG...")
@click.option("--label", "labels", multiple=True, metavar="TEXT", help="Column label of each argument, in order (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "markdown", "json"]), default="table", show_default=True, help="table: rich tables; csv/markdown/json: print that instead.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: run ids are looked up in OUT/registry.sqlite; outputs go to OUT/compare-<id>/.")
@click.option("--resamples", type=click.IntRange(min=1), default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--block", type=click.FloatRange(min=1), default=None, help="Mean block length of the stationary bootstrap (sessions; default round(n^(1/3))).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--report", "with_report", is_flag=True, help="Also write the HTML report (report.html) into OUT/compare-<id>/, beside the PNG charts.")
def compare(items, labels, fmt, out, resamples, block, seed, with_report):
    """Compare runs on the dates they share, and test each against the first.

    Each argument is a run id (or unique prefix), a run directory, a config file, or a quoted
    config with overrides: "configs/first10.yaml --set strategy.params.lookback=5".
    """
    import backtest
    from backtest import comparison
    from backtest.display import conventions_line, significance_lines

    result = backtest.compare(*items, labels=labels, root=out, resamples=resamples, block=block, seed=seed, out=out)
    notes(result.notes)
    if with_report:
        from backtest.report import compare_report

        report = compare_report(result)
        click.echo(f"Report: {report.html}", err=fmt != "table")
    if fmt == "json":
        click.echo(json.dumps(comparison.to_json(result)))
        return
    if fmt == "csv":
        click.echo(comparison.to_csv(result), nl=False)
        return
    if fmt == "markdown":
        click.echo(comparison.to_markdown(result))
        return
    out_console = console()
    for e in result.entries:
        out_console.print(f"[bold]{e.label}[/]: {e.strategy}, {e.start} → {e.end}, {len(e.equity):,} sessions  [dim]({e.kind}: {e.source})[/]")
    header, common, full = comparison.formatted_rows(result)
    print_wide(table(comparison.common_heading(result), header, common))
    out_console.print(conventions_line(result.conventions.to_json()), markup=False)
    for test in result.tests:
        for line in significance_lines(test["significance"]):
            out_console.print(line, markup=False)
    print_wide(table(comparison.FULL_HEADING, header, full))
    print_wide(table("Calendar-year returns on the common window (* partial year)", *comparison.yearly_rows(result)))
    out_console.print(f"Charts and tables: {result.directory}")
