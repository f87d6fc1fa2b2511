"""Assemble reports: a run's tearsheet, a comparison, a sweep, a study; HTML and PNGs.

    report(target, root, out, png_dir)   target: a run or sweep id (or unique prefix) from
                                         root's registry, or a run / sweep / study directory
    run_report(run_dir, out, png_dir)    one run's tearsheet
    compare_report(comparison, out, png_dir)
"""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path


from backtest.display import STAT_FORMATS, conventions_line, drawdown_rows, format_value, significance_lines, stat_rows
from backtest.io import atomic_file, check_writable, write_text
from backtest.report import data
from backtest.report.data import ReportError
from backtest.sweeps.ranking import ranked_by

TOP_SWEEP_ROWS = 20


@dataclass
class Report:
    html: Path
    pngs: list[Path] = field(default_factory=list)


def _write_html(document: str, path: Path) -> Path:
    """Write atomically: a reader never sees half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, document)


def _leg_labels(run: data.RunData) -> dict[str, str]:
    config = run.config
    labels = {"strategy": f"{_block_name(config['strategy'])} (strategy)"}
    if "benchmark" in run.legs:
        labels["benchmark"] = f"{_block_name(config['benchmark'])} (benchmark)"
    return labels


def _block_name(block: dict) -> str:
    return block.get("name") or Path(block.get("file") or "?").stem


def _config_rows(run: data.RunData) -> list[list[str]]:
    config, coverage = run.config, data.coverage(run)
    rows = []
    for key in ("strategy", "benchmark"):
        block = config.get(key)
        if block:
            rows.append([key, f"{_block_name(block)} {json.dumps(block.get('params') or {})}"])
    portfolio = config["portfolio"]
    rows.append(["portfolio", ", ".join(f"{k} {v}" for k, v in portfolio.items())])
    rows.append(["period asked", f"{config['period'].get('start') or 'first date'} → {config['period'].get('end') or 'last date'}"])
    rows.append(["data coverage", f"{coverage['start']} → {coverage['end']}: {coverage['sessions']:,} sessions, "
                                  f"{coverage['calendar_years']} calendar years"])
    rows.append(["series", ", ".join(coverage["series"]) + (f" ({coverage['dropped_to_align']:,} dates dropped to align calendars)" if coverage["dropped_to_align"] else "")])
    conventions = run.summary.get("conventions")
    rows.append(["conventions", conventions_line(conventions).removeprefix("Conventions: ") if conventions
                 else f"{run.periods_per_year:g} periods a year, risk-free 0 (recorded before conventions were stored)"])
    return rows


def _manifest_section(manifest: dict) -> str:
    from backtest.report import html

    rows = [["created", manifest.get("created", "–")], ["git commit", manifest.get("git_commit") or "–"],
            ["python", manifest.get("python", "–")], ["command", " ".join(manifest.get("command", []))]]
    rows += [[f"package {k}", v or "–"] for k, v in (manifest.get("packages") or {}).items()]
    rows += [[f"data {path}", f"sha256 {digest}"] for path, digest in (manifest.get("data_files") or {}).items()]
    return html.section("Manifest", html.table(["", ""], rows, "meta"))


def _convention_notes(summary: dict) -> list[str]:
    """The conventions line and the significance lines under a statistics table."""
    from backtest.report import html

    conventions = summary.get("conventions")
    lines = [conventions_line(conventions)] if conventions else []
    if conventions and conventions.get("risk_free_note"):  # why the rate is what it is (the CLI's note on stderr)
        lines.append(conventions["risk_free_note"])
    if summary.get("significance"):
        lines += significance_lines(summary["significance"])
    return [html.text(line) for line in lines]


def run_figures(run: data.RunData) -> dict:
    """The data of every chart of a run report, display labels as column names."""
    labels = _leg_labels(run)
    episodes = data.worst_drawdowns(run)
    return {
        "growth": data.growth(run).rename(columns=labels),
        "drawdown": data.drawdowns(run).rename(columns=labels),
        "episodes": episodes,
        "spans": data.drawdown_spans(episodes, run.equity.index[-1]),
        "rolling": {years: tuple(f.rename(columns=labels) for f in data.rolling(run, years)) for years in data.ROLLING_YEARS},
        "annual": data.annual_returns(run).rename(columns=labels),
        "monthly": data.monthly_table(run.equity["strategy"], run.initial_cash),
        "weights": data.target_weights(run),
        "activity": data.activity(run),
    }


def run_pngs(charts: dict, directory: Path) -> list[Path]:
    from backtest.report import png

    directory = Path(directory)
    return [
        png.equity(charts["growth"], directory / "equity.png"),
        png.drawdown(charts["drawdown"], directory / "drawdown.png", charts["spans"]),
        png.rolling(charts["rolling"], directory / "rolling.png"),
        png.annual(charts["annual"], directory / "annual.png"),
        png.monthly(charts["monthly"], directory / "monthly.png"),
        png.weights(charts["weights"], directory / "weights.png"),
        png.activity(charts["activity"], directory / "activity.png"),
    ]


def run_report(run_dir: Path | str, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """One run's tearsheet: `out` (default <run_dir>/report.html) and, with png_dir, the PNGs."""
    from backtest.report import html

    run = data.load_run(run_dir)
    charts = run_figures(run)
    summary = run.summary
    columns = {"Strategy": summary["strategy"]}
    if summary.get("benchmark"):
        columns["Benchmark"] = summary["benchmark"]
    depth_note = "Shaded in the chart above: peak to recovery (or to the last date if not recovered)."
    body = [
        html.section("Configuration and data", html.table(["", ""], _config_rows(run), "meta")),
        html.section("Statistics", html.table(["", *columns], stat_rows(columns)), *_convention_notes(summary)),
        html.section("Equity", html.plot(html.equity_figure(charts["growth"]), "equity")),
        html.section("Drawdowns", html.plot(html.drawdown_figure(charts["drawdown"], charts["spans"]), "drawdown"),
                     html.table(["#", "Peak", "Trough", "Recovery", "Depth", "Days"],
                                [[i, *row] for i, row in enumerate(drawdown_rows(charts["episodes"]), start=1)]),
                     html.text(depth_note)),
        html.section("Rolling return and Sharpe ratio", html.plot(html.rolling_figure(charts["rolling"]), "rolling")),
        html.section("Calendar-year returns", html.plot(html.annual_figure(charts["annual"]), "annual"),
                     html.text("The first year is measured from the initial cash; the last may be partial.")),
        html.section("Monthly returns", html.plot(html.monthly_figure(charts["monthly"]), "monthly")),
        html.section("Target weights", html.plot(html.weights_figure(charts["weights"]), "weights"),
                     html.text("Held from each rebalance to the next; \"cash\" is what the targets leave uninvested.")),
        html.section("Turnover and fees", html.plot(html.activity_figure(charts["activity"]), "activity")),
        _manifest_section(run.manifest),
    ]
    coverage = data.coverage(run)
    legs = " vs ".join(_leg_labels(run).values())
    document = html.page(f"Backtest {run.run_id}", f"{legs}, {coverage['start']} → {coverage['end']}", body)
    report = Report(_write_html(document, Path(out) if out else run.directory / "report.html"))
    if png_dir is not None:
        report.pngs = run_pngs(charts, png_dir)
    return report


