"""Small caps while rates fall: hold small caps while the T-bill rate has fallen over the last
months, large caps otherwise.

The rate is the daily T-bill return (`ff_factors:RF`), smoothed as its mean over the last 21
sessions up to and including a row. At the close of each month's first session, compare the
smoothed rate with its value at the first session of the month m months earlier (default 6):
if it is strictly lower, hold the small-cap series alone; otherwise the large-cap series alone.
While either value is not yet defined, hold both 50/50. The rate is read, never traded.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param
from backtest.strategy.lib import month_starts

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="held while the rate falls"),
    Param("large", "series", "ff_size:Hi 30", help="held otherwise"),
    Param("rate", "series", "ff_factors:RF", signal=True, help="the daily T-bill return (read, not traded)"),
    Param("months", "int", 6, min=1, max=24, history="months", help="m: months back to compare the rate with"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    rows, months = month_starts(returns.index)
    smoothed = returns[params.rate].rolling(21).mean().to_numpy()[rows]  # uses rows up to each first session
    row_of_month = dict(zip(months, range(len(rows))))
    small = np.full(len(rows), 0.5)
    for i, month in enumerate(months):
        before = row_of_month.get(month - params.months)
        if before is not None and not np.isnan(smoothed[i]) and not np.isnan(smoothed[before]):
            small[i] = 1.0 if smoothed[i] < smoothed[before] else 0.0
    return pd.DataFrame({params.small: small, params.large: 1.0 - small}, index=returns.index[rows])
