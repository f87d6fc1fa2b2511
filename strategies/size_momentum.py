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

from backtest.strategy import Param
from backtest.strategy.lib import growth, month_starts, price_levels

PARAMS = (
    Param("small", "series", "ff_size:Lo 30", help="the small-cap series"),
    Param("large", "series", "ff_size:Hi 30", help="the large-cap series"),
    Param("months", "int", 12, min=1, max=36, history="months", help="k: calendar months of trailing return that decide the tilt"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: weight of the leader"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    levels = price_levels(returns[[params.small, params.large]])
    rows, months = month_starts(returns.index)
    row_of_month = dict(zip(months, rows))
    small = []
    for row, month in zip(rows, months):
        before = row_of_month.get(month - params.months)
        if before is None:
            small.append(0.5)
            continue
        small_growth, large_growth = growth(levels, row, before)
        small.append(params.tilt if small_growth > large_growth else 1.0 - params.tilt)
    small = np.asarray(small, dtype=float)
    return pd.DataFrame({params.small: small, params.large: 1.0 - small}, index=returns.index[rows])


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table depends on the
# data and the grid's `months` values only; `kernel_weights` reads it row by row.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each `months` value k of the grid (table row j) and each row t: at a month's first
    session 1 if small's trailing k-month return was strictly higher, 0 if not, 2 while the month
    k months earlier is not in the data (50/50); -1 on other rows (no rebalance). No float table
    (a placeholder); per parameter set (j, tilt)."""
    small, large = sets.small[0], sets.large[0]  # one data context: the same series
    levels = price_levels(returns[[small, large]])
    rows, months = month_starts(returns.index)
    row_of_month = dict(zip(months, rows))
    ks = np.unique(sets.months)
    led = np.full((len(ks), len(returns)), -1, dtype=np.int8)
    for j, k in enumerate(ks.tolist()):
        for row, month in zip(rows, months):
            before = row_of_month.get(month - k)
            if before is None:
                led[j, row] = 2
            else:
                small_growth, large_growth = growth(levels, row, before)
                led[j, row] = small_growth > large_growth
    rule_params = np.column_stack([np.searchsorted(ks, sets.months), sets.tilt]).astype(np.float64)
    return led, np.zeros((1, 1)), rule_params


def kernel_weights(t, led, unused, rule_params, target):
    """Row t's target weights (small, large) into `target`; False where row t does not rebalance."""
    code = led[int(rule_params[0]), t]
    tilt = rule_params[1]
    if code < 0:
        return False
    if code == 2:
        small = 0.5
    elif code == 1:
        small = tilt
    else:
        small = 1.0 - tilt
    target[0] = small
    target[1] = 1.0 - small
    return True
