"""Engine: target weights -> simulated portfolio.

`simulate` (vectorbt, the engine of `backtest run`) lives in `portfolio.py`; numba kernels for
batch evaluation live apart in `backtest.kernels`.
"""

from backtest.engine.portfolio import Simulation, price_levels, simulate

__all__ = ["Simulation", "price_levels", "simulate"]
