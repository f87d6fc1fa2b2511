"""January effect: overweight small caps during a seasonal window of months, 50/50 otherwise.

The window is the months start_month..end_month (inclusive, wrapping over the year end when
start_month > end_month; default January only). The position held over session t+1 (from the
close of t to the close of t+1) is (W, 1-W) for (small, large) if session t+1 falls in the
window, else (0.5, 0.5). So the strategy rebalances to the tilt at the close of the last session
before each window starts (the position is held through all of the window's sessions) and back
to 50/50 at the close of the window's last session; it starts at the close of the first row.

Timing and look-ahead: the decision at a close uses no returns at all, only the trading calendar
(the date of the next session), which is published in advance by the exchange. At the last row
of the data the next session is unknown, so no change is made there.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("start_month", "int", 1, min=1, max=12, help="first month of the window (1 = January)"),
    Param("end_month", "int", 1, min=1, max=12, help="last month of the window, inclusive (wraps over the year end if < start_month)"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: small-cap weight during the window"),
)


def in_window(months: np.ndarray, start: int, end: int) -> np.ndarray:
    """Whether each month (1..12) is in the window start..end (inclusive, wrapping)."""
    if start <= end:
        return (months >= start) & (months <= end)
    return (months >= start) | (months <= end)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    inside = in_window(returns.index.month.to_numpy(), params.start_month, params.end_month)
    # small-cap weight decided at the close of row t, by whether session t+1 is in the window;
    # the last row has no known next session (a single row: start neutral)
    small = np.where(inside[1:], params.tilt, 0.5) if len(inside) > 1 else np.full(len(inside), 0.5)
    rows = np.flatnonzero(np.r_[True, small[1:] != small[:-1]][: len(small)])
    weights = small[rows]
    return pd.DataFrame({params.small: weights, params.large: 1.0 - weights}, index=returns.index[rows])


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table is the trading
# calendar only; `kernel_weights` decides row by row from it and the thread's window and tilt.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One table row: for each row t the month (1..12) of session t+1, 0 at the last row (its next
    session is unknown); no float table (a placeholder); per parameter set (start, end, tilt)."""
    next_month = np.zeros((1, len(returns)), dtype=np.int8)
    next_month[0, :-1] = returns.index.month.to_numpy()[1:]
    rule_params = np.column_stack([sets.start_month, sets.end_month, sets.tilt]).astype(np.float64)
    return next_month, np.zeros((1, 1)), rule_params


def kernel_weights(t, next_month, unused, rule_params, target):
    """Row t's target weights (small, large) into `target`; False where row t does not rebalance:
    where the small-cap weight is row t-1's again, and at the last row (no known next session)."""
    start = int(rule_params[0])
    end = int(rule_params[1])
    tilt = rule_params[2]
    month = next_month[0, t]
    if month == 0 and t > 0:
        return False
    # in the window start..end as `in_window` says (comparisons: a remainder a row costs 4x more)
    wraps = start > end
    inside = month > 0 and ((month >= start or month <= end) if wraps else (start <= month <= end))
    small = tilt if inside else 0.5
    if t > 0:  # row t-1 decided by session t's month (never 0: only the last row's is)
        month = next_month[0, t - 1]
        before = tilt if ((month >= start or month <= end) if wraps else (start <= month <= end)) else 0.5
        if small == before:
            return False
    target[0] = small
    target[1] = 1.0 - small
    return True
