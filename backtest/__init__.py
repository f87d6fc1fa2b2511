"""backtest: config-driven historical backtesting on real data.

Data flows one way through the stages, each a module with a small public surface:

    config -> data -> strategy (target weights) -> engine (equity) -> stats -> results
"""

__version__ = "0.1.0"