# --- comparisons --------------------------------------------------------------------------------


def compare_pngs(comparison, directory: Path) -> list[Path]:
    """equity.png, drawdown.png and annual.png of a comparison on its common window, every entry overlaid."""
    from backtest.report import png

    curves, drawdowns = data.compare_curves(comparison)
    directory = Path(directory)
    return [png.equity(curves, directory / "equity.png", benchmark=False),
            png.drawdown(drawdowns, directory / "drawdown.png", benchmark=False),
            png.annual(comparison.yearly, directory / "annual.png", benchmark=False)]


def compare_report(comparison, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """Several runs on their common window: statistics under one set of conventions, the tests
    against the first run, rebased equity and drawdowns, calendar-year returns (partial years
    marked); then each run's full-period figures. Default file: <comparison directory>/report.html
    (where `compare` already drew the PNGs; png_dir draws them again elsewhere)."""
    from backtest.comparison import FULL_HEADING, common_heading, formatted_rows, yearly_rows
    from backtest.report import html

    entries = comparison.entries
    curves, drawdowns = data.compare_curves(comparison)
    header, common, full = formatted_rows(comparison)
    sources = [[e.label, e.kind, e.source, e.strategy, f"{e.start} → {e.end}", f"{len(e.equity):,}"] for e in entries]
    tests = [html.text(line) for t in comparison.tests for line in significance_lines(t["significance"])]
    partial = [f"{year}: {first} → {last}" for year, (first, last) in comparison.partial_years.items()]
    body = [
        html.section("Compared", html.table(["label", "kind", "source", "strategy", "period", "sessions"], sources, "meta"),
                     *(html.text(n) for n in comparison.notes)),
        html.section(common_heading(comparison), html.table(header, common),
                     html.text(conventions_line(comparison.conventions.to_json())), *tests),
        html.section("Equity (rebased to 1 at the common start)", html.plot(html.equity_figure(curves, benchmark=False), "equity")),
        html.section("Drawdowns on the common window", html.plot(html.drawdown_figure(drawdowns, benchmark=False), "drawdown")),
        html.section("Calendar-year returns on the common window", html.plot(html.annual_figure(comparison.yearly, benchmark=False), "annual"),
                     html.table(*yearly_rows(comparison)),
                     html.text("Partial years (marked *): " + "; ".join(partial) if partial else "Every year is complete.")),
        html.section(FULL_HEADING, html.table(header, full)),
    ]
    document = html.page(f"Comparison {comparison.compare_id}", ", ".join(e.label for e in entries), body)
    report = Report(_write_html(document, Path(out) if out else comparison.directory / "report.html"))
    report.pngs = compare_pngs(comparison, png_dir) if png_dir is not None else sorted(comparison.directory.glob("*.png"))
    return report


# --- sweeps and studies -------------------------------------------------------------------------


def sweep_report(sweep_dir: Path, record, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """A sweep, from its directory: its size (a sample said so), the metric heatmap over its first
    two swept keys, the top combinations and the guard rails the sweep printed (with --split, the
    winners out of sample). `record` (the registry's) fills in the grid and metric for
    directories written before sweep.json held them."""
    import pyarrow.parquet as pq

    from backtest.report import html, png
    from backtest.report.guard_rails import guard_rail_lines, ranking_title, split_lines, split_table
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
    metric = manifest.get("metric") or extra.get("metric") or "sharpe"
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
    _write_html(html.page(f"Sweep {sweep_id}", f"{size} ranked by {ranked_by(metric)}", body), report.html)
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
    windows = html.table(header, [[_cell(row[k]) for k in header] for row in rows])
    legs = {"walk-forward (tuned)": report["stitched"], "untuned": report["untuned"], **({"benchmark": report["benchmark"]} if "benchmark" in report else {})}
    stitched = html.table(["", *legs], stat_rows(legs))
    lines = [line for block in report["significance"].values() for line in significance_lines(block)]
    growth = curves / curves.iloc[0]  # rebased to 1 at the first test date
    return html.section("Walk-forward (out of sample)", html.plot(html.equity_figure(growth, benchmark=False), "walk_forward"),
                        html.text(f"Untuned: {json.dumps(report['untuned_params'])}"), stitched, *(html.text(line) for line in lines),
                        windows, html.text(report["note"]), html.text(report.get("left_out") or ""))


def study_report(study_dir: Path, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """A study: its parameters, the tables and lines `backtest study` prints (returns as percents),
    its tests, and its plot (the PNG it wrote, embedded); with png_dir, that PNG copied there."""
    from backtest.report import html

    try:
        saved = json.loads((study_dir / "study.json").read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{study_dir / 'study.json'}: cannot read it ({exc})") from None
    result = _study_result(saved)
    summary = result.figures
    body = [html.section("Question", html.table(["", ""], [[k, json.dumps(v)] for k, v in result.params.items()], "meta"))]
    if result.name == "ytd":  # no groups, no tests: one line per series, as the command prints
        from backtest.study.year_to_date import lines

        body[0] += "\n" + "\n".join(html.text(line) for line in [*result.notes, *lines(result)])
        periods, tables = None, []
    else:
        from backtest.study import module
        from backtest.study.common import report as study_tables

        study = module(result.name)
        (periods, *tables), lines = study_tables(result, study.COLUMNS, study.OUTCOMES)
        body[0] += "\n" + "\n".join(html.text(line) for line in lines)
    for title, header, rows in tables:
        body.append(html.section("Summary", html.text(title), html.table(header, rows)))
    scalars = [[k, _cell(v)] for k, v in summary.items() if not isinstance(v, (dict, list))]
    tests = [[c["claim"], format_value(c["difference"], "pct"), _cell(c["p_value"]), _cell(c.get("p_value_holm")), _cell(c.get("p_value_bh")),
              c["verdict"]] for c in summary.get("comparisons", [])]
    if tests or scalars:
        body.append(html.section("Tests", html.table(["claim", "difference", "p", "p (Holm)", "p (Benjamini-Hochberg)", "verdict"], tests),
                                 html.table(["", ""], scalars, "meta")))
    pictures = sorted(study_dir.glob("*.png"))
    for picture in pictures:
        encoded = base64.b64encode(picture.read_bytes()).decode()
        body.append(html.section(picture.stem, f'<img alt="{picture.stem}" style="max-width:100%" src="data:image/png;base64,{encoded}">'))
    if periods is not None:
        title, header, rows = periods
        body.append(html.section("Per period", html.text(title), html.table(header, rows)))
    document = html.page(f"Study {result.name}", study_dir.name, body)
    report = Report(_write_html(document, Path(out) if out else study_dir / "report.html"))
    if png_dir is not None:
        Path(png_dir).mkdir(parents=True, exist_ok=True)
        report.pngs = [atomic_file(Path(png_dir) / picture.name, lambda tmp, source=picture: shutil.copyfile(source, tmp))
                       for picture in pictures]
    return report


def _study_result(saved: dict):
    """The `StudyResult` a study.json was written from (`StudyResult.to_json`), so the report
    formats it as the command line does."""
    import pandas as pd

    from backtest.study.common import StudyResult

    # the rows are under the study's own key ("years", "rows", "series"): the one to_json adds
    row_key = next(k for k in saved if k not in ("study", "params", "summary", "notes", "directory"))
    return StudyResult(saved["study"], saved["params"], pd.DataFrame(saved[row_key]), row_key, saved["summary"], saved.get("notes", []))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value)
    return "–" if value is None else str(value)


# --- entry point --------------------------------------------------------------------------------


def report(target: str, root: Path | str = "results", out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """Report on a run id, sweep id (or unique prefix in root's registry) or a directory."""
    from backtest.store import registry

    if out is not None:
        check_writable(out, "the report", "--html", file=True)
    if png_dir is not None:
        check_writable(png_dir, "charts", "--png")
    path, record = Path(target), None
    if not path.is_dir():
        record = registry.get_run(root, target)
        if not record.path or not Path(record.path).is_dir():
            raise ReportError(f"{record.id}: its directory {record.path or '(none)'} is missing")
        path = Path(record.path)
    if (path / "equity.csv").is_file() and (path / "weights.csv").is_file():
        return run_report(path, out, png_dir)
    if (path / "results.parquet").is_file():
        if record is None:
            record = registry.find_run(root, path.name)
        return sweep_report(path, record, out, png_dir)
    if (path / "study.json").is_file():
        return study_report(path, out, png_dir)
    if (path / "sweep.json").is_file():
        raise ReportError(f"{path}: {_incomplete_sweep(path)}")
    raise ReportError(f"{path}: not a run, sweep or study directory")


def _incomplete_sweep(path: Path) -> str:
    """What an interrupted sweep's directory holds, and how to finish it."""
    from backtest.sweeps.store import Store, read_manifest

    try:
        total = read_manifest(path).get("combinations")
    except ValueError:
        total = None

    done = int(Store(path).done(total).sum()) if isinstance(total, int) else None
    held = f" ({done:,} of {total:,} combinations computed)" if done is not None else ""
    return f"the sweep is incomplete{held}: run the same `backtest sweep` command again to resume it, then report"
