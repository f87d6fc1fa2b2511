"""Calls sys.exit(0) inside target_weights: the run must not end as if it had succeeded."""
import sys

from backtest.strategy import Param

PARAMS = (Param("asset", "series", "ff_factors:Mkt"),)


def target_weights(returns, params):
    sys.exit(0)
