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
from backtest.strategy.lib import growth, price_levels

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("lookback", "int", 10, min=1, max=60, history="sessions", help="N: sessions of the new year that decide the signal"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: weight of the leader after the signal"),
    Param("hold", "int", 0, min=0, max=260, help="K: sessions to hold the tilt before going back to 50/50 (0: until the next signal)"),
)


def _signals(returns: pd.DataFrame, small: str, large: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The signal rows (each qualifying year's (N+1)-th session) and whether small led at each."""
    levels = price_levels(returns[[small, large]])
    years = returns.index.year.to_numpy()
    first = np.flatnonzero(years[1:] != years[:-1]) + 1  # each year's first session after a previous close
    year_end = np.r_[first[1:], len(years)]
    first = first[year_end - first >= n + 1]  # years with at least N+1 sessions
    # growth from the previous year's last close to the close of the N-th session
    head = growth(levels, first + n - 1, first - 1)
    return first + n, head[:, 0] > head[:, 1]


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    signal_rows, small_led = _signals(returns, params.small, params.large, params.lookback)
    rows = np.r_[0, signal_rows]
    small = np.r_[0.5, np.where(small_led, params.tilt, 1.0 - params.tilt)]
    if params.hold > 0:  # back to 50/50 K sessions after a signal, unless the next signal comes first
        exits = signal_rows + params.hold
        exits = exits[exits < np.r_[signal_rows[1:], len(returns)]]
        rows, small = np.r_[rows, exits], np.r_[small, np.full(len(exits), 0.5)]
        order = np.argsort(rows, kind="stable")
        rows, small = rows[order], small[order]
    return pd.DataFrame(np.column_stack([small, 1.0 - small]), index=returns.index[rows], columns=[params.small, params.large])


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the tables depend on the
# data and the grid's lookbacks only; `kernel_weights` decides row by row from them.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each lookback of the grid (table row j) and each row t: the last signal row <= t (-1:
    none yet) and 1.0 if small led at that signal; and per parameter set (lookback j, tilt, hold)."""
    small, large = sets.small[0], sets.large[0]  # one data context: the same series
    lookbacks = np.unique(sets.lookback)
    last_signal = np.full((len(lookbacks), len(returns)), -1, dtype=np.int64)
    small_led = np.zeros((len(lookbacks), len(returns)))
    for j, n in enumerate(lookbacks.tolist()):
        signal_rows, led = _signals(returns, small, large, n)
        last_signal[j, signal_rows] = signal_rows
        last_signal[j] = np.maximum.accumulate(last_signal[j])
        small_led[j, signal_rows] = led
        small_led[j] = small_led[j, np.maximum(last_signal[j], 0)]
    rule_params = np.column_stack([np.searchsorted(lookbacks, sets.lookback), sets.tilt, sets.hold]).astype(np.float64)
    return last_signal, small_led, rule_params


def kernel_weights(t, last_signal, small_led, rule_params, target):
    """Row t's target weights (small, large) into `target`; False where row t does not rebalance."""
    j = int(rule_params[0])
    tilt = rule_params[1]
    hold = int(rule_params[2])
    signal = last_signal[j, t]
    if t == 0:
        small = 0.5
    elif signal == t:
        small = tilt if small_led[j, t] > 0.0 else 1.0 - tilt
    elif signal >= 0 and hold > 0 and t - signal == hold:  # no newer signal: the tilt's hold ends
        small = 0.5
    else:
        return False
    target[0] = small
    target[1] = 1.0 - small
    return True
