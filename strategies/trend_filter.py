"""Trend filter: hold the asset while its price is above its n-session moving average, else cash.

Price level at the close of row t is P_t = prod_{s<=t} (1 + r_s); its moving average MA_t is the
mean of P over rows t-n+1..t. From row n-1 on, at each close the asset's target weight is 1 if
P_t > MA_t strictly, else 0 (cash; with `portfolio: {cash: rf}` idle cash earns the T-bill
rate). Rebalance at the first row where MA is defined and then only when the state changes;
before that, hold cash.
"""

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from backtest.strategy import Param
from backtest.strategy.lib import price_levels

PARAMS = (
    Param("asset", "series", "ff_factors:Mkt", help="the series held while above its moving average"),
    Param("window", "int", 200, min=2, max=756, history="sessions", help="n: sessions in the moving average"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    levels = price_levels(returns[params.asset])
    n = params.window
    if len(levels) < n:
        return pd.DataFrame({params.asset: []}, index=returns.index[:0], dtype=float)
    average = sliding_window_view(levels, n).mean(axis=1)  # MA at rows n-1 .. end
    state = (levels[n - 1 :] > average).astype(float)
    changes = np.flatnonzero(np.r_[True, state[1:] != state[:-1]])
    return pd.DataFrame({params.asset: state[changes]}, index=returns.index[changes + n - 1])


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table depends on the
# data and the grid's windows only; `kernel_weights` reads it row by row.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each window n of the grid (table row j) and each row t: the state, 1 if P_t > MA_t
    strictly, else 0, and -1 before row n-1 (no average yet: no position); no float table (a
    placeholder); per parameter set (j,)."""
    levels = price_levels(returns[sets.asset[0]])  # one data context: the same series
    windows = np.unique(sets.window)
    state = np.full((len(windows), len(levels)), -1, dtype=np.int8)
    for j, n in enumerate(windows.tolist()):
        if len(levels) >= n:
            average = sliding_window_view(levels, n).mean(axis=1)  # as target_weights computes it
            state[j, n - 1 :] = levels[n - 1 :] > average
    rule_params = np.searchsorted(windows, sets.window).astype(np.float64)[:, None]
    return state, np.zeros((1, 1)), rule_params


def kernel_weights(t, state, unused, rule_params, target):
    """Row t's target weight of the asset into `target`; False where row t does not rebalance:
    before row n-1, and where the state is row t-1's."""
    j = int(rule_params[0])
    now = state[j, t]
    if now < 0 or t > 0 and state[j, t - 1] == now:
        return False
    target[0] = float(now)
    return True
