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

LOOKBACK = ("window", "sessions")  # history needed before the first decision (checked against the period)
GPU = True  # one series plus cash: `backtest sweep --backend cuda` can run it

PARAMS = (
    Param("asset", "series", "ff_factors:Mkt", help="the series held while above its moving average"),
    Param("window", "int", 200, min=2, max=756, help="n: sessions in the moving average"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    levels = np.cumprod(1.0 + returns[params.asset].to_numpy())
    n = params.window
    if len(levels) < n:
        return pd.DataFrame({params.asset: []}, index=returns.index[:0], dtype=float)
    average = sliding_window_view(levels, n).mean(axis=1)  # MA at rows n-1 .. end
    state = (levels[n - 1 :] > average).astype(float)
    changes = np.flatnonzero(np.r_[True, state[1:] != state[:-1]])
    return pd.DataFrame({params.asset: state[changes]}, index=returns.index[changes + n - 1])
