"""A row with one weight and one NaN (ambiguous: a NaN row means no change, a NaN cell means nothing)."""
import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (Param("weights", "weights", {"ff_factors:Mkt": 0.5, "ff_factors:RF": 0.5}),)


def target_weights(returns, params):
    return pd.DataFrame({"ff_factors:Mkt": [0.5, 0.6], "ff_factors:RF": [0.5, np.nan]}, index=returns.index[[0, 5]])
