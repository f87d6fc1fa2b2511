"""Parameter sweeps: grid expansion, batching, backends (local, ray), resume, result table.

A sweep is a base config (the YAML file with `--set` overrides) and a grid: one axis per dotted
config key, each with a list of values. Every combination is one `backtest run` with those
values set; its statistics are computed by the same kernels as `backtest run`
(`backtest.kernels.stats`), on a simulation by `backtest.kernels.rebalance` that follows the
engine's order semantics exactly.

Work is shared across combinations:
- keys read by the simulation only (`portfolio.fees`, `portfolio.slippage`,
  `portfolio.initial_cash`) are per-combination scalars of the compiled kernel;
- every other key defines a "point"; points that need the same data (same config apart from
  the strategy parameters and those scalars, same series) share one loaded data set (a
  "context"), and the strategy is called once per distinct strategy parameter set;
- the benchmark is computed once per context and distinct (fees, slippage, initial cash).

Combinations run in batches; each finished batch is written at once as a Parquet part file under
`<out>/<sweep_id>/parts/`, so an interrupted sweep keeps its finished combinations, and running
the same sweep again (the sweep id is a hash of the resolved base config and the grid) computes
only the rest. Nothing here prints: callers pass an `on_batch(done, total)` callback.
"""

from __future__ import annotations

import copy
import decimal
import hashlib
import itertools
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import yaml

from backtest.config import Config, parse_assignment, read_yaml, set_dotted, validate
from backtest.errors import ConfigError
from backtest.ranking import Ranking
from backtest.results import atomic_file, remove_stale_temps, temp_path
from backtest.strategy import SERIES_KINDS, parameter_column, parameter_columns

KERNEL_KEYS = ("portfolio.fees", "portfolio.slippage", "portfolio.initial_cash")
RF_SERIES = "ff_factors:RF"
DEFAULT_METRIC = "sharpe"
DEFAULT_BATCH = 4096
MAX_COMBINATIONS = 10_000_000  # a full grid beyond this needs --samples (the plan is held in memory)
EQUITY_BATCH = 256  # combinations per batch when equity curves are kept (rows x batch floats)
GPU_BATCH = 1 << 20  # combinations per batch on the GPU: one launch keeps every core busy
BACKENDS = ("local", "ray", "cuda", "auto")
TABLE_CHUNK = 1 << 20  # rows of the result table converted and written at a time
TOP_KEPT = 1000  # combinations a sweep keeps in memory, best first (the full table is on disk)
CSV_MAX_ROWS = 1_000_000  # results.csv up to this many combinations (10^7 rows: 3 GB of text, 25 s)
PARQUET = {"compression": "lz4"}  # 2-3x faster to write than the default (snappy with dictionaries)


# ---------------------------------------------------------------------------------------------
# grid values


def _scalar(text: str) -> Any:
    """A YAML scalar: '7' -> 7, '0.5' -> 0.5, 'null' -> None, 'ff_size:Lo 10' -> that string."""
    text = text.strip()
    if not text:
        return ""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _number(text: str) -> decimal.Decimal | None:
    text = text.strip()
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_values(spec: Any, where: str = "grid") -> list:
    """Grid values from a spec: `a:b` (integers, inclusive), `a:b:step` (inclusive end within
    rounding), `v1,v2,...` (YAML scalars), a YAML list, or a single value."""
    if isinstance(spec, (list, tuple)):
        values = list(spec)
    elif not isinstance(spec, str):
        values = [spec]
    else:
        text = spec.strip()
        parts = text.split(":")
        numbers = [_number(p) for p in parts]
        if "," not in text and len(parts) in (2, 3) and all(n is not None for n in numbers):
            values = _range(parts, numbers, where)
        elif "," in text:
            values = [_scalar(v) for v in text.split(",")]
        else:
            values = [_scalar(text)]
    if not values:
        raise ConfigError(f"{where}: no values")
    unique = []
    for value in values:
        if not any(value == u and type(value) is type(u) for u in unique):
            unique.append(value)
    return unique


def _range(parts: list[str], numbers: list[decimal.Decimal], where: str) -> list:
    start, stop = numbers[0], numbers[1]
    if len(numbers) == 2:
        if start != start.to_integral_value() or stop != stop.to_integral_value():
            raise ConfigError(f"{where}: {':'.join(parts)}: a:b takes integers; give a step (a:b:step) for decimals")
        step = decimal.Decimal(1)
    else:
        step = numbers[2]
    if step <= 0:
        raise ConfigError(f"{where}: {':'.join(parts)}: the step must be positive")
    if stop < start:
        raise ConfigError(f"{where}: {':'.join(parts)}: the end is before the start")
    count = int((stop - start) / step + decimal.Decimal("1e-9")) + 1
    if count > 10_000_000:
        raise ConfigError(f"{where}: {':'.join(parts)}: more than 10 million values")
    integral = all(n == n.to_integral_value() and "." not in p and "e" not in p.lower() for n, p in zip(numbers, parts))
    values = [start + i * step for i in range(count)]
    return [int(v) if integral else float(v) for v in values]


