"""Weights for an asset the strategy never declared."""
import pandas as pd

from backtest.strategy import Param

PARAMS = (Param("asset", "series", "ff_factors:Mkt"),)


def target_weights(returns, params):
    return pd.DataFrame({"ff_factors:SMB": [1.0]}, index=returns.index[:1])
