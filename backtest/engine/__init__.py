"""Engine: target weights -> simulated portfolio. The one way in for the rest of the package:

- `simulate`: one strategy's weights -> equity, orders and the vectorbt portfolio (`vectorbt.py`,
  the engine of `backtest run`);
- `simulate_batch`, `simulate_curves`: many combinations at once for sweeps (`batch.py`), on
  the numba kernels (`nb.py`, which follow `simulate`'s order semantics as written once in
  `orders.py`) or their CUDA compilation (`cuda.py`); none of them imports vectorbt.
"""

from backtest.engine.batch import Targets, WeightSet, simulate_batch, simulate_curves
from backtest.engine.vectorbt import Simulation, price_levels, simulate

__all__ = ["Simulation", "Targets", "WeightSet", "price_levels", "simulate", "simulate_batch", "simulate_curves"]
