"""Look-ahead detection: does any decision depend on data after its date?

A strategy is run once on the full data, then again at each of K cut dates on two altered
copies of the data:

- truncated: the rows after the cut removed. Every decision dated before the cut must be
  identical. (The decision on the cut date itself is not compared: a rule may use the trading
  calendar, e.g. "the last session of the month", which a truncated file cannot show.)
- scrambled: every return after the cut replaced by a random value of the opposite sign (so a
  rule reading tomorrow's sign or ranking sees a different future). Every decision dated on or
  before the cut must be identical.

Decisions are compared exactly (bit for bit) on the union of both runs' rebalance dates; a date
missing from one run counts as a NaN row ("no change"), which is what the engine does with it.
Cut dates are drawn (seeded) from the strategy's own decision dates, where a peek shows, and
topped up with other sessions when there are fewer than K.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backtest.errors import UserError
from backtest.io import json_safe
from backtest.pipeline import Leg, Prepared

METHODS = ("truncated", "scrambled")


@dataclass(frozen=True)
class Offence:
    """The first decision that changed when the data after `cut` was altered."""

    cut: pd.Timestamp
    method: str  # "truncated" | "scrambled"
    date: pd.Timestamp  # the first decision that changed
    asset: str  # its first asset (in column order) whose weight changed
    full: float  # the weight on the full data (NaN: no order)
    altered: float  # the weight on the altered data

    def describe(self) -> str:
        future = "cut off" if self.method == "truncated" else "scrambled"
        return (f"with the data after {self.cut.date()} {future}, its decision on {self.date.date()} for "
                f"{self.asset} changes from {_weight(self.full)} to {_weight(self.altered)}")


@dataclass(frozen=True)
class LegReport:
    key: str  # "strategy" | "benchmark"
    name: str  # the strategy's name
    cuts: list[pd.Timestamp]
    offences: list[Offence] = field(default_factory=list)
    # cuts where the rule refused the truncated data (a UserError such as "too little history"):
    # nothing to compare there, so they are listed apart (the command prints them)
    refused: list[tuple[pd.Timestamp, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.offences

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "strategy": self.name,
            "cuts": [str(c.date()) for c in self.cuts],
            "clean": self.clean,
            "refused": [{"cut": str(c.date()), "error": message} for c, message in self.refused],
            "offences": [
                {"cut": str(o.cut.date()), "method": o.method, "date": str(o.date.date()), "asset": o.asset,
                 "full": json_safe(o.full), "altered": json_safe(o.altered)}
                for o in self.offences
            ],
        }


def _weight(value: float) -> str:
    return "no order" if np.isnan(value) else f"{value:.6g}"


def first_difference(full: pd.DataFrame, altered: pd.DataFrame, until: pd.Timestamp, inclusive: bool):
    """(date, asset, full weight, altered weight) of the first differing decision up to `until`,
    or None. Rows absent from one frame count as NaN rows; NaN equals NaN."""
    keep = (lambda index: index <= until) if inclusive else (lambda index: index < until)
    a, b = full.loc[keep(full.index)], altered.loc[keep(altered.index)]
    dates = a.index.union(b.index)
    columns = list(dict.fromkeys([*a.columns, *b.columns]))
    x = a.reindex(index=dates, columns=columns).to_numpy(dtype=np.float64)
    y = b.reindex(index=dates, columns=columns).to_numpy(dtype=np.float64)
    differ = ~((x == y) | (np.isnan(x) & np.isnan(y)))
    if not differ.any():
        return None
    row = int(differ.any(axis=1).argmax())
    col = int(differ[row].argmax())
    return dates[row], columns[col], float(x[row, col]), float(y[row, col])


def cut_dates(returns_index: pd.DatetimeIndex, decisions: pd.DatetimeIndex, k: int, rng: np.random.Generator) -> list[pd.Timestamp]:
    """K distinct cut dates strictly inside the data: the strategy's decision dates first
    (seeded sample), topped up with other sessions."""
    inside = returns_index[1:-1]
    preferred = decisions[(decisions > returns_index[0]) & (decisions < returns_index[-1])]
    picks = list(rng.choice(preferred, size=min(k, len(preferred)), replace=False)) if len(preferred) else []
    others = inside.difference(pd.DatetimeIndex(picks))
    if len(picks) < k and len(others):
        picks += list(rng.choice(others, size=min(k - len(picks), len(others)), replace=False))
    return sorted(pd.Timestamp(p) for p in picks)


def scramble_after(returns: pd.DataFrame, cut: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    """A copy with every return after `cut` replaced by a random value of the opposite sign
    (zero returns become positive), magnitudes 0.1 %..10 %."""
    out = returns.copy()
    after = out.index > cut
    original = out.loc[after].to_numpy()
    magnitude = rng.uniform(0.001, 0.1, original.shape)
    out.loc[after] = np.where(original > 0, -magnitude, magnitude)
    return out


def check_leg(leg: Leg, returns: pd.DataFrame, cuts: int = 20, seed: int = 0) -> LegReport:
    """Look for look-ahead in one strategy leg on `returns` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    full = leg.strategy.target_weights(returns, leg.params)
    decisions = full.index[full.notna().any(axis=1).to_numpy()]
    dates = cut_dates(returns.index, decisions, cuts, rng)
    offences, refused = [], []
    for cut in dates:
        for method in METHODS:
            if method == "truncated":
                try:
                    altered = leg.strategy.target_weights(returns.loc[:cut], leg.params)
                except UserError as exc:
                    refused.append((cut, str(exc)))
                    continue
            else:
                altered = leg.strategy.target_weights(scramble_after(returns, cut, rng), leg.params)
            found = first_difference(full, altered, cut, inclusive=method == "scrambled")
            if found is not None:
                offences.append(Offence(cut, method, *found))
    return LegReport(leg.key, leg.strategy.name, dates, offences, refused)


def check(prepared: Prepared, cuts: int = 20, seed: int = 0) -> list[LegReport]:
    """Every leg of a prepared run (strategy, and benchmark if any), on the run's data."""
    return [check_leg(leg, prepared.returns, cuts, seed) for leg in prepared.legs]
