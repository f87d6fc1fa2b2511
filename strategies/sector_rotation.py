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

from backtest.strategy.lib import month_starts
from backtest.strategy import Param

INDUSTRIES = tuple(
    f"ff_industry10:{name}"
    for name in ("NoDur", "Durbl", "Manuf", "Enrgy", "HiTec", "Telcm", "Shops", "Hlth", "Utils", "Other")
)

LOOKBACK = ("lookback", "sessions")  # history needed before the first decision (checked against the period)

PARAMS = (
    Param("universe", "series_list", INDUSTRIES, help="the series ranked (e.g. the 10 ff_industry10 industries or sector:XL* ETFs)"),
    Param("lookback", "int", 126, min=1, max=756, help="L: sessions of trailing return used to rank"),
    Param("top", "int", 3, min=1, max=20, help="k: how many of the best-ranked series to hold (all if k >= the universe size)"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    universe = list(params.universe)
    lookback, top = params.lookback, min(params.top, len(universe))
    levels = np.cumprod(1.0 + returns[universe].to_numpy(), axis=0)
    rows, _ = month_starts(returns.index)
    weights = np.zeros((len(rows), len(universe)))
    for i, row in enumerate(rows):
        if row < lookback:
            weights[i] = 1.0 / len(universe)
            continue
        trailing = levels[row] / levels[row - lookback] - 1.0
        best = np.argsort(-trailing, kind="stable")[:top]
        weights[i, best] = 1.0 / top
    return pd.DataFrame(weights, index=returns.index[rows], columns=universe)
