"""Evaluating a plan's combinations: the strategy's targets, benchmark curves and the compiled
batch (the numba kernel locally, the CUDA kernel on a GPU), over the points and data contexts of
`backtest.sweeps.points`.

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

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from backtest.engine.batch import Targets, WeightSet, simulate_batch, simulate_curves
from backtest.sweeps.contexts import Context, KernelRule, kernel_rule, weight_set
from backtest.sweeps.plan import KERNEL_KEYS, Axis, Plan, stat_names
from backtest.sweeps.points import points_of, set_up_points

BENCH_CURVES_BYTES = 64 << 20  # benchmark curves held at once (a grid of many costs needs many)

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
        points = set_up_points(plan, point_axes, point_values)
        self.contexts = points.contexts
        self.point_leg = points.legs
        self.point_context = points.context
        self.point_set = points.weight_set
        self.set_points = points.set_points  # a representative point of each weight set
        # the kernel's scalars (fees, slippage, initial cash): each point's, where a swept kernel
        # key does not replace them per combination (`kernel_scalars`; no array per combination)
        self.point_kernel = points.kernel
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
        if context.bench_set is None:
            leg = context.benchmark
            context.bench_set = weight_set(context, leg.strategy.target_weights(context.prepared.returns, leg.params))
        return simulate_curves(context.prices, context.bench_set, triples[:, 0], triples[:, 1], triples[:, 2], equity)

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
            self.kernel_rules[ctx_id] = kernel_rule(self.contexts[ctx_id], self.point_leg, points)
        return self.kernel_rules[ctx_id]

    def host_sets(self, combo_ids: np.ndarray) -> np.ndarray:
        """The weight sets the combinations need from the host: those of strategies without a
        kernel form (`_kernel_rule`)."""
        points = self.point_of_combo[combo_ids]
        contexts = self.point_context[points]
        on_host = np.isin(contexts, [c for c in np.unique(contexts) if self._kernel_rule(int(c)) is None])
        return np.unique(self.point_set[points[on_host]])

    def run_batch(self, combo_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Statistics (len(combo_ids), len(self.names)) and, with keep_equity, equity curves
        (len(combo_ids), rows) of the given combinations."""
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
            if rule is None:  # host weight sets
                local_sets, combo_set = np.unique(sets[members], return_inverse=True)
                targets = Targets.from_weight_sets([self.sets[int(s)] for s in local_sets], combo_set.ravel())
            else:  # the kernel form: each combination's own rule parameters
                combo_rule = rule.params[np.searchsorted(rule.points, points[members])]
                targets = Targets.from_kernel_form(rule.kernel_weights, rule.cols, rule.fee_free, rule.ints, rule.floats, combo_rule)
            prices_t = self._prices_t(int(ctx_id)) if self.on_gpu else None
            fees, slippage, init = self.kernel_scalars(combo_ids[members])
            for part, combo_bench, bench_equity, bench_init in self._benchmark_groups(context, fees, slippage, init):
                local_out = np.empty((len(part), len(self.names)))
                local_equity = np.empty((len(part), n)) if self.keep_equity else None
                simulate_batch(context.prices, targets.take(part), fees[part], slippage[part], init[part], combo_bench, bench_equity,
                               bench_init, context.ppy, context.rf, context.day_number, context.year, local_out, local_equity,
                               gpu=self.on_gpu, prices_t=prices_t)
                out[members[part]] = local_out
                if self.keep_equity:
                    equity_out[members[part], :n] = local_equity
        return out, equity_out

    def _prices_t(self, ctx_id: int) -> np.ndarray:
        """The context's prices transposed, as the GPU kernel reads them (made once)."""
        if ctx_id not in self.prices_t:
            self.prices_t[ctx_id] = np.ascontiguousarray(self.contexts[ctx_id].prices.T)
        return self.prices_t[ctx_id]

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

