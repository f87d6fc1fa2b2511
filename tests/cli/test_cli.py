"""`backtest run` end to end on the real data, tied to independent computations."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from backtest.cli import main
from tests.conftest import REPO_ROOT
from tests.reference import first10_signals, read_french_csv, rebalance_loop, summary_figures

CONFIG = REPO_ROOT / "configs" / "first10.yaml"


def _run_json(tmp_path, *args):
    result = CliRunner().invoke(main, ["run", str(CONFIG), "--out", str(tmp_path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _reference(shared_data, small, large, lookback, tilt, fees, start=None):
    dates, values = read_french_csv(shared_data / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv", [small, large])
    if start is not None:
        keep = [i for i, d in enumerate(dates) if d >= start]
        dates, values = [dates[i] for i in keep], values[keep]
    signals = first10_signals(dates, values[:, 0], values[:, 1], lookback, tilt)
    weights = np.full(values.shape, np.nan)
    position = {d: i for i, d in enumerate(dates)}
    for date, w_small, w_large in signals:
        weights[position[date]] = [w_small, w_large]
    equity, fees_paid = rebalance_loop(np.cumprod(1 + values, axis=0), weights, 100_000, fees)
    return dates, equity, fees_paid, len(signals)


def _t_bills(shared_data, dates):
    """Ken French's daily RF on `dates` (the size portfolios' calendar is the factors' own)."""
    rf_dates, rf = read_french_csv(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily.csv", ["RF"])
    assert rf_dates == list(dates)
    return rf[:, 0]


@pytest.mark.parametrize("fees", [0.0005, 0.0])
def test_first10_run_matches_independent_loop(shared_data, tmp_path, fees):
    import statsmodels.api as sm

    out = _run_json(tmp_path, "--set", f"portfolio.fees={fees}")
    dates, equity, fees_paid, signals = _reference(shared_data, "Lo 30", "Hi 30", 10, 0.7, fees)
    assert out["start"] == "1926-07-01" and out["end"] == dates[-1].strftime("%Y-%m-%d")
    rf = _t_bills(shared_data, dates)
    years = (dates[-1] - dates[0]).days / 365.25
    assert out["conventions"]["risk_free"] == "ff_factors:RF"
    assert out["conventions"]["periods_per_year"] == pytest.approx((len(dates) - 1) / years, rel=1e-12)
    stats = out["strategy"]
    expected = summary_figures(equity, 100_000, dates, risk_free=rf)
    for name, value in expected.items():
        assert stats[name] == pytest.approx(value, rel=1e-9), name
    assert stats["fees_paid"] == pytest.approx(fees_paid, rel=1e-9, abs=1e-9)
    assert stats["rebalances"] == signals
    # the benchmark is 50/50 bought at the first close and held
    _, values = read_french_csv(shared_data / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv", ["Lo 30", "Hi 30"])
    hold = np.full(values.shape, np.nan)
    hold[0] = 0.5
    bench_equity, _ = rebalance_loop(np.cumprod(1 + values, axis=0), hold, 100_000, fees)
    for name, value in summary_figures(bench_equity, 100_000, dates, risk_free=rf).items():
        assert out["benchmark"][name] == pytest.approx(value, rel=1e-9), name
    assert out["strategy"]["excess_cagr"] == pytest.approx(stats["cagr"] - out["benchmark"]["cagr"], rel=1e-12)
    # significance: statsmodels' OLS of the active returns on a constant, Newey-West with
    # floor(4 (n/100)^(2/9)) lags, normal p-values
    r = equity / np.r_[100_000, equity[:-1]] - 1
    b = bench_equity / np.r_[100_000, bench_equity[:-1]] - 1
    lags = int(4 * (len(r) / 100) ** (2 / 9))
    ols = sm.OLS(r - b, np.ones(len(r))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}, use_t=False)
    significance = out["significance"]
    assert significance["lags"] == lags == 13
    assert significance["active_return"] == pytest.approx(ols.params[0] * out["conventions"]["periods_per_year"], rel=1e-9)
    assert significance["t_stat"] == pytest.approx(ols.tvalues[0], rel=1e-9)
    assert significance["p_value"] == pytest.approx(ols.pvalues[0], rel=1e-9)


def test_set_overrides_and_dates(shared_data, tmp_path):
    import datetime as dt

    out = _run_json(
        tmp_path,
        "--set", "strategy.params.lookback=7",
        "--set", "strategy.params.tilt=0.8",
        "--set", "strategy.params.small=ff_size:Lo 10",
        "--set", "benchmark=null",
        "--start", "1950-01-01",
    )
    assert out["benchmark"] is None and out["start"] == "1950-01-03"
    _, equity, _, _ = _reference(shared_data, "Lo 10", "Hi 30", 7, 0.8, 0.0005, start=dt.datetime(1950, 1, 1))
    assert out["strategy"]["final_value"] == pytest.approx(equity[-1], rel=1e-9)


def test_run_directory_contents(shared_data, tmp_path):
    out = _run_json(tmp_path)
    run_dir = tmp_path / out["run_id"]
    names = {p.name for p in run_dir.iterdir()}
    assert names == {"config.yaml", "stats.json", "equity.csv", "weights.csv", "orders.csv", "manifest.json"}
    assert json.loads((run_dir / "stats.json").read_text()) == out
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["packages"]["vectorbt"].startswith("1.2")
    assert any(path.endswith("Portfolios_Formed_on_ME_Daily.csv") for path in manifest["data_files"])
    import pandas as pd

    equity = pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=True)
    assert equity["strategy"].iloc[-1] == pytest.approx(out["strategy"]["final_value"], rel=1e-12)
    assert equity["strategy_drawdown"].min() == pytest.approx(out["strategy"]["max_drawdown"], rel=1e-9)
    assert not list(tmp_path.glob(".*.tmp"))


