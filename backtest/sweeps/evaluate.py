"""Evaluating a plan's combinations: data contexts, weight sets, benchmark curves and the
compiled batch (the numba kernel locally, the CUDA kernel on a GPU).

Work is shared across combinations:
- keys read by the simulation only (`portfolio.fees`, `portfolio.slippage`,
  `portfolio.initial_cash`) are per-combination scalars of the compiled kernel;
- every other key defines a "point"; points that need the same data (same config apart from
  the strategy parameters and those scalars, same series) share one loaded data set (a
  "context"), and the strategy is called once per distinct strategy parameter set;
- the benchmark is computed once per context and distinct (fees, slippage, initial cash).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.config import Config, set_dotted
from backtest.errors import ConfigError
from backtest.strategy import SERIES_KINDS
from backtest.sweeps.plan import KERNEL_KEYS, Axis, Plan, stat_names
from backtest.sweeps.points import ParameterLegs, PointLegs, codes, points_of

RF_SERIES = "ff_factors:RF"


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
    rf: np.ndarray  # each row's risk-free return (the statistics' conventions, prepared.conventions)
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
        point_values, self.point_of_combo = points_of(plan, point_axes)
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
        base = self._base = plan.config()
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
        self.point_set[:] = rank[inverse.ravel()]
        self.set_points = first[order]  # an array: a Python list of 10^7 ints costs seconds and ~0.3 GB
        # contexts: one per distinct list of traded series (all that parameters change in the data),
        # looked at once per distinct combination of the series parameters' values
        kinds = {param.name: param.kind for param in base_leg.strategy.params}
        series_axes = [a for a, name in enumerate(names) if kinds[name] in SERIES_KINDS]
        keys = codes(coded[:, series_axes], [len(values[a]) for a in series_axes])
        keys = coded[:, series_axes] if keys is None else keys
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True, axis=0 if keys.ndim == 2 else None)
        context_ids: dict[str, int] = {}
        group_context = np.empty(len(first), dtype=np.int64)
        for g in np.argsort(first, kind="stable").tolist():  # contexts numbered by first appearance
            p = int(first[g])
            key = _context_key(base, legs[p].reads)
            if key not in context_ids:
                context_ids[key] = len(self.contexts)
                self.contexts.append(self._context(prepare(plan.config(self._point_params(point_axes, point_values[p])))))
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
            base = plan.config()
            base_leg = resolve_leg(base.strategy, "strategy", base)
            user_catalogs = catalogs(base)
        for p, indices in enumerate(point_values):
            params = self._point_params(point_axes, indices)
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
            key = _context_key(config, leg.reads)
            if key not in context_ids:
                context_ids[key] = len(self.contexts)
                # the point's own config: its series decide the data loaded
                self.contexts.append(self._context(prepare(plan.config(params) if params_only else config)))
            ctx = context_ids[key]
            self.point_context[p] = ctx
            self.point_leg.append(leg)
            skey = (ctx, _params_key(leg))
            if skey not in set_ids:
                set_ids[skey] = len(self.set_points)
                self.set_points.append(p)
            self.point_set[p] = set_ids[skey]
            kernel[p] = (config.portfolio.fees, config.portfolio.slippage, config.portfolio.initial_cash)

    def _point_params(self, point_axes: list[int], indices) -> dict:
        """The swept values (by dotted key) of a point, from its value indices on the point axes."""
        return {self.plan.axes[a].key: self.plan.axes[a].values[int(i)] for a, i in zip(point_axes, indices)}

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
            ppy=prepared.conventions.periods_per_year,
            rf=np.ascontiguousarray(prepared.conventions.risk_free.to_numpy(dtype=np.float64)),
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
        from backtest.engine import cuda

        cuda.select(device)
        self.on_gpu = True

    def close(self) -> None:
        if self.on_gpu:
            from backtest.engine import cuda

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
        from backtest.engine.nb import sweep_nb

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
            per_combo = (fees, slippage, init, combo_bench, bench_equity, bench_init, context.ppy, context.rf, context.day_number, context.year)
            if self.on_gpu:
                from backtest.engine.cuda import MAX_COLS, csr_rule, sweep_cuda

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
    conventions: Any  # backtest.stats.conventions.Conventions of the combination's data


def combination_curves(plan: Plan, params: dict) -> Curves:
    """One combination's equity curves by the batch kernel (equal to `backtest run` to 1e-9)."""
    single = Plan(base=plan.base, axes=[Axis(key, [value]) for key, value in params.items()],
                  combos=np.zeros((1, len(params)), dtype=np.int32), metric=plan.metric, samples=None, seed=0)
    evaluator = Evaluator(single, keep_equity=True)
    try:
        _, equity = evaluator.run_batch(np.zeros(1, dtype=np.int64))
    finally:
        evaluator.close()
    context = evaluator.contexts[0]
    fees, slippage, init = (float(a[0]) for a in evaluator.kernel_scalars(np.zeros(1, dtype=np.int64)))
    benchmark = evaluator._bench_curve(context, fees, slippage, init) if context.benchmark is not None else None
    return Curves(context.prepared.returns.index, equity[0], benchmark, init, context.prepared.conventions)


def _simulate(context: Context, ws: WeightSet, fees: float, slippage: float, init: float) -> np.ndarray:
    """One weight set's equity curve, through the batch kernel (one compiled function to load)."""
    from backtest.engine.nb import sweep_nb

    n = context.prices.shape[0]
    k = ws.cols.shape[0]
    equity = np.empty((1, n))
    sweep_nb(
        context.prices, ws.cols[None, :], np.array([k]), ws.fee_free[None, :], np.array([0, ws.rows.shape[0]]),
        ws.rows, ws.weights, np.zeros(1, dtype=np.int64), np.array([float(fees)]), np.array([float(slippage)]),
        np.array([float(init)]), np.full(1, -1, dtype=np.int64), np.empty((0, n)), np.empty(0), context.ppy,
        context.rf, context.day_number, context.year, 1, np.empty((1, len(stat_names(False)))), equity,
    )
    return equity[0]


def _threads() -> int:
    import numba

    return numba.get_num_threads()
