"""`backtest runs list|show|rm`: the run registry."""

from __future__ import annotations

import json
from pathlib import Path

import click

from backtest.cli.output import RESULTS_ROOT, console, print_wide, table


@click.group()
def runs():
    """The run registry: list, show and remove recorded runs and sweeps."""


@runs.command("list")
@click.option("--strategy", metavar="NAME", help="Only runs of this strategy.")
@click.option("--since", metavar="DATE", help="Only runs created on or after DATE (local time).")
@click.option("--kind", type=click.Choice(["run", "sweep"]), help="Only runs or only sweeps.")
@RESULTS_ROOT
@click.option("--json", "as_json", is_flag=True, help="Print the records as one JSON list.")
def runs_list(strategy, since, kind, out, as_json):
    """Recorded runs, oldest first: id, time, strategy, period and key statistics."""
    from backtest.display import STAT_FORMATS, format_value
    from backtest.store import registry

    records = registry.list_runs(out, strategy=strategy, since=since, kind=kind)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records]))
        return
    if not records:
        click.echo(f"no runs recorded in {registry.db_path(out)}")
        return
    keys = ("cagr", "sharpe", "max_drawdown")
    rows = [
        [r.id, r.created_local, r.kind, r.strategy or "–", f"{r.start or '?'} → {r.end or '?'}",
         *(format_value(r.strategy_stats.get(k), STAT_FORMATS[k][1]) for k in keys)]
        for r in records
    ]
    header = ["id", "created", "kind", "strategy", "period", *(STAT_FORMATS[k][0] for k in keys)]
    print_wide(table(f"Runs in {registry.db_path(out)}", header, rows))


@runs.command("show")
@click.argument("run_id")
@RESULTS_ROOT
def runs_show(run_id, out):
    """Every field of one run (RUN_ID or a unique prefix) and its statistics."""
    from backtest.display import drawdown_rows, edge_lines, stat_rows
    from backtest.store import registry
    from backtest.store.registry import RegistryError

    r = registry.get_run(out, run_id)
    fields = [
        ["id", r.id], ["kind", r.kind], ["created", r.created_local], ["strategy", r.strategy or "–"],
        ["params", json.dumps(r.params)], ["period", f"{r.start or '?'} → {r.end or '?'}"],
        ["config hash", r.config_hash or "–"], ["data fingerprint", r.data_fingerprint or "–"],
        ["path", r.path or "–"],
    ]
    fields += [[key, json.dumps(value)] for key, value in (r.extra or {}).items()]
    tables = [table(r.id, ["field", "value"], fields)]
    tables[0].columns[1].justify = "left"
    columns = {"Strategy" if r.kind == "run" else "Best": r.strategy_stats}
    if r.benchmark_stats:
        columns["Benchmark"] = r.benchmark_stats
    tables.append(table("Performance", ["", *columns], stat_rows(columns)))
    print_wide(*tables)
    stats_file = Path(r.path) / "stats.json" if r.kind == "run" and r.path else None
    if stats_file is not None and stats_file.is_file():  # the lines `backtest run` printed under its table
        try:
            saved = json.loads(stats_file.read_text())
        except (OSError, ValueError) as exc:
            raise RegistryError(f"run {r.id}: cannot read {stats_file} ({exc})") from None
        for line in edge_lines(saved, with_note=True):
            console().print(line, markup=False)
    if r.strategy_stats.get("drawdowns"):
        print_wide(table("Top drawdowns", ["Peak", "Trough", "Recovery", "Depth", "Days"], drawdown_rows(r.strategy_stats["drawdowns"])))


@runs.command("rm")
@click.argument("run_id")
@RESULTS_ROOT
def runs_rm(run_id, out):
    """Remove a run (RUN_ID or a unique prefix): its registry row and its directory."""
    from backtest.store import registry

    r = registry.remove_run(out, run_id)
    click.echo(f"removed {r.id}" + (f" and {r.path}" if r.path else ""))
