"""Rate regime: overweight small caps while the T-bill rate falls, underweight while it rises.

The rate level is the daily T-bill return itself (`ff_factors:RF`); its smoothed level at row t
is the mean of the last n rows' values, rows t-n+1..t. Rebalance at the close of the first session
of each calendar month (the first row counts as the first session of its month). Compare the
smoothed level now with the one at the first session of the month m months earlier, as a change
in annualised basis points, 252 * 10,000 * (now - then): below -D (easing) rebalance to (W, 1-W)
for (small, large); above +D (tightening) to (1-W, W); otherwise (unchanged), or while either
level is not yet defined, to (0.5, 0.5). The rate series is never traded: its weight is always 0.
"""

import numpy as np
import pandas as pd

from backtest.errors import StrategyError
from backtest.strategy.lib import month_starts
from backtest.strategy import Param

NOISE_BP = 1e-9  # differences below this are rounding, not a change of rate

LOOKBACK = ("months", "months")  # history needed before the first decision (checked against the period)

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("rate", "series", "ff_factors:RF", help="the daily T-bill return whose level is the rate (never traded)"),
    Param("months", "int", 6, min=1, max=36, help="m: months back to compare the rate with"),
    Param("window", "int", 21, min=1, max=252, help="n: sessions averaged to smooth the rate"),
    Param("min_change_bp", "float", 0.0, min=0.0, max=500.0, help="D: smallest change of the annualised rate, in basis points, that counts as easing or tightening"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: small-cap weight when easing (1-W when tightening)"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    if params.rate in (params.small, params.large):
        raise StrategyError(f"strategy 'rate_regime': the rate series {params.rate!r} cannot also be traded")
    rate = returns[params.rate].to_numpy()
    n = params.window
    rows, months = month_starts(returns.index)
    row_of_month = dict(zip(months, rows))

    def smoothed(row):
        return np.mean(rate[row - n + 1 : row + 1]) if row >= n - 1 else np.nan

    small = np.full(len(rows), 0.5)
    for i, (row, month) in enumerate(zip(rows, months)):
        before = row_of_month.get(month - params.months)
        if before is None:
            continue
        change_bp = (smoothed(row) - smoothed(before)) * 252 * 10_000
        if change_bp < -params.min_change_bp - NOISE_BP:
            small[i] = params.tilt
        elif change_bp > params.min_change_bp + NOISE_BP:
            small[i] = 1.0 - params.tilt
    columns = {params.small: small, params.large: 1.0 - small, params.rate: 0.0}
    return pd.DataFrame(columns, index=returns.index[rows])
