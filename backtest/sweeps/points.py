"""Which combinations share work: a sweep's "points" (combinations apart from the kernel's
scalars), told apart by integer codes, and the strategy leg of each point."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from backtest.strategy import parameter_column, parameter_columns
from backtest.sweeps.plan import Plan


def codes(indices: np.ndarray, sizes: list[int]) -> np.ndarray | None:
    """One int64 code per row of value indices (mixed radix: the same order as the rows
    sorted lexicographically); None where the grid is too large for int64 codes."""
    if math.prod(sizes) >= 2**62:
        return None
    if not sizes:
        return np.zeros(len(indices), dtype=np.int64)
    return np.ravel_multi_index(tuple(indices.T), sizes).astype(np.int64)


def points_of(plan: Plan, point_axes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct points (rows of value indices of the point axes, sorted) and each
    combination's point, from integer codes (np.unique over rows is ~20x slower at 10^7)."""
    if not point_axes:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(len(plan.combos), dtype=np.int64)
    sizes = [len(plan.axes[i].values) for i in point_axes]
    indices = plan.combos[:, point_axes]
    point_codes = codes(indices, sizes)
    if point_codes is None:
        values, inverse = np.unique(indices, axis=0, return_inverse=True)
        return values, inverse.ravel().astype(np.int64)
    distinct, inverse = np.unique(point_codes, return_inverse=True)
    return np.stack(np.unravel_index(distinct, sizes), axis=1).astype(np.int64), inverse.ravel().astype(np.int64)


class PointLegs(list):
    """The strategy leg of each point, one object per point (`_config_points`)."""

    def columns(self, points: np.ndarray) -> SimpleNamespace:
        """The parameters of these points as columns (`backtest.strategy.parameter_columns`)."""
        return parameter_columns([self[int(p)].params for p in points])


class ParameterLegs:
    """The strategy leg of each point, built when asked for from per-axis codes of resolved
    parameter values (a grid of 10^7 parameter sets keeps no object per point); the same
    interface as `PointLegs`."""

    def __init__(self, base, names: list[str], values: list[list], coded: np.ndarray):
        self.base = base  # the base config's Leg
        self.names = names
        self.values = values  # resolved values of each axis
        self.coded = coded  # (points, axes) index into values

    def __len__(self) -> int:
        return len(self.coded)

    def columns(self, points: np.ndarray) -> SimpleNamespace:
        """The parameters of these points as columns (`backtest.strategy.parameter_columns`),
        built per axis; a parameter no axis sweeps is one value broadcast (no memory per point)."""
        columns = {name: np.broadcast_to(parameter_column([value]), len(points)) for name, value in vars(self.base.params).items()}
        for a, (name, values) in enumerate(zip(self.names, self.values)):
            columns[name] = parameter_column(values)[self.coded[points, a]]
        return SimpleNamespace(**columns)

    def __getitem__(self, p):
        from backtest.pipeline import Leg

        params = dict(vars(self.base.params))
        for name, values, code in zip(self.names, self.values, self.coded[int(p)].tolist()):
            params[name] = values[code]
        return Leg("strategy", self.base.strategy, SimpleNamespace(**params))


_POOL_STATE: dict = {}
