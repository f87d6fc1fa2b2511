"""backtest.stats and backtest.stats.nb against independent computations.

Expected values never come from the code under test: they are written out by hand (tiny cases)
or computed here with plain Python loops and numpy / empyrical-style formulas.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from numba import njit

from backtest import stats
from backtest.stats.nb import RELATIVE_STAT_NAMES, STAT_NAMES, relative_nb, summary_nb

REL = 1e-9


# ---------------------------------------------------------------- independent references


def ref_returns(values, init):
    out, prev = [], init
    for v in values:
        out.append(v / prev - 1.0)
        prev = v
    return np.array(out)


def ref_episodes(values, dates, init):
    """Drawdown episodes as maximal runs of rows strictly below the running peak.

    peak = the row just before the run (None = the initial cash); trough = first row of the
    run's minimum; recovery = the row just after the run (None if the run reaches the end).
    """
    episodes, peak_value, peak_row, t, n = [], init, None, 0, len(values)
    while t < n:
        if values[t] >= peak_value:
            peak_value, peak_row = values[t], t
            t += 1
            continue
        start = t
        while t < n and values[t] < peak_value:
            t += 1
        run = list(range(start, t))
        trough = min(run, key=lambda i: (values[i], i))
        recovery = t if t < n else None
        peak_date = dates[peak_row] if peak_row is not None else dates[0]
        end_date = dates[recovery] if recovery is not None else dates[-1]
        episodes.append(
            {
                "peak": peak_date.strftime("%Y-%m-%d"),
                "trough": dates[trough].strftime("%Y-%m-%d"),
                "recovery": dates[recovery].strftime("%Y-%m-%d") if recovery is not None else None,
                "depth": values[trough] / peak_value - 1.0,
                "length_days": (end_date - peak_date).days,
            }
        )
    return episodes


def ref_years(values, dates, init):
    last = {}
    for v, d in zip(values, dates):
        last[d.year] = v  # dates ascending: the year-end value is the last one seen
    out, prev = {}, init
    for year in sorted(last):
        out[year] = last[year] / prev - 1.0
        prev = last[year]
    return out


def ref_years_between(dates) -> float:
    """Calendar years from the first to the last date: days / 365.25."""
    return (dates[-1] - dates[0]).days / 365.25


def ref_ppy(ppy, dates) -> float:
    """A fixed number as given; "auto": the gaps between the dates per calendar year."""
    return (len(dates) - 1) / ref_years_between(dates) if ppy == "auto" else ppy


def ref_performance(values, dates, init, ppy="auto", traded=None, fees=None, rf=None):
    values = [float(v) for v in values]
    n = len(values)
    ppy = ref_ppy(ppy, dates)
    span = ref_years_between(dates)
    r = ref_returns(values, init)
    x = r - (np.zeros(n) if rf is None else np.asarray(rf, dtype=float))  # excess returns
    mean_r = sum(r) / n
    std = math.sqrt(sum((v - mean_r) ** 2 for v in r) / (n - 1)) if n > 1 else float("nan")
    mean = sum(x) / n
    std_x = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1)) if n > 1 else float("nan")
    cagr = (values[-1] / init) ** (1 / span) - 1.0 if span > 0 else float("nan")
    # empyrical: downside_risk = sqrt(mean(clip(x, max=0)^2)) * sqrt(ppy); sortino = mean*ppy / it
    downside = math.sqrt(sum(min(v, 0.0) ** 2 for v in x) / n) * math.sqrt(ppy)
    peak, dd = init, []
    for v in values:
        peak = max(peak, v)
        dd.append(v / peak - 1.0)
    mdd = min(dd)
    episodes = ref_episodes(values, dates, init)
    deepest = sorted(episodes, key=lambda e: e["depth"])  # stable: earlier first on ties
    years = list(ref_years(values, dates, init).values())
    out = {
        "final_value": values[-1],
        "total_return": values[-1] / init - 1.0,
        "cagr": cagr,
        "volatility": std * math.sqrt(ppy),
        "sharpe": mean / std_x * math.sqrt(ppy) if std_x > 0 else float("nan"),
        "sortino": mean * ppy / downside if downside > 0 else float("nan"),
        "calmar": cagr / abs(mdd) if mdd < 0 else float("nan"),
        "max_drawdown": mdd,
        "max_drawdown_days": deepest[0]["length_days"] if deepest else 0,
        "best_year": max(years),
        "worst_year": min(years),
        "pct_positive_years": sum(1 for y in years if y > 0) / len(years),
        "rebalances": float("nan"),
        "turnover": float("nan"),
        "fees_paid": float("nan"),
        "drawdowns": deepest[:5],
        "start": dates[0].strftime("%Y-%m-%d"),
        "end": dates[-1].strftime("%Y-%m-%d"),
    }
    if traded is not None:
        out["rebalances"] = sum(1 for x in traded if x > 0)
        out["turnover"] = sum(t / v for t, v in zip(traded, values)) / 2 / span
    if fees is not None:
        out["fees_paid"] = float(sum(fees))
    return out


def ref_relative(values, init, bench, bench_init, dates, ppy="auto", rf=None):
    """Against a benchmark; beta and alpha from numpy's least squares of excess returns."""
    ppy = ref_ppy(ppy, dates)
    years = ref_years_between(dates)
    r = ref_returns(values, init)
    b = ref_returns(bench, bench_init)
    rf = np.zeros(len(r)) if rf is None else np.asarray(rf, dtype=float)
    te = np.std(r - b, ddof=1) * np.sqrt(ppy)
    (alpha, beta), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(r)), b - rf]), r - rf, rcond=None)
    return {
        "excess_cagr": (values[-1] / init) ** (1 / years) - (bench[-1] / bench_init) ** (1 / years),
        "tracking_error": te,
        "information_ratio": np.mean(r - b) * ppy / te if te > 0 else float("nan"),
        "beta": beta,
        "alpha": alpha * ppy,
    }


