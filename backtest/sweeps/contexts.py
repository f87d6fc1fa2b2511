"""What a sweep's combinations are simulated on: a loaded data set ("context") as the kernel's
plain arrays, and a strategy's targets in the batch engine's two input forms (host weight sets,
or the strategy's kernel form with its tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.engine.batch import WeightSet


@dataclass
class KernelRule:
    """A context's strategy in its kernel form: the tables made once for every point of the
    context, and each point's rule parameters."""

    kernel_weights: Any  # the strategy's function
    ints: np.ndarray  # (rows of the table, n) integer table
    floats: np.ndarray  # (rows of the table, m) float64 table
    points: np.ndarray  # the context's points, ascending
    params: np.ndarray  # (len(points), p) their rule parameters
    cols: np.ndarray  # (k,) int64 price columns traded (the cash asset last, where there is one)
    fee_free: np.ndarray  # (k,) bool


@dataclass
class Context:
    """One loaded data set and what depends only on it."""

    prepared: Any  # backtest.pipeline.Prepared
    prices: np.ndarray  # (n, K) price levels of every column of prepared.returns
    columns: dict  # series id -> price column
    day_number: np.ndarray
    year: np.ndarray
    index_ns: np.ndarray  # the calendar as int64 nanoseconds (rebalance dates -> rows)
    ppy: float
    rf: np.ndarray  # each row's risk-free return (the statistics' conventions, prepared.conventions)
    cash_asset: str | None
    benchmark: Any = None  # Leg or None
    bench_set: WeightSet | None = None


def make_context(prepared) -> Context:
    """The kernel's arrays of a prepared run (`backtest.pipeline.prepare`)."""
    from backtest.pipeline import RF_SERIES

    returns = prepared.returns
    index = returns.index
    if index.tz is not None:
        index = index.tz_localize(None)
    return Context(
        prepared=prepared,
        prices=np.ascontiguousarray(prepared.prices),
        columns={c: i for i, c in enumerate(returns.columns)},
        day_number=np.ascontiguousarray(index.to_numpy().astype("datetime64[D]").astype(np.int64)),
        year=np.ascontiguousarray(index.year.to_numpy().astype(np.int64)),
        index_ns=returns.index.to_numpy(dtype="datetime64[ns]").view(np.int64),
        ppy=prepared.conventions.periods_per_year,
        rf=np.ascontiguousarray(prepared.conventions.risk_free.to_numpy(dtype=np.float64)),
        cash_asset=RF_SERIES if prepared.config.portfolio.cash == "rf" else None,
        benchmark=prepared.legs[1] if len(prepared.legs) > 1 else None,
    )


def weight_set(context: Context, target_weights) -> WeightSet:
    """A strategy's target weights (computed on the host by its `target_weights`) as the batch
    engine's inputs: its columns, plus the fee-free cash asset taking max(1 - sum(w), 0) on
    rebalance rows and everything before the first decision, as `backtest.engine.simulate` gives it."""
    values = target_weights.to_numpy(dtype=np.float64)
    cols, fee_free = set_columns(context, list(target_weights.columns))
    if context.cash_asset is not None:
        missing = np.isnan(values)
        # pandas' sum(axis=1, min_count=1), as `backtest run` and the kernel form add: column by
        # column (numpy's row sum adds 8 columns or more pairwise, another last bit)
        invested = np.zeros(len(values))
        for column in np.where(missing, 0.0, values).T:
            invested += column
        invested[missing.all(axis=1)] = np.nan
        values = np.column_stack([values, np.maximum(1.0 - invested, 0.0)])
    keep = ~np.isnan(values).all(axis=1)
    rows = np.searchsorted(context.index_ns, target_weights.index.to_numpy(dtype="datetime64[ns]").view(np.int64))
    rows, values = rows[keep], values[keep]
    if context.cash_asset is not None and (len(rows) == 0 or rows[0] > 0):  # all in the cash asset until the first decision
        start = np.full((1, len(cols)), np.nan)
        start[0, -1] = 1.0
        rows, values = np.r_[0, rows], np.vstack([start, values])
    return WeightSet(
        cols=cols,
        fee_free=fee_free,
        rows=np.ascontiguousarray(rows, dtype=np.int64),
        weights=np.ascontiguousarray(values),
    )


def set_columns(context: Context, assets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The price columns a strategy trading `assets` uses, and which are fee-free: its assets,
    then the cash asset (where the portfolio has one)."""
    fee_free = [False] * len(assets)
    if context.cash_asset is not None:
        assets = [*assets, context.cash_asset]
        fee_free.append(True)
    return np.array([context.columns[a] for a in assets], dtype=np.int64), np.array(fee_free, dtype=np.bool_)


def kernel_rule(context: Context, legs, points: np.ndarray) -> KernelRule | None:
    """The strategy of a context's `points` (`legs`: each point's Leg) in its kernel form, its
    tables made once from the data and every point's parameters; None where it has no kernel form."""
    leg = legs[points[0]]
    if leg.strategy.kernel_form is None:
        return None
    ints, floats, params = leg.strategy.kernel_tables(context.prepared.returns, legs.columns(points), len(points))
    cols, fee_free = set_columns(context, leg.series)
    return KernelRule(leg.strategy.kernel_form[1], ints, floats, points, params, cols, fee_free)
