"""Reports: the data behind every chart against independent loops, the files and commands, and
the HTML opened in a real (headless) Chromium.

One whole-history first10 run with `--report` (the issue's acceptance command) serves every test
of this module; the data tests recompute each chart's numbers from the stored equity.csv and
weights.csv with plain Python loops.
"""

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.conftest import REPO_ROOT
from backtest.cli import main
from backtest.report import data, html
from backtest.report.build import run_figures

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def reported(shared_data, tmp_path_factory):
    """`backtest run configs/first10.yaml --report` over all history: (results root, run dir)."""
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO_ROOT)
        mp.setenv("BACKTEST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        out = CliRunner().invoke(main, ["run", "configs/first10.yaml", "--out", str(root), "--report"])
    assert out.exit_code == 0, out.output
    (run_dir,) = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("first10-")]
    return root, run_dir


@pytest.fixture(scope="module")
def run(reported):
    return data.load_run(reported[1])


def _equity(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=True)


def _period_end_returns(values, keys, initial_cash):
    """{key: period-end value / previous period-end value - 1}, the first from the initial cash."""
    out, start = {}, initial_cash
    for i, key in enumerate(keys):
        if i == len(keys) - 1 or keys[i + 1] != key:
            out[key] = values[i] / start - 1
            start = values[i]
    return out


# --- files and commands -------------------------------------------------------------------------


def test_run_report_writes_a_self_contained_html_and_pngs(reported):
    _, run_dir = reported
    document = (run_dir / "report.html").read_text()
    assert document.startswith("<!DOCTYPE html>")
    # plotly.js inline (its source merely mentions URLs of map tiles), no script or style fetched
    assert "<script src" not in document and "<link" not in document and "function(" in document[:10_000]
    assert document.count("Plotly.newPlot") == 7
    assert 5e6 < len(document) < 15e6
    for section in ("Configuration and data", "Statistics", "Drawdowns", "Monthly returns", "Target weights", "Manifest"):
        assert f"<h2>{section}</h2>" in document
    stats = json.loads((run_dir / "stats.json").read_text())
    # the conventions and the significance of the edge under the statistics, as `run` prints them
    from html import escape

    from backtest.display import conventions_line, significance_lines

    assert "Conventions: 262.9 sessions a year" in document and "risk-free ff_factors:RF" in document
    for line in [conventions_line(stats["conventions"]), *significance_lines(stats["significance"])]:
        assert escape(line.strip()) in document
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for path, digest in manifest["data_files"].items():
        assert path in document and digest in document
    pngs = sorted(p.name for p in (run_dir / "png").iterdir())
    assert pngs == ["activity.png", "annual.png", "drawdown.png", "equity.png", "monthly.png", "rolling.png", "weights.png"]
    for name in pngs:
        assert (run_dir / "png" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_command_by_id_prefix_with_out_and_png(reported, tmp_path):
    root, run_dir = reported
    out = CliRunner().invoke(main, ["report", run_dir.name[:20], "--out", str(root), "--html", str(tmp_path / "r.html"), "--png", str(tmp_path / "png")])
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.html").stat().st_size > 5e6
    assert len(list((tmp_path / "png").glob("*.png"))) == 7
    assert f"Report: {tmp_path / 'r.html'}" in out.output


@pytest.mark.parametrize("target, message", [
    ("nosuchrun", "unknown run id 'nosuchrun'"),
    (".", "not a run, sweep or study directory"),
])
def test_report_bad_target_is_one_line_exit_2(reported, target, message):
    root, _ = reported
    out = CliRunner().invoke(main, ["report", target, "--out", str(root)])
    assert out.exit_code == 2
    assert message in out.output and len(out.output.strip().splitlines()) == 1


def test_report_of_a_run_dir_missing_a_file_names_it(reported, tmp_path):
    _, run_dir = reported
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken, ignore=shutil.ignore_patterns("png", "report.html"))
    (broken / "orders.csv").unlink()
    out = CliRunner().invoke(main, ["report", str(broken)])
    assert out.exit_code == 2
    assert "orders.csv" in out.output and len(out.output.strip().splitlines()) == 1
    assert not (broken / "report.html").exists()


