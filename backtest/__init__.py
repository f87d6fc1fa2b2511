"""backtest: config-driven historical backtesting on real data.

    import backtest
    result = backtest.run("configs/first10.yaml", set={"strategy.params.lookback": 7})
    result.stats, result.equity, result.report("first10.html")
    backtest.sweep("configs/first10.yaml", grid={"strategy.params.lookback": "5:20"}).best(5)

The public API (`run`, `sweep`, `compare`, `check`, `load`, `study`, `Param`) is documented in
`backtest.api` and the README's Python section; it is imported on first use, so `import
backtest` stays light. Data flows one way through the stages, each a module with a small
public surface:

    config -> data -> strategy (target weights) -> engine (equity) -> stats -> store -> report
"""

__version__ = "0.1.0"

_API = {"run", "sweep", "compare", "check", "load"}
__all__ = sorted(_API | {"Param", "study", "__version__"})


def __getattr__(name: str):
    if name in _API:
        from backtest import api

        return getattr(api, name)
    if name == "Param":
        from backtest.strategy import Param

        return Param
    if name == "study":
        import importlib

        return importlib.import_module("backtest.study")
    raise AttributeError(f"module 'backtest' has no attribute {name!r}")


def __dir__():
    return __all__
