"""Size momentum: overweight whichever of small and large caps led over the last k months.

Price level of each asset at the close of row t is P_t = prod_{s<=t} (1 + r_s). Rebalance at the
close of the first session of each calendar month (the first row counts as the first session of
its month). The trailing k-month return is measured in calendar months, from close to close of
first sessions: P at this month's first session / P at the first session of the month k months
earlier - 1. Rebalance to (W, 1-W) for (small, large) if small's trailing return is strictly
higher, else to (1-W, W); while the month k months earlier is not in the data, to (0.5, 0.5).
A first session is recognised by its own date and the previous row's, so the decision at its
close uses nothing after that close.
"""

import numpy as np
import pandas as pd

from backtest.calendar import month_starts
from backtest.strategy import Param

LOOKBACK = ("months", "months")  # history needed before the first decision (checked against the period)
GPU = True  # two series plus cash: `backtest sweep --backend cuda` can run it

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("months", "int", 12, min=1, max=36, help="k: calendar months of trailing return that decide the tilt"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: weight of the leader"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    levels = np.cumprod(1.0 + returns[[params.small, params.large]].to_numpy(), axis=0)
    rows, months = month_starts(returns.index)
    row_of_month = dict(zip(months, rows))
    small = []
    for row, month in zip(rows, months):
        before = row_of_month.get(month - params.months)
        if before is None:
            small.append(0.5)
            continue
        small_growth, large_growth = levels[row] / levels[before]
        small.append(params.tilt if small_growth > large_growth else 1.0 - params.tilt)
    small = np.asarray(small, dtype=float)
    return pd.DataFrame({params.small: small, params.large: 1.0 - small}, index=returns.index[rows])
