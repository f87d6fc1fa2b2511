"""Weights summing to 1.5 (leverage) on the eleventh session."""
import pandas as pd

from backtest.strategy import Param

PARAMS = (Param("weights", "weights", {"ff_factors:Mkt": 0.5, "ff_factors:RF": 0.5}),)


def target_weights(returns, params):
    return pd.DataFrame({"ff_factors:Mkt": [0.5, 1.0], "ff_factors:RF": [0.5, 0.5]}, index=returns.index[[0, 10]])