def test_compare_report(reported):
    root, run_dir = reported
    out = CliRunner().invoke(main, ["compare", run_dir.name, str(run_dir), "--out", str(root), "--resamples", "100", "--report", "--format", "json"])
    assert out.exit_code == 0, out.output
    directory = Path(json.loads(out.stdout)["directory"])
    document = (directory / "report.html").read_text()
    assert document.count("Plotly.newPlot") == 3
    result = json.loads(out.stdout)
    common = result["common"]
    assert f"Common window {common['start']} → {common['end']}" in document and "Full period (each run" in document
    assert "Conventions: 262.9 sessions a year" in document  # one set, on the common window
    assert "matched" in result["sharpe_tests"][0]["significance"]["verdict"]  # a run against itself
    assert result["sharpe_tests"][0]["significance"]["verdict"].replace("'", "&#x27;") in document
    assert sorted(p.name for p in directory.glob("*.png")) == ["annual.png", "drawdown.png", "equity.png"]


def test_sweep_report_heatmap_cells_are_the_best_of_each_pair(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    swept = CliRunner().invoke(main, ["sweep", "configs/first10.yaml", "--set", "period.start=2000-01-01", "--grid", "strategy.params.lookback=5,10",
                                      "--grid", "strategy.params.tilt=0.6,0.8", "--grid", "portfolio.fees=0,0.001", "--out", str(tmp_path), "--json"])
    assert swept.exit_code == 0, swept.output
    sweep_id = json.loads(swept.stdout)["sweep_id"]
    out = CliRunner().invoke(main, ["report", sweep_id, "--out", str(tmp_path), "--png", str(tmp_path / "png")])
    assert out.exit_code == 0, out.output
    document = (tmp_path / sweep_id / "report.html").read_text()
    assert "Top 8 by sharpe" in document and (tmp_path / "png" / "heatmap_sharpe.png").stat().st_size > 1000
    assert re.search(r"<tr><td>1</td><td>(5|10)</td><td>0\.[68]</td>", document)  # integer parameters stay integers
    # the guard rails the sweep printed, saved beside its table and shown under it
    from html import escape

    printed = json.loads(swept.stdout)
    saved = json.loads((tmp_path / sweep_id / "guard_rails.json").read_text())
    assert saved == {k: printed[k] for k in ("deflated_sharpe", "deflated_sharpe_vs_benchmark", "significance", "conventions")}
    assert saved["deflated_sharpe"]["trials"] == 4 and saved["deflated_sharpe"]["cost_variants"] == 2
    assert escape(saved["deflated_sharpe"]["verdict"]) in document and escape(saved["significance"]["verdict"]) in document
    assert "Conventions: " in document
    from backtest.sweeps import metric_grid

    table = pd.read_parquet(tmp_path / sweep_id / "results.parquet")
    grid = metric_grid([table], "strategy.params.lookback", "strategy.params.tilt", "sharpe")
    for tilt in (0.6, 0.8):
        for lookback in (5, 10):
            best = max(r["sharpe"] for _, r in table.iterrows() if r["strategy.params.tilt"] == tilt and r["strategy.params.lookback"] == lookback)
            assert grid.loc[tilt, lookback] == best


def _percent(value: float) -> str:
    """A fraction as the CLI shows it ("-11.68 %"), written out here independently."""
    return f"{value * 100:,.2f} %"


def test_sweep_report_shows_the_split_as_the_cli_prints_it(shared_data, tmp_path, monkeypatch):
    """--split: the ranking is titled in-sample, and the winners out of sample, the benchmark bought
    at the split and the out-of-sample significance are in the report (were left out)."""
    from html import escape

    monkeypatch.chdir(REPO_ROOT)
    swept = CliRunner().invoke(main, ["sweep", "configs/first10.yaml", "--set", "period.start=1990-01-01", "--grid", "strategy.params.lookback=5,10",
                                      "--grid", "strategy.params.tilt=0.6,0.8", "--split", "1990-01-01:2009-12-31", "--out", str(tmp_path)])
    assert swept.exit_code == 0, swept.output
    (directory,) = [p for p in tmp_path.iterdir() if p.is_dir() and "-sweep-" in p.name]
    split = json.loads((directory / "guard_rails.json").read_text())["split"]
    out = CliRunner().invoke(main, ["report", directory.name, "--out", str(tmp_path), "--html", str(tmp_path / "r.html")])
    assert out.exit_code == 0, out.output
    document = (tmp_path / "r.html").read_text()
    (first, last), start = split["in_sample"], split["out_of_sample_start"]
    assert (first, last, start) == ("1990-01-02", "2009-12-31", "2010-01-01")
    for title in (f"Top 4 by sharpe, highest first, in-sample ({first} → {last})", f"In-sample winners ({first} → {last}) out of sample (from {start})"):
        assert title in swept.stdout.replace("\n", " ") and f"<h2>{title}</h2>" in document
    assert len(split["winners"]) == 4
    for winner in split["winners"]:
        params = ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in winner["params"].items())
        oos, figures = winner["out_of_sample"], winner["in_sample"]
        in_sample = [f"{figures['sharpe']:.3f}", _percent(figures["cagr"]), _percent(figures["max_drawdown"])]
        cells = [f"{oos['sharpe']:.3f}", _percent(oos["cagr"]), _percent(oos["max_drawdown"]), _percent(oos["excess_cagr"]), f"{oos['information_ratio']:.3f}",
                 f"{winner['significance']['p_value']:.3f}"]
        assert re.search(f"<tr><td>{re.escape(params)}</td>" + "".join(f"<td>{re.escape(c)}</td>" for c in in_sample)
                         + "".join(f"<td>{re.escape(c)}</td>" for c in cells), document)
    bench = split["benchmark_out_of_sample"]
    assert (f"<tr><td>benchmark, bought at the split</td><td></td><td></td><td></td><td>{bench['sharpe']:.3f}</td>"
            f"<td>{_percent(bench['cagr'])}</td><td>{_percent(bench['max_drawdown'])}</td>") in document
    verdict = f"Significance: {split['winners'][0]['significance']['verdict']} [out of sample]"
    assert verdict in swept.stdout.replace("\n", " ") and escape(verdict) in document
    assert escape(split["note"]) in document


