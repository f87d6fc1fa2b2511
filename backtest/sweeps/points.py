"""Which combinations share work: a sweep's "points" (combinations apart from the kernel's
scalars, `portfolio.fees`, `portfolio.slippage`, `portfolio.initial_cash`), told apart by integer
codes; each point's strategy leg; and which points share a data context (same config apart from
the strategy parameters and those scalars, same series) and a weight set (same parameters too)."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from backtest.config import Config, set_dotted
from backtest.strategy import SERIES_KINDS, parameter_column, parameter_columns
from backtest.sweeps.contexts import Context, make_context
from backtest.sweeps.plan import KERNEL_KEYS, Plan


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



@dataclass
class Points:
    """Each point's strategy leg, data context, weight set and kernel scalars."""

    legs: PointLegs | ParameterLegs
    contexts: list[Context]
    context: np.ndarray  # (points,) int64: each point's index into contexts
    weight_set: np.ndarray  # (points,) int64: each point's weight-set id, numbered by first appearance
    set_points: np.ndarray | list  # a representative point of each weight set
    kernel: np.ndarray  # (points, 3): each point's fees, slippage and initial cash


def set_up_points(plan: Plan, point_axes: list[int], point_values: np.ndarray) -> Points:
    """The points' legs, contexts and weight sets (`point_values`: the rows of `points_of`)."""
    if all(plan.axes[i].key.startswith("strategy.params.") and plan.axes[i].key.count(".") == 2 for i in point_axes):
        return _parameter_points(plan, point_axes, point_values)
    return _config_points(plan, point_axes, point_values)


def _parameter_points(plan: Plan, point_axes: list[int], point_values: np.ndarray) -> Points:
    """Points that differ in top-level strategy parameters only: the config is the base one for
    every point, each axis value is resolved once, and points are told apart by integer codes per
    axis (no config, key or copy per point). Equal to `_config_points`: a parameter is coerced on
    its own (`resolve_params`)."""
    from backtest.pipeline import catalogs, prepare, resolve_leg

    base = plan.config()
    base_leg = resolve_leg(base.strategy, "strategy", base)
    user_catalogs = catalogs(base)
    names, values = [], []
    coded = np.empty_like(point_values)
    for a, axis_i in enumerate(point_axes):
        axis = plan.axes[axis_i]
        name = axis.key.removeprefix("strategy.params.")
        distinct: dict[str, int] = {}  # coerced values by their JSON form (as _params_key)
        resolved, code = [], np.empty(len(axis.values), dtype=np.int64)
        for j, value in enumerate(axis.values):
            params = base_leg.strategy.resolve_params({**base.strategy.params, name: value}, where="strategy.params",
                                                      catalogs=user_catalogs)
            coerced = getattr(params, name)
            key = json.dumps(coerced, sort_keys=True, default=str)
            if key not in distinct:
                distinct[key] = len(resolved)
                resolved.append(coerced)
            code[j] = distinct[key]
        names.append(name)
        values.append(resolved)
        coded[:, a] = code[point_values[:, a]]
    legs = ParameterLegs(base_leg, names, values, coded)
    # weight sets: points with equal coerced parameters, numbered by first appearance
    keys = codes(coded, [len(v) for v in values])
    keys = coded if keys is None else keys
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    point_set = rank[inverse.ravel()].astype(np.int64)
    set_points = first[order]  # an array: a Python list of 10^7 ints costs seconds and ~0.3 GB
    # contexts: one per distinct list of traded series (all that parameters change in the data),
    # looked at once per distinct combination of the series parameters' values
    kinds = {param.name: param.kind for param in base_leg.strategy.params}
    series_axes = [a for a, name in enumerate(names) if kinds[name] in SERIES_KINDS]
    keys = codes(coded[:, series_axes], [len(values[a]) for a in series_axes])
    keys = coded[:, series_axes] if keys is None else keys
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None)
    contexts: list[Context] = []
    context_ids: dict[str, int] = {}
    group_context = np.empty(len(first), dtype=np.int64)
    for g in np.argsort(first, kind="stable").tolist():  # contexts numbered by first appearance
        p = int(first[g])
        # the axes were resolved one at a time: their series may clash only in combination
        base_leg.strategy.check_traded_once(legs[p].params, where="--grid strategy.params")
        key = _context_key(base, legs[p].reads)
        if key not in context_ids:
            context_ids[key] = len(contexts)
            contexts.append(make_context(prepare(plan.config(_point_params(plan, point_axes, point_values[p])))))
        group_context[g] = context_ids[key]
    portfolio = base.portfolio
    kernel = np.empty((len(point_values), 3))
    kernel[:] = (portfolio.fees, portfolio.slippage, portfolio.initial_cash)
    return Points(legs, contexts, group_context[inverse.ravel()], point_set, set_points, kernel)


