"""Engine: target weights -> simulated portfolio.

`simulate` (vectorbt, the engine of `backtest run`) lives in `vectorbt.py`; the numba kernels
that follow its order semantics on plain arrays (`nb.py`, batched for sweeps) and their CUDA
compilation (`cuda.py`) live beside it and import no vectorbt.
"""

from backtest.engine.vectorbt import Simulation, price_levels, simulate

__all__ = ["Simulation", "price_levels", "simulate"]
