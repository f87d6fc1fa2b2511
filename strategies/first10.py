"""First ten sessions: tilt toward small or large caps by who led in early January.

Price level of each asset at the close of row t is P_t = prod_{s<=t} (1 + r_s). Start 50/50 at
the close of the first row. For each calendar year whose first session has a previous close in
the data and that has at least N+1 sessions: compare the two assets' returns from the previous
year's last close to the close of the year's N-th session; at the close of the year's (N+1)-th
session rebalance to (W, 1-W) for (small, large) if small's return was strictly higher, else to
(1-W, W). With hold K = 0, hold until the next signal. With K > 0, go back to 50/50 at the close
of the K-th session after the signal's rebalance, unless the next signal comes first (or on that
same session, where the signal wins); the exit uses only the count of sessions, no returns.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("lookback", "int", 10, min=1, max=60, help="N: sessions of the new year that decide the signal"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: weight of the leader after the signal"),
    Param("hold", "int", 0, min=0, max=260, help="K: sessions to hold the tilt before going back to 50/50 (0: until the next signal)"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    n = params.lookback
    levels = np.cumprod(1.0 + returns[[params.small, params.large]].to_numpy(), axis=0)
    years = returns.index.year.to_numpy()
    first_rows = np.flatnonzero(np.r_[False, years[1:] != years[:-1]])  # first session of each year
    year_ends = np.r_[first_rows[1:], len(years)]

    signals = []  # (row, small weight)
    for first, end in zip(first_rows, year_ends):
        if end - first < n + 1:
            continue
        # growth from the previous year's last close to the close of the N-th session
        small_growth, large_growth = levels[first + n - 1] / levels[first - 1]
        tilt = params.tilt if small_growth > large_growth else 1.0 - params.tilt
        signals.append((first + n, tilt))

    rows = {0: 0.5}
    for i, (row, tilt) in enumerate(signals):
        rows[row] = tilt
        exit_row = row + params.hold
        next_signal = signals[i + 1][0] if i + 1 < len(signals) else len(years)
        if params.hold > 0 and exit_row < next_signal:
            rows[exit_row] = 0.5
    dates = returns.index[list(rows)]
    return pd.DataFrame([(w, 1.0 - w) for w in rows.values()], index=dates, columns=[params.small, params.large])
