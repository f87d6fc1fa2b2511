"""The weights contract: what a strategy's `target_weights` must return."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backtest.errors import StrategyError


def check_weights(weights: Any, calendar: pd.DatetimeIndex, assets: list[str], name: str, source: str = "") -> pd.DataFrame:
    """Validate a strategy's output: dates on the calendar, known assets, 0 <= w, row sum <= 1.

    A row of NaN means "no change"; a row with some NaN and some numbers is an error. Errors name
    the strategy, its file (`source`) and the first date at fault.
    """
    who = f"strategy {name!r}" + (f" ({source})" if source else "")
    if not isinstance(weights, pd.DataFrame):
        raise StrategyError(f"{who}: target_weights must return a DataFrame, got {type(weights).__name__}")
    unknown = [c for c in weights.columns if c not in assets]
    if unknown:
        raise StrategyError(f"{who}: weights for unknown asset {unknown[0]!r} (assets: {', '.join(assets)})")
    if not isinstance(weights.index, pd.DatetimeIndex):
        raise StrategyError(f"{who}: the weights' index must be dates (a DatetimeIndex)")
    rows = calendar.get_indexer(weights.index)
    if (rows < 0).any():
        date = weights.index[int(np.argmax(rows < 0))]
        raise StrategyError(f"{who}: rebalance date {date.date()} is not a trading date of the data")
    if (np.diff(rows) <= 0).any():
        raise StrategyError(f"{who}: rebalance dates must be unique and ascending")
    try:
        given = weights.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyError(f"{who}: weights must be numbers") from None
    missing = np.isnan(given)
    partial = missing.any(axis=1) & ~missing.all(axis=1)
    if partial.any():
        row = int(partial.argmax())
        asset = weights.columns[int(missing[row].argmax())]
        raise StrategyError(f"{who}: NaN weight for {asset!r} on {weights.index[row].date()} beside "
                            "weights for other assets (a row of NaN means no change; give every asset a number)")
    values = given
    if list(weights.columns) != assets:
        weights = weights.reindex(columns=assets)
        values = weights.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = (values < -1e-12) | np.isinf(values)
    if bad.any():
        row = int(bad.any(axis=1).argmax())
        raise StrategyError(f"{who}: negative or infinite weight on {weights.index[row].date()}")
    missing = np.isnan(values)
    sums = np.where(missing.all(axis=1), np.nan, np.nansum(values, axis=1))
    over = sums > 1 + 1e-9
    if over.any():
        row = int(over.argmax())
        raise StrategyError(f"{who}: weights sum to {sums[row]:.6g} on {weights.index[row].date()} (more than 1: no leverage)")
    return pd.DataFrame(values, index=weights.index, columns=assets)
