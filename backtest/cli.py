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
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("BACKTEST_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {_one_line(exc)} (BACKTEST_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    """An error message on one line: a strategy's own exception text may span several."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backtest")
def main():
    """Config-driven historical backtests on real data."""


def _options(*options):
    """One decorator applying several click options, listed in the order they show in --help."""

    def apply(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn

    return apply


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


# CONFIG and the options that change it, shared by `run` and `check`
_config_arguments = (
    click.argument("config", type=click.Path(dir_okay=False, path_type=Path)),
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. strategy.params.lookback=7 (repeatable)."),
    click.option("--start", metavar="DATE", help="First date (YYYY-MM-DD); overrides period.start."),
    click.option("--end", metavar="DATE", help="Last date (YYYY-MM-DD); overrides period.end."),
)


def _load_config(config, overrides, start, end):
    """CONFIG with its --set overrides and --start/--end applied, validated."""
    from backtest.config import load_config

    overrides = list(overrides)
    if start:
        overrides.append(f"period.start={start}")
    if end:
        overrides.append(f"period.end={end}")
    return load_config(config, overrides)


@main.command()
@_options(*_config_arguments)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: the run is written to OUT/<run_id>/.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the statistics on stdout.")
@click.option("--report", "with_report", is_flag=True, help="Also write the HTML tearsheet (report.html) and PNG charts (png/) into the run directory.")
def run(config, overrides, start, end, out, as_json, with_report):
    """Run the backtest described by CONFIG (a YAML file)."""
    from backtest import data, results
    from backtest.display import drawdown_rows, stat_rows
    from backtest.pipeline import run_backtest

    cfg = _load_config(config, overrides, start, end)
    results.check_writable(out)
    result = run_backtest(cfg)
    _note_mixed_returns(data.return_types(list(result.prepared.returns.columns), result.prepared.catalogs))
    run_id = results.new_run_id(result.strategy.leg.strategy.name, cfg.to_dict())
    run_dir = results.write_run(result, out, run_id)
    summary = results.summary(result, run_id)
    _record_run(out, run_id, cfg.to_dict(), summary, run_dir)
    report = _write_run_report(run_dir) if with_report else None
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
    if report is not None:
        click.echo(f"Report: {report.html}  charts: {report.pngs[0].parent}/")


def _note_mixed_returns(return_types: dict) -> None:
    """One line on stderr when total and price returns are mixed (stdout may carry --json)."""
    from backtest.data import mixed_returns_message

    note = mixed_returns_message(return_types)
    if note:
        click.echo(f"note: {note}", err=True)


def _write_run_report(run_dir):
    from backtest.report import run_report

    return run_report(run_dir, png_dir=run_dir / "png")


@main.command("report")
@click.argument("target", metavar="RUN_ID")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write (default: report.html in the run's directory).")
@click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path), help="Also write the key charts as PNG files into this directory.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root holding registry.sqlite.")
def report_command(target, out_file, png_dir, root):
    """Write the HTML report of a run or sweep (RUN_ID, a unique prefix, or its directory) or a study directory."""
    from backtest.report import report

    result = report(target, root=root, out=out_file, png_dir=png_dir)
    click.echo(f"Report: {result.html}")
    for path in result.pngs:
        click.echo(f"Chart: {path}")


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


_DATA_CONFIG_OPTION = click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
    help="Also the datasets of this config's user catalogs (data.catalog), on its search path (data.path).")


def _config_data(config) -> tuple[list[Path] | None, tuple[Path, ...]]:
    """(search path, user catalog files) of a --config file; (None, ()) without one."""
    if config is None:
        return None, ()
    from backtest.config import load_config
    from backtest.pipeline import catalogs, search_path

    cfg = load_config(config)
    return search_path(cfg), catalogs(cfg)


