"""Buy and hold fixed weights, optionally rebalanced back to them periodically.

Buy the given weights at the close of the first row. With a rebalance period (monthly, quarterly,
annual), trade back to the weights at the close of the first session of each new period; with
`never`, let them drift.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param

PARAMS = (
    Param("weights", "weights", {"ff_size:Lo 30": 0.5, "ff_size:Hi 30": 0.5}, help="series id -> weight (sum <= 1)"),
    Param("rebalance", "choice", "never", choices=("never", "monthly", "quarterly", "annual"), help="how often to trade back to the weights"),
)

_PERIOD_OF = {"monthly": "M", "quarterly": "Q", "annual": "Y"}


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    dates = returns.index
    if params.rebalance == "never":
        starts = dates[:1]
    else:
        periods = dates.to_period(_PERIOD_OF[params.rebalance]).asi8
        starts = dates[np.r_[True, periods[1:] != periods[:-1]]]
    row = pd.Series(params.weights)
    return pd.DataFrame([row] * len(starts), index=starts)
