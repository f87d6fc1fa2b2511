"""Helpers rules share: price levels, the calendar's period starts, growth over a look-back.

A strategy file imports `Param` and what it needs from here. Every helper looks only at data up
to each row's close: a row is a period's first session by its own date and the previous row's,
and a growth at row t divides row t's level by an earlier one.
"""

import numpy as np
import pandas as pd

from backtest.errors import StrategyError  # noqa: F401  (a rule's own refusal: raise StrategyError("..."))
from backtest.strategy.params import distinct_values  # noqa: F401  (kernel forms: one table per distinct value)

_PERIODS = {"monthly": "M", "quarterly": "Q", "annual": "Y"}


def price_levels(returns: pd.DataFrame | pd.Series) -> np.ndarray:
    """P_t = prod_{s<=t} (1 + r_s), per column (1-D for a Series)."""
    return np.cumprod(1.0 + returns.to_numpy(), axis=0)


def month_starts(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the first session of each month, and each one's month number (year * 12 + month)."""
    months = index.year.to_numpy() * 12 + index.month.to_numpy()
    rows = np.flatnonzero(np.r_[True, months[1:] != months[:-1]][: len(months)])
    return rows, months[rows]


def period_starts(index: pd.DatetimeIndex, period: str) -> np.ndarray:
    """Rows of the first session of each "monthly", "quarterly" or "annual" period (row 0 included)."""
    periods = index.to_period(_PERIODS[period]).asi8
    return np.flatnonzero(np.r_[True, periods[1:] != periods[:-1]][: len(periods)])


def growth(levels: np.ndarray, rows: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Each column's growth factor from rows `earlier` to `rows`: P_row / P_earlier."""
    return levels[rows] / levels[earlier]


def trailing_returns(levels: np.ndarray, rows: np.ndarray, lookback: int) -> np.ndarray:
    """Each column's return over the `lookback` sessions to each of `rows` (all >= lookback):
    P_t / P_{t-L} - 1."""
    return growth(levels, rows, rows - lookback) - 1.0
