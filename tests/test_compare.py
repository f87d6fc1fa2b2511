"""`backtest compare`: the two Sharpe-difference tests against independent computations and
simulations, argument parsing, outputs, and the command end to end (synthetic runs and real data)."""

import io
import json
import math
import statistics

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy.stats import norm

from backtest.store import registry
from backtest.cli import main
from backtest.comparison import jobson_korkie_memmel
from backtest.comparison_entries import CompareError, parse_argument
from tests.conftest import REPO_ROOT
from tests.reference import correlated_pair

# --- the tests of a Sharpe difference -------------------------------------------------------------


def memmel_reference(a, b):
    """Jobson-Korkie with Memmel's correction, written out independently in plain Python."""
    T = len(a)
    sr_a = statistics.fmean(a) / statistics.stdev(a)
    sr_b = statistics.fmean(b) / statistics.stdev(b)
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b)) / (T - 1)
    rho = cov / (statistics.stdev(a) * statistics.stdev(b))
    theta = 2 - 2 * rho + 0.5 * (sr_a**2 + sr_b**2 - 2 * sr_a * sr_b * rho**2)
    z = (sr_a - sr_b) / math.sqrt(theta / T)
    return z, 2 * norm.sf(abs(z))


@pytest.mark.parametrize("seed,T,mean_a,mean_b,corr", [(1, 500, 0.0006, 0.0002, 0.3), (2, 2000, 0.0, 0.0004, 0.8), (3, 60, 0.002, -0.001, 0.0)])
def test_jkm_matches_the_memmel_formula(seed, T, mean_a, mean_b, corr):
    a, b = correlated_pair(seed, T, mean_a, mean_b, corr)
    z, p = memmel_reference(list(a), list(b))
    out = jobson_korkie_memmel(a, b)
    assert out["z"] == pytest.approx(z, rel=1e-10)
    assert out["p_value"] == pytest.approx(p, rel=1e-9, abs=1e-15)
    assert out["T"] == T and out["rho"] == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-12)


def test_identical_strategies_give_p_one():
    a, _ = correlated_pair(4, 1500, 0.0004, 0.0, 0.5)
    assert jobson_korkie_memmel(a, a.copy())["p_value"] == 1.0


def test_clearly_better_strategy_is_significant():
    a, b = correlated_pair(6, 2520, 0.0012, 0.0, 0.5)  # annual Sharpe ~1.9 vs 0, ten years
    jkm = jobson_korkie_memmel(a, b)
    assert jkm["z"] > 0 and jkm["p_value"] < 0.01
    assert jobson_korkie_memmel(b, a)["p_value"] == pytest.approx(jkm["p_value"])  # swapped: same p


def test_jkm_p_values_are_roughly_uniform_under_the_null():
    """Two independent series with the same true Sharpe ratio, 200 seeds: about 5 % rejections."""
    p = []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        p.append(jobson_korkie_memmel(rng.normal(0.0005, 0.01, 500), rng.normal(0.0005, 0.01, 500))["p_value"])
    p = np.array(p)
    assert 0.01 <= (p < 0.05).mean() <= 0.12
    assert 0.4 <= p.mean() <= 0.6
    assert all(20 <= n <= 60 for n in np.histogram(p, bins=5, range=(0, 1))[0])


# --- arguments ------------------------------------------------------------------------------------


def test_parse_argument():
    assert parse_argument("abc123") == ("abc123", [])
    assert parse_argument("configs/first10.yaml --set strategy.params.lookback=5") == (
        "configs/first10.yaml", ["strategy.params.lookback=5"])
    assert parse_argument("c.yaml --set=a.b=1 --set 'strategy.params.small=ff_size:Lo 10' --start 2000-01-01 --end=2010-12-31") == (
        "c.yaml", ["a.b=1", "strategy.params.small=ff_size:Lo 10", "period.start=2000-01-01", "period.end=2010-12-31"])
    for bad in ("c.yaml --bogus 1", "c.yaml --set", "c.yaml 'unbalanced", ""):
        with pytest.raises(CompareError):
            parse_argument(bad)


# --- the command on synthetic recorded runs (no data needed) ---------------------------------------


