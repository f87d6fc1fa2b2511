"""Every statistic, from an equity curve: a thin pandas wrapper over `backtest.stats.nb`.

Inputs
    equity          portfolio value at each row's close, after that row's trading (a Series on
                    an ascending DatetimeIndex); E_{-1} = initial_cash is the value before row 0.
    initial_cash    the value before the first row.
    periods_per_year  ppy, periods per year used to annualise means and standard deviations:
                    "auto" (the default) for the period's own sessions per calendar year,
                    (n - 1) / years (`backtest.stats.conventions`), or a number (252, 12).
    risk_free       each row's risk-free return rf_t (a Series on the same index), or None for 0.
    traded, fees    optional per-row traded notional (sum of |order value| over assets) and fees,
                    on the same index as `equity`. Not given -> their figures are NaN.

All figures are fractions (0.05 = 5 %); drawdowns are negative. n is the number of rows;
years = (last date - first date) in days / 365.25, calendar time whatever ppy says.

Definitions
    r_t             E_t / E_{t-1} - 1, with E_{-1} = initial_cash; x_t = r_t - rf_t the excess return.
    final_value     E_last.
    total_return    E_last / initial_cash - 1.
    cagr            (E_last / initial_cash)^(1 / years) - 1 (-1 after ruin; NaN when years is 0).
    volatility      std(r, ddof=1) * sqrt(ppy); NaN for a single row.
    sharpe          mean(x) / std(x, ddof=1) * sqrt(ppy); NaN when std(x) is 0 (constant
                    equity) or there is a single row.
    sortino         mean(x) * ppy / (sqrt(mean(min(x, 0)^2)) * sqrt(ppy)), empyrical's downside
                    deviation of the excess returns with required return 0, the mean taken over all
                    n rows; NaN when the downside deviation is 0 (no losing row) rather than +inf.
    drawdown_t      E_t / max(initial_cash, max_{s<=t} E_s) - 1 (the running peak starts at the
                    initial cash).
    max_drawdown    min_t drawdown_t (<= 0; 0 when the equity never falls below its peak).
    calmar          cagr / |max_drawdown|; NaN when max_drawdown is 0.
    drawdown episodes
                    a maximal run of rows with E_t below the running peak. Its peak is the last
                    row at which the running peak was set (a row equal to the peak renews it), or
                    the initial cash (peak index -1, peak date = the first date); its trough the
                    first row with the run's lowest E; its recovery the first row after the
                    trough with E_t >= the peak value (None if the data end first).
                    depth = E_trough / peak value - 1; length_days = calendar days from the peak
                    date to the recovery date, or to the last date if unrecovered. Episodes are
                    disjoint by construction; `drawdowns` lists the 5 deepest (ties: earlier
                    first), deepest first.
    max_drawdown_days  length_days of the deepest episode (the earliest if tied); 0 if none.
    calendar-year returns
                    year-end E / previous year-end E - 1; the first year is measured from the
                    initial cash and the last (possibly partial) year is included.
    calendar-month returns
                    the same per calendar month (first from the initial cash, last partial).
    rolling return  over a window of w rows, annualised: (E_t / E_{t-w})^(ppy / w) - 1, with
                    E_{-1} = initial_cash (so the first value is at row w - 1); NaN before.
    rolling sharpe  mean(r) / std(r, ddof=1) * sqrt(ppy) over the last w daily returns r.
    best_year, worst_year  the highest and lowest calendar-year return.
    pct_positive_years     share of calendar years with a return > 0 (beyond rounding noise, 1e-12).
    rebalances      number of rows with traded notional > 0.
    turnover        annual one-way turnover: sum_t(traded_t / E_t) / 2 / years.
    fees_paid       sum of fees.

Against a benchmark (`relative`; b_t are the benchmark's returns on the same rows, measured from
its own initial cash):
    excess_cagr        cagr - cagr_benchmark.
    tracking_error     std(r - b, ddof=1) * sqrt(ppy).
    information_ratio  mean(r - b) * ppy / tracking_error; NaN when tracking_error is 0.
    beta, alpha        the OLS of r - rf on b - rf: beta = cov(r - rf, b - rf) / var(b - rf),
                       alpha = (mean(r - rf) - beta * mean(b - rf)) * ppy (annualised
                       arithmetically); NaN when var(b - rf) is 0.

Output is JSON-ready apart from NaN: plain Python floats (NaN as float('nan')), ints for the
counts `max_drawdown_days` and `rebalances` (`rebalances` is NaN when `traded` is not given),
dates as "YYYY-MM-DD" strings.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from backtest.stats.conventions import AUTO, sessions_per_year
from backtest.stats.nb import (
    RELATIVE_STAT_NAMES,
    STAT_NAMES,
    drawdown_episodes_nb,
    drawdown_nb,
    relative_nb,
    summary_nb,
    yearly_returns_nb,
)

__all__ = [
    "COUNT_STATS",
    "RELATIVE_STAT_NAMES",
    "STAT_NAMES",
    "TOP_DRAWDOWNS",
    "daily_returns",
    "drawdown_series",
    "drawdowns",
    "monthly_returns",
    "performance",
    "relative",
    "rolling_return",
    "rolling_sharpe",
    "yearly_returns",
]

TOP_DRAWDOWNS = 5
COUNT_STATS = ("max_drawdown_days", "rebalances")  # reported as integers
_EMPTY = np.empty(0, dtype=np.float64)


def _dates(index: pd.Index, what: str = "equity") -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"{what}: expected a DatetimeIndex, got {type(index).__name__}")
    if not index.is_monotonic_increasing:
        raise ValueError(f"{what}: dates must be in ascending order")
    if index.tz is not None:
        index = index.tz_localize(None)
    return index


def _values(series: pd.Series, what: str) -> np.ndarray:
    if len(series) == 0:
        raise ValueError(f"{what}: empty series")
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64))


def _day_numbers(index: pd.DatetimeIndex) -> np.ndarray:
    return np.ascontiguousarray(index.to_numpy().astype("datetime64[D]").astype(np.int64))


def _years(index: pd.DatetimeIndex) -> np.ndarray:
    return np.ascontiguousarray(index.year.to_numpy().astype(np.int64))


def _per_row(series: pd.Series | None, index: pd.Index, what: str, missing: np.ndarray = _EMPTY) -> np.ndarray:
    if series is None:
        return missing
    if len(series) != len(index) or not series.index.equals(index):
        raise ValueError(f"{what}: must be on the same dates as equity")
    return np.ascontiguousarray(series.to_numpy(dtype=np.float64))


def _day_string(day_numbers: np.ndarray, i: int) -> str:
    return str(np.datetime64(int(day_numbers[i]), "D"))


def _episode_table(values: np.ndarray, initial_cash: float, days: np.ndarray, top: int) -> list[dict]:
    peak, trough, recovery, depth, length = drawdown_episodes_nb(values, float(initial_cash), days, int(top))
    return [
        {
            "peak": _day_string(days, max(int(peak[j]), 0)),
            "trough": _day_string(days, int(trough[j])),
            "recovery": _day_string(days, int(recovery[j])) if recovery[j] >= 0 else None,
            "depth": float(depth[j]),
            "length_days": int(length[j]),
        }
        for j in range(len(depth))
    ]


def drawdowns(equity: pd.Series, initial_cash: float, top: int = TOP_DRAWDOWNS) -> list[dict]:
    """The `top` deepest drawdown episodes (all if top < 0), deepest first, as plain dicts:
    peak, trough, recovery ("YYYY-MM-DD", recovery None if unrecovered), depth, length_days."""
    index = _dates(equity.index)
    return _episode_table(_values(equity, "equity"), initial_cash, _day_numbers(index), top)


def _periods_per_year(periods_per_year: float | str, index: pd.DatetimeIndex) -> float:
    """A number as given, or "auto": the index's own sessions per calendar year."""
    if periods_per_year == AUTO:
        return sessions_per_year(index) if len(index) > 1 else math.nan
    if isinstance(periods_per_year, str) or not periods_per_year > 0:
        raise ValueError(f"periods_per_year must be positive or 'auto', got {periods_per_year!r}")
    return float(periods_per_year)


