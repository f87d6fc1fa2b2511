"""Raises inside target_weights, with a message on two lines."""
from backtest.strategy import Param

PARAMS = (Param("asset", "series", "ff_factors:Mkt"),)


def target_weights(returns, params):
    raise ValueError("no signal column in the data\nexpected 'signal'")
