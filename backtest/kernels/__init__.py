"""Numba kernels on plain NumPy arrays (no pandas), callable from other `@njit` code.

`stats.py`: every statistic (wrapped by `backtest.stats`, called directly by the sweep kernel).
`rebalance.py`: target-weight rebalancing with the engine's order semantics, batched for sweeps.
"""