def _risk_free(risk_free: pd.Series | None, index: pd.Index) -> np.ndarray:
    return _per_row(risk_free, index, "risk_free", np.zeros(len(index)))


def performance(
    equity: pd.Series,
    initial_cash: float,
    periods_per_year: float | str = AUTO,
    traded: pd.Series | None = None,
    fees: pd.Series | None = None,
    risk_free: pd.Series | None = None,
) -> dict:
    """Every `STAT_NAMES` figure, plus "drawdowns" (top 5) and "start"/"end" dates."""
    index = _dates(equity.index)
    ppy = _periods_per_year(periods_per_year, index)
    values = _values(equity, "equity")
    days = _day_numbers(index)
    out = np.empty(len(STAT_NAMES), dtype=np.float64)
    summary_nb(
        values,
        float(initial_cash),
        ppy,
        _risk_free(risk_free, equity.index),
        days,
        _years(index),
        _per_row(traded, equity.index, "traded"),
        _per_row(fees, equity.index, "fees"),
        out,
    )
    figures: dict = {}
    for name, value in zip(STAT_NAMES, out.tolist()):
        figures[name] = int(value) if name in COUNT_STATS and not math.isnan(value) else float(value)
    figures["drawdowns"] = _episode_table(values, initial_cash, days, TOP_DRAWDOWNS)
    figures["start"] = _day_string(days, 0)
    figures["end"] = _day_string(days, len(days) - 1)
    return figures


