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

from backtest.errors import StrategyError
from backtest.strategy.lib import month_starts
from backtest.strategy import Param

LOOKBACK = ("lookback", "sessions")  # history needed before the first decision (checked against the period)

PARAMS = (
    Param("cyclicals", "series_list", ("ff_industry10:Manuf", "ff_industry10:Enrgy", "ff_industry10:Durbl"), help="the cyclical group"),
    Param("defensives", "series_list", ("ff_industry10:NoDur", "ff_industry10:Hlth", "ff_industry10:Utils"), help="the defensive group"),
    Param("lookback", "int", 126, min=1, max=756, help="L: sessions of trailing return compared"),
    Param("tilt", "float", 0.7, min=0.0, max=1.0, help="W: total weight of the leading group"),
)


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    cyclicals, defensives = list(params.cyclicals), list(params.defensives)
    shared = sorted(set(cyclicals) & set(defensives))
    if shared:
        raise StrategyError(f"strategy 'cyclical_tilt': {shared[0]!r} is in both cyclicals and defensives")
    lookback = params.lookback
    levels_c = np.cumprod(1.0 + returns[cyclicals].to_numpy(), axis=0)
    levels_d = np.cumprod(1.0 + returns[defensives].to_numpy(), axis=0)
    rows, _ = month_starts(returns.index)
    cyclical_share = np.full(len(rows), 0.5)
    for i, row in enumerate(rows):
        if row < lookback:
            continue
        lead_c = np.mean(levels_c[row] / levels_c[row - lookback] - 1.0)
        lead_d = np.mean(levels_d[row] / levels_d[row - lookback] - 1.0)
        cyclical_share[i] = params.tilt if lead_c > lead_d else 1.0 - params.tilt
    weights = np.c_[
        np.repeat(cyclical_share[:, None] / len(cyclicals), len(cyclicals), axis=1),
        np.repeat((1.0 - cyclical_share)[:, None] / len(defensives), len(defensives), axis=1),
    ]
    return pd.DataFrame(weights, index=returns.index[rows], columns=cyclicals + defensives)
