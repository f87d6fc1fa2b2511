"""Assemble reports: a run's tearsheet and a comparison here; a sweep's (`report.sweep`) and a
study's (`report.study`) beside; HTML and PNGs.

    report(target, root, out, png_dir)   target: a run or sweep id (or unique prefix) from
                                         root's registry, or a run / sweep / study directory
    run_report(run_dir, out, png_dir)    one run's tearsheet
    compare_report(comparison, out, png_dir)
"""

from __future__ import annotations

import json
from pathlib import Path

from backtest.display import conventions_line, drawdown_rows, edge_lines, significance_lines, stat_rows
from backtest.io import check_writable
from backtest.report import data
from backtest.report.data import ReportError
from backtest.report.document import Report, write_html
from backtest.report.study import study_report
from backtest.report.sweep import incomplete_sweep, sweep_report


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
        html.section("Statistics", html.table(["", *columns], stat_rows(columns)), *(html.text(line) for line in edge_lines(summary, with_note=True))),
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
    report = Report(write_html(document, Path(out) if out else run.directory / "report.html"))
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
    report = Report(write_html(document, Path(out) if out else comparison.directory / "report.html"))
    report.pngs = compare_pngs(comparison, png_dir) if png_dir is not None else sorted(comparison.directory.glob("*.png"))
    return report


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
        raise ReportError(f"{path}: {incomplete_sweep(path)}")
    raise ReportError(f"{path}: not a run, sweep or study directory")