def test_sweep_report_from_its_directory_alone(shared_data, tmp_path, monkeypatch):
    """Reported by its directory with no registry that knows it: the grid and the metric come from
    sweep.json, the guard-rail lines name the winner as the CLI does, a sample says so."""
    from html import escape

    monkeypatch.chdir(REPO_ROOT)
    swept = CliRunner().invoke(main, ["sweep", "configs/first10.yaml", "--set", "period.start=2000-01-01", "--grid", "strategy.params.lookback=5,10",
                                      "--grid", "strategy.params.tilt=0.6,0.7,0.8", "--metric", "sortino", "--samples", "4", "--seed", "3",
                                      "--out", str(tmp_path / "root"), "--json"])
    assert swept.exit_code == 0, swept.output
    printed = json.loads(swept.stdout)
    directory = tmp_path / "root" / printed["sweep_id"]
    manifest = json.loads((directory / "sweep.json").read_text())
    assert manifest["metric"] == "sortino" and manifest["grid"] == {"strategy.params.lookback": [5, 10], "strategy.params.tilt": [0.6, 0.7, 0.8]}
    out = CliRunner().invoke(main, ["report", str(directory), "--out", str(tmp_path / "elsewhere"), "--html", str(tmp_path / "x.html")])
    assert out.exit_code == 0, out.output
    document = (tmp_path / "x.html").read_text()
    assert f"<td>grid</td><td>{escape(json.dumps(manifest['grid']))}</td>" in document
    assert "<td>ranked by</td><td>sortino, highest first</td>" in document and "<h2>Top 4 by sortino, highest first</h2>" in document
    assert "4 of 6 combinations, seed 3 ranked by sortino" in document and "<td>combinations</td><td>4 of 6 combinations, seed 3</td>" in document
    best = max(printed["results"], key=lambda r: r["stats"]["sortino"])["params"]
    winner = f"lookback={best['strategy.params.lookback']}, tilt={best['strategy.params.tilt']}"
    assert printed["deflated_sharpe"]["params"] == best and printed["significance"]["params"] == best
    assert f"Deflated Sharpe ratio of the winner ({winner}): {printed['deflated_sharpe']['dsr']:.3f}" in document
    assert escape(f"Significance: {printed['significance']['verdict']} [winner by sortino ({winner}) of 4 combinations, in-sample") in document


