"""Strategy modules: one short file per rule. Copy one to start a new rule.

Each module has a docstring stating the rule, `PARAMS` (declared parameters with types,
defaults and ranges) and `target_weights(returns, params)`; see `backtest.strategy`.
"""