@data_group.command("list")
@_DATA_CONFIG_OPTION
def data_list(config):
    """Each dataset: where it was found, its series, first/last date and rows."""
    from backtest.data import list_datasets

    rows = []
    for info in list_datasets(*_config_data(config)):
        found = str(info.found_path) if info.found_path else "not found (backtest data fetch)"
        first = str(info.first_date.date()) if info.first_date is not None else "–"
        last = str(info.last_date.date()) if info.last_date is not None else "–"
        series = ", ".join(s.split(":", 1)[1] for s in info.series)
        rows.append([info.name, found, info.price_field, info.returns, first, last, f"{info.rows:,}" if info.rows else "–", series])
    _console().print(_table("Datasets", ["dataset", "file", "values from", "returns", "first", "last", "rows", "series (dataset:<name>)"], rows))


@data_group.command("validate")
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

    names, search_path, catalogs = list(datasets), None, ()
    if config is not None:
        from backtest.config import load_config
        from backtest.pipeline import catalogs as config_catalogs, resolve_legs, search_path as config_search_path

        cfg = load_config(config)
        names += resolve_legs(cfg)[1]
        search_path, catalogs = config_search_path(cfg), config_catalogs(cfg)
    findings = validate(list(dict.fromkeys(names)), search_path, together=True if config is not None else None,
                        catalogs=catalogs)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in findings]))
    elif findings:
        rows = [[f.source, f.check, f.severity, f.date or "–", f.column or "–", f"{f.count:,}", f.detail] for f in findings]
        table = _table("Data findings", ["source", "check", "severity", "first date", "column", "count", "detail"], rows)
        table.columns[-1].justify = "left"
        _print_wide(table)
    else:
        click.echo("no findings")
    errors = sum(f.severity == "error" for f in findings)
    failing = len(findings) if strict else errors
    if failing:
        from backtest.errors import DataError

        files = len({f.file for f in findings})
        raise DataError(f"data validate: {errors} error(s), {len(findings) - errors} warning(s) in {files} file(s)"
                        + (" (--strict: warnings fail too)" if strict and not errors else ""))


@data_group.command("fetch")
@click.argument("datasets", nargs=-1)
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True)
@_DATA_CONFIG_OPTION
def data_fetch(datasets, dest, config):
    """Download DATASETS (default: all) from their original sources into DEST."""
    from backtest.data.fetch import fetch

    for path in fetch(list(datasets) or None, dest, catalogs=_config_data(config)[1]):
        click.echo(f"saved {path}")


@data_group.command("add")
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


# --- run registry (backtest.registry) ---------------------------------------------------------

_OUT_OPTION = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True,
    help="Results root holding registry.sqlite.",
)


def _record_run(out, run_id, config_dict, summary, run_dir):
    """Record a finished run; the run directory is already safe, so a registry failure only warns."""
    import sqlite3

    from backtest import registry

    try:
        registry.record_run(out, run_id, config_dict, summary, run_dir=run_dir)
    except (sqlite3.Error, OSError) as exc:
        click.echo(f"warning: {run_id} not recorded in {registry.db_path(out)}: {exc}", err=True)


def _print_wide(*tables):
    """Print tables at their natural width even on a narrow terminal (ids must never be cut)."""
    from rich.measure import Measurement

    console = _console()
    need = max(Measurement.get(console, console.options.update_width(10_000), t).maximum for t in tables)
    if need > console.width:
        console.width = need
    for table in tables:
        console.print(table)


@main.group("runs")
def runs_group():
    """The run registry: list, show and remove recorded runs and sweeps."""


@runs_group.command("list")
@click.option("--strategy", metavar="NAME", help="Only runs of this strategy.")
@click.option("--since", metavar="DATE", help="Only runs created on or after DATE (local time).")
@click.option("--kind", type=click.Choice(["run", "sweep"]), help="Only runs or only sweeps.")
@_OUT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the records as one JSON list.")
def runs_list(strategy, since, kind, out, as_json):
    """Recorded runs, oldest first: id, time, strategy, period and key statistics."""
    from backtest import registry
    from backtest.display import STAT_FORMATS, format_value

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
    _print_wide(_table(f"Runs in {registry.db_path(out)}", header, rows))


