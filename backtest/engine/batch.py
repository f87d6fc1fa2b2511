"""Many simulations in one call, for sweeps: the numba kernels (`nb.py`) on the CPU's threads,
or their CUDA compilation (`cuda.py`) on the current GPU, behind one function each.

`simulate_batch` runs C combinations and keeps only their statistics (and, on the CPU, their
equity curves where asked). Each combination's targets come from `Targets`, in one of two forms:
- weight sets computed on the host (`WeightSet`: one per strategy parameter set), packed in
  the kernels' CSR form (`Targets.from_weight_sets`);
- a strategy's kernel form (`Targets.from_kernel_form`): the strategy's `kernel_weights`
  evaluated by each combination's own thread, row by row, on tables made once from the data
  and with the combination's rule parameters.

`simulate_curves` runs one weight set at many costs and keeps the curves (a sweep's benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import get_num_threads

from backtest.engine import nb


@dataclass
class WeightSet:
    """One strategy parameter set's orders as the kernels take them (see `backtest.engine.nb`)."""

    cols: np.ndarray  # (k,) int64 price columns
    fee_free: np.ndarray  # (k,) bool
    rows: np.ndarray  # (m,) int64 rebalance rows, ascending
    weights: np.ndarray  # (m, k) float64 targets (NaN: no order for that column)


@dataclass
class Targets:
    """Where each of C combinations' targets come from: the sets' columns, each combination's
    set, and either CSR weight sets or a strategy's kernel form."""

    set_cols: np.ndarray  # (sets, kmax) int64 price columns of each set
    set_ncols: np.ndarray  # (sets,) int64 columns used of each row of set_cols
    set_fee_free: np.ndarray  # (sets, kmax) bool
    combo_set: np.ndarray  # (C,) int64 each combination's set
    set_ptr: np.ndarray  # (sets + 1,) set s's rebalance rows are rows[set_ptr[s]:set_ptr[s + 1]]
    rows: np.ndarray  # int64
    weights: np.ndarray  # (len(rows), kmax)
    kernel_weights: Any = None  # a strategy's kernel form (rows and weights unused), or None
    rule_ints: np.ndarray | None = None  # its integer table
    rule_floats: np.ndarray | None = None  # its float table
    combo_rule: np.ndarray | None = None  # (C, p) each combination's rule parameters

    @classmethod
    def from_weight_sets(cls, sets: list[WeightSet], combo_set: np.ndarray) -> "Targets":
        """Combination c trades host weight set sets[combo_set[c]]."""
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
        return cls(set_cols, set_ncols, set_fee_free, np.asarray(combo_set, dtype=np.int64), ptr, rows, weights)

    @classmethod
    def from_kernel_form(cls, kernel_weights, cols: np.ndarray, fee_free: np.ndarray, ints: np.ndarray, floats: np.ndarray,
                         combo_rule: np.ndarray) -> "Targets":
        """Every combination trades `cols` with targets from `kernel_weights` on the tables
        `ints`, `floats` and its own rule parameters `combo_rule[c]`."""
        return cls(cols[None, :], np.array([len(cols)], dtype=np.int64), fee_free[None, :], np.zeros(len(combo_rule), dtype=np.int64),
                   np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros((0, len(cols))),
                   kernel_weights, ints, floats, combo_rule)

    def take(self, combos: np.ndarray) -> "Targets":
        """The same targets for the combinations `combos` only."""
        combo_rule = None if self.combo_rule is None else self.combo_rule[combos]
        return Targets(self.set_cols, self.set_ncols, self.set_fee_free, self.combo_set[combos], self.set_ptr, self.rows,
                       self.weights, self.kernel_weights, self.rule_ints, self.rule_floats, combo_rule)


def simulate_batch(prices: np.ndarray, targets: Targets, fees: np.ndarray, slippage: np.ndarray, init_cash: np.ndarray,
                   combo_bench: np.ndarray, bench_equity: np.ndarray, bench_init_cash: np.ndarray, ppy: float, rf: np.ndarray,
                   day_number: np.ndarray, year: np.ndarray, out: np.ndarray, equity_out: np.ndarray | None = None, *,
                   gpu: bool = False, prices_t: np.ndarray | None = None) -> None:
    """Simulate the C combinations of `targets` and write their statistics to `out` (C, stats).

    `prices` (n, K) price levels; combination c runs at `fees[c]`, `slippage[c]`, `init_cash[c]`
    and, where `combo_bench[c] >= 0`, is measured against `bench_equity[combo_bench[c]]` (initial
    cash `bench_init_cash[...]`); `ppy`, `rf`, `day_number`, `year` are the statistics'
    conventions (`backtest.stats.nb`). With `equity_out` (C, n) the equity curves are kept too
    (CPU only). With `gpu`, the kernel runs on the current CUDA device (`cuda.select`);
    `prices_t`, the prices transposed, may be passed to save transposing them on every call."""
    per_combo = (fees, slippage, init_cash, combo_bench, bench_equity, bench_init_cash, ppy, rf, day_number, year)
    if gpu:
        if equity_out is not None:
            raise ValueError("simulate_batch: the GPU kernel keeps no equity curves")
        from backtest.engine import cuda

        if targets.kernel_weights is None:
            rule = cuda.csr_rule(targets.set_ptr, targets.rows, targets.weights, targets.combo_set)
        else:
            rule = (targets.rule_ints, targets.rule_floats, targets.combo_rule)
        prices_t = np.ascontiguousarray(prices.T) if prices_t is None else prices_t
        cuda.sweep_cuda(prices_t, targets.set_cols, targets.set_ncols, targets.set_fee_free, targets.combo_set,
                        targets.kernel_weights, *rule, *per_combo, out)
        return
    if equity_out is None:
        equity_out = np.empty((0, prices.shape[0]))
    # chunks small enough to share out over the threads, large enough to amortise scratch curves
    chunk = max(1, min(64, math.ceil(len(targets.combo_set) / (get_num_threads() * 4))))
    inputs = (prices, targets.set_cols, targets.set_ncols, targets.set_fee_free, targets.set_ptr, targets.rows, targets.weights,
              targets.combo_set, *per_combo, chunk, out, equity_out)
    if targets.kernel_weights is None:
        nb.sweep_nb(*inputs)
    else:
        nb.kernel_form_sweep(targets.kernel_weights)(*inputs, targets.rule_ints, targets.rule_floats, targets.combo_rule)


def simulate_curves(prices: np.ndarray, weight_set: WeightSet, fees: np.ndarray, slippage: np.ndarray,
                    init_cash: np.ndarray, equity: np.ndarray | None = None) -> np.ndarray:
    """One weight set's equity curves (C, n) at C costs (`fees[c]`, `slippage[c]`,
    `init_cash[c]`), written into `equity` where given."""
    if equity is None:
        equity = np.empty((len(fees), prices.shape[0]))
    costs = (np.ascontiguousarray(a, dtype=np.float64) for a in (fees, slippage, init_cash))
    nb.simulate_costs_nb(prices, weight_set.cols, weight_set.fee_free, weight_set.rows, weight_set.weights, *costs, equity)
    return equity
