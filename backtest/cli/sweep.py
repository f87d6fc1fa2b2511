"""`backtest sweep`: a config over a grid of values, ranked, saved and guarded against overfitting."""

from __future__ import annotations

import contextlib
import json
import sys

import click

from backtest.cli.output import CONFIG_ARGUMENTS, RESULTS_ROOT, console, notes, options, print_wide, table


@click.command()
@options(*CONFIG_ARGUMENTS)
@click.option("--grid", "grid", multiple=True, metavar="KEY=VALUES", help="Swept key and values: a:b (integers), a:b:step, or v1,v2,... (repeatable); adds to or replaces the config's sweep.grid.")
@click.option("--samples", type=click.IntRange(min=1), help="Run a seeded random subset of this many combinations.")
@click.option("--seed", type=int, help="Seed of --samples (default: sweep.seed or 0).")
@click.option("--metric", help="Statistic to rank by, best first: highest, or lowest for volatility, max_drawdown_days, rebalances, turnover, fees_paid, tracking_error and beta (default: sweep.metric or sharpe).")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="Rows of the printed ranking.")
@click.option("--jobs", type=click.IntRange(min=0), default=0, show_default=True, help="Workers (threads, processes or Ray tasks); 0: every CPU.")
@click.option("--backend", type=click.Choice(["local", "ray", "cuda", "auto"]), default="local", show_default=True, help="local: numba threads; ray: Ray tasks; cuda: an NVIDIA GPU; auto: cuda where a GPU is present, else local. Strategies with a kernel form run their rule inside the kernel on each.")
@click.option("--device", type=click.IntRange(min=0), default=0, show_default=True, help="GPU number for --backend cuda/auto.")
@click.option("--address", metavar="HOST:PORT|auto", help="Ray cluster to join (default: start a local one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every combination's statistics.")
@RESULTS_ROOT
@click.option("--heatmap", metavar="KEY_A,KEY_B", help="Plot the metric over two swept keys (default: when exactly two are swept).")
@click.option("--keep-equity", is_flag=True, help="Also save every combination's equity curve (OUT/<sweep_id>/equity/).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Combinations per saved batch (default: from the sweep's size).")
@click.option("--split", metavar="START:END", help="Choose in-sample (START:END), report the winners out-of-sample (after END).")
@click.option("--walk-forward", "walk_forward", metavar="train=30y,test=5y", help="Re-choose on rolling training windows; stitch the out-of-sample test windows.")
def sweep(config, overrides, start, end, grid, samples, seed, metric, top, jobs, backend, device, address, as_json, out,
          heatmap, keep_equity, batch_size, split, walk_forward):
    """Run CONFIG over a grid of parameters; rank, save and plot the results.

    Rerunning the same sweep resumes it: finished batches are kept in OUT/<sweep_id>/parts/.
    Every sweep reports the deflated Sharpe ratio of its winner (is it more than luck?).
    """
    import backtest
    from backtest.sweeps import store
    from backtest.sweeps.run import SweepInterrupted

    progress = _progress() if not as_json and sys.stdout.isatty() else contextlib.nullcontext()
    try:
        with progress:
            result = backtest.sweep(
                config, list(grid), set=list(overrides), start=start, end=end, samples=samples,
                seed=seed, metric=metric, split=split, walk_forward=walk_forward, backend=backend, jobs=jobs, address=address,
                device=device, top=top, keep_equity=keep_equity, batch_size=batch_size,
                heatmap=heatmap.split(",") if heatmap else None, out=out,
                on_batch=getattr(progress, "advance_to", None), notify=lambda line: click.echo(line, err=True),
            )
    except SweepInterrupted as stopped:  # Ctrl-C: one line saying what is saved and how to resume
        click.echo(str(stopped), err=True)
        sys.exit(130)
    notes(result.notes)
    if as_json:
        _echo_json(result)
        return
    from backtest.display import STAT_FORMATS, format_value
    from backtest.report.guard_rails import ranking_title

    plan = result.plan
    shown = [plan.metric] + [n for n in ("cagr", "sharpe", "max_drawdown", "final_value", "turnover") if n != plan.metric and n in result.names]
    header = ["#", *(k.rsplit(".", 1)[-1] for k in plan.keys), *(STAT_FORMATS.get(n, (n, ""))[0] for n in shown)]
    rows = []
    for rank, c in enumerate(result.order()[:top], start=1):
        record = result.record(int(c))
        rows.append([str(rank), *map(str, record["params"].values()),
                     *(format_value(record["stats"][n], STAT_FORMATS.get(n, (n, "ratio"))[1]) for n in shown)])
    out_console = console()
    resumed = result.combinations - result.computed
    out_console.print(f"[bold]{plan.sweep_id}[/]: {result.combinations:,} combinations" + (f" ({resumed:,} resumed from an earlier run)" if resumed else ""))
    print_wide(table(ranking_title(min(top, result.combinations), plan.metric, result.guard_rails), header, rows))
    csv = "" if result.combinations <= store.CSV_MAX_ROWS else f" (results.parquet only: no CSV above {store.CSV_MAX_ROWS:,} combinations)"
    picture = f"  heatmap: {result.heatmap_path.name}" if result.heatmap_path else ""
    out_console.print(f"Results: {result.directory}{csv}{picture}")
    _print_guard_rails(out_console, plan, result.guard_rails)


