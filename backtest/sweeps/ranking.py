"""What a sweep keeps of its result table as the table streams past, in chunks of rows.

A sweep of 10^7 combinations writes its full table to Parquet a piece at a time; in memory it
keeps only what its summaries need, whatever the sweep's size:

- `Ranking`: the best K rows by a metric (descending, NaN last, ties in combination order), and
  for each ratio the deflated Sharpe ratio deflates, its `Moments`;
- `Moments`: count, mean and variance of a column's finite values and where its maximum is,
  merged chunk by chunk (Chan, Golub and LeVeque's pairwise update).

Chunks must arrive in combination order (the order of the table's rows): ties are then kept in
that order, as a stable sort of the whole table would.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DEFLATED_RATIOS = ("sharpe", "information_ratio")  # the ratios whose winners get a deflated Sharpe ratio


class Moments:
    """Count, mean and variance (ddof=1) of the finite values seen so far, and the row of the
    largest (the first such row on ties)."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean
        self.best_row: int | None = None
        self.best_value = -math.inf

    def add(self, rows: np.ndarray, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        values, rows = values[finite], rows[finite]
        if not len(values):
            return
        n, mean = len(values), float(values.mean())
        m2 = float(((values - mean) ** 2).sum())
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        i = int(np.argmax(values))
        if values[i] > self.best_value:  # strictly: an earlier row keeps a tie
            self.best_value, self.best_row = float(values[i]), int(rows[i])

    @property
    def variance(self) -> float:
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan


class Ranking:
    """The `keep` best rows of a table by `metric`, and `Moments` of its deflated ratios.

    `add(frame)` takes the next chunk of rows (a DataFrame with a "combo" column, the metric and
    whatever else should be kept of the best rows); `top` is the best rows, best first.
    """

    def __init__(self, metric: str, keep: int):
        self.metric = metric
        self.keep = max(1, int(keep))
        self.top: pd.DataFrame | None = None
        self.moments: dict[str, Moments] = {}

    def add(self, frame: pd.DataFrame) -> None:
        combos = frame["combo"].to_numpy()
        for name in DEFLATED_RATIOS:
            if name in frame.columns:
                self.moments.setdefault(name, Moments()).add(combos, frame[name].to_numpy(dtype=float))
        values = frame[self.metric].to_numpy(dtype=float)
        if len(values) > self.keep:  # only rows at or above the chunk's K-th best can enter the top
            key = np.where(np.isnan(values), -np.inf, values)
            threshold = np.partition(key, len(key) - self.keep)[len(key) - self.keep]
            frame = frame[key >= threshold]
        # the kept rows come first: earlier combinations win ties, as in a stable sort of the table
        merged = frame if self.top is None else pd.concat([self.top, frame], ignore_index=True)
        self.top = merged.sort_values(self.metric, ascending=False, na_position="last", kind="stable").head(self.keep).reset_index(drop=True)

    def order(self) -> np.ndarray:
        """The kept combinations, best first."""
        return np.empty(0, dtype=np.int64) if self.top is None else self.top["combo"].to_numpy(dtype=np.int64)
