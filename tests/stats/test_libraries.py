"""The standard statistics of a real run against empyrical-reloaded and quantstats.

Each library has its own conventions; every one is matched explicitly here, so that the only
thing compared is the arithmetic:

- excess returns: both subtract a per-row risk-free series when given one (empyrical's
  `risk_free` / `required_return`; quantstats' `rf` is an annual number, so its per-row
  series is subtracted beforehand, and a fixed annual rate is checked on its own);
- annualisation: both take the periods a year as an argument: ours (`"auto"`, the run's
  sessions per calendar year) is passed;
- CAGR: both count years as rows / periods; passing rows / calendar years as the periods makes
  that our calendar years;
- drawdowns: both start the running peak at the first row's value; ours starts it at the
  initial cash, so a zero return is put before the first row;
- alpha and beta: empyrical takes a constant risk-free rate (its beta ignores it) and compounds
  alpha, (1 + α)^ppy - 1: it is given the excess returns, and its alpha is turned back into
  α * ppy (quantstats' and ours); quantstats' `greeks` is given the excess returns too.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import backtest
from backtest import stats
from tests.conftest import REPO_ROOT

empyrical = pytest.importorskip("empyrical")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    qs = pytest.importorskip("quantstats")

REL = 1e-10


@pytest.fixture(scope="module")
def first10(shared_data, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKTEST_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
        mp.setenv("BACKTEST_DATA_PATH", str(shared_data))
        return backtest.run(REPO_ROOT / "configs" / "first10.yaml")


def _returns(result):
    initial = result.prepared.config.portfolio.initial_cash
    return (stats.daily_returns(result.strategy.simulation.equity, initial),
            stats.daily_returns(result.benchmark.simulation.equity, initial))


def test_the_run_uses_the_t_bill_rate_and_its_own_calendar(first10):
    conventions = first10.conventions
    assert conventions["risk_free"] == "ff_factors:RF" and conventions["periods_per_year_setting"] == "auto"
    assert round(conventions["periods_per_year"], 1) == 262.9
    assert first10.prepared.conventions.risk_free.abs().sum() > 0


def test_against_empyrical(first10):
    r, b = _returns(first10)
    conventions = first10.prepared.conventions
    rf, ppy = conventions.risk_free, conventions.periods_per_year
    rows_a_year = len(r) / conventions.years  # empyrical's years are rows / annualization
    got = first10.stats
    assert got["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r, risk_free=rf, annualization=ppy), rel=REL)
    assert got["sortino"] == pytest.approx(empyrical.sortino_ratio(r - rf, required_return=0, annualization=ppy), rel=REL)
    assert got["volatility"] == pytest.approx(empyrical.annual_volatility(r, annualization=ppy), rel=REL)
    assert got["cagr"] == pytest.approx(empyrical.annual_return(r, annualization=rows_a_year), rel=REL)
    from_initial = pd.concat([pd.Series([0.0]), r.reset_index(drop=True)])
    assert got["max_drawdown"] == pytest.approx(empyrical.max_drawdown(from_initial), rel=REL)
    assert got["calmar"] == pytest.approx(empyrical.annual_return(r, annualization=rows_a_year)
                                          / -empyrical.max_drawdown(from_initial), rel=REL)
    alpha, beta = empyrical.alpha_beta(r - rf, b - rf, annualization=ppy)  # its risk_free is a constant
    assert got["beta"] == pytest.approx(beta, rel=REL)
    assert got["alpha"] == pytest.approx(((1 + alpha) ** (1 / ppy) - 1) * ppy, rel=1e-8)  # undone compounding
    assert got["information_ratio"] == pytest.approx(empyrical.excess_sharpe(r, b) * np.sqrt(ppy), rel=REL)
    assert got["tracking_error"] == pytest.approx(empyrical.annual_volatility(r - b, annualization=ppy), rel=REL)
    benchmark = first10.benchmark_stats
    assert benchmark["sharpe"] == pytest.approx(empyrical.sharpe_ratio(b, risk_free=rf, annualization=ppy), rel=REL)
    assert benchmark["cagr"] == pytest.approx(empyrical.annual_return(b, annualization=rows_a_year), rel=REL)


def test_against_quantstats(first10):
    r, b = _returns(first10)
    conventions = first10.prepared.conventions
    rf, ppy = conventions.risk_free, conventions.periods_per_year
    rows_a_year = len(r) / conventions.years
    got = first10.stats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert got["sharpe"] == pytest.approx(qs.stats.sharpe(r - rf, periods=ppy), rel=REL)
        assert got["sortino"] == pytest.approx(qs.stats.sortino(r - rf, periods=ppy), rel=REL)
        assert got["volatility"] == pytest.approx(qs.stats.volatility(r, periods=ppy), rel=REL)
        assert got["cagr"] == pytest.approx(qs.stats.cagr(r, periods=rows_a_year), rel=REL)
        assert got["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(r), rel=REL)
        greeks = qs.stats.greeks(r - rf, b - rf, periods=ppy)
        assert got["beta"] == pytest.approx(greeks["beta"], rel=REL)
        assert got["alpha"] == pytest.approx(greeks["alpha"], rel=1e-9)
        assert got["information_ratio"] == pytest.approx(qs.stats.information_ratio(r, b) * np.sqrt(ppy), rel=REL)


def test_a_fixed_annual_rate_as_quantstats_spreads_it(first10, shared_data):
    """`risk_free: 0.02`: (1.02)^(1/ppy) - 1 a row, which is quantstats' own conversion of `rf`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKTEST_DATA_PATH", str(shared_data))
        fixed = backtest.run(REPO_ROOT / "configs" / "first10.yaml", set={"stats.risk_free": 0.02, "stats.periods_per_year": 252})
    r, _ = _returns(fixed)
    assert fixed.conventions["risk_free"] == 0.02 and fixed.conventions["periods_per_year"] == 252
    # quantstats charges the rate on every row; ours not on row 0, the purchase at its close:
    # give quantstats that row's return plus the rate it will take off
    r.iloc[0] += 1.02 ** (1 / 252) - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fixed.stats["sharpe"] == pytest.approx(qs.stats.sharpe(r, rf=0.02, periods=252), rel=REL)
        assert fixed.stats["sortino"] == pytest.approx(qs.stats.sortino(r, rf=0.02, periods=252), rel=REL)


def test_the_python_api_carries_the_conventions_and_significance(first10):
    """RunResult.conventions / .significance are the objects `--json` prints, and the notebook view
    shows the conventions line and the verdict under its table."""
    from html import escape

    summary = first10.summary()
    assert summary["conventions"] == first10.conventions and summary["significance"] == first10.significance
    assert first10.significance["lags"] == 13 and first10.significance["n"] == 26003
    view = first10._repr_html_()
    assert escape(first10.significance["verdict"]) in view and "Conventions: 262.9 sessions a year" in view
