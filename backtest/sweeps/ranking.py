"""What a sweep keeps of its result table as the table streams past, in chunks of rows.

A sweep of 10^7 combinations writes its full table to Parquet a piece at a time; in memory it
keeps only what its summaries need, whatever the sweep's size:

- `Ranking`: the best K rows by a metric (in its better direction: `lowest_first`; NaN last, ties
  in combination order), and
  for each ratio the deflated Sharpe ratio deflates, its `Moments`;
- `Moments`: count, mean and variance of a column's finite values and where its maximum is,
  per cost variant, merged chunk by chunk (Chan, Golub and LeVeque's pairwise update).

Chunks must arrive in combination order (the order of the table's rows): ties are then kept in
that order, as a stable sort of the whole table would.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from backtest.display import lowest_first

DEFLATED_RATIOS = ("sharpe", "information_ratio")  # the ratios whose winners get a deflated Sharpe ratio
class Moments:
    """Count, mean and variance (ddof=1) of the finite values seen so far, per group of rows (a
    sweep's cost variants: see `Ranking`), and the row of each group's largest (the first such
    row on ties). The properties without a group speak of group 0 (all rows, when there are no
    groups)."""

    def __init__(self):
        self.counts = np.zeros(0, dtype=np.int64)
        self.means = np.zeros(0)
        self.m2s = np.zeros(0)  # sums of squared deviations from the means
        self.best_values = np.zeros(0)
        self.best_rows = np.zeros(0, dtype=np.int64)

    def _grow(self, size: int) -> None:
        extra = size - len(self.counts)
        if extra > 0:
            self.counts = np.r_[self.counts, np.zeros(extra, dtype=np.int64)]
            self.means, self.m2s = np.r_[self.means, np.zeros(extra)], np.r_[self.m2s, np.zeros(extra)]
            self.best_values = np.r_[self.best_values, np.full(extra, -math.inf)]
            self.best_rows = np.r_[self.best_rows, np.full(extra, -1, dtype=np.int64)]

    def add(self, rows: np.ndarray, values: np.ndarray, groups: np.ndarray | None = None) -> None:
        """Merge a chunk: each row's value and group (default: all group 0)."""
        groups = np.zeros(len(values), dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
        finite = np.isfinite(values)
        values, rows, groups = values[finite], rows[finite], groups[finite]
        if not len(values):
            return
        self._grow(int(groups.max()) + 1)
        size = len(self.counts)
        n = np.bincount(groups, minlength=size)
        mean = np.bincount(groups, weights=values, minlength=size) / np.maximum(n, 1)
        m2 = np.bincount(groups, weights=(values - mean[groups]) ** 2, minlength=size)
        # Chan, Golub and LeVeque's pairwise update, every group at once
        total = self.counts + n
        delta = mean - self.means
        share = np.divide(n, total, out=np.zeros(size), where=total > 0)
        self.m2s += m2 + delta * delta * self.counts * share
        self.means += delta * share
        self.counts = total
        # each group's largest value in the chunk (its first row on ties), then against the best so far
        order = np.lexsort((rows, -values, groups))
        first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
        better = values[first] > self.best_values[groups[first]]  # strictly: an earlier row keeps a tie
        self.best_values[groups[first][better]] = values[first][better]
        self.best_rows[groups[first][better]] = rows[first][better]

    def variance_of(self, group: int) -> float:
        count = int(self.counts[group]) if group < len(self.counts) else 0
        return float(self.m2s[group] / (count - 1)) if count > 1 else math.nan

    @property
    def groups(self) -> int:
        """The number of groups with a finite value."""
        return int(np.count_nonzero(self.counts))

    def winner(self) -> tuple[int, int] | None:
        """(row, group) of the largest value over every group (the first row on ties); None if none."""
        seen = np.flatnonzero(self.counts)
        if not len(seen):
            return None
        top = self.best_values[seen].max()
        tied = seen[self.best_values[seen] == top]
        group = int(tied[np.argmin(self.best_rows[tied])])
        return int(self.best_rows[group]), group

    @property
    def count(self) -> int:
        return int(self.counts[0]) if len(self.counts) else 0

    @property
    def mean(self) -> float:
        return float(self.means[0]) if len(self.means) else 0.0

    @property
    def variance(self) -> float:
        return self.variance_of(0)

    @property
    def best_row(self) -> int | None:
        return int(self.best_rows[0]) if self.count else None


class Ranking:
    """The `keep` best rows of a table by `metric` (in its better direction, NaN last), and
    `Moments` of its deflated ratios.

    `add(frame)` takes the next chunk of rows (a DataFrame with a "combo" column, the metric and
    whatever else should be kept of the best rows); `top` is the best rows, best first.
    `variants(combos)`, where given, numbers each combination's cost variant (its swept fees,
    slippage and initial cash): the moments are kept per variant, since the deflated Sharpe
    ratio's trials are the strategy settings tried at one cost, not each cost tried.
    """

    def __init__(self, metric: str, keep: int, variants: Callable[[np.ndarray], np.ndarray] | None = None):
        self.metric = metric
        self.ascending = lowest_first(metric)
        self.keep = max(1, int(keep))
        self.top: pd.DataFrame | None = None
        self.moments: dict[str, Moments] = {}
        self.variants = variants

    def add(self, frame: pd.DataFrame) -> None:
        combos = frame["combo"].to_numpy()
        groups = self.variants(combos) if self.variants is not None else None
        for name in DEFLATED_RATIOS:
            if name in frame.columns:
                self.moments.setdefault(name, Moments()).add(combos, frame[name].to_numpy(dtype=float), groups)
        values = frame[self.metric].to_numpy(dtype=float)
        if len(values) > self.keep:  # only rows at or above the chunk's K-th best can enter the top
            key = np.where(np.isnan(values), -np.inf, -values if self.ascending else values)  # larger: better
            threshold = np.partition(key, len(key) - self.keep)[len(key) - self.keep]
            frame = frame[key >= threshold]
        # the kept rows come first: earlier combinations win ties, as in a stable sort of the table
        merged = frame if self.top is None else pd.concat([self.top, frame], ignore_index=True)
        self.top = merged.sort_values(self.metric, ascending=self.ascending, na_position="last", kind="stable").head(self.keep).reset_index(drop=True)

    def order(self) -> np.ndarray:
        """The kept combinations, best first."""
        return np.empty(0, dtype=np.int64) if self.top is None else self.top["combo"].to_numpy(dtype=np.int64)
