"""`backtest compare`: runs and configs side by side, with tests of their Sharpe ratios."""

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
@click.option("--block", type=click.FloatRange(min=1), default=21.0, show_default=True, help="Mean block length of the stationary bootstrap (sessions).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--report", "with_report", is_flag=True, help="Also write the HTML report (report.html) into OUT/compare-<id>/, beside the PNG charts.")
def compare(items, labels, fmt, out, resamples, block, seed, with_report):
    """Compare runs side by side and test their Sharpe ratios against the first's.

    Each argument is a run id (or unique prefix), a run directory, a config file, or a quoted
    config with overrides: "configs/first10.yaml --set strategy.params.lookback=5".
    """
    import backtest
    from backtest import comparison

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
    print_wide(table("Side by side", *comparison.formatted_rows(result)))
    out_console.print(
        f"[dim]Sharpe tests vs {result.reference.label} on the dates each pair shares: Jobson–Korkie with Memmel's "
        f"correction, and a paired stationary bootstrap ({resamples:,} resamples, mean block {block:g}, seed {seed}).[/]"
    )
    for t in result.tests:
        out_console.print(
            f"  {t['label']}: {t['common_dates']:,} common dates ({t['start']} → {t['end']}), "
            f"Sharpe {t['sharpe']:.3f} vs {t['sharpe_reference']:.3f}, "
            f"p = {comparison.format_cell(t['jkm_p_value'], 'p')} (JKM), {comparison.format_cell(t['bootstrap_p_value'], 'p')} (bootstrap)"
        )
    print_wide(table("Calendar-year returns", *comparison.yearly_rows(result)))
    out_console.print(f"Charts and tables: {result.directory}")
