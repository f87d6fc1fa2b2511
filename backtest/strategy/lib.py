"""Trading-calendar helpers shared by strategies: which rows start a period.

A row is recognised as a period's first session from its own date and the previous row's, so a
decision at its close needs nothing after that close.
"""

import numpy as np
import pandas as pd


def month_starts(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the first session of each month, and each one's month number (year * 12 + month)."""
    months = index.year.to_numpy() * 12 + index.month.to_numpy()
    rows = np.flatnonzero(np.r_[True, months[1:] != months[:-1]][: len(months)])
    return rows, months[rows]
