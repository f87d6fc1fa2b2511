"""Rate regime: overweight small caps while the T-bill rate falls, underweight while it rises.

The rate level is the daily T-bill return itself (`ff_factors:RF`); its smoothed level at row t
is the mean of the last n rows' values, rows t-n+1..t. Rebalance at the close of the first session
of each calendar month (the first row counts as the first session of its month). Compare the
smoothed level now with the one at the first session of the month m months earlier, as a change
in annualised basis points, 252 * 10,000 * (now - then): below -D (easing) rebalance to (W, 1-W)
for (small, large); above +D (tightening) to (1-W, W); otherwise (unchanged), or while either
level is not yet defined, to (0.5, 0.5). The rate series is a signal: read, never traded.
"""

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from backtest.strategy import Param
from backtest.strategy.lib import StrategyError, distinct_values, month_starts

NOISE_BP = 1e-9  # differences below this are rounding, not a change of rate

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("rate", "series", "ff_factors:RF", signal=True, help="the daily T-bill return whose level is the rate (read, never traded)"),
    Param("months", "int", 6, min=1, max=36, history="months", help="m: months back to compare the rate with"),
    Param("window", "int", 21, min=1, max=252, help="n: sessions averaged to smooth the rate"),
    Param("min_change_bp", "float", 0.0, min=0.0, max=500.0, help="D: smallest change of the annualised rate, in basis points, that counts as easing or tightening"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: small-cap weight when easing (1-W when tightening)"),
)


def check_rate(small: str, large: str, rate: str) -> None:
    if rate in (small, large):
        raise StrategyError(f"strategy 'rate_regime': the rate series {rate!r} cannot also be traded")


def smoothed_levels(rate: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """The rate's smoothed level, the mean of its values over rows t-n+1..t, at each of `rows`
    (NaN before row n-1)."""
    level = np.full(len(rows), np.nan)
    defined = rows >= window - 1
    if defined.any():
        level[defined] = sliding_window_view(rate, window)[rows[defined] - window + 1].mean(axis=1)
    return level


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    check_rate(params.small, params.large, params.rate)
    rows, months = month_starts(returns.index)
    level = smoothed_levels(returns[params.rate].to_numpy(), rows, params.window)  # at each first session
    ordinal_of_month = {month: i for i, month in enumerate(months)}
    small = np.full(len(rows), 0.5)
    for i, month in enumerate(months):
        before = ordinal_of_month.get(month - params.months)
        if before is None:
            continue
        change_bp = (level[i] - level[before]) * 252 * 10_000
        if change_bp < -params.min_change_bp - NOISE_BP:
            small[i] = params.tilt
        elif change_bp > params.min_change_bp + NOISE_BP:
            small[i] = 1.0 - params.tilt
    return pd.DataFrame({params.small: small, params.large: 1.0 - small}, index=returns.index[rows])


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the tables are the months'
# first sessions and the smoothed rate at each.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An integer table of two rows (int32, 8 bytes a row): for each row t, the ordinal i of its
    month among the data's months where t is that month's first session, else -1; and at column i
    month i's number (year * 12 + month). A float table: for each window n of the grid (row j),
    the smoothed rate at month i's first session (8 bytes a month per window). Per parameter set
    (j, months, min_change_bp, tilt)."""
    check_rate(sets.small[0], sets.large[0], sets.rate[0])  # one data context: the same series
    rows, months = month_starts(returns.index)
    calendar = np.full((2, len(returns)), -1, dtype=np.int32)
    calendar[0, rows] = np.arange(len(rows))
    calendar[1, : len(rows)] = months
    windows, window_of_set = distinct_values(sets.window)
    rate = returns[sets.rate[0]].to_numpy()
    levels = np.array([smoothed_levels(rate, rows, n) for n in windows]).reshape(len(windows), len(rows))
    rule_params = np.column_stack([window_of_set, sets.months, sets.min_change_bp, sets.tilt]).astype(np.float64)
    return calendar, levels, rule_params


def kernel_weights(t, calendar, levels, rule_params, target):
    """Row t's target weights (small, large) into `target`; False where row t does not rebalance."""
    i = calendar[0, t]
    if i < 0:
        return False
    j = int(rule_params[0])
    min_change_bp = rule_params[2]
    tilt = rule_params[3]
    wanted = calendar[1, i] - int(rule_params[1])  # the month m months earlier
    before = i - 1
    while before >= 0 and calendar[1, before] > wanted:
        before -= 1
    small = 0.5
    if before >= 0 and calendar[1, before] == wanted:
        change_bp = (levels[j, i] - levels[j, before]) * 252 * 10_000
        if change_bp < -min_change_bp - NOISE_BP:
            small = tilt
        elif change_bp > min_change_bp + NOISE_BP:
            small = 1.0 - tilt
    target[0] = small
    target[1] = 1.0 - small
    return True
