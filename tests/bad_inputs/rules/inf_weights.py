"""An infinite weight on the third session."""
import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (Param("asset", "series", "ff_factors:Mkt"),)


def target_weights(returns, params):
    return pd.DataFrame({params.asset: [1.0, np.inf]}, index=returns.index[[0, 2]])