def assert_close(got, expected, rel=REL, abs_=1e-12):
    """Compare statistic dicts (and drawdown tables) key by key; NaN equals NaN."""
    assert set(expected) <= set(got), set(expected) - set(got)
    for key, want in expected.items():
        have = got[key]
        if key == "drawdowns":
            assert len(have) == len(want)
            for h, w in zip(have, want):
                assert {k: h[k] for k in ("peak", "trough", "recovery", "length_days")} == {
                    k: w[k] for k in ("peak", "trough", "recovery", "length_days")
                }
                assert h["depth"] == pytest.approx(w["depth"], rel=rel, abs=abs_)
        elif isinstance(want, str) or want is None:
            assert have == want, key
        elif isinstance(want, float) and math.isnan(want):
            assert isinstance(have, float) and math.isnan(have), (key, have)
        else:
            assert have == pytest.approx(want, rel=rel, abs=abs_), key


def series(values, dates):
    return pd.Series(np.asarray(values, dtype=float), index=pd.DatetimeIndex(dates))


def random_curve(seed, n, start="1990-01-01", freq="B", drift=0.0004, vol=0.012):
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n, freq=freq)
    equity = 1000.0 * np.cumprod(1 + rng.normal(drift, vol, n))
    traded = np.where(rng.random(n) < 0.1, rng.random(n) * 500.0, 0.0)
    fees = traded * 0.0005
    return dates, equity, traded, fees


# ---------------------------------------------------------------- hand-computed cases

HAND_DATES = pd.to_datetime(["2020-12-30", "2020-12-31", "2021-01-04", "2021-01-05"])
HAND_EQUITY = [110.0, 99.0, 121.0, 120.0]  # from 100