def relative(
    equity: pd.Series,
    initial_cash: float,
    benchmark_equity: pd.Series,
    benchmark_initial_cash: float,
    periods_per_year: float | str = AUTO,
    risk_free: pd.Series | None = None,
) -> dict:
    """excess_cagr, tracking_error, information_ratio, beta, alpha vs a benchmark on the same dates."""
    index = _dates(equity.index)
    ppy = _periods_per_year(periods_per_year, index)
    if len(benchmark_equity) != len(equity) or not benchmark_equity.index.equals(equity.index):
        raise ValueError("benchmark_equity: must be on the same dates as equity")
    out = np.empty(len(RELATIVE_STAT_NAMES), dtype=np.float64)
    relative_nb(
        _values(equity, "equity"),
        float(initial_cash),
        _values(benchmark_equity, "benchmark_equity"),
        float(benchmark_initial_cash),
        ppy,
        _risk_free(risk_free, equity.index),
        _day_numbers(index),
        out,
    )
    return dict(zip(RELATIVE_STAT_NAMES, out.tolist()))


def daily_returns(equity: pd.Series, initial_cash: float) -> pd.Series:
    """r_t = E_t / E_{t-1} - 1 with E_{-1} = the initial cash: the returns every statistic uses."""
    values = _values(equity, "equity")
    return pd.Series(values / np.r_[initial_cash, values[:-1]] - 1.0, index=equity.index, name="return")


def drawdown_series(equity: pd.Series, initial_cash: float) -> pd.Series:
    """drawdown_t = E_t / max(initial_cash, max_{s<=t} E_s) - 1, on the equity's index."""
    values = np.ascontiguousarray(equity.to_numpy(dtype=np.float64))
    out = np.empty(len(values), dtype=np.float64)
    drawdown_nb(values, float(initial_cash), out)
    return pd.Series(out, index=equity.index, name="drawdown")


def yearly_returns(equity: pd.Series, initial_cash: float) -> pd.Series:
    """Calendar-year returns indexed by year; the first from the initial cash, the last partial."""
    index = _dates(equity.index)
    values = np.ascontiguousarray(equity.to_numpy(dtype=np.float64))
    years, returns = yearly_returns_nb(values, float(initial_cash), _years(index))
    return pd.Series(returns, index=pd.Index(years, name="year"), name="return")


def monthly_returns(equity: pd.Series, initial_cash: float) -> pd.Series:
    """Calendar-month returns indexed by month (Period[M]); the first from the initial cash."""
    index = _dates(equity.index)
    values = np.ascontiguousarray(equity.to_numpy(dtype=np.float64))
    month_keys = np.ascontiguousarray((index.year * 12 + index.month - 1).to_numpy().astype(np.int64))
    keys, returns = yearly_returns_nb(values, float(initial_cash), month_keys)
    months = pd.PeriodIndex.from_ordinals(keys - 1970 * 12, freq="M")
    return pd.Series(returns, index=months.rename("month"), name="return")


def rolling_return(equity: pd.Series, initial_cash: float, window: int, periods_per_year: float | str = AUTO) -> pd.Series:
    """Annualised return over the last `window` rows, (E_t / E_{t-window})^(ppy / window) - 1."""
    periods_per_year = _periods_per_year(periods_per_year, _dates(equity.index))
    values = _values(equity, "equity")
    before = np.r_[initial_cash, values][: len(values)]  # E_{t-1}, E_{-1} = initial cash
    start = pd.Series(before, index=equity.index).shift(window - 1)
    growth = values / start.to_numpy()
    return pd.Series(growth ** (periods_per_year / window) - 1.0, index=equity.index, name="rolling_return")


def rolling_sharpe(equity: pd.Series, initial_cash: float, window: int, periods_per_year: float | str = AUTO,
                   risk_free: pd.Series | None = None) -> pd.Series:
    """Annualised Sharpe ratio of the last `window` daily excess returns r - rf; NaN where their std is 0."""
    periods_per_year = _periods_per_year(periods_per_year, _dates(equity.index))
    excess = daily_returns(equity, initial_cash) - _risk_free(risk_free, equity.index)
    r = excess.rolling(window)
    std = r.std(ddof=1)
    return (r.mean() / std.where(std > 0) * math.sqrt(periods_per_year)).rename("rolling_sharpe")