@runs_group.command("show")
@click.argument("run_id")
@_OUT_OPTION
def runs_show(run_id, out):
    """Every field of one run (RUN_ID or a unique prefix) and its statistics."""
    from backtest import registry
    from backtest.display import drawdown_rows, stat_rows

    r = registry.get_run(out, run_id)
    fields = [
        ["id", r.id], ["kind", r.kind], ["created", r.created_local], ["strategy", r.strategy or "–"],
        ["params", json.dumps(r.params)], ["period", f"{r.start or '?'} → {r.end or '?'}"],
        ["config hash", r.config_hash or "–"], ["data fingerprint", r.data_fingerprint or "–"],
        ["path", r.path or "–"],
    ]
    fields += [[key, json.dumps(value)] for key, value in (r.extra or {}).items()]
    tables = [_table(r.id, ["field", "value"], fields)]
    tables[0].columns[1].justify = "left"
    columns = {"Strategy" if r.kind == "run" else "Best": r.strategy_stats}
    if r.benchmark_stats:
        columns["Benchmark"] = r.benchmark_stats
    tables.append(_table("Performance", ["", *columns], stat_rows(columns)))
    if r.strategy_stats.get("drawdowns"):
        tables.append(_table("Top drawdowns", ["Peak", "Trough", "Recovery", "Depth", "Days"],
                             drawdown_rows(r.strategy_stats["drawdowns"])))
    _print_wide(*tables)


@runs_group.command("rm")
@click.argument("run_id")
@_OUT_OPTION
def runs_rm(run_id, out):
    """Remove a run (RUN_ID or a unique prefix): its registry row and its directory."""
    from backtest import registry

    r = registry.remove_run(out, run_id)
    click.echo(f"removed {r.id}" + (f" and {r.path}" if r.path else ""))


# --- compare (backtest.compare) ----------------------------------------------------------------