def test_hand_computed_four_rows():
    traded = pd.Series([100.0, 0.0, 50.0, 0.0], index=HAND_DATES)
    fees = pd.Series([1.0, 0.0, 0.5, 0.0], index=HAND_DATES)
    # ppy fixed at 4; the four rows span 6 calendar days: years = 6 / 365.25
    got = stats.performance(series(HAND_EQUITY, HAND_DATES), 100.0, 4, traded=traded, fees=fees)
    # r = [110/100-1, 99/110-1, 121/99-1, 120/121-1] = [1/10, -1/10, 2/9, -1/121]
    # mean = (1/10 - 1/10 + 2/9 - 1/121) / 4 = 233/4356 = 0.0534894398...
    # var(ddof=1) = 2293039/118592100 = 0.0193355122...; std = 0.1390521924695...
    # volatility = std * sqrt(4) = 0.278104384939...; sharpe = mean/std*2 = 0.769343350912...
    # downside: mean(min(r,0)^2) = (1/100 + 1/121^2)/4 = 14741/5856400; sqrt = 0.0501704627882...
    # sortino = mean*4 / (0.0501704627882 * 2) = 2.13230801075...
    # running peak 100 -> 110 -> 110 -> 121 -> 121; drawdown = [0, -0.1, 0, -1/121]
    # episode 1: peak 2020-12-30 (110), trough 2020-12-31 (99, -10 %), recovered 2021-01-04: 5 days
    # episode 2: peak 2021-01-04 (121), trough 2021-01-05 (120), unrecovered: 1 day to the end
    # cagr = 1.2^(365.25 / 6) - 1 (calendar time); calmar = cagr / 0.1
    # years: 2020: 99/100-1 = -0.01; 2021: 120/99-1 = 0.2121...; one of two positive
    # turnover = (100/110 + 50/121) / 2 / (6 / 365.25) = 80/121 * 365.25 / 6
    cagr = 1.2 ** (365.25 / 6) - 1
    expected = {
        "final_value": 120.0,
        "total_return": 0.2,
        "cagr": cagr,
        "volatility": 0.2781043849390268,
        "sharpe": 0.7693433509119757,
        "sortino": 2.132308010745954,
        "calmar": cagr / 0.1,
        "max_drawdown": -0.1,
        "max_drawdown_days": 5,
        "best_year": 21 / 99,
        "worst_year": -0.01,
        "pct_positive_years": 0.5,
        "rebalances": 2,
        "turnover": 80 / 121 * 365.25 / 6,
        "fees_paid": 1.5,
        "start": "2020-12-30",
        "end": "2021-01-05",
        "drawdowns": [
            {"peak": "2020-12-30", "trough": "2020-12-31", "recovery": "2021-01-04", "depth": -0.1, "length_days": 5},
            {"peak": "2021-01-04", "trough": "2021-01-05", "recovery": None, "depth": -1 / 121, "length_days": 1},
        ],
    }
    assert_close(got, expected, rel=1e-12)
    assert list(got)[: len(STAT_NAMES)] == list(STAT_NAMES)
    assert type(got["rebalances"]) is int and type(got["max_drawdown_days"]) is int
    assert all(type(got[k]) is float for k in STAT_NAMES if k not in ("rebalances", "max_drawdown_days"))
    json.dumps(got)  # JSON-ready (NaN aside)

    s = series(HAND_EQUITY, HAND_DATES)
    assert stats.yearly_returns(s, 100.0).to_dict() == pytest.approx({2020: -0.01, 2021: 21 / 99}, rel=1e-12)
    assert stats.drawdown_series(s, 100.0).tolist() == pytest.approx([0.0, -0.1, 0.0, -1 / 121], rel=1e-12)


def test_hand_computed_excess_returns():
    """The same four rows over a risk-free rate of 1 %, 0, 2 %, 0 on the rows: excess returns
    x = [1/10 - 1/100, -1/10, 2/9 - 1/50, -1/121]."""
    rf = pd.Series([0.01, 0.0, 0.02, 0.0], index=HAND_DATES)
    got = stats.performance(series(HAND_EQUITY, HAND_DATES), 100.0, 4, risk_free=rf)
    x = [0.09, -0.1, 2 / 9 - 0.02, -1 / 121]
    mean = sum(x) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in x) / 3)
    downside = math.sqrt((0.1**2 + (1 / 121) ** 2) / 4)
    assert got["sharpe"] == pytest.approx(mean / std * 2, rel=1e-12)
    assert got["sortino"] == pytest.approx(mean * 4 / (downside * 2), rel=1e-12)
    # volatility and CAGR are of the returns themselves, not the excess
    assert got["volatility"] == pytest.approx(0.2781043849390268, rel=1e-12)
    assert got["cagr"] == pytest.approx(1.2 ** (365.25 / 6) - 1, rel=1e-12)