def _config_points(plan: Plan, point_axes: list[int], point_values: np.ndarray) -> Points:
    """Points that differ in any config key: a validated config, data context and strategy
    parameter set per point."""
    from backtest.pipeline import Leg, catalogs, prepare, resolve_leg

    points = Points(PointLegs(), [], np.empty(len(point_values), dtype=np.int64), np.empty(len(point_values), dtype=np.int64),
                    [], np.empty((len(point_values), 3)))
    context_ids: dict[str, int] = {}
    set_ids: dict[tuple, int] = {}
    params_only = all(plan.axes[i].key.startswith("strategy.params.") for i in point_axes)
    if params_only:
        # only strategy parameters vary: the config is the base one (its params are a free
        # mapping), and each point's parameters are checked by the strategy's declarations
        base = plan.config()
        base_leg = resolve_leg(base.strategy, "strategy", base)
        user_catalogs = catalogs(base)
    for p, indices in enumerate(point_values):
        params = _point_params(plan, point_axes, indices)
        if params_only:
            config = base
            holder = {"params": copy.deepcopy(base.strategy.params)}
            for key, value in params.items():
                set_dotted(holder, key.removeprefix("strategy."), value, where="--grid")
            leg = Leg("strategy", base_leg.strategy,
                      base_leg.strategy.resolve_params(holder["params"], where="strategy.params", catalogs=user_catalogs))
        else:
            config = plan.config(params)
            leg = resolve_leg(config.strategy, "strategy", config)
        leg.strategy.check_traded_once(leg.params, where="--grid strategy.params")
        key = _context_key(config, leg.reads)
        if key not in context_ids:
            context_ids[key] = len(points.contexts)
            # the point's own config: its series decide the data loaded
            points.contexts.append(make_context(prepare(plan.config(params) if params_only else config)))
        ctx = context_ids[key]
        points.context[p] = ctx
        points.legs.append(leg)
        skey = (ctx, _params_key(leg))
        if skey not in set_ids:
            set_ids[skey] = len(points.set_points)
            points.set_points.append(p)
        points.weight_set[p] = set_ids[skey]
        points.kernel[p] = (config.portfolio.fees, config.portfolio.slippage, config.portfolio.initial_cash)
    return points


def _point_params(plan: Plan, point_axes: list[int], indices) -> dict:
    """The swept values (by dotted key) of a point, from its value indices on the point axes."""
    return {plan.axes[a].key: plan.axes[a].values[int(i)] for a, i in zip(point_axes, indices)}


def _context_key(config: Config, strategy_series: list[str]) -> str:
    d = config.to_dict()
    d.pop("sweep", None)
    d["strategy"] = {k: v for k, v in d["strategy"].items() if k != "params"}
    d["portfolio"] = {k: v for k, v in d["portfolio"].items() if f"portfolio.{k}" not in KERNEL_KEYS}
    return json.dumps([d, str(config.base_dir), strategy_series], sort_keys=True, default=str)


def _params_key(leg) -> str:
    return json.dumps([leg.strategy.name, leg.strategy.source, vars(leg.params)], sort_keys=True, default=str)