def parse_grid_option(text: str) -> tuple[str, list]:
    """'--grid key=spec' -> (key, values)."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--grid {text!r}: expected dotted.key=values (a:b, a:b:step or v1,v2,...)")
    return key, parse_values(spec, where=f"--grid {key}")


# ---------------------------------------------------------------------------------------------
# the plan: base config, axes, combinations, sweep id


@dataclass(frozen=True)
class Axis:
    key: str
    values: list


@dataclass
class Plan:
    """Everything that defines a sweep (and its id); plain data, picklable for remote workers."""

    raw: dict  # the base config (overrides applied, without `sweep`)
    source: str  # the config file, for error messages
    base_dir: Path
    axes: list[Axis]
    combos: np.ndarray  # (C, A) int32, column-major: value index of each axis, in combination order
    metric: str
    samples: int | None
    seed: int
    sweep_id: str = ""
    strategy_name: str = "sweep"

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    def params(self, c: int) -> dict:
        """The swept values of combination c, by dotted key."""
        return {a.key: a.values[int(i)] for a, i in zip(self.axes, self.combos[c])}


def make_plan(
    config_path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    grid: list[str] | tuple[str, ...] = (),
    samples: int | None = None,
    seed: int | None = None,
    metric: str | None = None,
) -> Plan:
    """Read the config, apply `--set` overrides, merge the `sweep:` section with `--grid` options
    (a `--grid` key replaces the same key of the section), expand and validate the grid."""
    path = Path(config_path)
    raw = read_yaml(path)
    for text in overrides:
        set_dotted(raw, *parse_assignment(text))
    base = validate(raw, source=str(path), base_dir=path.parent)
    section = base.sweep
    axes: dict[str, list] = {}
    if section is not None:
        for key, spec in section.grid.items():
            axes[key] = parse_values(spec, where=f"{path}: sweep.grid.{key}")
    for text in grid:
        key, values = parse_grid_option(text)
        axes[key] = values
    if not axes:
        raise ConfigError(f"{path}: nothing to sweep (give --grid key=values or a sweep.grid section)")
    if samples is None and section is not None:
        samples = section.samples
    if seed is None:
        seed = section.seed if section is not None else 0
    if metric is None:
        metric = section.metric if section is not None else DEFAULT_METRIC
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    axis_list = [Axis(k, v) for k, v in axes.items()]
    sizes = [len(a.values) for a in axis_list]
    total = math.prod(sizes)
    if samples is not None:
        if samples < 1:
            raise ConfigError("--samples: must be at least 1")
        if samples < total:
            rng = np.random.default_rng(seed)
            flat = np.sort(rng.choice(total, size=samples, replace=False))
        else:
            flat = np.arange(total)
    else:
        if total > MAX_COMBINATIONS:
            raise ConfigError(f"grid: {total:,} combinations; use --samples to draw a subset")
        flat = np.arange(total)
    # int32 value indices (an axis has at most 10^7 values): a 10^7-combination plan of 4 axes is
    # 160 MB; column-major, so an axis's column (what the sweep reads) is contiguous
    combos = np.empty((len(flat), len(sizes)), dtype=np.int32, order="F")
    if len(flat) == total:  # the whole grid: each column is a value index repeated in blocks
        for i, size in enumerate(sizes):
            combos[:, i].reshape(math.prod(sizes[:i]), size, -1)[:] = np.arange(size, dtype=np.int32)[None, :, None]
    else:
        for i, column in enumerate(np.unravel_index(flat, sizes)):
            combos[:, i] = column
    plan = Plan(
        raw=raw,
        source=str(path),
        base_dir=path.parent,
        axes=axis_list,
        combos=combos,
        metric=metric,
        samples=samples,
        seed=int(seed),
        strategy_name=base.strategy.name or Path(base.strategy.file or "strategy").stem,
    )
    _check_axes(plan)
    plan.sweep_id = sweep_id(plan)
    return plan


def _check_axes(plan: Plan) -> None:
    """Validate every value of every axis on the base config, like `backtest run --set key=value`."""
    from backtest.pipeline import resolve_leg

    for axis in plan.axes:
        for value in axis.values:
            raw = copy.deepcopy(plan.raw)
            try:
                set_dotted(raw, axis.key, value)
            except ConfigError as exc:
                raise ConfigError(str(exc).replace("--set", "--grid", 1)) from None
            config = validate(raw, source=plan.source, base_dir=plan.base_dir)
            if axis.key.startswith(("strategy.", "benchmark.")):
                resolve_leg(config.strategy, "strategy", config)
                if config.benchmark is not None:
                    resolve_leg(config.benchmark, "benchmark", config)


def base_config(plan: Plan) -> dict:
    """The resolved base config (defaults filled in, overrides applied, no `sweep` section)."""
    base = validate(copy.deepcopy(plan.raw), source=plan.source, base_dir=plan.base_dir).to_dict()
    base.pop("sweep", None)
    return base


def sweep_id(plan: Plan) -> str:
    """Deterministic: the same base config, grid and sampling give the same id."""
    base = base_config(plan)
    payload = {
        "config": base,
        "base_dir": str(Path(plan.base_dir).resolve()),
        "grid": [[a.key, a.values] for a in plan.axes],
        "samples": plan.samples,
        "seed": plan.seed if plan.samples is not None else None,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{plan.strategy_name}-sweep-{digest[:12]}"


# ---------------------------------------------------------------------------------------------
# the evaluator: contexts (data), weight sets, benchmark curves, the compiled batch


def stat_names(with_relative: bool) -> list[str]:
    from backtest.kernels.stats import RELATIVE_STAT_NAMES, STAT_NAMES

    return list(STAT_NAMES) + (list(RELATIVE_STAT_NAMES) if with_relative else [])


@dataclass
class WeightSet:
    cols: np.ndarray  # (k,) int64 price columns
    fee_free: np.ndarray  # (k,) bool
    rows: np.ndarray  # (m,) int64 rebalance rows
    weights: np.ndarray  # (m, k) float64


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
    cash_asset: str | None
    benchmark: Any = None  # Leg or None
    bench_set: WeightSet | None = None
    bench_curves: dict = field(default_factory=dict)  # (fees, slippage, init) -> equity


def weight_set(context: Context, target_weights) -> WeightSet:
    """A strategy's target weights as the engine's order inputs (`backtest.engine.simulate`):
    its columns, plus the fee-free cash asset taking max(1 - sum(w), 0) on rebalance rows."""
    values = target_weights.to_numpy(dtype=np.float64)
    cols, fee_free = set_columns(context, list(target_weights.columns))
    if context.cash_asset is not None:
        missing = np.isnan(values)
        invested = np.where(missing, 0.0, values).sum(axis=1)  # pandas' sum(axis=1, min_count=1)
        invested[missing.all(axis=1)] = np.nan
        values = np.column_stack([values, np.maximum(1.0 - invested, 0.0)])
    keep = ~np.isnan(values).all(axis=1)
    rows = np.searchsorted(context.index_ns, target_weights.index.to_numpy(dtype="datetime64[ns]").view(np.int64))
    return WeightSet(
        cols=cols,
        fee_free=fee_free,
        rows=np.ascontiguousarray(rows[keep], dtype=np.int64),
        weights=np.ascontiguousarray(values[keep]),
    )


def set_columns(context: Context, assets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The price columns a strategy trading `assets` uses, and which are fee-free: its assets,
    then the cash asset (where the portfolio has one)."""
    fee_free = [False] * len(assets)
    if context.cash_asset is not None:
        assets = [*assets, context.cash_asset]
        fee_free.append(True)
    return np.array([context.columns[a] for a in assets], dtype=np.int64), np.array(fee_free, dtype=np.bool_)


def _context_key(config: Config, strategy_series: list[str]) -> str:
    d = config.to_dict()
    d.pop("sweep", None)
    d["strategy"] = {k: v for k, v in d["strategy"].items() if k != "params"}
    d["portfolio"] = {k: v for k, v in d["portfolio"].items() if f"portfolio.{k}" not in KERNEL_KEYS}
    return json.dumps([d, str(config.base_dir), strategy_series], sort_keys=True, default=str)


def _params_key(leg) -> str:
    return json.dumps([leg.strategy.name, leg.strategy.source, vars(leg.params)], sort_keys=True, default=str)


def _codes(indices: np.ndarray, sizes: list[int]) -> np.ndarray | None:
    """One int64 code per row of value indices (mixed radix: the same order as the rows
    sorted lexicographically); None where the grid is too large for int64 codes."""
    if math.prod(sizes) >= 2**62:
        return None
    if not sizes:
        return np.zeros(len(indices), dtype=np.int64)
    return np.ravel_multi_index(tuple(indices.T), sizes).astype(np.int64)