def test_hand_computed_relative():
    # strategy r = [1/10, -1/10, 2/9, -1/121]; benchmark 200 -> [210, 210, 231, 231]:
    # b = [0.05, 0, 0.1, 0]; r - b = [0.05, -0.1, 1/9 ... ] -- checked against numpy below too
    bench = series([210.0, 210.0, 231.0, 231.0], HAND_DATES)
    got = stats.relative(series(HAND_EQUITY, HAND_DATES), 100.0, bench, 200.0, 4)
    r = np.array([0.1, -0.1, 2 / 9, -1 / 121])
    b = np.array([0.05, 0.0, 0.1, 0.0])
    # cagr over 6 calendar days: 1.2^(365.25/6) - 1 vs 1.155^(365.25/6) - 1
    assert got["excess_cagr"] == pytest.approx(1.2 ** (365.25 / 6) - 1.155 ** (365.25 / 6), rel=1e-12)
    # var(b) = mean 0.0375, deviations [0.0125, -0.0375, 0.0625, -0.0375] -> sum sq 0.006875 / 3
    var_b = 0.006875 / 3
    mr = 233 / 4356
    cov = sum((x - mr) * (y - 0.0375) for x, y in zip(r, b)) / 3
    beta = cov / var_b
    assert got["beta"] == pytest.approx(beta, rel=1e-12)
    # OLS intercept per row, times 4 rows a year (arithmetic)
    assert got["alpha"] == pytest.approx((mr - beta * 0.0375) * 4, rel=1e-12)
    # over a risk-free rate: the OLS of r - rf on b - rf (rf = 1 % on every row shifts both)
    rf = pd.Series(0.01, index=HAND_DATES)
    over = stats.relative(series(HAND_EQUITY, HAND_DATES), 100.0, bench, 200.0, 4, risk_free=rf)
    assert over["beta"] == pytest.approx(beta, rel=1e-12)
    assert over["alpha"] == pytest.approx((mr - 0.01 - beta * (0.0375 - 0.01)) * 4, rel=1e-12)
    assert over["tracking_error"] == got["tracking_error"] and over["excess_cagr"] == got["excess_cagr"]
    x = r - b
    te = math.sqrt(sum((v - x.mean()) ** 2 for v in x) / 3) * 2
    assert got["tracking_error"] == pytest.approx(te, rel=1e-12)
    assert got["information_ratio"] == pytest.approx(x.mean() * 4 / te, rel=1e-12)
    assert list(got) == list(RELATIVE_STAT_NAMES)


def test_equal_to_peak_ends_an_episode_and_starts_the_next():
    # from 100: 90 (below the initial cash), 100 (= peak: recovery), 95, 100 (recovery), 101
    dates = pd.to_datetime(["2001-03-01", "2001-03-05", "2001-03-09", "2001-03-20", "2001-04-02"])
    got = stats.performance(series([90, 100, 95, 100, 101], dates), 100.0)
    assert got["drawdowns"] == [
        # peak at the initial cash -> peak date is the first date; recovered on 2001-03-05: 4 days
        {"peak": "2001-03-01", "trough": "2001-03-01", "recovery": "2001-03-05", "depth": pytest.approx(-0.1), "length_days": 4},
        # the row equal to the peak (2001-03-05) is the next episode's peak; recovery 2001-03-20
        {"peak": "2001-03-05", "trough": "2001-03-09", "recovery": "2001-03-20", "depth": pytest.approx(-0.05), "length_days": 15},
    ]
    assert got["max_drawdown"] == pytest.approx(-0.1) and got["max_drawdown_days"] == 4


# ---------------------------------------------------------------- random curves


