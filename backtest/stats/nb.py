"""Statistics kernels: `@njit(cache=True)` functions on NumPy arrays only.

The definitions are documented once, in `backtest.stats` (the pandas wrapper); this module
implements them on plain arrays so a compiled parameter sweep can call them in its own loop:

    out = np.empty(len(STAT_NAMES))
    summary_nb(equity, init_cash, ppy, rf, day_number, year, traded, fees, out)

Conventions shared by every kernel (stated in `backtest.stats.conventions`):
- `equity` float64[:], the value at each row's close; `init_cash` the value before row 0.
- `ppy` periods per year (float), used to annualise means and standard deviations.
- `rf` float64[:], each row's risk-free return: Sharpe, Sortino, alpha and beta use the excess
  returns r_t - rf_t (volatility, tracking error and the information ratio do not need them).
- `day_number` int64[:], days since 1970-01-01 of each row; `year` int64[:], its calendar year.
  CAGR and turnover are per calendar year: years = (last day - first day) / 365.25.
- `traded` / `fees` float64[:] per row, or empty arrays when not known (their figures are NaN).
- Episode indices are row positions; a peak index of -1 means "the initial cash, before row 0".

Every kernel uses numba's numpy error model (x / 0 gives inf or NaN, never an exception).
`summary_nb` and `relative_nb` allocate nothing: they run a few simple loops over the rows (the
return and trading sums vectorise, with reassociation as their only fast-math flag).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from backtest.stats.conventions import DAYS_PER_YEAR

STAT_NAMES = (
    "final_value",
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_days",
    "best_year",
    "worst_year",
    "pct_positive_years",
    "rebalances",
    "turnover",
    "fees_paid",
)

RELATIVE_STAT_NAMES = (
    "excess_cagr",
    "tracking_error",
    "information_ratio",
    "beta",
    "alpha",
)

# Float noise. A ratio whose denominator (standard deviation or downside deviation of daily
# returns, depth of the deepest drawdown) is no bigger than NOISE is undefined (NaN): such a
# denominator is rounding error (e.g. a return of -1e-16 on the day of the first purchase), and
# dividing by it gave figures like 3e16 that changed with the initial cash. A drawdown no deeper
# than NOISE lasts 0 days, and a year counts as positive only when its return exceeds NOISE, for
# the same reason (a flat year came out +1e-16 or 0 depending on the cash). A row counts as a
# rebalance when it trades more than MIN_TRADE_SHARE of the portfolio value: vectorbt skips
# orders within a relative 1e-9 of the position, so smaller trades come and go with rounding.
NOISE = 1e-12
MIN_TRADE_SHARE = 1e-8

# positions in `out` (module-level ints are compile-time constants for numba)
FINAL_VALUE = 0
TOTAL_RETURN = 1
CAGR = 2
VOLATILITY = 3
SHARPE = 4
SORTINO = 5
CALMAR = 6
MAX_DRAWDOWN = 7
MAX_DRAWDOWN_DAYS = 8
BEST_YEAR = 9
WORST_YEAR = 10
PCT_POSITIVE_YEARS = 11
REBALANCES = 12
TURNOVER = 13
FEES_PAID = 14

EXCESS_CAGR = 0
TRACKING_ERROR = 1
INFORMATION_RATIO = 2
BETA = 3
ALPHA = 4

N_STATS = len(STAT_NAMES)
N_RELATIVE = len(RELATIVE_STAT_NAMES)

assert len(STAT_NAMES) == FEES_PAID + 1 and STAT_NAMES[MAX_DRAWDOWN_DAYS] == "max_drawdown_days"
assert len(RELATIVE_STAT_NAMES) == ALPHA + 1 and RELATIVE_STAT_NAMES[BETA] == "beta"


@njit(cache=True, error_model="numpy")
def years_nb(day_number, n):
    """Calendar years spanned by the first n rows: (last day - first day) / 365.25; 0 for n < 2."""
    if n < 2:
        return 0.0
    return (day_number[n - 1] - day_number[0]) / DAYS_PER_YEAR


@njit(cache=True, error_model="numpy")
def cagr_nb(final_value, init_cash, years):
    """(final / init)^(1 / years) - 1 over calendar years; NaN when no time passed, -1 after ruin."""
    if not years > 0.0:
        return np.nan
    growth = final_value / init_cash
    if growth <= 0.0:
        return -1.0
    return growth ** (1.0 / years) - 1.0


# reductions whose order does not matter may be reassociated (so LLVM vectorises them); no other
# fast-math flag is set, so divisions stay exact and NaN / inf behave as usual
_REASSOC = {"reassoc"}
# slack on the multiply-only pre-test for a new deepest drawdown (the exact test follows it)
_DD_SLACK = 1e-9


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def _return_sums_nb(equity, init_cash, rf, shift):
    """`return_step_nb`'s five sums over every row's return r and excess return r - rf."""
    s1, s2, x1, x2, down2 = return_step_nb(equity[0] / init_cash - 1.0, rf[0], shift, 0.0, 0.0, 0.0, 0.0, 0.0)
    for t in range(1, equity.shape[0]):
        s1, s2, x1, x2, down2 = return_step_nb(equity[t] / equity[t - 1] - 1.0, rf[t], shift, s1, s2, x1, x2, down2)
    return s1, s2, x1, x2, down2


# One row's terms of the return sums (here and in `_relative_sums_nb`): the CUDA kernel adds them
# row by row with the same functions. Flagged like their callers, so the inlined sums vectorise.


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def return_step_nb(r, rf, shift, s1, s2, x1, x2, down2):
    """Sums of d = r - shift and e = (r - rf) - shift (the excess return, shifted alike: rf is
    small beside the spread of r, so one shift keeps both one-pass variances stable), their
    squares, and min(r - rf, 0)^2."""
    d = r - shift
    e = d - rf
    m = min(r - rf, 0.0)
    return s1 + d, s2 + d * d, x1 + e, x2 + e * e, down2 + m * m


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def relative_step_nb(r, b, rf, r0, b0, x0, sr, sb, sx, srb, sbb, sxx):
    """Sums of the excess returns r - rf and b - rf and the active return r - b, shifted by
    their first values r0, b0, x0, and of their products."""
    dr = (r - rf) - r0
    db = (b - rf) - b0
    dx = (r - b) - x0
    return sr + dr, sb + db, sx + dx, srb + dr * db, sbb + db * db, sxx + dx * dx


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def _trading_sums_nb(equity, traded):
    """(rows with traded > MIN_TRADE_SHARE * equity, sum(traded / equity))."""
    count = 0
    share = 0.0
    for t in range(equity.shape[0]):
        x = traded[t]
        count += 1 if x > MIN_TRADE_SHARE * equity[t] else 0
        share += x / equity[t]
    return count, share


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def _sum_nb(values):
    total = 0.0
    for t in range(values.shape[0]):
        total += values[t]
    return total


@njit(cache=True, error_model="numpy")
def _deepest_drawdown_nb(equity, init_cash):
    """(max_drawdown, its episode's peak row or -1, its recovery row or -1 if unrecovered).

    The running peak starts at the initial cash; a row equal to the peak renews it. Divides only
    for rows below a multiply-only threshold under which a new deepest drawdown is possible.
    """
    peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open = drawdown_start_nb(init_cash)
    for t in range(equity.shape[0]):
        peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open = drawdown_step_nb(
            equity[t], t, peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open
        )
    return mdd, mdd_peak, mdd_rec


@njit(cache=True, error_model="numpy")
def drawdown_start_nb(init_cash):
    """The state of `drawdown_step_nb` before row 0: (peak, peak row, threshold, deepest
    drawdown, its peak row, its recovery row, whether it is still open)."""
    # every E_t with E_t / peak - 1 < mdd lies below the threshold
    return init_cash, -1, init_cash * (1.0 + _DD_SLACK), 0.0, -1, -1, False


@njit(cache=True, error_model="numpy")
def drawdown_step_nb(e, t, peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open):
    """The drawdown state after row t of value e (shared with the CUDA kernel)."""
    if e >= peak:
        if mdd_open:  # the deepest episode so far recovers here
            mdd_rec = t
            mdd_open = False
        peak = e
        peak_idx = t
        threshold = peak * (1.0 + mdd + _DD_SLACK)
    elif e < threshold:
        dd = e / peak - 1.0
        if dd < mdd:
            mdd = dd
            mdd_peak = peak_idx
            mdd_rec = -1
            mdd_open = True
            threshold = peak * (1.0 + mdd + _DD_SLACK)
    return peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open


@njit(cache=True, error_model="numpy")
def _year_figures_nb(equity, init_cash, year):
    """(number of years, years with return > 0, best, worst) of the calendar-year returns."""
    n = equity.shape[0]
    start_value = init_cash
    n_years = 0
    n_positive = 0
    best = -np.inf
    worst = np.inf
    for t in range(n):
        if t == n - 1 or year[t + 1] != year[t]:
            n_years, n_positive, best, worst = year_step_nb(equity[t] / start_value - 1.0, n_years, n_positive, best, worst)
            start_value = equity[t]
    return n_years, n_positive, best, worst


@njit(cache=True, error_model="numpy")
def year_step_nb(r, n_years, n_positive, best, worst):
    """The year figures after one more calendar year of return r (shared with the CUDA kernel)."""
    return n_years + 1, n_positive + (1 if r > NOISE else 0), max(best, r), min(worst, r)


@njit(cache=True, error_model="numpy")
def summary_nb(equity, init_cash, ppy, rf, day_number, year, traded, fees, out):
    """Fill `out[:len(STAT_NAMES)]` with the figures of `STAT_NAMES`, in that order.

    No allocation; a few passes over the rows, each a simple loop (the return and trading sums
    vectorise). Counts (`max_drawdown_days`, `rebalances`) are stored as floats. An empty
    `traded` (or `fees`) array means "not known": `rebalances` and `turnover` (or `fees_paid`)
    are NaN.
    """
    n = equity.shape[0]
    if out.shape[0] < N_STATS:
        raise ValueError("summary_nb: out is shorter than STAT_NAMES")
    if day_number.shape[0] != n or year.shape[0] != n or rf.shape[0] != n:
        raise ValueError("summary_nb: rf, day_number and year must have one entry per row")
    if (traded.shape[0] != 0 and traded.shape[0] != n) or (fees.shape[0] != 0 and fees.shape[0] != n):
        raise ValueError("summary_nb: traded and fees must be empty or have one entry per row")
    for k in range(N_STATS):
        out[k] = np.nan
    if n == 0:
        return

    # returns: sums shifted by the first return, for a stable one-pass variance
    shift = equity[0] / init_cash - 1.0
    s1, s2, x1, x2, down2 = _return_sums_nb(equity, init_cash, rf, shift)

    mdd, mdd_peak, mdd_rec = _deepest_drawdown_nb(equity, init_cash)
    n_years, n_positive, best, worst = _year_figures_nb(equity, init_cash, year)
    count = 0
    share = 0.0
    if traded.shape[0] == n:
        count, share = _trading_sums_nb(equity, traded)
    fees_sum = _sum_nb(fees) if fees.shape[0] == n else 0.0
    summary_figures_nb(
        n, init_cash, equity[n - 1], ppy, shift, s1, s2, x1, x2, down2, mdd, mdd_peak, mdd_rec, day_number,
        n_years, n_positive, best, worst, count, share, fees_sum, out,
    )
    if traded.shape[0] != n:
        out[REBALANCES] = np.nan
        out[TURNOVER] = np.nan
    if fees.shape[0] != n:
        out[FEES_PAID] = np.nan


# The two `*_figures_nb` functions turn the sums of one pass over the rows into the figures. They
# are the one source of the formulas: `backtest.engine.cuda` compiles them for the GPU, where
# the sums are accumulated row by row in a single pass (so they use `math`, not NumPy).


@njit(cache=True, error_model="numpy")
def summary_figures_nb(
    n, init_cash, final, ppy, shift, s1, s2, x1, x2, down2, mdd, mdd_peak, mdd_rec, day_number,
    n_years, n_positive, best, worst, count, share, fees_sum, out,
):
    """`out[:N_STATS]` from the sums of `return_step_nb` (returns and excess returns shifted by
    the first return; down2: sum of squared negative excess returns), the deepest drawdown
    (depth, peak row or -1, recovery row or -1), the calendar-year figures and the trading sums.
    n >= 1."""
    years = years_nb(day_number, n)
    cagr = cagr_nb(final, init_cash, years)
    mean = shift + x1 / n  # of the excess returns
    sqrt_ppy = math.sqrt(ppy)
    out[FINAL_VALUE] = final
    out[TOTAL_RETURN] = final / init_cash - 1.0
    out[CAGR] = cagr
    out[VOLATILITY] = math.nan
    out[SHARPE] = math.nan
    out[SORTINO] = math.nan
    out[CALMAR] = math.nan
    if n > 1:
        var = (s2 - s1 * s1 / n) / (n - 1)
        out[VOLATILITY] = math.sqrt(var) * sqrt_ppy if var > 0.0 else 0.0
        var_excess = (x2 - x1 * x1 / n) / (n - 1)
        std = math.sqrt(var_excess) if var_excess > 0.0 else 0.0
        if std > NOISE:
            out[SHARPE] = mean / std * sqrt_ppy
    downside = math.sqrt(down2 / n)
    if downside > NOISE:
        out[SORTINO] = mean * ppy / (downside * sqrt_ppy)
    out[MAX_DRAWDOWN] = mdd
    if mdd < -NOISE:
        out[CALMAR] = cagr / abs(mdd)
        start_day = day_number[mdd_peak] if mdd_peak >= 0 else day_number[0]
        end_day = day_number[mdd_rec] if mdd_rec >= 0 else day_number[n - 1]
        out[MAX_DRAWDOWN_DAYS] = end_day - start_day
    else:
        out[MAX_DRAWDOWN_DAYS] = 0.0
    out[BEST_YEAR] = best
    out[WORST_YEAR] = worst
    out[PCT_POSITIVE_YEARS] = n_positive / n_years
    out[REBALANCES] = count
    out[TURNOVER] = share / 2.0 / years if years > 0.0 else math.nan
    out[FEES_PAID] = fees_sum


@njit(cache=True, fastmath=_REASSOC, error_model="numpy")
def _relative_sums_nb(equity, init_cash, bench_equity, bench_init_cash, rf):
    """Sums of the excess returns r - rf, b - rf and of x = r - b, shifted by their first
    values, and of their products."""
    first = equity[0] / init_cash - 1.0
    first_bench = bench_equity[0] / bench_init_cash - 1.0
    r0 = first - rf[0]
    b0 = first_bench - rf[0]
    x0 = first - first_bench
    sr = 0.0
    sb = 0.0
    sx = 0.0
    srb = 0.0
    sbb = 0.0
    sxx = 0.0
    # row 0 has zero deviations from the shifts
    for t in range(1, equity.shape[0]):
        r = equity[t] / equity[t - 1] - 1.0
        b = bench_equity[t] / bench_equity[t - 1] - 1.0
        sr, sb, sx, srb, sbb, sxx = relative_step_nb(r, b, rf[t], r0, b0, x0, sr, sb, sx, srb, sbb, sxx)
    return r0, b0, x0, sr, sb, sx, srb, sbb, sxx


@njit(cache=True, error_model="numpy")
def relative_nb(equity, init_cash, bench_equity, bench_init_cash, ppy, rf, day_number, out):
    """Fill `out[:len(RELATIVE_STAT_NAMES)]`: strategy vs benchmark on the same rows.

    One pass of shifted sums (vectorised), no allocation.
    """
    n = equity.shape[0]
    if bench_equity.shape[0] != n or rf.shape[0] != n or day_number.shape[0] != n:
        raise ValueError("relative_nb: equity, benchmark, rf and day_number must have the same rows")
    if out.shape[0] < N_RELATIVE:
        raise ValueError("relative_nb: out is shorter than RELATIVE_STAT_NAMES")
    for k in range(N_RELATIVE):
        out[k] = np.nan
    if n == 0:
        return
    years = years_nb(day_number, n)
    out[EXCESS_CAGR] = cagr_nb(equity[n - 1], init_cash, years) - cagr_nb(bench_equity[n - 1], bench_init_cash, years)
    if n < 2:
        return
    r0, b0, x0, sr, sb, sx, srb, sbb, sxx = _relative_sums_nb(equity, init_cash, bench_equity, bench_init_cash, rf)
    relative_figures_nb(n, ppy, r0, b0, x0, sr, sb, sx, srb, sbb, sxx, out)


@njit(cache=True, error_model="numpy")
def relative_figures_nb(n, ppy, r0, b0, x0, sr, sb, sx, srb, sbb, sxx, out):
    """`out[TRACKING_ERROR:]` from the sums of the excess returns r - rf, b - rf and of x = r - b,
    shifted by their first values (r0, b0, x0), over rows 1.., and of their products. n >= 2; the
    rest of `out` is NaN. Beta and alpha are the OLS of r - rf on b - rf; alpha is annualised
    arithmetically (per-period alpha * ppy)."""
    mean_r = r0 + sr / n
    mean_b = b0 + sb / n
    mean_x = x0 + sx / n
    var_x = max((sxx - sx * sx / n) / (n - 1), 0.0)
    cov_rb = (srb - sr * sb / n) / (n - 1)
    var_b = max((sbb - sb * sb / n) / (n - 1), 0.0)
    tracking_error = math.sqrt(var_x) * math.sqrt(ppy)
    out[TRACKING_ERROR] = tracking_error
    if tracking_error > 0.0:
        out[INFORMATION_RATIO] = mean_x * ppy / tracking_error
    if var_b > 0.0:
        beta = cov_rb / var_b
        out[BETA] = beta
        out[ALPHA] = (mean_r - beta * mean_b) * ppy


@njit(cache=True, error_model="numpy")
def drawdown_nb(equity, init_cash, out):
    """out[t] = E_t / max(init_cash, max_{s<=t} E_s) - 1."""
    peak = init_cash
    for t in range(equity.shape[0]):
        e = equity[t]
        if e > peak:
            peak = e
        out[t] = e / peak - 1.0


@njit(cache=True, error_model="numpy")
def drawdown_episodes_nb(equity, init_cash, day_number, top):
    """Drawdown episodes, deepest first (ties: earlier first); at most `top` of them (all if top < 0).

    An episode is a maximal run of rows below the running peak. Its peak is the last row at or
    above the running peak before the run (-1: the initial cash), its trough the first row with
    the run's lowest value, its recovery the first row after the run (-1: not recovered).
    depth = E_trough / peak value - 1; length_days = day of recovery (or of the last row) minus
    day of the peak (or of the first row when the peak is the initial cash).

    Returns (peak_idx, trough_idx, recovery_idx, depth, length_days) arrays.
    """
    n = equity.shape[0]
    if day_number.shape[0] != n:
        raise ValueError("drawdown_episodes_nb: day_number must have one entry per row")
    cap = (n + 1) // 2
    pk = np.empty(cap, dtype=np.int64)
    tr = np.empty(cap, dtype=np.int64)
    rc = np.empty(cap, dtype=np.int64)
    dp = np.empty(cap, dtype=np.float64)
    k = 0
    peak = init_cash
    peak_idx = -1
    in_dd = False
    for t in range(n):
        e = equity[t]
        if e >= peak:
            if in_dd:
                rc[k - 1] = t
                in_dd = False
            peak = e
            peak_idx = t
        elif not in_dd:
            pk[k] = peak_idx
            tr[k] = t
            rc[k] = -1
            dp[k] = e / peak - 1.0
            k += 1
            in_dd = True
        elif e < equity[tr[k - 1]]:
            tr[k - 1] = t
            dp[k - 1] = e / peak - 1.0
    order = np.argsort(dp[:k], kind="mergesort")
    m = k if top < 0 else min(k, top)
    peak_out = np.empty(m, dtype=np.int64)
    trough_out = np.empty(m, dtype=np.int64)
    rec_out = np.empty(m, dtype=np.int64)
    depth_out = np.empty(m, dtype=np.float64)
    days_out = np.empty(m, dtype=np.int64)
    for j in range(m):
        i = order[j]
        peak_out[j] = pk[i]
        trough_out[j] = tr[i]
        rec_out[j] = rc[i]
        depth_out[j] = dp[i]
        start_day = day_number[pk[i]] if pk[i] >= 0 else day_number[0]
        end_day = day_number[rc[i]] if rc[i] >= 0 else day_number[n - 1]
        days_out[j] = end_day - start_day
    return peak_out, trough_out, rec_out, depth_out, days_out


@njit(cache=True, error_model="numpy")
def yearly_returns_nb(equity, init_cash, year):
    """(years, returns): year-end value / previous year-end value - 1, the first from init_cash."""
    n = equity.shape[0]
    if year.shape[0] != n:
        raise ValueError("yearly_returns_nb: year must have one entry per row")
    n_years = 0
    for t in range(n):
        if t == n - 1 or year[t + 1] != year[t]:
            n_years += 1
    years = np.empty(n_years, dtype=np.int64)
    returns = np.empty(n_years, dtype=np.float64)
    start_value = init_cash
    j = 0
    for t in range(n):
        if t == n - 1 or year[t + 1] != year[t]:
            years[j] = year[t]
            returns[j] = equity[t] / start_value - 1.0
            start_value = equity[t]
            j += 1
    return years, returns