def _points(plan: Plan, point_axes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct points (rows of value indices of the point axes, sorted) and each
    combination's point, from integer codes (np.unique over rows is ~20x slower at 10^7)."""
    if not point_axes:
        return np.zeros((1, 0), dtype=np.int64), np.zeros(len(plan.combos), dtype=np.int64)
    sizes = [len(plan.axes[i].values) for i in point_axes]
    indices = plan.combos[:, point_axes]
    codes = _codes(indices, sizes)
    if codes is None:
        values, inverse = np.unique(indices, axis=0, return_inverse=True)
        return values, inverse.ravel().astype(np.int64)
    distinct, inverse = np.unique(codes, return_inverse=True)
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


def _pool_weights(task):
    """Process-pool worker: compute weight sets of (context index, point index) pairs."""
    evaluator = _POOL_STATE["evaluator"]
    return [evaluator._compute_weight_set(p) for p in task]


class Evaluator:
    """Runs batches of a plan's combinations in this process (numba threads for the kernel,
    an optional process pool for the strategy calls)."""

    def __init__(self, plan: Plan, jobs: int = 1, keep_equity: bool = False):
        self.plan = plan
        self.on_gpu = False  # set by use_gpu()
        self.jobs = max(1, int(jobs))
        self.keep_equity = keep_equity
        kernel_axes = [i for i, a in enumerate(plan.axes) if a.key in KERNEL_KEYS]
        point_axes = [i for i, a in enumerate(plan.axes) if a.key not in KERNEL_KEYS]
        point_values, self.point_of_combo = _points(plan, point_axes)
        self.contexts: list[Context] = []
        self.point_context = np.empty(len(point_values), dtype=np.int64)
        self.point_set = np.empty(len(point_values), dtype=np.int64)  # weight-set id
        self.set_points: list[int] | np.ndarray = []  # a representative point of each weight set
        kernel = np.empty((len(point_values), 3))
        if all(plan.axes[i].key.startswith("strategy.params.") and plan.axes[i].key.count(".") == 2 for i in point_axes):
            # only whole strategy parameters vary: the config is the base one for every point
            self.point_leg = self._parameter_points(point_axes, point_values)
            portfolio = self._base.portfolio
            kernel[:] = (portfolio.fees, portfolio.slippage, portfolio.initial_cash)
        else:
            self.point_leg = PointLegs()
            self._config_points(point_axes, point_values, kernel)
        # the kernel's scalars (fees, slippage, initial cash): each point's, where a swept kernel
        # key does not replace them per combination (`kernel_scalars`; no array per combination)
        self.point_kernel = kernel
        self.kernel_axes = [(i, KERNEL_KEYS.index(plan.axes[i].key), np.array([float(v) for v in plan.axes[i].values])) for i in kernel_axes]
        self.with_relative = any(c.benchmark is not None for c in self.contexts)
        self.names = stat_names(self.with_relative)
        self.sets: dict[int, WeightSet] = {}
        self.gpu_rules: dict = {}  # context id -> its per-thread rule on the GPU, or None (_gpu_rule)
        self.prices_t: dict = {}  # context id -> its prices transposed, for the GPU
        self._pool = None

    def kernel_scalars(self, combo_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fees, slippage and initial cash of each of the combinations (contiguous float64)."""
        scalars = self.point_kernel[self.point_of_combo[combo_ids]]
        for axis, column, values in self.kernel_axes:
            scalars[:, column] = values[self.plan.combos[combo_ids, axis]]
        return tuple(np.ascontiguousarray(scalars[:, j]) for j in range(3))

    # -- set-up

    def _parameter_points(self, point_axes: list[int], point_values: np.ndarray) -> "ParameterLegs":
        """Points that differ in top-level strategy parameters only: each axis value is resolved
        once, and points are told apart by integer codes per axis (no config, key or copy per
        point). Equal to `_config_points`: a parameter is coerced on its own (`resolve_params`)."""
        from backtest.pipeline import catalogs, prepare, resolve_leg

        plan = self.plan
        base = self._base = validate(copy.deepcopy(plan.raw), source=plan.source, base_dir=plan.base_dir)
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
        keys = _codes(coded, [len(v) for v in values])
        keys = coded if keys is None else keys
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.point_set[:] = rank[inverse.ravel()]
        self.set_points = first[order]  # an array: a Python list of 10^7 ints costs seconds and ~0.3 GB
        # contexts: one per distinct list of traded series (all that parameters change in the data),
        # looked at once per distinct combination of the series parameters' values
        kinds = {param.name: param.kind for param in base_leg.strategy.params}
        series_axes = [a for a, name in enumerate(names) if kinds[name] in SERIES_KINDS]
        keys = _codes(coded[:, series_axes], [len(values[a]) for a in series_axes])
        keys = coded[:, series_axes] if keys is None else keys
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None)
        context_ids: dict[str, int] = {}
        group_context = np.empty(len(first), dtype=np.int64)
        for g in np.argsort(first, kind="stable").tolist():  # contexts numbered by first appearance
            p = int(first[g])
            key = _context_key(base, legs[p].series)
            if key not in context_ids:
                context_ids[key] = len(self.contexts)
                raw = copy.deepcopy(plan.raw)
                for axis_i, value_i in zip(point_axes, point_values[p]):
                    set_dotted(raw, plan.axes[axis_i].key, plan.axes[axis_i].values[int(value_i)])
                self.contexts.append(self._context(prepare(validate(raw, source=plan.source, base_dir=plan.base_dir))))
            group_context[g] = context_ids[key]
        self.point_context[:] = group_context[inverse.ravel()]
        return legs

    def _config_points(self, point_axes: list[int], point_values: np.ndarray, kernel: np.ndarray) -> None:
        """Points that differ in any config key: a validated config, data context and strategy
        parameter set per point."""
        from backtest.pipeline import Leg, catalogs, prepare, resolve_leg

        plan = self.plan
        context_ids: dict[str, int] = {}
        set_ids: dict[tuple, int] = {}
        params_only = all(plan.axes[i].key.startswith("strategy.params.") for i in point_axes)
        if params_only:
            # only strategy parameters vary: the config is the base one (its params are a free
            # mapping), and each point's parameters are checked by the strategy's declarations
            base = validate(copy.deepcopy(plan.raw), source=plan.source, base_dir=plan.base_dir)
            base_leg = resolve_leg(base.strategy, "strategy", base)
            user_catalogs = catalogs(base)
        for p, indices in enumerate(point_values):
            raw = None
            if params_only:
                config = base
                values = copy.deepcopy(base.strategy.params)
                holder = {"params": values}
                for axis_i, value_i in zip(point_axes, indices):
                    set_dotted(holder, plan.axes[axis_i].key.removeprefix("strategy."), plan.axes[axis_i].values[int(value_i)])
                leg = Leg("strategy", base_leg.strategy,
                          base_leg.strategy.resolve_params(holder["params"], where="strategy.params", catalogs=user_catalogs))
            else:
                raw = copy.deepcopy(plan.raw)
                for axis_i, value_i in zip(point_axes, indices):
                    set_dotted(raw, plan.axes[axis_i].key, plan.axes[axis_i].values[int(value_i)])
                config = validate(raw, source=plan.source, base_dir=plan.base_dir)
                leg = resolve_leg(config.strategy, "strategy", config)
            key = _context_key(config, leg.series)
            if key not in context_ids:
                if raw is None:  # the point's own config: its series decide the data loaded
                    raw = copy.deepcopy(plan.raw)
                    for axis_i, value_i in zip(point_axes, indices):
                        set_dotted(raw, plan.axes[axis_i].key, plan.axes[axis_i].values[int(value_i)])
                context_ids[key] = len(self.contexts)
                self.contexts.append(self._context(prepare(validate(raw, source=plan.source, base_dir=plan.base_dir))))
            ctx = context_ids[key]
            self.point_context[p] = ctx
            self.point_leg.append(leg)
            skey = (ctx, _params_key(leg))
            if skey not in set_ids:
                set_ids[skey] = len(self.set_points)
                self.set_points.append(p)
            self.point_set[p] = set_ids[skey]
            kernel[p] = (config.portfolio.fees, config.portfolio.slippage, config.portfolio.initial_cash)

    def _context(self, prepared) -> Context:
        from backtest.engine import price_levels

        returns = prepared.returns
        config = prepared.config
        index = returns.index
        if index.tz is not None:
            index = index.tz_localize(None)
        return Context(
            prepared=prepared,
            prices=np.ascontiguousarray(price_levels(returns)),
            columns={c: i for i, c in enumerate(returns.columns)},
            day_number=np.ascontiguousarray(index.to_numpy().astype("datetime64[D]").astype(np.int64)),
            year=np.ascontiguousarray(index.year.to_numpy().astype(np.int64)),
            index_ns=returns.index.to_numpy(dtype="datetime64[ns]").view(np.int64),
            ppy=float(config.stats.periods_per_year),
            cash_asset=RF_SERIES if config.portfolio.cash == "rf" else None,
            benchmark=prepared.legs[1] if len(prepared.legs) > 1 else None,
        )

    def _compute_weight_set(self, point: int) -> WeightSet:
        context = self.contexts[self.point_context[point]]
        leg = self.point_leg[point]
        return weight_set(context, leg.strategy.target_weights(context.prepared.returns, leg.params))

    def _ensure_sets(self, set_ids) -> None:
        missing = [int(s) for s in set_ids if int(s) not in self.sets]
        if not missing:
            return
        points = [self.set_points[s] for s in missing]
        if self.jobs > 1 and len(points) >= 2 * self.jobs and self._can_fork():
            pool = self._get_pool()
            size = max(1, math.ceil(len(points) / (self.jobs * 4)))
            tasks = [points[i : i + size] for i in range(0, len(points), size)]
            computed = [ws for chunk in pool.map(_pool_weights, tasks) for ws in chunk]
        else:
            computed = [self._compute_weight_set(p) for p in points]
        for s, ws in zip(missing, computed):
            self.sets[s] = ws

    def _get_pool(self):
        if self._pool is None:
            import multiprocessing

            _POOL_STATE["evaluator"] = self  # inherited by the forked workers
            self._pool = multiprocessing.get_context("fork").Pool(self.jobs)
        return self._pool

    def _can_fork(self) -> bool:
        import multiprocessing

        return "fork" in multiprocessing.get_all_start_methods()

    def start_pool(self) -> None:
        """Fork the strategy workers now (before numba starts its threads), if they will be used."""
        if self.jobs > 1 and len(self.set_points) >= 2 * self.jobs and self._can_fork():
            self._get_pool()

    def gpu_refusal(self) -> str | None:
        """Why the combinations cannot run on the GPU (None: they can)."""
        if self.keep_equity:
            return "--keep-equity saves curves, which the GPU kernel does not keep"
        _, first_points = np.unique(self.point_context, return_index=True)  # a context's points share their strategy
        names = sorted({leg.strategy.name for leg in map(self.point_leg.__getitem__, first_points) if not leg.strategy.gpu})
        if names:
            return f"strategy {', '.join(names)} does not declare GPU = True"
        return None

    def use_gpu(self, device: int) -> None:
        """Run the batches on CUDA GPU `device` (see `gpu_problem` and `gpu_refusal` first)."""
        from backtest.kernels import cuda

        cuda.select(device)
        self.on_gpu = True

    def close(self) -> None:
        if self.on_gpu:
            from backtest.kernels import cuda

            cuda.release()
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
            _POOL_STATE.clear()

    def _bench_curve(self, context: Context, fees: float, slippage: float, init: float) -> np.ndarray:
        key = (fees, slippage, init)
        if key not in context.bench_curves:
            if context.bench_set is None:
                leg = context.benchmark
                context.bench_set = weight_set(context, leg.strategy.target_weights(context.prepared.returns, leg.params))
            context.bench_curves[key] = _simulate(context, context.bench_set, fees, slippage, init)
        return context.bench_curves[key]

    # -- running

    def _gpu_rule(self, ctx_id: int):
        """On the GPU, where the context's strategy gives its rule per thread (`gpu_tables`,
        `gpu_weights`): (gpu_weights, int table, float table, the context's points in order,
        their rule parameters), made once from the data and every point of the grid; else None."""
        if not self.on_gpu:
            return None
        if ctx_id not in self.gpu_rules:
            points = np.flatnonzero(self.point_context == ctx_id)
            leg = self.point_leg[points[0]]
            rule = None
            if leg.strategy.gpu_rule is not None:
                returns = self.contexts[ctx_id].prepared.returns
                tables = leg.strategy.rule_tables(returns, self.point_leg.columns(points), len(points))
                rule = (leg.strategy.gpu_rule[1], *tables[:2], points, tables[2])
            self.gpu_rules[ctx_id] = rule
        return self.gpu_rules[ctx_id]

    def host_sets(self, combo_ids: np.ndarray) -> np.ndarray:
        """The weight sets the combinations need from the host: all but those whose weights the
        GPU threads compute (`_gpu_rule`)."""
        points = self.point_of_combo[combo_ids]
        contexts = self.point_context[points]
        on_host = np.isin(contexts, [c for c in np.unique(contexts) if self._gpu_rule(int(c)) is None])
        return np.unique(self.point_set[points[on_host]])

    def _weight_set_inputs(self, set_ids: np.ndarray):
        """Host weight sets in `sweep_nb`'s CSR form: (cols, ncols, fee_free, ptr, rows, weights)."""
        sets = [self.sets[int(s)] for s in set_ids]
        kmax = max(ws.cols.shape[0] for ws in sets)
        set_cols = np.zeros((len(sets), kmax), dtype=np.int64)
        set_fee_free = np.zeros((len(sets), kmax), dtype=np.bool_)
        set_ncols = np.zeros(len(sets), dtype=np.int64)
        ptr = np.zeros(len(sets) + 1, dtype=np.int64)
        for j, ws in enumerate(sets):
            k = ws.cols.shape[0]
            set_cols[j, :k] = ws.cols
            set_fee_free[j, :k] = ws.fee_free
            set_ncols[j] = k
            ptr[j + 1] = ptr[j] + ws.rows.shape[0]
        rows = np.zeros(ptr[-1], dtype=np.int64)
        weights = np.full((ptr[-1], kmax), np.nan)
        for j, ws in enumerate(sets):
            rows[ptr[j] : ptr[j + 1]] = ws.rows
            weights[ptr[j] : ptr[j + 1], : ws.cols.shape[0]] = ws.weights
        return set_cols, set_ncols, set_fee_free, ptr, rows, weights

    def run_batch(self, combo_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Statistics (len(combo_ids), len(self.names)) and, with keep_equity, equity curves
        (len(combo_ids), rows) of the given combinations."""
        from backtest.kernels.rebalance import sweep_nb

        combo_ids = np.asarray(combo_ids, dtype=np.int64)
        points = self.point_of_combo[combo_ids]
        sets = self.point_set[points]
        contexts = self.point_context[points]
        self._ensure_sets(self.host_sets(combo_ids))
        out = np.full((len(combo_ids), len(self.names)), np.nan)
        equity_out = None
        for ctx_id in np.unique(contexts):
            context = self.contexts[ctx_id]
            members = np.flatnonzero(contexts == ctx_id)
            rule = self._gpu_rule(int(ctx_id))
            if rule is None:
                local_sets, combo_set = np.unique(sets[members], return_inverse=True)
                combo_set = combo_set.astype(np.int64).ravel()
                set_cols, set_ncols, set_fee_free, ptr, rows, weights = self._weight_set_inputs(local_sets)
                names = [self.point_leg[self.set_points[int(s)]].strategy.name for s in local_sets]
            else:
                cols, fee_free = set_columns(context, self.point_leg[rule[3][0]].series)
                set_cols, set_fee_free, set_ncols = cols[None, :], fee_free[None, :], np.array([cols.shape[0]])
                combo_set = np.zeros(len(members), dtype=np.int64)
                names = [self.point_leg[rule[3][0]].strategy.name]
            ids = combo_ids[members]
            fees, slippage, init = self.kernel_scalars(ids)
            n = context.prices.shape[0]
            if context.benchmark is not None:
                # one benchmark curve per distinct (fees, slippage, initial cash) of the batch
                triples, combo_bench = np.unique(np.column_stack([fees, slippage, init]), axis=0, return_inverse=True)
                combo_bench = combo_bench.astype(np.int64).ravel()
                bench_equity = np.empty((len(triples), n))
                for b, key in enumerate(triples.tolist()):
                    bench_equity[b] = self._bench_curve(context, *key)
                bench_init = np.ascontiguousarray(triples[:, 2])
            else:
                combo_bench = np.full(len(ids), -1, dtype=np.int64)
                bench_equity = np.empty((0, n))
                bench_init = np.empty(0)
            local_out = np.empty((len(ids), len(self.names)))
            if self.keep_equity:
                local_equity = np.empty((len(ids), n))
            else:
                local_equity = np.empty((0, n))
            per_combo = (fees, slippage, init, combo_bench, bench_equity, bench_init, context.ppy, context.day_number, context.year)
            if self.on_gpu:
                from backtest.kernels.cuda import MAX_COLS, csr_rule, sweep_cuda

                kmax = set_cols.shape[1]
                if kmax > MAX_COLS:
                    name = names[int(np.argmax(set_ncols))]
                    raise ConfigError(f"--backend cuda: strategy {name} trades {kmax} columns with the cash asset; the GPU kernel takes at most {MAX_COLS} (run it with --backend local)")
                if rule is None:
                    gpu_weights, targets = None, csr_rule(ptr, rows, weights, combo_set)
                else:
                    gpu_weights, ints, floats, rule_points, params = rule
                    targets = (ints, floats, params[np.searchsorted(rule_points, points[members])])
                prices_t = self.prices_t.setdefault(int(ctx_id), np.ascontiguousarray(context.prices.T))
                sweep_cuda(prices_t, set_cols, set_ncols, set_fee_free, combo_set, gpu_weights, *targets, *per_combo, local_out)
            else:
                threads = _threads()
                chunk = max(1, min(64, math.ceil(len(ids) / (threads * 4))))
                sweep_nb(context.prices, set_cols, set_ncols, set_fee_free, ptr, rows, weights, combo_set, *per_combo, chunk, local_out, local_equity)
            out[members] = local_out
            if self.keep_equity:
                if equity_out is None:
                    equity_out = np.full((len(combo_ids), n), np.nan)
                equity_out[members, : local_equity.shape[1]] = local_equity
        return out, equity_out

    def dates(self, combo: int):
        return self.contexts[self.point_context[self.point_of_combo[combo]]].prepared.returns.index


@dataclass
class Curves:
    """One combination's equity curves as the sweep computes them."""

    dates: Any  # pandas DatetimeIndex
    strategy: np.ndarray
    benchmark: np.ndarray | None
    initial_cash: float
    periods_per_year: float


def combination_curves(plan: Plan, params: dict) -> Curves:
    """One combination's equity curves by the batch kernel (equal to `backtest run` to 1e-9)."""
    single = Plan(raw=plan.raw, source=plan.source, base_dir=plan.base_dir, axes=[Axis(key, [value]) for key, value in params.items()],
                  combos=np.zeros((1, len(params)), dtype=np.int32), metric=plan.metric, samples=None, seed=0)
    evaluator = Evaluator(single, keep_equity=True)
    try:
        _, equity = evaluator.run_batch(np.zeros(1, dtype=np.int64))
    finally:
        evaluator.close()
    context = evaluator.contexts[0]
    fees, slippage, init = (float(a[0]) for a in evaluator.kernel_scalars(np.zeros(1, dtype=np.int64)))
    benchmark = evaluator._bench_curve(context, fees, slippage, init) if context.benchmark is not None else None
    return Curves(context.prepared.returns.index, equity[0], benchmark, init, context.ppy)


def _simulate(context: Context, ws: WeightSet, fees: float, slippage: float, init: float) -> np.ndarray:
    """One weight set's equity curve, through the batch kernel (one compiled function to load)."""
    from backtest.kernels.rebalance import sweep_nb

    n = context.prices.shape[0]
    k = ws.cols.shape[0]
    equity = np.empty((1, n))
    sweep_nb(
        context.prices, ws.cols[None, :], np.array([k]), ws.fee_free[None, :], np.array([0, ws.rows.shape[0]]),
        ws.rows, ws.weights, np.zeros(1, dtype=np.int64), np.array([float(fees)]), np.array([float(slippage)]),
        np.array([float(init)]), np.full(1, -1, dtype=np.int64), np.empty((0, n)), np.empty(0), context.ppy,
        context.day_number, context.year, 1, np.empty((1, len(stat_names(False)))), equity,
    )
    return equity[0]


def _threads() -> int:
    import numba

    return numba.get_num_threads()


# ---------------------------------------------------------------------------------------------
# storage: part files, resume, the final table


class Store:
    """`<out>/<sweep_id>/`: sweep.json, parts/*.parquet (one per finished batch), results.*"""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.parts = self.root / "parts"

    def open(self, manifest: str) -> None:
        """Create the directory with its sweep.json in one rename (a crash leaves neither or
        both), or refresh sweep.json of an existing one; clear what killed writers left."""
        remove_stale_temps(self.root.parent)
        if not self.root.is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            tmp = temp_path(self.root)
            tmp.mkdir()
            (tmp / "sweep.json").write_text(manifest)
            try:
                os.replace(tmp, self.root)
            except OSError:  # another process created it first: refresh theirs below
                shutil.rmtree(tmp, ignore_errors=True)
        atomic_file(self.root / "sweep.json", lambda tmp: tmp.write_text(manifest))
        remove_stale_temps(self.root)
        remove_stale_temps(self.parts)

    def done(self, total: int) -> np.ndarray:
        """Whether each of the `total` combinations is already computed (in a part file)."""
        import pyarrow.parquet as pq

        found = np.zeros(total, dtype=np.bool_)
        for path in self.parts.glob("part-*.parquet") if self.parts.is_dir() else []:
            found[pq.read_table(path, columns=["combo"]).column(0).to_numpy()] = True
        return found

    def write_part(self, combo_ids: np.ndarray, stats: np.ndarray, names: list[str], equity=None, dates=None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.parts.mkdir(parents=True, exist_ok=True)
        # named by the batch's first and last combination: a recomputed batch replaces its file
        tag = f"{int(combo_ids[0]):09d}-{int(combo_ids[-1]):09d}"
        if equity is not None:
            folder = self.root / "equity"
            folder.mkdir(parents=True, exist_ok=True)
            columns = {"date": pa.array(np.asarray(dates, dtype="datetime64[ns]"))}
            for i, c in enumerate(combo_ids.tolist()):
                columns[str(c)] = pa.array(equity[i])
            _atomic_parquet(pa.table(columns), folder / f"equity-{tag}.parquet")
        columns = {"combo": pa.array(np.asarray(combo_ids, dtype=np.int64))}
        for j, name in enumerate(names):
            columns[name] = pa.array(stats[:, j])
        _atomic_parquet(pa.table(columns), self.parts / f"part-{tag}.parquet")

    def windows(self, names: list[str], total: int, rows: int | None = None):
        """The statistics of combinations 0..total-1 from the part files, in windows of `rows`
        combinations: (combination indices, (rows, len(names)) statistics). A part is read once,
        when the first window it reaches comes, and dropped after the last; so memory holds a
        window and the parts that span it, whatever the sweep's size. RuntimeError where a
        combination is in no part."""
        import pyarrow.parquet as pq

        rows = rows or TABLE_CHUNK
        files = []  # (first, last, path): parts are named by their first and last combination
        for path in self.parts.glob("part-*.parquet") if self.parts.is_dir() else []:
            first, _, last = path.stem.removeprefix("part-").partition("-")
            if first.isdigit() and last.isdigit():
                files.append((int(first), int(last), path))
        files.sort()
        loaded: list[tuple[int, np.ndarray, np.ndarray]] = []  # (last, combos, stats) of the parts in reach
        following = 0
        for start in range(0, total, rows):
            stop = min(start + rows, total)
            while following < len(files) and files[following][0] < stop:
                first, last, path = files[following]
                table = pq.read_table(path, columns=["combo", *names])
                combos = table.column("combo").to_numpy()
                if len(combos) and (combos.min() < first or combos.max() > last or last >= total):
                    raise RuntimeError(f"{path}: combinations outside {first}..{min(last, total - 1)}")
                stats = np.empty((len(combos), len(names)), order="F")  # column-major: columns copied whole
                for j, name in enumerate(names):
                    stats[:, j] = table.column(name).to_numpy(zero_copy_only=False)
                loaded.append((last, combos, stats))
                following += 1
            window = np.full((stop - start, len(names)), np.nan, order="F")
            found = np.zeros(stop - start, dtype=np.bool_)
            for _, combos, stats in loaded:
                if len(combos) == stop - start and combos[0] == start and combos[-1] == stop - 1:
                    window, found = stats, np.ones(stop - start, dtype=np.bool_)  # one part is the window
                    break
                inside = (combos >= start) & (combos < stop)
                window[combos[inside] - start] = stats[inside]
                found[combos[inside] - start] = True
            if not found.all():
                missing = start + int(np.argmin(found))
                raise RuntimeError(f"sweep {self.root.name}: combination {missing} is in no part file of {self.parts}")
            loaded = [part for part in loaded if part[0] >= stop]
            yield np.arange(start, stop, dtype=np.int64), window


def _atomic_parquet(table, path: Path) -> None:
    import pyarrow.parquet as pq

    atomic_file(path, lambda tmp: pq.write_table(table, tmp, use_dictionary=False, **PARQUET))  # floats rarely repeat


# ---------------------------------------------------------------------------------------------
# running a sweep


@dataclass
class SweepResult:
    """A finished sweep. Its full table is `directory/results.parquet`, or for a sweep run
    without an output directory the `stats` matrix; in memory it always keeps `ranking`, the best
    combinations by the metric (`top` of them, at least) and the moments of the deflated ratios,
    so a sweep of 10^7 combinations needs no more memory for its results than one of 10^3."""

    plan: Plan
    names: list[str]  # statistic columns
    computed: int  # combinations computed by this call (the rest were resumed)
    directory: Path | None
    ranking: Ranking
    stats: np.ndarray | None = None  # (C, S) in combination order: only without a directory

    @property
    def combinations(self) -> int:
        return len(self.plan.combos)

    def chunks(self, names: list[str] | None = None, rows: int | None = None):
        """(combination indices, (rows, len(names)) statistics) of every combination, a chunk at
        a time in combination order: from the table written, or from memory."""
        names = list(self.names if names is None else names)
        rows = rows or TABLE_CHUNK
        if self.stats is not None:
            columns = [self.names.index(name) for name in names]
            for start in range(0, self.combinations, rows):
                stop = min(start + rows, self.combinations)
                yield np.arange(start, stop, dtype=np.int64), self.stats[start:stop, columns]
            return
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.directory / "results.parquet")
        for batch in table.iter_batches(batch_size=rows, columns=["combo", *names]):
            figures = [batch.column(i).to_numpy(zero_copy_only=False) for i in range(1, batch.num_columns)]
            yield batch.column(0).to_numpy(), np.column_stack(figures) if figures else np.empty((batch.num_rows, 0))

    def frames(self, columns: list[str]):
        """DataFrames of just these swept keys and statistics, a chunk of combinations at a time."""
        import pandas as pd

        keys = [name for name in columns if name in self.plan.keys]
        figures = [name for name in columns if name not in keys]
        values = {key: pd.Series(_column(self.plan.axes[self.plan.keys.index(key)].values)).to_numpy() for key in keys}
        for combos, stats in self.chunks(figures):
            data = {key: values[key][self.plan.combos[combos, self.plan.keys.index(key)]] for key in keys}
            data.update(zip(figures, stats.T))
            yield pd.DataFrame(data, columns=columns)

    def order(self) -> np.ndarray:
        """The ranked combinations (the best `top` at least), best by the metric first (NaN last)."""
        return self.ranking.order()

    def records(self):
        """{"params": {...}, "stats": {...}} of every combination in order, JSON-ready (NaN ->
        None), one at a time."""
        for combos, stats in self.chunks():
            for c, figures in zip(combos.tolist(), stats.tolist()):
                yield self._record(c, figures)

    def record(self, c: int) -> dict:
        """{"params": {...}, "stats": {...}} of combination c, a ranked one (or any, in memory)."""
        if self.stats is not None:
            return self._record(c, self.stats[c].tolist())
        top = self.ranking.top
        rows = np.flatnonzero(top["combo"].to_numpy() == c)
        if not len(rows):
            raise KeyError(f"combination {c} is not among the {len(top)} ranked ones; read it from {self.directory / 'results.parquet'}")
        return self._record(c, top.loc[rows[0], self.names].to_numpy(dtype=float).tolist())

    def _record(self, c: int, figures: list[float]) -> dict:
        from backtest.results import json_safe
        from backtest.stats import COUNT_STATS

        stats = {name: int(value) if name in COUNT_STATS and not math.isnan(value) else value for name, value in zip(self.names, figures)}
        return json_safe({"params": self.plan.params(c), "stats": stats})


def _column(values: list) -> list:
    """Parameter values as a table column: numbers stay numbers, anything else becomes text."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return values
    if all(isinstance(v, bool) for v in values) or all(isinstance(v, str) for v in values):
        return values
    return [v if isinstance(v, str) else json.dumps(v) for v in values]


def batches(todo: np.ndarray, size: int) -> list[np.ndarray]:
    return [todo[i : i + size] for i in range(0, len(todo), size)]


def run_sweep(
    plan: Plan,
    out: Path | str | None = "results",
    jobs: int = 0,
    backend: str = "local",
    address: str | None = None,
    keep_equity: bool = False,
    batch_size: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    device: int = 0,
    notify: Callable[[str], None] | None = None,
    top: int = TOP_KEPT,
) -> SweepResult:
    """Run (or resume) a sweep; with `out` set, write batches as they finish and the final table.

    jobs: worker count (numba threads and strategy processes locally, Ray tasks in flight);
    0 means every CPU. `on_batch(done, total)` is called after each finished batch (it may raise
    to stop the sweep; finished batches stay saved).
    backend "cuda" runs the kernel on CUDA GPU `device` (no GPU: ConfigError); "auto" does where
    a GPU is present and the local backend otherwise. Where the strategy cannot run on the GPU,
    both run locally and say why through `notify(line)`.
    With `out` set, the full table goes to OUT/<sweep_id>/results.parquet (and .csv) a piece at a
    time and only the `top` best combinations stay in memory (`SweepResult.ranking`); with `out`
    None, the whole statistics matrix is returned in memory.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"--backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    check_metric(plan)
    jobs = jobs or os.cpu_count() or 1
    total = len(plan.combos)
    gpu = False
    if backend in ("cuda", "auto"):
        problem = gpu_problem(device)
        if problem is not None and backend == "cuda":
            raise ConfigError(f"--backend cuda: {problem}")
        gpu = problem is None
        backend = "local"
    if backend == "ray" and out is None:
        raise ConfigError("--backend ray needs an output directory")
    # local: every combination is validated and the data loaded before anything is written
    evaluator = Evaluator(plan, jobs=jobs, keep_equity=keep_equity) if backend == "local" else None
    if gpu:
        refusal = evaluator.gpu_refusal()
        if refusal is None:
            evaluator.use_gpu(device)
        elif notify is not None:
            notify(f"GPU not used: {refusal}; running on the CPU")
    if not batch_size:  # small enough for a moving progress bar, large enough to amortise a batch
        if evaluator is not None and evaluator.on_gpu:
            batch_size = GPU_BATCH
        else:
            batch_size = EQUITY_BATCH if keep_equity else int(min(DEFAULT_BATCH, max(512, total // 64)))
    store = Store(Path(out) / plan.sweep_id) if out is not None else None
    if store is not None:
        manifest = {
            "sweep_id": plan.sweep_id,
            "config": plan.source,
            "base_config": base_config(plan),
            "grid": {a.key: a.values for a in plan.axes},
            "samples": plan.samples,
            "seed": plan.seed,
            "combinations": total,
        }
        store.open(json.dumps(manifest, indent=2, default=str))
        done = store.done(total)
    else:
        done = np.zeros(total, dtype=np.bool_)
    todo = np.flatnonzero(~done).astype(np.int64)  # (np.setdiff1d takes ~9 s at 10^7)
    finished = total - len(todo)
    if on_batch is not None and finished:
        on_batch(finished, total)

    if backend == "ray":
        batch_size = max(1, min(batch_size, math.ceil(len(todo) / (4 * jobs)))) if len(todo) else batch_size
        names, kept = _run_ray(plan, todo, batch_size, jobs, address, keep_equity, store, finished, total, on_batch), None
    else:
        names, kept = _run_local(evaluator, todo, batch_size, jobs, store, finished, total, on_batch)
    ranking = Ranking(plan.metric, top)
    if store is not None:  # the table from the part files, a window at a time, ranked as it passes
        write_table(plan, names, ranked(store.windows(names, total), names, ranking), store.root)
    else:
        for _ in ranked(((np.arange(total, dtype=np.int64), kept),), names, ranking):
            pass
    return SweepResult(plan, names, len(todo), store.root if store else None, ranking, stats=kept)


def ranked(chunks, names: list[str], ranking: Ranking):
    """The chunks (combination indices, statistics) passed on unchanged, each added to `ranking`."""
    import pandas as pd

    for combos, stats in chunks:
        frame = pd.DataFrame(stats, columns=names, copy=False)
        frame.insert(0, "combo", combos)
        ranking.add(frame)
        yield combos, stats


def _run_local(evaluator, todo, batch_size, jobs, store, finished, total, on_batch):
    import numba

    previous_threads = numba.get_num_threads()
    numba.set_num_threads(max(1, min(jobs, numba.config.NUMBA_NUM_THREADS)))
    names = evaluator.names
    stats_kept = np.full((total, len(names)), np.nan) if store is None else None
    try:
        if len(todo):
            evaluator.start_pool()
        chunks = batches(todo, batch_size)
        # weight sets: computed in waves spanning several batches (fewer pool round trips), and
        # dropped after the last batch that uses them (memory stays bounded)
        batch_sets = [evaluator.host_sets(b) for b in chunks]
        last_use = np.full(len(evaluator.set_points), -1)
        for b, used in enumerate(batch_sets):
            last_use[used] = b
        wave = max(256, 32 * jobs)
        for b, batch in enumerate(chunks):
            if any(int(s) not in evaluator.sets for s in batch_sets[b]):
                needed, end = [], b
                while end < len(chunks) and (end == b or sum(map(len, needed)) < wave):
                    needed.append(batch_sets[end])
                    end += 1
                evaluator._ensure_sets(np.unique(np.concatenate(needed)))
            stats, equity = evaluator.run_batch(batch)
            for s in batch_sets[b][last_use[batch_sets[b]] == b]:
                evaluator.sets.pop(int(s), None)
            if store is not None:
                dates = evaluator.dates(int(batch[0])) if equity is not None else None
                store.write_part(batch, stats, names, equity, dates)
            else:
                stats_kept[batch] = stats
            finished += len(batch)
            if on_batch is not None:
                on_batch(finished, total)
    finally:
        evaluator.close()
        numba.set_num_threads(previous_threads)
    return names, stats_kept


# -- Ray backend: the same batches as Ray tasks; each worker process keeps its own Evaluator.

_RAY_EVALUATORS: dict = {}


def _ray_batch(plan: Plan, combo_ids: np.ndarray, keep_equity: bool):
    import numba

    numba.set_num_threads(1)
    evaluator = _RAY_EVALUATORS.get(plan.sweep_id)
    if evaluator is None:
        _RAY_EVALUATORS.clear()
        evaluator = _RAY_EVALUATORS[plan.sweep_id] = Evaluator(plan, jobs=1, keep_equity=keep_equity)
    stats, equity = evaluator.run_batch(combo_ids)
    dates = evaluator.dates(int(combo_ids[0])) if equity is not None else None
    return combo_ids, stats, evaluator.names, equity, dates


def _run_ray(plan, todo, batch_size, jobs, address, keep_equity, store, finished, total, on_batch):
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray: ray is not installed (pip install 'backtest[ray]')") from None
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(num_cpus=jobs, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    try:
        remote = ray.remote(num_cpus=1)(_ray_batch)
        plan_ref = ray.put(plan)
        names = stat_names(_has_benchmark(plan))
        pending = [remote.remote(plan_ref, batch, keep_equity) for batch in batches(todo, batch_size)]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            combo_ids, stats, names, equity, dates = ray.get(ready[0])
            store.write_part(combo_ids, stats, names, equity, dates)
            finished += len(combo_ids)
            if on_batch is not None:
                on_batch(finished, total)
    except BaseException:
        for ref in locals().get("pending", []):
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
    return names


def gpu_problem(device: int = 0) -> str | None:
    """Why the CUDA backend cannot run on GPU `device` here (None: it can)."""
    try:
        from backtest.kernels import cuda
    except ImportError:
        return "numba-cuda is not installed (pip install 'backtest[cuda]')"
    return cuda.unavailable(device)


def check_metric(plan: Plan) -> None:
    names = stat_names(_has_benchmark(plan))
    if plan.metric not in names:
        raise ConfigError(f"--metric {plan.metric}: unknown statistic (known: {', '.join(names)})")


def resolve_key(plan: Plan, name: str) -> str:
    """A swept key by its dotted name or a unique last part ("tilt" for strategy.params.tilt)."""
    name = name.strip()
    if name in plan.keys:
        return name
    matches = [k for k in plan.keys if k.endswith("." + name)]
    if len(matches) != 1:
        problem = "ambiguous" if matches else "not a swept key"
        raise ConfigError(f"--heatmap {name}: {problem} (swept: {', '.join(plan.keys)})")
    return matches[0]


def _has_benchmark(plan: Plan) -> bool:
    """Whether any combination has a benchmark (without loading any data)."""
    point_axes = [i for i, a in enumerate(plan.axes) if a.key not in KERNEL_KEYS]
    if not any(plan.axes[i].key.startswith("benchmark") for i in point_axes):
        return plan.raw.get("benchmark") is not None
    values = [plan.axes[i].values for i in point_axes]
    for combo in itertools.product(*values):
        raw = copy.deepcopy(plan.raw)
        for i, v in zip(point_axes, combo):
            set_dotted(raw, plan.axes[i].key, v)
        if raw.get("benchmark") is not None:
            return True
    return False


# ---------------------------------------------------------------------------------------------
# outputs: table files and the heatmap


def write_table(plan: Plan, names: list[str], chunks, directory: Path) -> None:
    """results.parquet (and, up to CSV_MAX_ROWS combinations, results.csv), each atomically, from
    chunks (combination indices, statistics) in combination order, a piece at a time (pyarrow
    writers): one row per combination, its swept values then its statistics; a table of 10^7
    rows is never in memory."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    values = [pa.array(_column(axis.values)) for axis in plan.axes]

    def write(parquet_tmp, csv_tmp=None):
        writers = []
        for combos, stats in chunks:
            columns = {"combo": pa.array(combos)}
            for i, axis in enumerate(plan.axes):
                columns[axis.key] = values[i].take(pa.array(plan.combos[combos, i]))
            for j, name in enumerate(names):
                columns[name] = pa.array(stats[:, j])
            table = pa.table(columns)
            if not writers:
                writers.append(pq.ParquetWriter(parquet_tmp, table.schema, use_dictionary=plan.keys, **PARQUET))  # repeated values: the swept keys
                if csv_tmp is not None:
                    writers.append(pacsv.CSVWriter(csv_tmp, table.schema))
            for writer in writers:
                writer.write_table(table)
        for writer in writers:
            writer.close()

    parquet = directory / "results.parquet"
    if len(plan.combos) > CSV_MAX_ROWS:
        atomic_file(parquet, write)
    else:  # the CSV is renamed into place first, then the Parquet file: both are whole when either is
        atomic_file(parquet, lambda parquet_tmp: atomic_file(directory / "results.csv", lambda csv_tmp: write(parquet_tmp, csv_tmp)))


def heatmap(result: SweepResult, x: str, y: str, path: Path, metric: str | None = None) -> Path:
    """PNG of the metric over two swept keys; other swept keys: the best value over them."""
    metric = metric or result.plan.metric
    keys = result.plan.keys
    for key in (x, y):
        if key not in keys:
            raise ConfigError(f"--heatmap {key}: not a swept key (swept: {', '.join(keys)})")
    if x == y:
        raise ConfigError("--heatmap: give two different swept keys")
    axis_values = {a.key: _column(a.values) for a in result.plan.axes}
    grid = metric_grid(result.frames([x, y, metric]), x, y, metric).reindex(index=axis_values[y], columns=axis_values[x])
    return heatmap_png(grid, x, y, metric, path, others=[k for k in keys if k not in (x, y)])


def metric_grid(tables, x: str, y: str, metric: str):
    """The metric over (y values as rows, x values as columns) from a result table given in
    pieces (DataFrames); where other keys were swept too, the best value over them; NaN where no
    combination has a value."""
    import pandas as pd

    best = [table.groupby([y, x], sort=False)[metric].max() for table in tables]
    return pd.concat(best).groupby(level=[0, 1], sort=True).max().unstack(x)


def heatmap_png(grid, x: str, y: str, metric: str, path: Path, others=()) -> Path:
    """PNG of a `metric_grid` (the sweep's heatmap and the sweep report's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = list(grid.columns), list(grid.index)
    fig, ax = plt.subplots(figsize=(min(16, 2 + 0.35 * len(xs)), min(12, 1.5 + 0.3 * len(ys))))
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for axis_set, labels in ((ax.set_xticks, xs), (ax.set_yticks, ys)):
        step = max(1, len(labels) // 20)
        positions = list(range(0, len(labels), step))
        axis_set(positions, [_label(labels[i]) for i in positions])
    ax.tick_params(axis="x", labelrotation=90)
    title = f"{metric} over {x} × {y}" + (f" (best over {', '.join(others)})" if others else "")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)
    return path


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