def test_study_report_embeds_its_plot_and_tables(shared_data, tmp_path):
    studied = CliRunner().invoke(main, ["study", "first10", "--resamples", "200", "--out", str(tmp_path), "--json"])
    assert studied.exit_code == 0, studied.output
    directory = Path(json.loads(studied.stdout)["directory"])
    out = CliRunner().invoke(main, ["report", str(directory)])
    assert out.exit_code == 0, out.output
    document = (directory / "report.html").read_text()
    assert "data:image/png;base64," in document and "<h2>Per period</h2>" in document and "<h2>Summary</h2>" in document
    # --png DIR: the study's chart(s), as the study wrote them
    charts = CliRunner().invoke(main, ["report", str(directory), "--html", str(tmp_path / "study.html"), "--png", str(tmp_path / "png")])
    assert charts.exit_code == 0, charts.output
    written = sorted(p.name for p in directory.glob("*.png"))
    assert written and sorted(p.name for p in (tmp_path / "png").iterdir()) == written
    for name in written:
        assert (tmp_path / "png" / name).read_bytes() == (directory / name).read_bytes()
        assert f"Chart: {tmp_path / 'png' / name}" in charts.output


def test_study_report_shows_returns_as_percents(shared_data, tmp_path):
    """Returns as the command line shows them ("-11.68 %"), not bare fractions ("-0.1168")."""
    studied = CliRunner().invoke(main, ["study", "first10", "--start", "1999-06-01", "--end", "2001-12-31", "--resamples", "200",
                                        "--out", str(tmp_path), "--json"])
    assert studied.exit_code == 0, studied.output
    saved = json.loads(studied.stdout)
    directory = Path(saved["directory"])
    out = CliRunner().invoke(main, ["report", str(directory)])
    assert out.exit_code == 0, out.output
    document = (directory / "report.html").read_text()
    years = saved["years"]
    assert [y["year"] for y in years] == [2000, 2001] and all(y["small_led"] for y in years)
    mean = sum(y["market_rest"] for y in years) / len(years)  # both years are in the "led" group
    lo, hi = saved["summary"]["led"]["market_rest_mean_ci"]
    assert _percent(mean) == "-11.68 %"
    assert f"<td>led</td><td>market_rest</td><td>2</td><td>{_percent(mean)}</td><td>{_percent(lo)} … {_percent(hi)}</td>" in document
    for y in years:
        assert f"<td>{y['year']}</td><td>{y['signal_date']}</td><td>{_percent(y['spread'])}</td><td>yes</td><td>{_percent(y['market_rest'])}</td>" in document
    assert f"{mean:.4g}" not in document and f"{lo:.4g}" not in document


def test_report_of_a_strategy_with_flat_returns(shared_data, tmp_path):
    """A strategy that holds nothing (every monthly return 0) gets its whole report: the monthly
    heatmap's colour scale cannot be 0 wide (was an internal error after the run was saved, with
    4 of the 7 PNGs written)."""
    config = tmp_path / "flat.yaml"
    config.write_text('strategy: {name: buy_and_hold, params: {weights: {"ff_size:Lo 30": 0.0}}}\n'
                      'benchmark: {name: buy_and_hold, params: {weights: {"ff_size:Lo 30": 1.0}}}\n'
                      f"data: {{path: [{shared_data}]}}\n")
    out = CliRunner().invoke(main, ["run", str(config), "--start", "2023-06-01", "--report", "--out", str(tmp_path / "results")])
    assert out.exit_code == 0, out.output
    (run_dir,) = [p for p in (tmp_path / "results").iterdir() if p.is_dir()]
    assert (_equity(run_dir)["strategy"] == 100_000).all()  # flat indeed
    assert len(list((run_dir / "png").glob("*.png"))) == 7
    assert (run_dir / "report.html").read_text().count("Plotly.newPlot") == 7