@main.command("compare")
@click.argument("items", nargs=-1, required=True, metavar="RUN_OR_CONFIG...")
@click.option("--label", "labels", multiple=True, metavar="TEXT", help="Column label of each argument, in order (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "markdown", "json"]), default="table", show_default=True, help="table: rich tables; csv/markdown/json: print that instead.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: run ids are looked up in OUT/registry.sqlite; outputs go to OUT/compare-<id>/.")
@click.option("--resamples", type=click.IntRange(min=1), default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--block", type=click.FloatRange(min=1), default=21.0, show_default=True, help="Mean block length of the stationary bootstrap (sessions).")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--report", "with_report", is_flag=True, help="Also write the HTML report (report.html) into OUT/compare-<id>/, beside the PNG charts.")
def compare_command(items, labels, fmt, out, resamples, block, seed, with_report):
    """Compare runs side by side and test their Sharpe ratios against the first's.

    Each argument is a run id (or unique prefix), a run directory, a config file, or a quoted
    config with overrides: "configs/first10.yaml --set strategy.params.lookback=5".
    """
    from backtest import compare

    result = compare.compare(items, root=out, labels=labels, resamples=resamples, block=block, seed=seed)
    _note_mixed_returns({sid: kind for e in result.entries for sid, kind in e.return_types.items()})
    if with_report:
        from backtest.report import compare_report

        report = compare_report(result)
        click.echo(f"Report: {report.html}", err=fmt != "table")
    if fmt == "json":
        click.echo(json.dumps(compare.to_json(result)))
        return
    if fmt == "csv":
        click.echo(compare.to_csv(result), nl=False)
        return
    if fmt == "markdown":
        click.echo(compare.to_markdown(result))
        return
    console = _console()
    for e in result.entries:
        console.print(f"[bold]{e.label}[/]: {e.strategy}, {e.start} → {e.end}, {len(e.equity):,} sessions  [dim]({e.kind}: {e.source})[/]")
    _print_wide(_table("Side by side", *compare.formatted_rows(result)))
    console.print(
        f"[dim]Sharpe tests vs {result.reference.label} on the dates each pair shares: Jobson–Korkie with Memmel's "
        f"correction, and a paired stationary bootstrap ({resamples:,} resamples, mean block {block:g}, seed {seed}).[/]"
    )
    for t in result.tests:
        console.print(
            f"  {t['label']}: {t['common_dates']:,} common dates ({t['start']} → {t['end']}), "
            f"Sharpe {t['sharpe']:.3f} vs {t['sharpe_reference']:.3f}, "
            f"p = {compare._format(t['jkm_p_value'], 'p')} (JKM), {compare._format(t['bootstrap_p_value'], 'p')} (bootstrap)"
        )
    _print_wide(_table("Calendar-year returns", *compare.yearly_rows(result)))
    console.print(f"Charts and tables: {result.directory}")


# --- sweep (backtest.sweep) -------------------------------------------------------------------


@main.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--grid", "grid", multiple=True, metavar="KEY=VALUES", help="Swept key and values: a:b (integers), a:b:step, or v1,v2,... (repeatable); adds to or replaces the config's sweep.grid.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key before the grid (repeatable).")
@click.option("--samples", type=click.IntRange(min=1), help="Run a seeded random subset of this many combinations.")
@click.option("--seed", type=int, help="Seed of --samples (default: sweep.seed or 0).")
@click.option("--metric", help="Statistic to rank by, descending (default: sweep.metric or sharpe).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Rows of the printed ranking.")
@click.option("--jobs", type=click.IntRange(min=0), default=0, show_default=True, help="Workers (threads, processes or Ray tasks); 0: every CPU.")
@click.option("--backend", type=click.Choice(["local", "ray", "cuda", "auto"]), default="local", show_default=True, help="local: numba threads; ray: Ray tasks; cuda: an NVIDIA GPU (strategies declaring GPU = True); auto: cuda where a GPU is present, else local.")
@click.option("--device", type=click.IntRange(min=0), default=0, show_default=True, help="GPU number for --backend cuda/auto.")
@click.option("--address", metavar="HOST:PORT|auto", help="Ray cluster to join (default: start a local one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every combination's statistics.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: the sweep is written to OUT/<sweep_id>/.")
@click.option("--heatmap", metavar="KEY_A,KEY_B", help="Plot the metric over two swept keys (default: when exactly two are swept).")
@click.option("--keep-equity", is_flag=True, help="Also save every combination's equity curve (OUT/<sweep_id>/equity/).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Combinations per saved batch (default: from the sweep's size).")
@click.option("--split", metavar="START:END", help="Choose in-sample (START:END), report the winners out-of-sample (after END).")
@click.option("--walk-forward", "walk_forward", metavar="train=30y,test=5y", help="Re-choose on rolling training windows; stitch the out-of-sample test windows.")
def sweep_command(config, grid, overrides, samples, seed, metric, top, jobs, backend, device, address, as_json, out, heatmap, keep_equity, batch_size, split, walk_forward):
    """Run CONFIG over a grid of parameters; rank, save and plot the results.

    Rerunning the same sweep resumes it: finished batches are kept in OUT/<sweep_id>/parts/.
    Every sweep reports the deflated Sharpe ratio of its winner (is it more than luck?).
    """
    from backtest import guards, results, sweep
    from backtest.config import load_config

    whole = load_config(config, overrides)
    results.check_writable(out)
    split = split or (whole.sweep.split if whole.sweep else None)
    walk_forward = walk_forward or (whole.sweep.walk_forward if whole.sweep else None)
    if split and walk_forward:
        raise click.BadParameter("give --split or --walk-forward, not both", param_hint="--split")
    sweep_overrides = list(overrides)
    if split:
        in_sample_start, in_sample_end = guards.parse_split(split)
        if in_sample_start is not None:
            sweep_overrides.append(f"period.start={in_sample_start}")
        sweep_overrides.append(f"period.end={in_sample_end}")
    walk = guards.parse_walk_forward(walk_forward) if walk_forward else None
    if split or walk:
        guards.check_periods(whole, in_sample_end if split else None, walk)
    plan = sweep.make_plan(config, sweep_overrides, grid, samples=samples, seed=seed, metric=metric)
    axes = [sweep.resolve_key(plan, k) for k in heatmap.split(",")] if heatmap else plan.keys
    if heatmap and len(axes) != 2:
        raise click.BadParameter("give two swept keys, e.g. lookback,tilt", param_hint="--heatmap")
    sweep.check_metric(plan)
    show_progress = not as_json and sys.stdout.isatty()

    def notify(line):  # on stderr: stdout may carry --json
        click.echo(line, err=True)

    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        progress = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), "ETA", TimeRemainingColumn(), console=_console(), transient=True)
        with progress:
            task = progress.add_task(plan.sweep_id, total=len(plan.combos))
            result = sweep.run_sweep(plan, out, jobs=jobs, backend=backend, address=address, keep_equity=keep_equity, batch_size=batch_size, on_batch=lambda done, total: progress.update(task, completed=done), device=device, notify=notify, top=top)
    else:
        result = sweep.run_sweep(plan, out, jobs=jobs, backend=backend, address=address, keep_equity=keep_equity, batch_size=batch_size, device=device, notify=notify, top=top)
    picture = None
    if len(axes) == 2 and len(plan.combos):
        picture = sweep.heatmap(result, axes[0], axes[1], result.directory / f"heatmap_{plan.metric}.png")
    order = result.order()
    _record_sweep(out, result, order)
    guard_rails = {"deflated_sharpe": None, **(guards.sweep_deflated_sharpes(result) if len(plan.combos) else {})}
    if split:
        guard_rails["split"] = guards.split(plan, result, in_sample_end, (whole.period.start, whole.period.end), top=min(top, 5))
    if walk:
        train, test = walk

        def window_sweep(start, end):
            window_plan = sweep.make_plan(config, [*overrides, f"period.start={start.date()}", f"period.end={end.date()}"], grid, samples=samples, seed=seed, metric=metric)
            return sweep.run_sweep(window_plan, None, jobs=jobs)

        walk = guards.walk_forward(plan, train, test, window_sweep)
        stitched = walk.pop("equity").rename("equity").rename_axis("date").to_frame()
        results.atomic_file(result.directory / "walk_forward_equity.csv", stitched.to_csv)
        guard_rails["walk_forward"] = walk
    if as_json:
        _echo_sweep_json(result, guard_rails)
        return

    from backtest.display import STAT_FORMATS, format_value

    shown = [plan.metric] + [n for n in ("cagr", "sharpe", "max_drawdown", "final_value", "turnover") if n != plan.metric and n in result.names]
    header = ["#", *(k.rsplit(".", 1)[-1] for k in plan.keys), *(STAT_FORMATS.get(n, (n, ""))[0] for n in shown)]
    rows = []
    for rank, c in enumerate(order[:top], start=1):
        record = result.record(int(c))
        params = [str(v) for v in record["params"].values()]
        figures = [format_value(record["stats"][n], STAT_FORMATS.get(n, (n, "ratio"))[1]) for n in shown]
        rows.append([str(rank), *params, *figures])
    console = _console()
    resumed = result.combinations - result.computed
    console.print(f"[bold]{plan.sweep_id}[/]: {result.combinations:,} combinations" + (f" ({resumed:,} resumed from an earlier run)" if resumed else ""))
    _print_wide(_table(f"Top {min(top, result.combinations)} by {plan.metric}", header, rows))
    csv = "" if result.combinations <= sweep.CSV_MAX_ROWS else f" (results.parquet only: no CSV above {sweep.CSV_MAX_ROWS:,} combinations)"
    console.print(f"Results: {result.directory}{csv}" + (f"  heatmap: {picture.name}" if picture else ""))
    _print_guard_rails(console, plan, guard_rails)


