"""Evaluating a plan's combinations: data contexts, the strategy's targets, benchmark curves and
the compiled batch (the numba kernel locally, the CUDA kernel on a GPU).

Work is shared across combinations:
- keys read by the simulation only (`portfolio.fees`, `portfolio.slippage`,
  `portfolio.initial_cash`) are per-combination scalars of the compiled kernel;
- every other key defines a "point"; points that need the same data (same config apart from
  the strategy parameters and those scalars, same series) share one loaded data set (a
  "context");
- a strategy with a kernel form (`kernel_tables`, `kernel_weights`) makes its tables once per
  context, from the data and every point's parameters, and the kernel computes each
  combination's targets itself (`KernelRule`); any other strategy is called on the host once
  per distinct parameter set (`WeightSet`), in a pool of processes;
- the benchmark's weights are computed once per context, and its curves once per batch and
  distinct (fees, slippage, initial cash), at most BENCH_CURVES_BYTES of them at a time.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.config import Config, set_dotted
from backtest.errors import ConfigError
from backtest.strategy import SERIES_KINDS
from backtest.sweeps.plan import KERNEL_KEYS, Axis, Plan, stat_names
from backtest.sweeps.points import ParameterLegs, PointLegs, codes, points_of

RF_SERIES = "ff_factors:RF"
BENCH_CURVES_BYTES = 64 << 20  # benchmark curves held at once (a grid of many costs needs many)


@dataclass
class WeightSet:
    cols: np.ndarray  # (k,) int64 price columns
    fee_free: np.ndarray  # (k,) bool
    rows: np.ndarray  # (m,) int64 rebalance rows
    weights: np.ndarray  # (m, k) float64


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


def weight_set(context: Context, target_weights) -> WeightSet:
    """A strategy's target weights as the engine's order inputs (`backtest.engine.simulate`):
    its columns, plus the fee-free cash asset taking max(1 - sum(w), 0) on rebalance rows."""
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
        self.kernel_rules: dict = {}  # context id -> its KernelRule, or None (`_kernel_rule`)
        self.prices_t: dict = {}  # context id -> its prices transposed, for the GPU
        self._bench_buffer: np.ndarray | None = None  # benchmark curves of a batch's group (`_benchmark_groups`)
        self._bench_held = None  # (context, costs) whose curves the buffer holds
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
            import signal

            _POOL_STATE["evaluator"] = self  # inherited by the forked workers
            # Ctrl-C stops the sweep in this process, which ends the workers: none prints a traceback
            self._pool = multiprocessing.get_context("fork").Pool(self.jobs, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
        return self._pool

    def _can_fork(self) -> bool:
        import multiprocessing

        return "fork" in multiprocessing.get_all_start_methods()

    def start_pool(self) -> None:
        """Fork the strategy workers now (before numba starts its threads), if they will be used:
        where strategies without a kernel form have parameter sets enough to share out."""
        on_host = [c for c in range(len(self.contexts)) if self._kernel_rule(c) is None]
        host_sets = np.count_nonzero(np.isin(self.point_context[self.set_points], on_host)) if on_host else 0
        if self.jobs > 1 and host_sets >= 2 * self.jobs and self._can_fork():
            self._get_pool()

    def gpu_refusal(self) -> str | None:
        """Why the combinations cannot run on the GPU (None: they can)."""
        if self.keep_equity:
            return "--keep-equity saves curves, which the GPU kernel does not keep"
        return self.too_wide_for_gpu()

    def too_wide_for_gpu(self) -> str | None:
        """Why a context's strategy trades more columns than the GPU kernel holds (None: none does)."""
        from backtest.engine.cuda import MAX_COLS

        _, first_points = np.unique(self.point_context, return_index=True)  # a context's points trade the same series
        for ctx, p in enumerate(first_points.tolist()):
            leg = self.point_leg[p]
            width = len(leg.series) + (self.contexts[ctx].cash_asset is not None)
            if width > MAX_COLS:
                return f"strategy {leg.strategy.name} trades {width} columns with the cash asset; the GPU kernel takes at most {MAX_COLS}"
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

    def _bench_curves(self, context: Context, triples: np.ndarray, equity: np.ndarray | None = None) -> np.ndarray:
        """The benchmark's equity curves (len(triples), rows), one per (fees, slippage, initial
        cash) of `triples`, simulated together (into `equity` where given). Not kept: a grid of
        many costs would need a curve per cost (26,000 rows: 0.2 MB each), and simulating one
        (~15 us) costs far less than a combination's statistics."""
        from backtest.engine.nb import simulate_costs_nb

        if context.bench_set is None:
            leg = context.benchmark
            context.bench_set = weight_set(context, leg.strategy.target_weights(context.prepared.returns, leg.params))
        ws = context.bench_set
        if equity is None:
            equity = np.empty((len(triples), context.prices.shape[0]))
        fees, slippage, init = (np.ascontiguousarray(triples[:, j], dtype=np.float64) for j in range(3))
        simulate_costs_nb(context.prices, ws.cols, ws.fee_free, ws.rows, ws.weights, fees, slippage, init, equity)
        return equity

    def _benchmark_groups(self, context: Context, fees: np.ndarray, slippage: np.ndarray, init: np.ndarray):
        """The combinations (of one context) in groups, with the benchmark curves each needs:
        (their indices, each one's curve in the group's, the curves, their initial cash). A group
        holds at most BENCH_CURVES_BYTES of curves, whatever the number of distinct costs."""
        n = len(context.day_number)
        if context.benchmark is None:
            yield np.arange(len(fees)), np.full(len(fees), -1, dtype=np.int64), np.empty((0, n)), np.empty(0)
            return
        triples, combo_bench = np.unique(np.column_stack([fees, slippage, init]), axis=0, return_inverse=True)
        combo_bench = combo_bench.astype(np.int64).ravel()
        per_group = max(1, BENCH_CURVES_BYTES // (8 * n))
        # one buffer for every group of every batch: a fresh array this large costs more in page
        # faults (~0.3 ms a curve) than simulating the curves written into it (~15 us)
        rows_needed = min(per_group, len(triples))
        if self._bench_buffer is None or self._bench_buffer.shape[1] != n or len(self._bench_buffer) < rows_needed:
            self._bench_buffer, self._bench_held = np.empty((rows_needed, n)), None
        for start in range(0, len(triples), per_group):
            group = triples[start : start + per_group]
            members = np.flatnonzero((combo_bench >= start) & (combo_bench < start + len(group)))
            held = (id(context), group.tobytes())  # the curves in the buffer: a grid of few costs computes them once
            if self._bench_held != held:
                self._bench_held = None
                self._bench_curves(context, group, self._bench_buffer[: len(group)])
                self._bench_held = held
            yield members, combo_bench[members] - start, self._bench_buffer[: len(group)], np.ascontiguousarray(group[:, 2])

    # -- running

    def _kernel_rule(self, ctx_id: int) -> KernelRule | None:
        """The context's strategy in its kernel form, made once from the data and every point of
        the context; None where the strategy has no kernel form."""
        if ctx_id not in self.kernel_rules:
            points = np.flatnonzero(self.point_context == ctx_id)
            leg = self.point_leg[points[0]]
            rule = None
            if leg.strategy.kernel_form is not None:
                context = self.contexts[ctx_id]
                ints, floats, params = leg.strategy.kernel_tables(context.prepared.returns, self.point_leg.columns(points), len(points))
                cols, fee_free = set_columns(context, leg.series)
                rule = KernelRule(leg.strategy.kernel_form[1], ints, floats, points, params, cols, fee_free)
            self.kernel_rules[ctx_id] = rule
        return self.kernel_rules[ctx_id]

    def host_sets(self, combo_ids: np.ndarray) -> np.ndarray:
        """The weight sets the combinations need from the host: those of strategies without a
        kernel form (`_kernel_rule`)."""
        points = self.point_of_combo[combo_ids]
        contexts = self.point_context[points]
        on_host = np.isin(contexts, [c for c in np.unique(contexts) if self._kernel_rule(int(c)) is None])
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
        from backtest.engine.nb import kernel_form_sweep, sweep_nb

        combo_ids = np.asarray(combo_ids, dtype=np.int64)
        points = self.point_of_combo[combo_ids]
        sets = self.point_set[points]
        contexts = self.point_context[points]
        self._ensure_sets(self.host_sets(combo_ids))
        out = np.full((len(combo_ids), len(self.names)), np.nan)
        equity_out = np.full((len(combo_ids), max(len(c.day_number) for c in self.contexts)), np.nan) if self.keep_equity else None
        for ctx_id in np.unique(contexts):
            context = self.contexts[ctx_id]
            members = np.flatnonzero(contexts == ctx_id)
            n = context.prices.shape[0]
            rule = self._kernel_rule(int(ctx_id))
            if rule is None:  # host weight sets, in sweep_nb's CSR form
                local_sets, combo_set = np.unique(sets[members], return_inverse=True)
                combo_set = combo_set.astype(np.int64).ravel()
                set_cols, set_ncols, set_fee_free, ptr, rows, weights = self._weight_set_inputs(local_sets)
            else:  # the kernel form: one set of columns; each combination's own rule parameters
                set_cols, set_ncols, set_fee_free = rule.cols[None, :], np.array([len(rule.cols)]), rule.fee_free[None, :]
                combo_set = np.zeros(len(members), dtype=np.int64)
                ptr, rows, weights = np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, len(rule.cols)))
                combo_rule = rule.params[np.searchsorted(rule.points, points[members])]
            fees, slippage, init = self.kernel_scalars(combo_ids[members])
            for part, combo_bench, bench_equity, bench_init in self._benchmark_groups(context, fees, slippage, init):
                local_out = np.empty((len(part), len(self.names)))
                local_equity = np.empty((len(part) if self.keep_equity else 0, n))
                per_combo = (fees[part], slippage[part], init[part], combo_bench, bench_equity, bench_init, context.ppy,
                             context.rf, context.day_number, context.year)
                if self.on_gpu:
                    from backtest.engine.cuda import csr_rule, sweep_cuda

                    if rule is None:
                        kernel_weights, targets = None, csr_rule(ptr, rows, weights, combo_set[part])
                    else:
                        kernel_weights, targets = rule.kernel_weights, (rule.ints, rule.floats, combo_rule[part])
                    prices_t = self.prices_t.setdefault(int(ctx_id), np.ascontiguousarray(context.prices.T))
                    sweep_cuda(prices_t, set_cols, set_ncols, set_fee_free, combo_set[part], kernel_weights, *targets, *per_combo, local_out)
                else:
                    chunk = max(1, min(64, math.ceil(len(part) / (_threads() * 4))))
                    inputs = (context.prices, set_cols, set_ncols, set_fee_free, ptr, rows, weights, combo_set[part], *per_combo,
                              chunk, local_out, local_equity)
                    if rule is None:
                        sweep_nb(*inputs)
                    else:
                        kernel_form_sweep(rule.kernel_weights)(*inputs, rule.ints, rule.floats, combo_rule[part])
                out[members[part]] = local_out
                if self.keep_equity:
                    equity_out[members[part], :n] = local_equity
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
    fees, slippage, init = evaluator.kernel_scalars(np.zeros(1, dtype=np.int64))
    benchmark = evaluator._bench_curves(context, np.column_stack([fees, slippage, init]))[0] if context.benchmark is not None else None
    return Curves(context.prepared.returns.index, equity[0], benchmark, float(init[0]), context.prepared.conventions)


def host_rule_notice(plan: Plan) -> str | None:
    """One line where the grid varies the rule of a strategy without a kernel form: the sweep
    calls its `target_weights` on the host, once per parameter set, and says why that is slower."""
    from backtest.pipeline import resolve_leg

    if not any(axis.key.startswith("strategy.") for axis in plan.axes):
        return None
    config = plan.config()
    strategy = resolve_leg(config.strategy, "strategy", config).strategy
    if strategy.kernel_form is not None:
        return None
    return (f"strategy {strategy.name} has no kernel form (kernel_tables, kernel_weights), so its rule runs on the host: "
            "a Python call per parameter set, slower than the rule inside the kernel")


def _threads() -> int:
    import numba

    return numba.get_num_threads()