@pytest.mark.parametrize(
    "seed,n,freq,drift,vol",
    [
        (1, 3000, "B", 0.0004, 0.012),
        (2, 4000, "B", -0.0002, 0.02),  # mostly under water: long unrecovered episodes
        (3, 2500, "W-FRI", 0.001, 0.03),  # weekly dates: lengths in days still calendar days
        (4, 5000, "D", 0.0, 0.005),
    ],
)
def test_random_curves_match_loops(seed, n, freq, drift, vol):
    dates, equity, traded, fees = random_curve(seed, n, freq=freq, drift=drift, vol=vol)
    idx = pd.DatetimeIndex(dates)
    rf = np.random.default_rng(seed + 50).uniform(0.0, 0.0004, n)
    got = stats.performance(
        pd.Series(equity, index=idx), 1000.0, 252, traded=pd.Series(traded, index=idx), fees=pd.Series(fees, index=idx),
        risk_free=pd.Series(rf, index=idx),
    )
    expected = ref_performance(equity, list(dates), 1000.0, 252, traded, fees, rf)
    assert ref_episodes(list(equity), list(dates), 1000.0)  # at least one episode to compare
    assert_close(got, expected)
    # numpy cross-check of the headline figures too
    x = np.r_[equity[0] / 1000.0, equity[1:] / equity[:-1]] - 1 - rf
    assert got["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * np.sqrt(252), rel=REL)
    # "auto": the dates' own sessions a year, (n - 1) / (days / 365.25)
    auto = stats.performance(pd.Series(equity, index=idx), 1000.0, risk_free=pd.Series(rf, index=idx))
    assert_close(auto, ref_performance(equity, list(dates), 1000.0, "auto", rf=rf))
    assert got["max_drawdown"] == pytest.approx(
        (equity / np.maximum.accumulate(np.r_[1000.0, equity])[1:] - 1).min(), rel=REL
    )
    years = stats.yearly_returns(pd.Series(equity, index=idx), 1000.0)
    ref = ref_years(list(equity), list(dates), 1000.0)
    assert list(years.index) == list(ref) and years.to_numpy() == pytest.approx(list(ref.values()), rel=1e-12)
    dd = stats.drawdown_series(pd.Series(equity, index=idx), 1000.0)
    peak, ref_dd = 1000.0, []
    for v in equity:
        peak = max(peak, v)
        ref_dd.append(v / peak - 1)
    assert dd.to_numpy() == pytest.approx(ref_dd, rel=1e-12, abs=1e-15)
    assert (dd.index == idx).all()


@pytest.mark.parametrize("seed", [11, 12])
def test_relative_matches_numpy(seed):
    dates, equity, _, _ = random_curve(seed, 3000)
    rng = np.random.default_rng(seed + 100)
    bench_r = 0.6 * (np.r_[equity[0] / 1000.0, equity[1:] / equity[:-1]] - 1) + rng.normal(0.0002, 0.008, 3000)
    bench = 5000.0 * np.cumprod(1 + bench_r)  # its own initial cash
    idx = pd.DatetimeIndex(dates)
    rf = pd.Series(rng.uniform(0.0, 0.0004, 3000), index=idx)
    got = stats.relative(pd.Series(equity, index=idx), 1000.0, pd.Series(bench, index=idx), 5000.0, 252, risk_free=rf)
    assert_close(got, ref_relative(equity, 1000.0, bench, 5000.0, list(dates), 252, rf.to_numpy()))
    auto = stats.relative(pd.Series(equity, index=idx), 1000.0, pd.Series(bench, index=idx), 5000.0, risk_free=rf)
    assert_close(auto, ref_relative(equity, 1000.0, bench, 5000.0, list(dates), "auto", rf.to_numpy()))
    # against itself: no tracking error, beta 1, alpha 0
    same = stats.relative(pd.Series(equity, index=idx), 1000.0, pd.Series(equity * 3, index=idx), 3000.0)
    assert same["tracking_error"] == pytest.approx(0.0, abs=1e-12) and same["excess_cagr"] == pytest.approx(0.0, abs=1e-12)
    assert same["beta"] == pytest.approx(1.0, rel=1e-12) and same["alpha"] == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- edge cases


def test_no_drawdown_at_all():
    dates = pd.bdate_range("2010-01-04", periods=300)
    rng = np.random.default_rng(21)
    equity = 100.0 * np.cumprod(1 + rng.uniform(0.0, 0.01, 300))  # never falls, from the initial cash
    got = stats.performance(pd.Series(equity, index=dates), 100.0)
    assert got["max_drawdown"] == 0.0 and got["max_drawdown_days"] == 0 and got["drawdowns"] == []
    assert math.isnan(got["calmar"])
    assert math.isnan(got["sortino"])  # no losing row: downside deviation 0 -> NaN by choice
    assert_close(got, ref_performance(equity, list(dates), 100.0))
    assert (stats.drawdown_series(pd.Series(equity, index=dates), 100.0) == 0).all()
    # a steady growth rate: volatility is 0 up to rounding (Sharpe then is meaningless, not a crash)
    steady = stats.performance(pd.Series(100.0 * 1.001 ** np.arange(1, 301), index=dates), 100.0)
    assert steady["volatility"] == pytest.approx(0.0, abs=1e-12) and steady["max_drawdown"] == 0.0


def test_unrecovered_drawdown_at_the_end():
    dates = pd.to_datetime(["2015-06-01", "2015-06-02", "2015-06-03", "2015-06-10", "2015-07-01"])
    equity = [101.0, 105.0, 100.0, 94.5, 99.0]  # peak 105 on 2015-06-02; never regained
    got = stats.performance(series(equity, dates), 100.0)
    assert got["drawdowns"] == [
        {"peak": "2015-06-02", "trough": "2015-06-10", "recovery": None, "depth": pytest.approx(94.5 / 105 - 1), "length_days": 29}
    ]
    assert got["max_drawdown"] == pytest.approx(-0.1) and got["max_drawdown_days"] == 29
    assert_close(got, ref_performance(equity, list(dates), 100.0))


def test_drawdown_from_the_initial_cash():
    dates = pd.to_datetime(["2019-12-31", "2020-01-02", "2020-01-15", "2020-02-03"])
    equity = [95.0, 80.0, 100.0, 104.0]  # below 100 from the first row; back to 100 on 2020-01-15
    got = stats.performance(series(equity, dates), 100.0)
    assert got["drawdowns"] == [
        {"peak": "2019-12-31", "trough": "2020-01-02", "recovery": "2020-01-15", "depth": pytest.approx(-0.2), "length_days": 15}
    ]
    assert got["max_drawdown"] == pytest.approx(-0.2) and got["max_drawdown_days"] == 15
    # years: 2019: 95/100-1 = -0.05; 2020: 104/95-1
    assert got["worst_year"] == pytest.approx(-0.05) and got["best_year"] == pytest.approx(104 / 95 - 1)
    assert stats.drawdown_series(series(equity, dates), 100.0).tolist() == pytest.approx([-0.05, -0.2, 0.0, 0.0])
    assert_close(got, ref_performance(equity, list(dates), 100.0))


def test_single_year():
    dates = pd.bdate_range("2018-02-01", periods=200)
    _, equity, _, _ = random_curve(5, 200)
    got = stats.performance(pd.Series(equity, index=dates), 1000.0)
    total = equity[-1] / 1000.0 - 1
    assert got["best_year"] == pytest.approx(total, rel=1e-12) and got["worst_year"] == pytest.approx(total, rel=1e-12)
    assert got["pct_positive_years"] == (1.0 if total > 0 else 0.0)
    assert list(stats.yearly_returns(pd.Series(equity, index=dates), 1000.0).index) == [2018]
    assert_close(got, ref_performance(equity, list(dates), 1000.0))


def test_constant_equity():
    dates = pd.bdate_range("2000-01-03", periods=50)
    got = stats.performance(pd.Series(100.0, index=dates), 100.0, traded=pd.Series(0.0, index=dates))
    assert got["volatility"] == 0.0 and got["total_return"] == 0.0 and got["cagr"] == 0.0
    for name in ("sharpe", "sortino", "calmar"):
        assert math.isnan(got[name]), name
    assert got["max_drawdown"] == 0.0 and got["drawdowns"] == [] and got["pct_positive_years"] == 0.0
    assert got["rebalances"] == 0 and got["turnover"] == 0.0 and math.isnan(got["fees_paid"])
    rel = stats.relative(pd.Series(100.0, index=dates), 100.0, pd.Series(100.0, index=dates), 100.0)
    assert rel["tracking_error"] == 0.0 and rel["excess_cagr"] == 0.0
    for name in ("information_ratio", "beta", "alpha"):
        assert math.isnan(rel[name]), name


def test_single_row():
    """One row spans no calendar time: no CAGR, no sessions a year to derive ("auto")."""
    got = stats.performance(series([105.0], pd.to_datetime(["2020-05-05"])), 100.0, 252)
    assert got["final_value"] == 105.0 and math.isnan(got["cagr"]) and math.isnan(got["turnover"])
    assert math.isnan(got["volatility"]) and math.isnan(got["sharpe"])
    assert math.isnan(stats.performance(series([105.0], pd.to_datetime(["2020-05-05"])), 100.0)["volatility"])
    assert got["start"] == got["end"] == "2020-05-05"


def test_cagr_on_calendar_time_whatever_the_rows():
    # 504 rows, total growth 1.21 -> cagr = 1.21^(365.25 / days) - 1: the dates' span decides
    growth = 1.21 ** (np.arange(1, 505) / 504)
    for dates, days in (
        (pd.bdate_range("2000-01-03", periods=504), 703),  # Monday + 503 weekdays: 2001-12-13
        (pd.date_range("1990-01-07", periods=504, freq="W"), 503 * 7),  # about 9.6 calendar years
        (pd.date_range("2020-01-01", periods=504, freq="D"), 503),  # under 1.4 calendar years
    ):
        assert (dates[-1] - dates[0]).days == days
        for ppy in ("auto", 252, 12):  # periods_per_year does not change it
            got = stats.performance(pd.Series(1000.0 * growth, index=dates), 1000.0, periods_per_year=ppy)
            assert got["cagr"] == pytest.approx(1.21 ** (365.25 / days) - 1, rel=1e-12)
            assert got["total_return"] == pytest.approx(0.21, rel=1e-12)
    # but it scales volatility: sqrt(ppy), with "auto" = 503 gaps over 503 / 365.25 years = 365.25
    r = np.r_[growth[0], growth[1:] / growth[:-1]] - 1
    got = stats.performance(pd.Series(1000.0 * growth, index=dates), 1000.0)
    assert got["volatility"] == pytest.approx(r.std(ddof=1) * math.sqrt(365.25), rel=1e-9)


def test_turnover_and_rebalances():
    dates = pd.bdate_range("2021-01-04", periods=504)
    equity = pd.Series(1000.0, index=dates)
    traded = pd.Series(0.0, index=dates)
    traded.iloc[::21] = 1000.0  # trade the whole book (one-way: half of it) every 21 rows
    got = stats.performance(equity, 1000.0, traded=traded, fees=traded * 0.001)
    # 24 trades of 100 % of value over 2021-01-04 .. 2022-12-08 (703 days): one-way turnover
    # 24 * 1.0 / 2 per 703 / 365.25 calendar years
    assert (dates[-1] - dates[0]).days == 703
    assert got["rebalances"] == 24
    assert got["turnover"] == pytest.approx(12.0 * 365.25 / 703, rel=1e-12)
    assert got["fees_paid"] == pytest.approx(24.0, rel=1e-12)


@njit(cache=True)
def _sweep(equity, rf, day, year, traded, fees, scales):
    """What a parameter sweep does: call the kernels inside its own compiled loop."""
    out = np.empty((scales.shape[0], len(STAT_NAMES)))
    rel = np.empty((scales.shape[0], len(RELATIVE_STAT_NAMES)))
    for i in range(scales.shape[0]):
        scaled = equity * scales[i]
        summary_nb(scaled, 1000.0, 252.0, rf, day, year, traded, fees, out[i])
        relative_nb(scaled, 1000.0, equity, 1000.0, 252.0, rf, day, rel[i])
    return out, rel


def test_kernel_callable_from_a_compiled_sweep():
    dates, equity, traded, fees = random_curve(7, 2000)
    day = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    year = dates.year.to_numpy().astype(np.int64)

    rf = np.random.default_rng(70).uniform(0.0, 0.0003, len(dates))
    scales = np.array([1.0, 1.1, 0.9])
    out, rel = _sweep(equity, rf, day, year, traded, fees, scales)
    for i, scale in enumerate(scales):
        expected = ref_performance(equity * scale, list(dates), 1000.0, 252, traded, fees, rf)
        assert_close(dict(zip(STAT_NAMES, out[i].tolist())), {k: expected[k] for k in STAT_NAMES})
        assert_close(dict(zip(RELATIVE_STAT_NAMES, rel[i].tolist())),
                     ref_relative(equity * scale, 1000.0, equity, 1000.0, list(dates), 252, rf))
    # no traded / fees (empty arrays): those figures are NaN
    out = np.empty(len(STAT_NAMES))
    summary_nb(equity, 1000.0, 252.0, rf, day, year, np.empty(0), np.empty(0), out)
    figures = dict(zip(STAT_NAMES, out))
    assert all(math.isnan(figures[k]) for k in ("rebalances", "turnover", "fees_paid"))


def test_top_five_of_many_episodes_deepest_first():
    dates, equity, _, _ = random_curve(8, 3000, vol=0.02)
    got = stats.drawdowns(pd.Series(equity, index=pd.DatetimeIndex(dates)), 1000.0, top=-1)
    ref = ref_episodes(list(equity), list(dates), 1000.0)
    assert len(got) == len(ref) > 5
    assert_close({"drawdowns": got}, {"drawdowns": sorted(ref, key=lambda e: e["depth"])})
    perf = stats.performance(pd.Series(equity, index=pd.DatetimeIndex(dates)), 1000.0)
    assert perf["drawdowns"] == got[:5]
    assert [d["depth"] for d in got] == sorted(d["depth"] for d in got)


def test_wrapper_rejects_misaligned_inputs():
    s = series(HAND_EQUITY, HAND_DATES)
    with pytest.raises(ValueError):
        stats.performance(s, 100.0, traded=pd.Series([1.0, 2.0], index=HAND_DATES[:2]))
    with pytest.raises(ValueError):
        stats.relative(s, 100.0, s.iloc[:3], 100.0)
    with pytest.raises(ValueError):
        stats.performance(s.iloc[:0], 100.0)
    with pytest.raises(TypeError):
        stats.performance(pd.Series(HAND_EQUITY), 100.0)
    with pytest.raises(ValueError):
        stats.performance(s.iloc[::-1], 100.0)


def test_timezone_aware_and_datetime_dates():
    dates = pd.to_datetime(["2020-12-30", "2020-12-31", "2021-01-04", "2021-01-05"]).tz_localize("America/New_York")
    got = stats.performance(series(HAND_EQUITY, dates), 100.0, 4)
    assert got["start"] == "2020-12-30" and got["max_drawdown_days"] == 5
    assert got["drawdowns"][0]["recovery"] == dt.date(2021, 1, 4).isoformat()


def test_daily_returns_start_from_the_initial_cash():
    from backtest.stats import daily_returns

    equity = pd.Series([110.0, 99.0, 121.0], index=pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]))
    # 110/100 - 1, 99/110 - 1, 121/99 - 1
    np.testing.assert_allclose(daily_returns(equity, 100.0).to_numpy(), [0.1, -0.1, 121 / 99 - 1])