def _echo_sweep_json(result, guard_rails):
    """One JSON object: id, size, every combination's record, the guard rails. Written a chunk
    of records at a time: a sweep of 10^7 combinations is never in memory as text."""
    from backtest.results import json_safe

    head = json.dumps({"sweep_id": result.plan.sweep_id, "combinations": result.combinations})
    click.echo(head[:-1] + ', "results": [', nl=False)
    separator, pending = "", []
    for record in result.records():
        pending.append(json.dumps(record))
        if len(pending) == 10_000:
            click.echo(separator + ", ".join(pending), nl=False)
            separator, pending = ", ", []
    if pending:
        click.echo(separator + ", ".join(pending), nl=False)
    tail = json.dumps(json_safe(guard_rails))
    click.echo("]" + (", " + tail[1:] if guard_rails else "}"))


def _print_guard_rails(console, plan, guard_rails):
    """Deflated Sharpe verdict, and the split / walk-forward tables when asked for."""
    from backtest.display import STAT_FORMATS, format_value

    def cells(figures, names):
        return [format_value(figures.get(n), STAT_FORMATS.get(n, (n, "ratio"))[1]) for n in names]

    for key, what in (("deflated_sharpe", "Sharpe ratio"), ("deflated_sharpe_vs_benchmark", "information ratio vs the benchmark")):
        dsr = guard_rails.get(key)
        if dsr is not None:
            console.print(f"Deflated {what} of the winner {dsr['params']}: {dsr['dsr']:.3f}: {dsr['verdict']}")
    names = list(dict.fromkeys([plan.metric, "cagr", "sharpe", "max_drawdown"]))
    if "split" in guard_rails:
        report = guard_rails["split"]
        header = ["params", *(f"IS {n}" for n in names), *(f"OOS {n}" for n in names)]
        rows = [[str(w["params"]), *cells(w["in_sample"], names), *cells(w["out_of_sample"], names)] for w in report["winners"]]
        if report["benchmark_out_of_sample"] is not None:
            rows.append(["benchmark", *[""] * len(names), *cells(report["benchmark_out_of_sample"], names)])
        _print_wide(_table(f"In-sample winners (to {report['in_sample_end']}) out of sample (from {report['out_of_sample_start']})", header, rows))
        console.print(f"[dim]{report['note']}.[/]")
    if "walk_forward" in guard_rails:
        report = guard_rails["walk_forward"]
        rows = [[*w["train"], *w["test"], str(w["params"]), *cells(w["test_stats"], names)] for w in report["windows"]]
        _print_wide(_table("Walk-forward: chosen on each training window, run on the next test window", ["train from", "train to", "test from", "test to", "params", *names], rows))
        stitched = report["stitched"]
        console.print("Stitched out-of-sample: " + ", ".join(f"{STAT_FORMATS.get(n, (n,))[0]} {c}" for n, c in zip(names, cells(stitched, names))))
        console.print(f"[dim]{report['note']}.[/]")


