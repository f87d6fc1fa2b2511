"""A sweep's report, from its directory: its size, the metric heatmap, the top combinations and
the guard rails the sweep printed (the split out of sample, the walk-forward)."""

from __future__ import annotations

import json
from pathlib import Path

from backtest.display import STAT_FORMATS, format_value, ranked_by, significance_lines, stat_rows
from backtest.report.data import ReportError
from backtest.report.document import Report, cell, write_html

TOP_SWEEP_ROWS = 20


def sweep_report(sweep_dir: Path, record, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """A sweep, from its directory: its size (a sample said so), the metric heatmap over its first
    two swept keys, the top combinations and the guard rails the sweep printed (with --split, the
    winners out of sample). `record` (the registry's) fills in the grid and metric for
    directories written before sweep.json held them."""
    import pyarrow.parquet as pq

    from backtest.report import html, png
    from backtest.report.guard_rails import guard_rail_lines, ranking_title, split_lines, split_table
    from backtest.sweeps.plan import DEFAULT_METRIC
    from backtest.sweeps.ranking import Ranking
    from backtest.sweeps.result import metric_grid
    from backtest.sweeps.store import TABLE_CHUNK, read_manifest

    path = sweep_dir / "results.parquet"
    try:
        table = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc})") from None
    try:
        manifest = read_manifest(sweep_dir)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    columns = table.schema_arrow.names
    extra = (record.extra if record else None) or {}
    grid_values = manifest.get("grid") or extra.get("grid") or {}
    grid_keys = list(grid_values) or [c for c in columns if "." in c]
    metric = manifest.get("metric") or extra.get("metric") or DEFAULT_METRIC
    guard_rails = _guard_rails(sweep_dir)
    shown = list(dict.fromkeys([metric, "cagr", "sharpe", "max_drawdown", "final_value", "turnover"]))
    shown = [n for n in shown if n in columns]
    combinations = table.metadata.num_rows
    size = _sweep_size(combinations, manifest)
    # one pass over the table, a piece at a time (a sweep may have 10^7 rows): rank and grid it
    ranking = Ranking(metric, TOP_SWEEP_ROWS)

    def pieces():
        for batch in table.iter_batches(batch_size=TABLE_CHUNK, columns=["combo", *grid_keys, *shown]):
            piece = batch.to_pandas()
            ranking.add(piece)
            yield piece

    if len(grid_keys) >= 2:
        grid = metric_grid(pieces(), grid_keys[0], grid_keys[1], metric)
    else:
        for _ in pieces():
            pass
    ranked = ranking.top
    # column by column: a row of a mixed table would turn integer parameters into floats
    params = zip(*(ranked[k].tolist() for k in grid_keys))
    figures = zip(*([format_value(v, STAT_FORMATS.get(n, (n, "ratio"))[1]) for v in ranked[n].tolist()] for n in shown))
    rows = [[rank, *p, *f] for rank, (p, f) in enumerate(zip(params, figures), start=1)]
    body = [html.section("Sweep", html.table(["", ""], [["grid", json.dumps(grid_values or None)], ["combinations", size],
                                                         ["ranked by", ranked_by(metric)]], "meta"))]
    report = Report(Path(out) if out else sweep_dir / "report.html")
    if len(grid_keys) >= 2:
        x, y = grid_keys[0], grid_keys[1]
        note = f"Other swept keys ({', '.join(grid_keys[2:])}): the best value over them." if len(grid_keys) > 2 else ""
        body.append(html.section(f"{metric} over {x} × {y}", html.plot(html.metric_heatmap_figure(grid, metric, x, y), "heatmap"), html.text(note)))
        if png_dir is not None:
            report.pngs.append(png.heatmap(grid, x, y, metric, Path(png_dir) / f"heatmap_{metric}.png", others=grid_keys[2:]))
    header = ["#", *(k.rsplit(".", 1)[-1] for k in grid_keys), *(STAT_FORMATS.get(n, (n,))[0] for n in shown)]
    notes = [html.text(line) for line in guard_rail_lines(guard_rails, metric, combinations)]
    body.append(html.section(ranking_title(len(ranked), metric, guard_rails), html.table(header, rows), *notes))
    if "split" in guard_rails:
        title, split_header, split_rows = split_table(guard_rails["split"], metric)
        body.append(html.section(title, html.table(split_header, split_rows), *(html.text(line) for line in split_lines(guard_rails["split"]))))
    if (sweep_dir / "walk_forward.json").is_file():
        body.append(_walk_forward_section(sweep_dir))
    sweep_id = record.id if record else sweep_dir.name
    write_html(html.page(f"Sweep {sweep_id}", f"{size} ranked by {ranked_by(metric)}", body), report.html)
    return report


def _sweep_size(combinations: int, manifest: dict) -> str:
    """"1,200 combinations", or for a sample of the grid "500 of 96,960 combinations, seed 0"."""
    import math

    whole = math.prod(len(values) for values in (manifest.get("grid") or {}).values())
    if manifest.get("samples") is not None and combinations < whole:
        return f"{combinations:,} of {whole:,} combinations, seed {manifest['seed']}"
    return f"{combinations:,} combinations"


def _guard_rails(sweep_dir: Path) -> dict:
    """The guard rails a sweep saved (guard_rails.json; none for a sweep that saved none)."""
    path = sweep_dir / "guard_rails.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc})") from None


def _walk_forward_section(sweep_dir: Path) -> str:
    """The walk-forward saved in a sweep directory: the windows (tuned, untuned, benchmark), the
    stitched curves and their figures, and the significance of the tuned curve's edge."""
    import pandas as pd

    from backtest.report import html
    from backtest.sweeps.store import walk_forward_rows

    try:
        report = json.loads((sweep_dir / "walk_forward.json").read_text())
        curves = pd.read_csv(sweep_dir / "walk_forward_equity.csv", index_col="date", parse_dates=True)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{sweep_dir / 'walk_forward.json'}: cannot read it ({exc})") from None
    rows = walk_forward_rows(report)
    header = list(rows[0]) if rows else []
    windows = html.table(header, [[cell(row[k]) for k in header] for row in rows])
    legs = {"walk-forward (tuned)": report["stitched"], "untuned": report["untuned"], **({"benchmark": report["benchmark"]} if "benchmark" in report else {})}
    stitched = html.table(["", *legs], stat_rows(legs))
    lines = [line for block in report["significance"].values() for line in significance_lines(block)]
    growth = curves / curves.iloc[0]  # rebased to 1 at the first test date
    return html.section("Walk-forward (out of sample)", html.plot(html.equity_figure(growth, benchmark=False), "walk_forward"),
                        html.text(f"Untuned: {json.dumps(report['untuned_params'])}"), stitched, *(html.text(line) for line in lines),
                        windows, html.text(report["note"]), html.text(report.get("left_out") or ""))


def incomplete_sweep(path: Path) -> str:
    """What an interrupted sweep's directory holds, and how to finish it."""
    from backtest.sweeps.store import Store, read_manifest

    try:
        total = read_manifest(path).get("combinations")
    except ValueError:
        total = None

    done = int(Store(path).done(total).sum()) if isinstance(total, int) else None
    held = f" ({done:,} of {total:,} combinations computed)" if done is not None else ""
    return f"the sweep is incomplete{held}: run the same `backtest sweep` command again to resume it, then report"