def _write_run(root, run_id, dates, returns, initial_cash=100_000.0):
    """A run directory in the layout `backtest run` writes, and its registry row (252 periods a
    year and a zero risk-free rate, set in its config)."""
    from backtest import stats

    equity = pd.Series(initial_cash * np.cumprod(1 + returns), index=dates, name="strategy")
    figures = stats.performance(equity, initial_cash, 252)
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    pd.DataFrame({"strategy": equity}).rename_axis("date").to_csv(run_dir / "equity.csv", date_format="%Y-%m-%d")
    summary = {"run_id": run_id, "start": figures["start"], "end": figures["end"], "strategy": figures, "benchmark": None}
    from backtest.io import json_safe

    (run_dir / "stats.json").write_text(json.dumps(json_safe(summary)))
    config = {"strategy": {"name": "synthetic", "params": {}}, "portfolio": {"initial_cash": initial_cash},
              "stats": {"periods_per_year": 252, "risk_free": 0}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    registry.record_run(root, run_id, config, json_safe(summary), run_dir=run_dir)
    return run_dir, equity


@pytest.fixture
def two_runs(tmp_path):
    """Two runs on overlapping business-day calendars: 2000-2009 and 2005-03-01 to 2014."""
    rng = np.random.default_rng(11)
    d1 = pd.bdate_range("2000-01-03", "2009-12-31")
    d2 = pd.bdate_range("2005-03-01", "2014-12-31")
    _, e1 = _write_run(tmp_path, "alpha-20260101-000000-aaaaaa", d1, rng.normal(0.0004, 0.01, len(d1)))
    _, e2 = _write_run(tmp_path, "beta-20260101-000000-bbbbbb", d2, rng.normal(0.0002, 0.012, len(d2)))
    return tmp_path, e1, e2


def _invoke(*args):
    return CliRunner().invoke(main, ["compare", *map(str, args)])


def _window(equity, common):
    """A run on the common dates, rebased to 1 at the first; its returns between consecutive
    common dates (0 on the first, the base)."""
    curve = equity.loc[common] / equity.loc[common[0]]
    return curve, curve.pct_change().fillna(0.0).to_numpy()


def test_compare_recorded_runs_json(two_runs):
    import statsmodels.api as sm

    root, e1, e2 = two_runs
    out = _invoke("alpha", root / "beta-20260101-000000-bbbbbb", "--out", root, "--format", "json", "--resamples", 300)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    alpha, beta = result["entries"]
    assert [alpha["label"], beta["label"]] == ["alpha-20260101-000000-aaaaaa", "beta-20260101-000000-bbbbbb"]
    assert [alpha["kind"], beta["kind"]] == ["run", "run"]
    # full period: each run's own figures, as stored
    stored = json.loads((root / "alpha-20260101-000000-aaaaaa" / "stats.json").read_text())["strategy"]
    assert alpha["stats"]["sharpe"] == pytest.approx(stored["sharpe"], rel=1e-12)
    assert beta["start"] == "2005-03-01" and beta["end"] == "2014-12-31"
    # the common window: the dates both have, one set of conventions (the first run's: 252, 0)
    common = e1.index.intersection(e2.index)
    assert result["common"]["start"] == "2005-03-01" and result["common"]["end"] == "2009-12-31"
    assert result["common"]["dates"] == len(common)
    assert result["common"]["conventions"]["periods_per_year"] == 252 and result["common"]["conventions"]["risk_free"] == 0
    years = (common[-1] - common[0]).days / 365.25
    for entry, equity in ((alpha, e1), (beta, e2)):
        curve, r = _window(equity, common)
        figures = entry["common_stats"]
        assert figures["cagr"] == pytest.approx(curve.iloc[-1] ** (1 / years) - 1, rel=1e-9)
        assert figures["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)
        assert figures["total_return"] == pytest.approx(curve.iloc[-1] - 1, rel=1e-12)
    (test,) = result["sharpe_tests"]
    _, r1 = _window(e1, common)
    _, r2 = _window(e2, common)
    assert test["common_dates"] == len(common) and (test["start"], test["end"]) == ("2005-03-01", "2009-12-31")
    z, p = memmel_reference(list(r2), list(r1))
    assert test["jkm_z"] == pytest.approx(z, rel=1e-9) and test["jkm_p_value"] == pytest.approx(p, rel=1e-8)
    lags = int(4 * (len(r1) / 100) ** (2 / 9))
    ols = sm.OLS(r2 - r1, np.ones(len(r1))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}, use_t=False)
    assert test["active_return"] == pytest.approx(ols.params[0] * 252, rel=1e-9)
    assert test["t_stat"] == pytest.approx(ols.tvalues[0], rel=1e-9) and test["p_value"] == pytest.approx(ols.pvalues[0], rel=1e-9)
    from backtest.stats.bootstrap import sharpe_difference_interval

    assert test["bootstrap_p_value"] == sharpe_difference_interval(r2, r1, 252, n_resamples=300, seed=0).p_value
    assert test["significance"]["bootstrap"]["resamples"] == 300
    assert "beta-20260101-000000-bbbbbb" in test["significance"]["verdict"] and "alpha-20260101-000000-aaaaaa" in test["significance"]["verdict"]
    # calendar-year returns on the common window; 2005 starts in March: partial, marked
    assert list(result["yearly"]["alpha-20260101-000000-aaaaaa"]) == [str(y) for y in range(2005, 2010)]
    curve, _ = _window(e1, common)
    first = curve[curve.index.year == 2005].iloc[-1] - 1
    assert result["yearly"]["alpha-20260101-000000-aaaaaa"]["2005"] == pytest.approx(first, rel=1e-12)
    assert result["partial_years"] == {"2005": ["2005-03-01", "2005-12-30"]}
    directory = root / f"compare-{result['compare_id']}"
    assert directory == root / result["directory"].split("/")[-1]
    names = {p.name for p in directory.iterdir()}
    assert names == {"stats.csv", "sharpe_tests.csv", "yearly.csv", "equity.csv", "equity.png", "drawdown.png", "annual.png", "compare.json"}
    assert (directory / "equity.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((directory / "compare.json").read_text()) == result
    yearly = pd.read_csv(directory / "yearly.csv", index_col="year")
    assert list(yearly.columns) == [e["label"] for e in result["entries"]]
    rebased = pd.read_csv(directory / "equity.csv", index_col="date", parse_dates=True)
    assert rebased.index.equals(common) and (rebased.iloc[0] == 1.0).all()
    np.testing.assert_allclose(rebased["beta-20260101-000000-bbbbbb"], _window(e2, common)[0], rtol=1e-12)
    assert not list(root.glob(".compare-*.tmp"))


def test_paths_with_spaces_and_run_directories(two_runs):
    root, *_ = two_runs
    spaced = root / "my runs" / "beta copy"
    import shutil

    shutil.copytree(root / "beta-20260101-000000-bbbbbb", spaced)
    out = _invoke(root / "alpha-20260101-000000-aaaaaa", spaced, "--out", root, "--format", "json", "--resamples", 50)
    assert out.exit_code == 0, out.output
    entries = json.loads(out.stdout)["entries"]
    assert [e["label"] for e in entries] == ["alpha-20260101-000000-aaaaaa", "beta copy"]
    assert entries[1]["kind"] == "run" and entries[1]["sessions"] == len(pd.bdate_range("2005-03-01", "2014-12-31"))


def test_compare_formats(two_runs):
    root, *_ = two_runs
    base = ["alpha", "beta", "--out", root, "--resamples", 200, "--label", "A", "--label", "B"]
    out = _invoke(*base, "--format", "csv")
    assert out.exit_code == 0, out.output
    frame = pd.read_csv(io.StringIO(out.stdout), index_col="statistic")
    assert list(frame.columns) == ["A", "B"]
    for key in ("full.start", "full.sessions", "full.cagr", "common.cagr", "common.sharpe", "common.max_drawdown",
                "common.jkm_p_value", "common.bootstrap_p_value", "common.p_value", "common.active_return"):
        assert key in frame.index, key
    assert 0 <= float(frame.loc["common.jkm_p_value", "B"]) <= 1 and pd.isna(frame.loc["common.jkm_p_value", "A"])

    out = _invoke(*base, "--format", "markdown")
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert lines[0] == f"**Common window 2005-03-01 → 2009-12-31 ({len(pd.bdate_range('2005-03-01', '2009-12-31')):,} dates, rebased to 1 at the first)**"
    assert "|  | A | B |" in lines and "|---|---:|---:|" in lines
    assert any(line.startswith("| Sharpe |") for line in lines)
    assert any("Jobson–Korkie–Memmel" in line for line in lines)
    assert "**Full period (each run's own dates and conventions)**" in lines

    out = _invoke(*base)
    assert out.exit_code == 0, out.output
    for text in ("Common window 2005-03-01 → 2009-12-31", "Conventions: 252 periods a year (fixed)", "Significance: B ",
                 "Full period", "Sharpe", "CAGR", "(Jobson–Korkie–Memmel)", "(stationary bootstrap)",
                 "Calendar-year returns on the common window", "2005*", "Charts and tables:"):
        assert text in out.output, text


def test_runs_without_common_dates_are_a_user_error(tmp_path):
    rng = np.random.default_rng(3)
    d1, d2 = pd.bdate_range("2000-01-03", "2000-12-29"), pd.bdate_range("2001-01-02", "2001-12-31")
    _write_run(tmp_path, "early-20260101-000000-aaaaaa", d1, rng.normal(0, 0.01, len(d1)))
    _write_run(tmp_path, "late-20260101-000000-bbbbbb", d2, rng.normal(0, 0.01, len(d2)))
    out = _invoke("early", "late", "--out", tmp_path)
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert "the runs share 0 dates, too few to compare" in out.stderr


@pytest.mark.parametrize("args,message", [
    (["alpha", "nope"], "nope: not a config file, run directory or run id"),
    (["alpha", "a"], "ambiguous"),  # with a second alpha-... run recorded below
    (["alpha"], "at least two"),
    (["alpha", "missing.yaml"], "missing.yaml: config file not found"),
    (["alpha", "configs/first10.yaml --bogus"], "unexpected '--bogus'"),
    (["alpha", "configs/first10.yaml --set portfolio.feez=0"], "portfolio.feez: unknown key"),
    (["alpha", "beta", "--label", "x", "--label", "y", "--label", "z"], "--label given 3 times"),
    (["alpha", "beta", "--label", "x"], "--label given once for 2 entries (give one per entry"),
])
def test_bad_arguments_are_one_line_exit_2(two_runs, monkeypatch, args, message):
    root, *_ = two_runs
    monkeypatch.chdir(REPO_ROOT)
    if args == ["alpha", "a"]:
        registry.record_run(root, "alpha-2", {"strategy": {"name": "x"}}, {})
    out = _invoke(*args, "--out", root, "--resamples", 50)
    assert out.exit_code == 2, out.output
    assert message in out.stderr and out.stderr.startswith("error:")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.output
    assert not list(root.glob("compare-*"))


# --- end to end on the real data -----------------------------------------------------------------


def test_compare_configs_with_overrides_real_data(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    out = _invoke("configs/first10.yaml --start 1990-01-01",
                  "configs/first10.yaml --start 1990-01-01 --set strategy.params.lookback=5",
                  "--out", tmp_path, "--format", "json", "--resamples", 500)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert [e["label"] for e in result["entries"]] == ["first10 start=1990-01-01", "first10 start=1990-01-01 lookback=5"]
    (test,) = result["sharpe_tests"]
    assert test["common_dates"] == result["entries"][0]["sessions"] == result["entries"][1]["sessions"]
    assert 0 <= test["jkm_p_value"] <= 1 and 0 <= test["bootstrap_p_value"] <= 1
    assert result["entries"][0]["stats"]["sharpe"] != result["entries"][1]["stats"]["sharpe"]
    assert result["common"]["conventions"]["risk_free"] == "ff_factors:RF"


def test_compare_recorded_run_with_its_config_real_data(shared_data, tmp_path, monkeypatch):
    """A recorded run and the same config run again: same statistics, p = 1 for both tests."""
    monkeypatch.chdir(REPO_ROOT)
    ran = CliRunner().invoke(main, ["run", "configs/first10.yaml", "--start", "2000-01-01", "--out", str(tmp_path), "--json"])
    assert ran.exit_code == 0, ran.output
    run = json.loads(ran.stdout)
    out = _invoke(run["run_id"][:-3], "configs/first10.yaml --start 2000-01-01", "--out", tmp_path, "--format", "json", "--resamples", 200)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    recorded, rerun = result["entries"]
    assert recorded["kind"] == "run" and recorded["run_id"] == run["run_id"] and rerun["kind"] == "config"
    for name in ("final_value", "cagr", "sharpe", "max_drawdown", "turnover"):
        assert recorded["stats"][name] == pytest.approx(run["strategy"][name], rel=1e-9), name
        assert rerun["stats"][name] == pytest.approx(run["strategy"][name], rel=1e-9), name
    assert recorded["conventions"] == run["conventions"]
    (test,) = result["sharpe_tests"]
    assert test["jkm_p_value"] == pytest.approx(1.0) and test["bootstrap_p_value"] == pytest.approx(1.0)


def test_compare_different_calendars_real_data(shared_data, tmp_path, monkeypatch):
    """Ken French size deciles (1926-2025) vs ETFs (2000-2026): figures and tests on the dates both
    have, over T-bills (which cover that window), full-period figures each under its own conventions."""
    monkeypatch.chdir(REPO_ROOT)
    out = _invoke("configs/first10_deciles.yaml", "configs/first10_etf.yaml", "--out", tmp_path, "--resamples", 300)
    assert out.exit_code == 0, out.output
    assert "Common window 2000-05-30 → 2025-05-30" in out.output and "(Jobson–Korkie–Memmel)" in out.output
    assert "first10_etf (full period): risk-free rate 0" in out.stderr  # past ff_factors:RF's last date
    (directory,) = tmp_path.glob("compare-*")
    result = json.loads((directory / "compare.json").read_text())
    french, etf = result["entries"]
    assert french["start"] == "1926-07-01" and etf["start"] == "2000-05-30" and etf["end"] > "2025-05-30"
    assert result["common"]["start"] == etf["start"] and result["common"]["end"] == french["end"] == "2025-05-30"
    assert result["common"]["conventions"]["risk_free"] == "ff_factors:RF"
    assert french["conventions"]["risk_free"] == "ff_factors:RF" and etf["conventions"]["risk_free"] == 0
    assert set(result["partial_years"]) == {"2000", "2025"}
    (test,) = result["sharpe_tests"]
    assert test["common_dates"] == result["common"]["dates"] > 6000