class _progress:
    """A rich progress bar that appears with the first finished batch (the sweep's size is
    known then)."""

    def __enter__(self):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            "ETA", TimeRemainingColumn(), console=console(), transient=True)
        self.bar.__enter__()
        self.task = None
        return self

    def advance_to(self, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.bar.add_task("sweep", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)


def _echo_json(result) -> None:
    """One JSON object: id, size, every combination's record, the guard rails. Written a chunk
    of records at a time: a sweep of 10^7 combinations is never in memory as text."""
    from backtest.io import json_safe

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
    tail = json.dumps(json_safe(result.guard_rails))
    click.echo("]" + (", " + tail[1:] if result.guard_rails else "}"))


def _print_guard_rails(out_console, plan, guard_rails) -> None:
    """Deflated Sharpe verdicts, the winner's significance, and the split / walk-forward tables
    when asked for."""
    from backtest.display import STAT_FORMATS, format_params, significance_lines
    from backtest.report.guard_rails import figure_cells, guard_rail_lines, split_lines, split_table

    for line in guard_rail_lines(guard_rails, plan.metric, len(plan.combos)):
        out_console.print(line, markup=False)
    names = list(dict.fromkeys([plan.metric, "cagr", "sharpe", "max_drawdown"]))
    if "split" in guard_rails:
        print_wide(table(*split_table(guard_rails["split"], plan.metric)))
        *lines, note = split_lines(guard_rails["split"])
        for line in lines:
            out_console.print(line, markup=False)
        out_console.print(note, style="dim", markup=False)
    if "walk_forward" in guard_rails:
        report = guard_rails["walk_forward"]
        legs = [("test_stats", "tuned"), ("untuned_stats", "untuned"), ("benchmark_stats", "benchmark")]
        legs = [(key, label) for key, label in legs if key in report["windows"][0]]
        shown = ["total_return", "sharpe"]
        header = ["train from", "train to", "test from", "test to", "params", *(f"{label} {n}" for _, label in legs for n in shown)]
        rows = [[*w["train"], *w["test"], format_params(w["params"]), *(c for key, _ in legs for c in figure_cells(w[key], shown))]
                for w in report["windows"]]
        print_wide(table("Walk-forward: chosen on each training window, run on the next test window", header, rows))
        stitched = {"walk-forward (tuned)": report["stitched"], f"untuned ({format_params(report['untuned_params'])})": report["untuned"]}
        if "benchmark" in report:
            stitched["benchmark"] = report["benchmark"]
        for label, figures in stitched.items():
            out_console.print(f"Stitched {label}: " + ", ".join(f"{STAT_FORMATS.get(n, (n,))[0]} {c}" for n, c in zip(names, figure_cells(figures, names))),
                              markup=False)
        for block in report["significance"].values():
            for line in significance_lines(block):
                out_console.print(line, markup=False)
        out_console.print(f"[dim]{report['note']}.[/]")