def _record_sweep(out, result, order):
    """Record a finished sweep (its best combination); a registry failure only warns."""
    import sqlite3

    from backtest import registry, sweep

    plan = result.plan
    best_record = result.record(int(order[0])) if len(order) else {"params": None, "stats": None}
    try:
        registry.record_sweep(
            out,
            plan.sweep_id,
            sweep.base_config(plan),
            {a.key: a.values for a in plan.axes},
            result.combinations,
            best_record["stats"],
            best_params=best_record["params"],
            path=result.directory,
            extra={"metric": plan.metric},
        )
    except (sqlite3.Error, OSError) as exc:
        click.echo(f"warning: {plan.sweep_id} not recorded in {registry.db_path(out)}: {exc}", err=True)


# --- study (backtest.study) -------------------------------------------------------------------


# options every study takes
_study_options = _options(
    click.option("--start", metavar="DATE", help="First date (YYYY-MM-DD) of the period studied."),
    click.option("--end", metavar="DATE", help="Last date (YYYY-MM-DD) of the period studied."),
    click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the bootstrap and the permutations."),
    click.option("--resamples", type=click.IntRange(min=100), default=10_000, show_default=True, help="Bootstrap resamples and permutations."),
    click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True, help="Results root: the study is written to OUT/study-<name>-<...>/."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object (returns as fractions, NaN as null)."),
)

# the series of the studies of small vs large caps
_size_pair_options = _options(
    click.option("--small", default="ff_size:Lo 30", show_default=True, help="Small-cap series id."),
    click.option("--large", default="ff_size:Hi 30", show_default=True, help="Large-cap series id."),
    click.option("--market", default="ff_factors:Mkt", show_default=True, help="Market series id."),
)

# the T-bill rate regime of the monthly studies
_rate_regime_options = _options(
    click.option("--rf", default="ff_factors:RF", show_default=True, help="T-bill series id (daily return)."),
    click.option("--months", type=click.IntRange(min=1), default=6, show_default=True, help="Rate change over the prior M months."),
)



