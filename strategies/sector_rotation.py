"""Sector rotation: hold the top k of a universe of industries by trailing return, monthly.

Price level of each series at the close of row t is P_t = prod_{s<=t} (1 + r_s). Rebalance at the
close of the first session of each calendar month (the first row counts as the first session of
its month). At rebalance row t with t >= L, rank the universe by trailing L-session return
P_t / P_{t-L} - 1 (highest first; ties go to the series listed first) and hold the top k equally
weighted, 1/k each, the rest at 0. Before L sessions of history exist, hold the whole universe
equally weighted. The universe is a list of series ids: the 10 Ken French industries
(`ff_industry10:*`, the default) or the Select Sector SPDR ETFs (`sector:XL*`), for example.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param
from backtest.strategy.lib import distinct_values, month_starts, price_levels, trailing_returns

INDUSTRIES = tuple(
    f"ff_industry10:{name}"
    for name in ("NoDur", "Durbl", "Manuf", "Enrgy", "HiTec", "Telcm", "Shops", "Hlth", "Utils", "Other")
)

PARAMS = (
    Param("universe", "series_list", INDUSTRIES, help="the series ranked (e.g. the 10 ff_industry10 industries or sector:XL* ETFs)"),
    Param("lookback", "int", 126, min=1, max=756, history="sessions", help="L: sessions of trailing return used to rank"),
    Param("top", "int", 3, min=1, max=20, help="k: how many of the best-ranked series to hold (all if k >= the universe size)"),
)


def ranking(levels: np.ndarray, rows: np.ndarray, lookback: int) -> np.ndarray:
    """At each of `rows` (all >= L): the universe's column numbers from the highest trailing
    L-session return to the lowest (ties: the column listed first)."""
    trailing = trailing_returns(levels, rows, lookback)
    return np.argsort(-trailing, axis=1, kind="stable")


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    universe = list(params.universe)
    lookback, top = params.lookback, min(params.top, len(universe))
    levels = price_levels(returns[universe])
    rows, _ = month_starts(returns.index)
    weights = np.full((len(rows), len(universe)), 1.0 / len(universe))  # before L sessions: the whole universe
    ranked = np.flatnonzero(rows >= lookback)
    for i, order in zip(ranked, ranking(levels, rows[ranked], lookback)):
        weights[i] = 0.0
        weights[i, order[:top]] = 1.0 / top
    return pd.DataFrame(weights, index=returns.index[rows], columns=universe)


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table holds the ranking
# at each month's first session, per lookback.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each lookback L of the grid (table rows j*K .. j*K+K-1, K the largest k of the grid)
    and each row t: at a month's first session t >= L the column numbers of the K best-ranked
    series, best first; -2 at first sessions before L (equal weight); -1 on other rows (no
    rebalance). K bytes a row per lookback (int8 for universes under 127 series); no float
    table (a placeholder); per parameter set (j*K, k, the universe's size)."""
    size = returns.shape[1]  # one data context: every set ranks the same universe
    levels = price_levels(returns)
    rows, _ = month_starts(returns.index)
    lookbacks, lookback_of_set = distinct_values(sets.lookback)
    top = np.minimum(sets.top, size)
    kept = int(top.max())  # K: ranks kept per row
    leaders = np.full((len(lookbacks) * kept, len(returns)), -1, dtype=np.min_scalar_type(-size))
    for j, lookback in enumerate(lookbacks):
        ranked = rows >= lookback
        leaders[j * kept : (j + 1) * kept, rows[~ranked]] = -2
        leaders[j * kept : (j + 1) * kept, rows[ranked]] = ranking(levels, rows[ranked], lookback)[:, :kept].T
    rule_params = np.column_stack([lookback_of_set * kept, top, np.full(len(top), size)]).astype(np.float64)
    return leaders, np.zeros((1, 1)), rule_params


def kernel_weights(t, leaders, unused, rule_params, target):
    """Row t's target weights (the universe's) into `target`; False where row t does not rebalance."""
    first = int(rule_params[0])
    top = int(rule_params[1])
    size = int(rule_params[2])
    leader = leaders[first, t]
    if leader == -1:
        return False
    for k in range(size):
        target[k] = 1.0 / size if leader == -2 else 0.0
    if leader >= 0:
        for rank in range(top):
            target[leaders[first + rank, t]] = 1.0 / top
    return True