def test_run_report_says_why_the_risk_free_rate_is_zero(shared_data, tmp_path):
    """An ETF run past the T-bill series' end: the report shows the note the CLI prints on stderr
    (was "risk-free 0" with no reason)."""
    from html import escape

    etf = REPO_ROOT / "configs" / "first10_etf.yaml"
    out = CliRunner().invoke(main, ["run", str(etf), "--start", "2024-01-01", "--report", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    (note,) = out.stderr.splitlines()
    assert note.startswith("note: risk-free rate 0") and "ff_factors:RF ends on 2025-05-30" in note
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert escape(note) in (run_dir / "report.html").read_text()


@pytest.mark.parametrize("values, limit", [
    ([0.0, 0.0, 0.0], 1.0),  # all months flat: a scale of width 2 around 0
    ([np.nan, np.nan], 1.0),  # no month at all
    ([0.0, 2.0, -4.0, np.nan], 3.92),  # 98th percentile of |v| = 2 + 0.96 * (4 - 2), linear interpolation
    ([1.5] * 5, 1.5),  # constant returns
])
def test_monthly_heatmap_scale(values, limit):
    from backtest.report import style

    assert style.heatmap_limit(values) == pytest.approx(limit, rel=1e-12)


# --- the data behind every chart ----------------------------------------------------------------


def test_drawdown_shading_matches_the_top5_table(reported, run):
    _, run_dir = reported
    table = json.loads((run_dir / "stats.json").read_text())["strategy"]["drawdowns"]
    charts = run_figures(run)
    assert charts["episodes"] == table
    last = run.equity.index[-1]
    expected = [(pd.Timestamp(d["peak"]), pd.Timestamp(d["recovery"]) if d["recovery"] else last) for d in table]
    assert charts["spans"] == expected
    shapes = html.drawdown_figure(charts["drawdown"], charts["spans"]).layout.shapes
    assert [(s.x0, s.x1) for s in shapes] == [(a.strftime("%Y-%m-%d"), b.strftime("%Y-%m-%d")) for a, b in expected]
    # each shaded span holds its depth at its trough; nothing outside the spans is deeper than the 5th
    equity = _equity(run_dir)["strategy"].to_numpy()
    peak, drawdown = run.initial_cash, []
    for value in equity:
        peak = max(peak, value)
        drawdown.append(value / peak - 1)
    drawdown = pd.Series(drawdown, index=run.equity.index)
    shaded = pd.Series(False, index=drawdown.index)
    for (start, end), episode in zip(expected, table):
        inside = drawdown[start:end]
        assert inside.min() == pytest.approx(episode["depth"], abs=1e-12)
        assert inside.idxmin().strftime("%Y-%m-%d") == episode["trough"]
        shaded[start:end] = True
    assert drawdown[~shaded].min() >= table[-1]["depth"]


def test_monthly_heatmap_cells_equal_monthly_returns(reported, run):
    equity = _equity(reported[1])["strategy"]
    keys = [(d.year, d.month) for d in equity.index]
    expected = _period_end_returns(equity.to_numpy(), keys, run.initial_cash)
    table = run_figures(run)["monthly"]
    assert table.shape == (equity.index[-1].year - equity.index[0].year + 1, 12)
    cells = {(y, m): table.loc[y, m] for y in table.index for m in table.columns if not math.isnan(table.loc[y, m])}
    assert cells.keys() == expected.keys()
    for key, value in expected.items():
        assert cells[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
    z = np.asarray(html.monthly_figure(table).data[0].z, dtype=float)
    np.testing.assert_allclose(z, np.round(table.to_numpy() * 100, 2), equal_nan=True)


def test_annual_bars_equal_yearly_returns(reported, run):
    frame = _equity(reported[1])
    charts = run_figures(run)
    for leg, label in (("strategy", "first10 (strategy)"), ("benchmark", "buy_and_hold (benchmark)")):
        expected = _period_end_returns(frame[leg].to_numpy(), list(frame.index.year), run.initial_cash)
        bars = charts["annual"][label]
        assert list(bars.index) == list(expected)
        np.testing.assert_allclose(bars.to_numpy(), list(expected.values()), rtol=1e-9)
    stats = json.loads((reported[1] / "stats.json").read_text())["strategy"]
    assert charts["annual"]["first10 (strategy)"].max() == pytest.approx(stats["best_year"], rel=1e-12)
    figure = html.annual_figure(charts["annual"])
    np.testing.assert_allclose(np.asarray(figure.data[0].y, dtype=float), charts["annual"].iloc[:, 0], rtol=1e-6)


def test_rolling_return_and_sharpe_equal_a_plain_loop(reported, run, shared_data):
    from tests.reference import read_french_csv

    curves = _equity(reported[1])
    values = curves["strategy"].to_numpy()
    previous = np.r_[run.initial_cash, values[:-1]]
    # the run's conventions: its own sessions a year, excess returns over Ken French's RF
    days = (curves.index[-1] - curves.index[0]).days
    ppy = (len(values) - 1) / (days / 365.25)
    rf_dates, rf = read_french_csv(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily.csv", ["RF"])
    assert rf_dates == list(curves.index)
    rf[0, 0] = 0.0  # row 0 is the purchase, at its close: no risk-free return accrues before it
    np.testing.assert_array_equal(curves["risk_free"].to_numpy(), rf[:, 0])
    rng = np.random.default_rng(0)
    for years in data.ROLLING_YEARS:
        returns, sharpe = (frame.iloc[:, 0] for frame in data.rolling(run, years))
        w = round(ppy * years)
        assert w == {1: 263, 3: 789}[years]
        assert returns.iloc[: w - 1].isna().all() and sharpe.iloc[: w - 1].isna().all()
        for t in [w - 1, len(values) - 1, *rng.integers(w, len(values), 40)]:
            growth = 1.0
            daily = []
            for s in range(t - w + 1, t + 1):
                growth *= values[s] / previous[s]
                daily.append(values[s] / previous[s] - 1 - rf[s, 0])
            assert returns.iloc[t] == pytest.approx(growth ** (ppy / w) - 1, rel=1e-9)
            mean = sum(daily) / w
            std = math.sqrt(sum((x - mean) ** 2 for x in daily) / (w - 1))
            assert sharpe.iloc[t] == pytest.approx(mean / std * math.sqrt(ppy), rel=1e-7)


def test_stacked_weights_are_the_stored_targets_held(reported, run):
    stored = pd.read_csv(reported[1] / "weights.csv", index_col="date", parse_dates=True)
    held = data.target_weights(run)
    assert list(held.columns) == list(stored.columns)  # fully invested: no cash band
    assert held.index[-1] == run.equity.index[-1]
    np.testing.assert_allclose(held.loc[stored.index].to_numpy(), stored.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(held.sum(axis=1), 1.0, atol=1e-12)


def test_stacked_weights_hold_unchanged_targets_and_show_cash():
    """A NaN target keeps the last one; what the targets leave is cash (hand-computed)."""
    index = pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06", "2020-01-07"])
    weights = pd.DataFrame({"a": [0.5, np.nan, 0.2], "b": [0.3, 0.6, np.nan]}, index=index[:3])
    run = data.RunData("x", Path("."), {}, {}, {}, pd.DataFrame({"strategy": [1.0] * 4}, index=index), weights, pd.DataFrame())
    held = data.target_weights(run)
    expected = pd.DataFrame({"a": [0.5, 0.5, 0.2, 0.2], "b": [0.3, 0.6, 0.6, 0.6], "cash": [0.2, 0.0, 0.2, 0.2]}, index=index)
    pd.testing.assert_frame_equal(held, expected, check_freq=False, atol=1e-12)
    # before a first rebalance on the second date, everything is cash
    run = data.RunData("x", Path("."), {}, {}, {}, run.equity, weights.iloc[1:], pd.DataFrame())
    held = data.target_weights(run)
    np.testing.assert_allclose(held.to_numpy(), [[0.0, 0.0, 1.0], [0.0, 0.6, 0.4], [0.2, 0.6, 0.2], [0.2, 0.6, 0.2]], atol=1e-12)


def test_turnover_and_fees_per_year_add_up_to_the_statistics(reported, run):
    orders = pd.read_csv(reported[1] / "orders.csv", parse_dates=["date"])
    orders = orders[orders["leg"] == "strategy"]
    equity = _equity(reported[1])["strategy"]
    activity = data.activity(run)
    fees, turnover = {}, {}
    for _, order in orders.iterrows():
        year = order["date"].year
        fees[year] = fees.get(year, 0.0) + order["fees"]
        turnover[year] = turnover.get(year, 0.0) + order["value"] / equity[order["date"]] / 2
    for year in activity.index:
        assert activity.loc[year, "fees"] == pytest.approx(fees.get(year, 0.0), rel=1e-9, abs=1e-9)
        assert activity.loc[year, "turnover"] == pytest.approx(turnover.get(year, 0.0), rel=1e-9, abs=1e-12)
    stats = json.loads((reported[1] / "stats.json").read_text())["strategy"]
    assert activity["fees"].sum() == pytest.approx(stats["fees_paid"], rel=1e-9)
    years = (equity.index[-1] - equity.index[0]).days / 365.25  # turnover is per calendar year
    assert activity["turnover"].sum() / years == pytest.approx(stats["turnover"], rel=1e-9)


# --- in a real browser ----------------------------------------------------------------------------


def _chromium(tmp_path):
    """Headless system Chromium through its system chromedriver (never downloads a browser)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"{CHROMIUM} / {CHROMEDRIVER} not installed (make test installs Debian chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic", "--window-size=1300,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def test_html_report_renders_in_headless_chromium(reported, tmp_path):
    from PIL import Image
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _chromium(tmp_path)
    try:
        driver.get((reported[1] / "report.html").as_uri())
        # every plot drawn: plotly adds its SVG layer to each container when it has rendered
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "const p = document.querySelectorAll('.js-plotly-plot'); return p.length > 0 && [...p].every(e => e.querySelector('.main-svg'))"))
        sizes = driver.execute_script("return [...document.querySelectorAll('.js-plotly-plot')].map(e => [e.id, e.offsetWidth, e.offsetHeight])")
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1300, min(height, 8000))
        shot = tmp_path / "page.png"
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert errors == []
    assert [s[0] for s in sizes] == ["equity", "drawdown", "rolling", "annual", "monthly", "weights", "activity"]
    assert all(w > 500 and h > 200 for _, w, h in sizes), sizes
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape[0] > 2000 and pixels.std() > 20  # not a blank page
    # the plots drew coloured lines and cells, not only text on white
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    blue = (np.abs(rgb - [0x1F, 0x5F, 0xA8]).sum(axis=2) < 30).sum()
    assert blue > 5000


def test_report_on_an_interrupted_sweep_says_how_to_finish(shared_data, tmp_path):
    from backtest import sweeps
    from tests.sweeps.test_sweep import interrupt_after

    plan = sweeps.make_plan(REPO_ROOT / "configs" / "first10.yaml", ["strategy.params.lookback=5:10"],
                            set=["period.start=2015-01-01", "period.end=2016-12-31"])
    with pytest.raises(KeyboardInterrupt):
        sweeps.run_sweep(plan, out=tmp_path, jobs=1, batch_size=2, on_batch=interrupt_after(1, []))
    out = CliRunner().invoke(main, ["report", str(tmp_path / plan.sweep_id)])
    assert out.exit_code == 2
    assert out.stderr.strip() == (f"error: {tmp_path / plan.sweep_id}: the sweep is incomplete (2 of 6 combinations computed): "
                                  "run the same `backtest sweep` command again to resume it, then report")
