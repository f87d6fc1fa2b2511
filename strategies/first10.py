"""First ten sessions: tilt toward small or large caps by who led in early January.

Price level of each asset at the close of row t is P_t = prod_{s<=t} (1 + r_s). Start 50/50 at
the close of the first row. For each calendar year whose first session has a previous close in
the data and that has at least N+1 sessions: compare the two assets' returns from the previous
year's last close to the close of the year's N-th session; at the close of the year's (N+1)-th
session rebalance to (W, 1-W) for (small, large) if small's return was strictly higher, else to
(1-W, W). Hold until the next signal.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("lookback", "int", 10, min=1, max=60, help="N: sessions of the new year that decide the signal"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: weight of the leader after the signal"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    n = params.lookback
    levels = np.cumprod(1.0 + returns[[params.small, params.large]].to_numpy(), axis=0)
    years = returns.index.year.to_numpy()
    first_rows = np.flatnonzero(np.r_[False, years[1:] != years[:-1]])  # first session of each year
    year_ends = np.r_[first_rows[1:], len(years)]

    dates = [returns.index[0]]
    rows = [(0.5, 0.5)]
    for first, end in zip(first_rows, year_ends):
        if end - first < n + 1:
            continue
        # growth from the previous year's last close to the close of the N-th session
        small_growth, large_growth = levels[first + n - 1] / levels[first - 1]
        tilt = params.tilt if small_growth > large_growth else 1.0 - params.tilt
        dates.append(returns.index[first + n])
        rows.append((tilt, 1.0 - tilt))
    return pd.DataFrame(rows, index=pd.DatetimeIndex(dates), columns=[params.small, params.large])
