"""`backtest run`, `backtest check` and `backtest rerun`: one backtest, its look-ahead check,
and the re-execution of a recorded one."""

from __future__ import annotations

import json
import sys

import click

from backtest.cli.output import CONFIG_ARGUMENTS, RESULTS_ROOT, console, notes, options, table


@click.command()
@options(*CONFIG_ARGUMENTS)
@RESULTS_ROOT
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the statistics on stdout.")
@click.option("--report", "with_report", is_flag=True, help="Also write the HTML tearsheet (report.html) and PNG charts (png/) into the run directory.")
def run(config, overrides, start, end, out, as_json, with_report):
    """Run the backtest described by CONFIG (a YAML file); write OUT/<run_id>/."""
    import backtest
    from backtest.display import drawdown_rows, edge_lines, stat_rows

    result = backtest.run(config, set=list(overrides), start=start, end=end, out=out)
    report = result.report(png_dir=result.directory / "png") if with_report else None
    notes(result.notes)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    out_console = console()
    columns = {"Strategy": result.strategy.stats}
    if result.benchmark is not None:
        columns["Benchmark"] = result.benchmark.stats
    legs = " vs ".join(f"{leg.leg.strategy.name}({', '.join(leg.leg.series)})" for leg in result.legs)
    out_console.print(f"[bold]{legs}[/]  {result.start} → {result.end}, {len(result.prepared.returns):,} sessions")
    if result.prepared.dropped_rows:
        out_console.print(f"[dim]{result.prepared.dropped_rows:,} dates dropped to align the series' calendars[/]")
    out_console.print(table("Performance", ["", *columns], stat_rows(columns)))
    for line in edge_lines({"conventions": result.conventions, "significance": result.significance}):
        out_console.print(line, markup=False)
    out_console.print(table("Strategy: top drawdowns", ["Peak", "Trough", "Recovery", "Depth", "Days"],
                            drawdown_rows(result.strategy.stats["drawdowns"])))
    out_console.print(f"Results: {result.directory}")
    if report is not None:
        click.echo(f"Report: {report.html}  charts: {report.pngs[0].parent}/")


@click.command()
@options(*CONFIG_ARGUMENTS)
@click.option("--cuts", type=click.IntRange(min=1), default=20, show_default=True, help="Cut dates per strategy (its own decision dates first).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cut dates and of the scrambled future.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every leg's cuts and offences.")
def check(config, overrides, start, end, cuts, seed, as_json):
    """Look for look-ahead in CONFIG's strategy and benchmark.

    At each cut date the strategy is rerun with the data after the cut removed, and again with
    it scrambled; every decision up to the cut must stay identical. Exit 0: none found; exit 3:
    look-ahead found (the first offending decision is named); exit 2: bad input.
    """
    import backtest
    from backtest.errors import EXIT_CHECK_FAILED

    reports = backtest.check(config, set=list(overrides), start=start, end=end, cuts=cuts, seed=seed)
    if as_json:
        click.echo(json.dumps({"config": str(config), "seed": seed, "legs": [r.to_json() for r in reports]}))
    for report in reports:
        span = f"{report.cuts[0].date()} … {report.cuts[-1].date()}" if report.cuts else "none"
        label = f"{report.key} {report.name!r}"
        if not as_json:
            if report.clean:
                click.echo(f"{label}: no look-ahead at {len(report.cuts)} cut dates ({span}), truncated and scrambled")
            for cut, message in report.refused:
                click.echo(f"{label}: cut {cut.date()} not compared (truncated data refused: {message})")
        if not report.clean:
            first = min(report.offences, key=lambda o: (o.date, o.cut))
            bad_cuts = len({o.cut for o in report.offences})
            click.echo(f"look-ahead in {label} ({config}): {first.describe()} "
                       f"[{bad_cuts} of {len(report.cuts)} cut dates]", err=True)
    if not all(r.clean for r in reports):
        sys.exit(EXIT_CHECK_FAILED)


@click.command()
@click.argument("run_id")
@RESULTS_ROOT
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: identical, changes, differences.")
def rerun(run_id, out, as_json):
    """Execute a recorded run (RUN_ID or a unique prefix) again and compare it bit for bit.

    The recorded config is loaded, the data files' hashes checked against the run's manifest,
    the run executed, and every statistic compared exactly. Exit 0: identical; exit 3: a
    statistic differs (the changed inputs and the differing figures are named); exit 2: bad input.
    """
    from backtest.errors import EXIT_CHECK_FAILED
    from backtest.rerun import rerun as rerun_run
    from backtest.store import registry

    report = rerun_run(registry.get_run(out, run_id))
    if as_json:
        click.echo(json.dumps({
            "run_id": report.run_id, "identical": report.identical, "figures": report.figures,
            "changes": [vars(c) for c in report.changes],
            "differences": [vars(d) for d in report.differences],
        }))
    else:
        for change in report.changes:
            click.echo(f"input changed: {change.describe()}")
        for d in report.differences:
            click.echo(f"differs: {d.key}: {d.old!r} -> {d.new!r}")
        if report.identical:
            click.echo(f"{report.run_id}: identical ({report.figures} figures, bit for bit)")
    if not report.identical:
        cause = "; ".join(c.describe() for c in report.changes) or "no input changed"
        click.echo(f"{report.run_id}: not reproduced: {len(report.differences)} of {report.figures} figures differ "
                   f"(first: {report.differences[0].key}); {cause}", err=True)
        sys.exit(EXIT_CHECK_FAILED)