def test_monthly_returns_and_rolling_figures_hand_computed():
    """Month ends 110 (Jan, from 100 initial cash), 99 (Feb), 121 (Mar, one row); window 2."""
    index = pd.to_datetime(["2020-01-30", "2020-01-31", "2020-02-28", "2020-03-02"])
    equity = pd.Series([105.0, 110.0, 99.0, 121.0], index=index)
    monthly = stats.monthly_returns(equity, 100.0)
    assert [str(m) for m in monthly.index] == ["2020-01", "2020-02", "2020-03"]
    np.testing.assert_allclose(monthly.to_numpy(), [0.10, -0.10, 121 / 99 - 1])
    # window 2, ppy 4: (E_t / E_{t-2})^(4/2) - 1, E_{-1} = 100
    rolling = stats.rolling_return(equity, 100.0, 2, periods_per_year=4)
    np.testing.assert_allclose(rolling.to_numpy(), [np.nan, 1.1**2 - 1, (99 / 105) ** 2 - 1, (121 / 110) ** 2 - 1])
    r = np.array([105 / 100, 110 / 105, 99 / 110, 121 / 99]) - 1
    sharpe = stats.rolling_sharpe(equity, 100.0, 2, periods_per_year=4)
    expected = [np.nan] + [np.mean(r[t - 1 : t + 1]) / np.std(r[t - 1 : t + 1], ddof=1) * 2 for t in (1, 2, 3)]
    np.testing.assert_allclose(sharpe.to_numpy(), expected)
    # over a risk-free rate: the Sharpe ratio of r - rf
    rf = pd.Series([0.0, 0.01, 0.0, 0.02], index=index)
    x = r - rf.to_numpy()
    over = stats.rolling_sharpe(equity, 100.0, 2, periods_per_year=4, risk_free=rf)
    np.testing.assert_allclose(over.to_numpy(), [np.nan] + [np.mean(x[t - 1 : t + 1]) / np.std(x[t - 1 : t + 1], ddof=1) * 2 for t in (1, 2, 3)])