def _run_study(name, as_json, out, **params):
    from backtest import study
    from backtest.study.common import report

    module = study.module(name)
    result = module.run(**params)
    result.write(out, module.plot)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    tables, lines = report(result, module.COLUMNS, module.OUTCOMES, module.MAX_ROWS)
    _print_wide(*(_table(title, header, rows) for title, header, rows in tables))
    console = _console()
    for line in lines:
        console.print(line, markup=False)
    console.print(f"Results: {result.directory}", markup=False)


@main.group("study")
def study_group():
    """Research questions answered from the data, with bootstrap intervals and permutation tests."""


@study_group.command("first10")
@_size_pair_options
@click.option("--lookback", type=click.IntRange(min=1), default=10, show_default=True, help="Sessions at the start of the year (N).")
@_study_options
def study_first10(as_json, out, **params):
    """Small minus large over the first N sessions vs the market's rest of the year."""
    _run_study("first10", as_json, out, **params)


@study_group.command("january")
@_size_pair_options
@_study_options
def study_january(as_json, out, **params):
    """Small minus large in January vs the market's rest of the year."""
    _run_study("january", as_json, out, **params)


@study_group.command("rates")
@_size_pair_options
@_rate_regime_options
@_study_options
def study_rates(as_json, out, **params):
    """Monthly small minus large after easing vs tightening T-bill regimes."""
    _run_study("rates", as_json, out, **params)


@study_group.command("sectors")
@click.option("--universe", type=click.Choice(["ff", "sectors"]), default="ff", show_default=True, help="ff: Ken French industries; sectors: Select Sector SPDRs.")
@click.option("--small", help="Small-cap series id (default: ff_size:Lo 30 / etf:IWM).")
@click.option("--large", help="Large-cap series id (default: ff_size:Hi 30 / etf:SPY).")
@_rate_regime_options
@_study_options
def study_sectors(as_json, out, **params):
    """Monthly cyclicals minus defensives by rate regime and by last month's small-cap lead."""
    _run_study("sectors", as_json, out, **params)


@study_group.command("ytd")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
@click.option("--as-of", "as_of", required=True, metavar="DATE", help="Date (YYYY-MM-DD); the last close on or before it is used.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def study_ytd(ids, as_of, as_json):
    """Year-to-date returns of series IDs as of a date (previous year's last close to that close)."""
    from backtest.study import ytd

    result = ytd.run(list(ids), as_of)
    if as_json:
        click.echo(json.dumps(result))
        return
    for line in ytd.lines(result):
        click.echo(line)


# --- trust: look-ahead check (backtest.check), rerun (backtest.rerun) ----------------------------


@main.command("check")
@_options(*_config_arguments)
@click.option("--cuts", type=click.IntRange(min=1), default=20, show_default=True, help="Cut dates per strategy (its own decision dates first).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cut dates and of the scrambled future.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every leg's cuts and offences.")
def check_command(config, overrides, start, end, cuts, seed, as_json):
    """Look for look-ahead in CONFIG's strategy and benchmark.

    At each cut date the strategy is rerun with the data after the cut removed, and again with
    it scrambled; every decision up to the cut must stay identical. Exit 0: none found; exit 3:
    look-ahead found (the first offending decision is named); exit 2: bad input.
    """
    from backtest import check
    from backtest.errors import EXIT_CHECK_FAILED
    from backtest.pipeline import prepare

    reports = check.check(prepare(_load_config(config, overrides, start, end)), cuts=cuts, seed=seed)
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


@main.command("rerun")
@click.argument("run_id")
@_OUT_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: identical, changes, differences.")
def rerun_command(run_id, out, as_json):
    """Execute a recorded run (RUN_ID or a unique prefix) again and compare it bit for bit.

    The recorded config is loaded, the data files' hashes checked against the run's manifest,
    the run executed, and every statistic compared exactly. Exit 0: identical; exit 3: a
    statistic differs (the changed inputs and the differing figures are named); exit 2: bad input.
    """
    from backtest import registry
    from backtest.errors import EXIT_CHECK_FAILED
    from backtest.rerun import rerun

    report = rerun(registry.get_run(out, run_id))
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


if __name__ == "__main__":
    main()
