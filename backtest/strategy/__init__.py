"""Strategies: declared parameters (`params`), the weights contract (`weights`), finding and
calling strategy modules safely (`loader`), and the helpers rules share (`lib`)."""

from backtest.strategy.loader import Strategy, load_strategy, rule_name, strategy_from, strategy_names
from backtest.strategy.params import KINDS, SERIES_KINDS, Param, distinct_values, parameter_column, parameter_columns
from backtest.strategy.weights import check_weights

__all__ = [
    "KINDS", "SERIES_KINDS", "Param", "Strategy", "check_weights", "distinct_values", "load_strategy", "parameter_column",
    "parameter_columns", "rule_name", "strategy_from", "strategy_names",
]
