"""Cyclical tilt: overweight cyclical over defensive industries when cyclicals lead, else the reverse.

Price level of each series at the close of row t is P_t = prod_{s<=t} (1 + r_s). Rebalance at the
close of the first session of each calendar month (the first row counts as the first session of
its month). At rebalance row t with t >= L, each group's trailing return is the average over its
members of P_t / P_{t-L} - 1 (an equal-weight basket bought L sessions ago). If the cyclicals'
return is strictly higher, the cyclicals get W in total and the defensives 1-W; else the
defensives get W and the cyclicals 1-W; within a group the weight is split equally. Before L
sessions of history exist, each group gets 0.5. Defaults: cyclicals Manuf, Enrgy, Durbl and
defensives NoDur, Hlth, Utils (Ken French industries); on sector ETFs use XLB, XLI, XLE and
XLP, XLV, XLU.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param
from backtest.strategy.lib import distinct_values, month_starts, price_levels, trailing_returns

PARAMS = (
    Param("cyclicals", "series_list", ("ff_industry10:Manuf", "ff_industry10:Enrgy", "ff_industry10:Durbl"), help="the cyclical group"),
    Param("defensives", "series_list", ("ff_industry10:NoDur", "ff_industry10:Hlth", "ff_industry10:Utils"), help="the defensive group"),
    Param("lookback", "int", 126, min=1, max=756, history="sessions", help="L: sessions of trailing return compared"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: total weight of the leading group"),
)


def cyclicals_led(levels: np.ndarray, rows: np.ndarray, lookback: int, n_cyclicals: int) -> np.ndarray:
    """At each of `rows` (all >= L): whether the cyclicals (the first `n_cyclicals` columns of
    `levels`) had a strictly higher mean trailing L-session return than the defensives."""
    trailing = trailing_returns(levels, rows, lookback)
    return trailing[:, :n_cyclicals].mean(axis=1) > trailing[:, n_cyclicals:].mean(axis=1)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    cyclicals, defensives = list(params.cyclicals), list(params.defensives)
    lookback = params.lookback
    levels = price_levels(returns[cyclicals + defensives])
    rows, _ = month_starts(returns.index)
    cyclical_share = np.full(len(rows), 0.5)  # before L sessions of history
    ranked = rows >= lookback
    led = cyclicals_led(levels, rows[ranked], lookback, len(cyclicals))
    cyclical_share[ranked] = np.where(led, params.tilt, 1.0 - params.tilt)
    weights = np.c_[
        np.repeat(cyclical_share[:, None] / len(cyclicals), len(cyclicals), axis=1),
        np.repeat((1.0 - cyclical_share)[:, None] / len(defensives), len(defensives), axis=1),
    ]
    return pd.DataFrame(weights, index=returns.index[rows], columns=cyclicals + defensives)


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table says which group
# led at each month's first session.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each (lookback L, number of cyclicals) of the grid (table row j) and each row t: at a
    month's first session t >= L 1 if the cyclicals led, 0 if not; 2 at first sessions before L
    (0.5 each group); -1 on other rows (no rebalance). 1 byte a row per lookback; no float table
    (a placeholder); per parameter set (j, number of cyclicals, number of series, tilt)."""
    # one data context: every set splits the same series, cyclicals first, into its two groups
    size = returns.shape[1]
    splits, split_of_set = distinct_values(sets.cyclicals)
    defensive_groups, defensives_of_set = distinct_values(sets.defensives)
    n_cyclicals = np.array([len(c) for c in splits])[split_of_set]
    keys, table_of_set = np.unique(sets.lookback * size + n_cyclicals, return_inverse=True)  # (L, number of cyclicals)
    levels = price_levels(returns)
    rows, _ = month_starts(returns.index)
    led = np.full((len(keys), len(returns)), -1, dtype=np.int8)
    for j, (lookback, n) in enumerate(divmod(key, size) for key in keys.tolist()):
        ranked = rows >= lookback
        led[j, rows[~ranked]] = 2
        led[j, rows[ranked]] = cyclicals_led(levels, rows[ranked], lookback, n)
    rule_params = np.column_stack([table_of_set.ravel(), n_cyclicals, np.full(len(n_cyclicals), size), sets.tilt])
    return led, np.zeros((1, 1)), rule_params.astype(np.float64)


def kernel_weights(t, led, unused, rule_params, target):
    """Row t's target weights (cyclicals, then defensives) into `target`; False where row t does
    not rebalance."""
    code = led[int(rule_params[0]), t]
    n_cyclicals = int(rule_params[1])
    size = int(rule_params[2])
    tilt = rule_params[3]
    if code < 0:
        return False
    if code == 2:
        share = 0.5
    elif code == 1:
        share = tilt
    else:
        share = 1.0 - tilt
    for k in range(n_cyclicals):
        target[k] = share / n_cyclicals
    for k in range(n_cyclicals, size):
        target[k] = (1.0 - share) / (size - n_cyclicals)
    return True
