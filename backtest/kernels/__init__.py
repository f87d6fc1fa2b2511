"""Numba kernels on plain NumPy arrays (no pandas), callable from other `@njit` code.

`stats.py` holds the statistics kernels wrapped by `backtest.stats`; a parameter sweep can call
`summary_nb` / `relative_nb` directly inside its own compiled loop.
"""

from backtest.kernels.stats import (
    RELATIVE_STAT_NAMES,
    STAT_NAMES,
    drawdown_episodes_nb,
    drawdown_nb,
    relative_nb,
    summary_nb,
    yearly_returns_nb,
)

__all__ = [
    "RELATIVE_STAT_NAMES",
    "STAT_NAMES",
    "drawdown_episodes_nb",
    "drawdown_nb",
    "relative_nb",
    "summary_nb",
    "yearly_returns_nb",
]