def test_table_output(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line each, as on a wide terminal
    result = CliRunner().invoke(main, ["run", str(CONFIG), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for label in ("CAGR", "Sharpe", "Max drawdown", "Information ratio", "Results:"):
        assert label in result.output
    stats = json.loads((next(p for p in tmp_path.iterdir() if p.is_dir()) / "stats.json").read_text())
    lines = result.output.splitlines()
    # the conventions line and the significance line under the table, from the run's figures
    (conventions,) = [line for line in lines if line.startswith("Conventions: ")]
    ppy = stats["conventions"]["periods_per_year"]
    assert f"{ppy:.1f} sessions a year (26,003 over 98.91 calendar years)" in conventions
    assert "CAGR over calendar years" in conventions and "risk-free ff_factors:RF" in conventions
    (verdict,) = [line for line in lines if line.startswith("Significance: ")]
    significance = stats["significance"]
    assert verdict == (f"Significance: first10 beat its benchmark by {significance['active_return'] * 100:.2f} pp a year; "
                       f"t = {significance['t_stat']:.2f}, p = {significance['p_value']:.2f}: not distinguishable from luck at 5 %")


def test_auto_risk_free_falls_back_to_zero_with_one_line(shared_data, tmp_path):
    """An ETF run past the T-bill series' last date (2025-05-30): a zero rate, and one line saying why."""
    etf = REPO_ROOT / "configs" / "first10_etf.yaml"
    result = CliRunner().invoke(main, ["run", str(etf), "--out", str(tmp_path), "--json", "--start", "2020-01-01"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["end"] > "2025-05-30" and out["conventions"]["risk_free"] == 0
    (note,) = result.stderr.splitlines()
    assert note == ("note: risk-free rate 0 (Sharpe, Sortino and alpha over zero): ff_factors:RF ends on 2025-05-30, "
                    f"before the run's last date {out['end']}")
    assert out["conventions"]["risk_free_note"] == note
    # ended with the series, the same run is over T-bills; a fixed rate and 252 periods are taken as given
    covered = CliRunner().invoke(main, ["run", str(etf), "--out", str(tmp_path), "--json", "--start", "2020-01-01", "--end", "2025-05-30"])
    assert covered.stderr == "" and json.loads(covered.stdout)["conventions"]["risk_free"] == "ff_factors:RF"
    fixed = CliRunner().invoke(main, ["run", str(etf), "--out", str(tmp_path), "--json", "--start", "2020-01-01",
                                      "--set", "stats.risk_free=0.02", "--set", "stats.periods_per_year=252"])
    conventions = json.loads(fixed.stdout)["conventions"]
    assert fixed.stderr == "" and conventions["risk_free"] == 0.02 and conventions["periods_per_year"] == 252


@pytest.mark.parametrize("args,message", [
    (["--set", "strategy.params.lookback=abc"], "strategy.params.lookback: expected an integer"),
    (["--set", "strategy.params.small=ff_size:Tiny"], "strategy.params.small"),
    (["--set", "portfolio.fees=-1"], "portfolio.fees"),
    (["--set", "portfolio.feez=0"], "portfolio.feez: unknown key"),
    (["--start", "2030-01-01"], "period: fewer than 2 common trading dates"),
    (["--start", "1990-01-01", "--end", "1980-01-01"], "period: start 1990-01-01 is after end 1980-01-01"),
    (["--set", "strategy.name=nope"], "strategy.name: unknown strategy 'nope'"),
])
def test_bad_input_is_one_line_exit_2(shared_data, tmp_path, args, message):
    result = CliRunner().invoke(main, ["run", str(CONFIG), "--out", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


def test_console_script_exit_codes(shared_data, tmp_path):
    """The installed entry point: a missing config is exit 2 with one line, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "backtest.cli", "run", str(tmp_path / "missing.yaml")],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "missing.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_list_and_strategies_commands(shared_data, monkeypatch):
    monkeypatch.setenv("BACKTEST_DATA_PATH", str(shared_data))
    monkeypatch.setenv("COLUMNS", "250")
    listing = CliRunner().invoke(main, ["data", "list"])
    assert listing.exit_code == 0, listing.output
    for expected in ("ff_size", "Portfolios_Formed_on_ME_Daily.csv", "1926-07-01", "26,003", "etf:IWM", "Adj Close"):
        assert expected in listing.output
    # every series id the listing shows is one a config can name
    assert "  series (ff_factors:<name>): Mkt-RF, SMB, HML, RF, Mkt" in listing.output
    assert "  series: index:SPX\n" in listing.output and "index:SPX:<name>" not in listing.output
    strategies = CliRunner().invoke(main, ["strategies"])
    assert strategies.exit_code == 0, strategies.output
    assert "first10" in strategies.output and "lookback" in strategies.output


# --- rough edges: output at 80 columns, sweeps' periods and winners, interrupted sweeps ----------


def test_strategies_and_data_list_fit_80_columns(shared_data, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["strategies"], ["data", "list"]):
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 0, out.output
        wide = [line for line in out.output.splitlines() if len(line) > 80]
        assert not wide, wide
    datasets = CliRunner().invoke(main, ["data", "list"]).output
    assert all(any(name in line for line in datasets.splitlines()) for name in ("Med 40", "Qnt 4", "Hi 10"))  # names never split
    listed = CliRunner().invoke(main, ["strategies"]).output
    assert "  lookback: int = 10  [1, 60]  (history in sessions)" in listed
    assert '  rate: series = "ff_factors:RF"  (signal: read, not traded)' in listed


def test_strategies_lists_a_strategy_file(tmp_path):
    rule = tmp_path / "my_rule.py"
    rule.write_text('"""Hold the asset."""\nfrom backtest.strategy import Param\n'
                    'PARAMS = (Param("n", "int", 3, min=1, max=9, history="sessions", help="sessions to wait"),)\n'
                    'def target_weights(returns, params):\n    return returns.iloc[:1] * 0 + 1\n')
    out = CliRunner().invoke(main, ["strategies", str(rule)])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[:4] == [f"my_rule ({rule})", "  Hold the asset.", "  n: int = 3  [1, 9]  (history in sessions)", "      sessions to wait"]


def test_sweep_prints_winners_as_keys_and_records_its_period(shared_data, tmp_path):
    args = ["sweep", "configs/first10.yaml", "--grid", "strategy.params.lookback=5,10", "--start", "2010-01-01",
            "--end", "2014-12-31", "--split", "2010-01-01:2012-12-31", "--out", str(tmp_path)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "of the winner (lookback=" in out.output and "{'strategy.params" not in out.output
    (record,) = json.loads(CliRunner().invoke(main, ["runs", "list", "--out", str(tmp_path), "--json"]).stdout)
    assert (record["start"], record["end"]) == ("2010-01-04", "2012-12-31")  # the in-sample sweep's sessions
    listed = CliRunner().invoke(main, ["runs", "list", "--out", str(tmp_path)]).output
    assert "2010-01-04 → 2012-12-31" in listed and "? → ?" not in listed


def test_run_loads_no_plotting_statistics_or_cluster_library(shared_data, tmp_path):
    """`backtest run` (without --report) pays for vectorbt (which brings plotly) only: no
    matplotlib, statsmodels, arch or ray on its path; `backtest --help` not even pandas."""
    heavy = ("matplotlib", "statsmodels", "arch", "ray")
    code = ("import sys; from backtest.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {heavy + ('pandas',)!r} if m in sys.modules], file=sys.stderr)")
    run = subprocess.run([sys.executable, "-c", code, "run", "configs/first10.yaml", "--start", "2020-01-01", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert run.stderr.strip().splitlines()[-1] == "['pandas']", run.stderr
    helped = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert helped.stderr.strip() == "[]", helped.stderr


def test_a_run_too_short_for_intervals_prints_and_reports_dashes(shared_data, tmp_path, monkeypatch):
    """Four sessions give Sharpe ratios but no bootstrap intervals (NaN, null once saved): the
    table, the significance line and the report show "–" where the report used to crash."""
    monkeypatch.chdir(REPO_ROOT)
    args = ["run", "configs/january_effect.yaml", "--start", "2020-01-02", "--end", "2020-01-07", "--out", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--report"])
    assert result.exit_code == 0, result.output
    assert "(95 % – … –) vs" in " ".join(result.output.split())
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    stats = json.loads((run_dir / "stats.json").read_text())
    assert stats["significance"]["sharpe_ci"] == [None, None] and math.isfinite(stats["significance"]["sharpe"])
    assert "(95 % – … –) vs" in (run_dir / "report.html").read_text()
    again = CliRunner().invoke(main, ["report", run_dir.name, "--out", str(tmp_path), "--html", str(tmp_path / "again.html")])
    assert again.exit_code == 0, again.output
    # `runs show` prints the lines `run` printed under its table
    from backtest.display import conventions_line, significance_lines

    shown = " ".join(CliRunner().invoke(main, ["runs", "show", run_dir.name, "--out", str(tmp_path)]).output.split())
    for line in [conventions_line(stats["conventions"]), *significance_lines(stats["significance"])]:
        assert " ".join(line.split()) in shown
