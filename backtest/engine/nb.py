"""The engine's batch kernels on plain NumPy arrays (numba): one weight set, one set at many
costs, and the sweep over many combinations, with the order semantics of `backtest.engine.orders`.

Inputs of one weight set ("set"): `cols` maps its columns to price columns, `fee_free` marks the
fee-free columns, `rows` are the rebalance row indices (ascending) and `weights` their targets
(NaN: no order for that column). `simulate_nb` runs one set and returns curves;
`simulate_costs_nb` one set at many costs, curves only; `sweep_nb` runs many (set, fees,
slippage, initial cash) combinations in parallel and keeps only statistics.

A strategy's kernel form (`kernel_tables`, `kernel_weights`: see `backtest.strategy.loader`)
runs inside the sweep kernel instead of host weight sets: `kernel_form_sweep(kernel_weights)` is
`sweep_nb` compiled with each combination's rebalance rows and targets computed by its own
thread, row by row, from the strategy's tables and the combination's rule parameters.

No vectorbt import here: the kernels stay cheap to load for the sweep command.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit, prange
from numba.core import cgutils
from numba.extending import intrinsic

from backtest.engine.orders import _mark, _rebalance_row
from backtest.stats.nb import STAT_NAMES, relative_nb, summary_nb

@njit(cache=True)
def _fill(prices_t, cols, ncols, position, val_price, cash, start, stop, finite, equity):
    """Rows start..stop-1 without orders: value = cash + sum over columns of position * close.

    Column by column over contiguous rows of `prices_t` (K, n), adding in column order, so each
    value is the same sum as row by row."""
    if stop <= start:
        return
    if finite and ncols == 2:
        # a zero position adds exactly +0.0 to the value, so the terms need no test
        q0 = position[0]
        q1 = position[1]
        # slices indexed from 0: provably non-negative indices, so the loop vectorises
        e = equity[start:stop]
        l0 = prices_t[cols[0], start:stop]
        l1 = prices_t[cols[1], start:stop]
        for j in range(e.shape[0]):
            e[j] = cash + q0 * l0[j] + q1 * l1[j]
        for c in range(ncols):
            val_price[c] = prices_t[cols[c], stop - 1]
    elif finite and ncols == 3:
        q0 = position[0]
        q1 = position[1]
        q2 = position[2]
        e = equity[start:stop]
        l0 = prices_t[cols[0], start:stop]
        l1 = prices_t[cols[1], start:stop]
        l2 = prices_t[cols[2], start:stop]
        for j in range(e.shape[0]):
            e[j] = cash + q0 * l0[j] + q1 * l1[j] + q2 * l2[j]
        for c in range(ncols):
            val_price[c] = prices_t[cols[c], stop - 1]
    elif finite:
        e = equity[start:stop]
        for j in range(e.shape[0]):
            e[j] = cash
        for c in range(ncols):
            q = position[c]
            if q != 0:
                line = prices_t[cols[c], start:stop]
                for j in range(e.shape[0]):
                    e[j] += q * line[j]
        for c in range(ncols):
            val_price[c] = prices_t[cols[c], stop - 1]
    else:
        for i in range(start, stop):
            equity[i] = _mark(prices_t, cols, ncols, i, cash, position, val_price)


@intrinsic
def _borrowed(typingctx, a):
    """The array `a` without a reference count (the same data, shape and strides), valid while `a`
    lives: an argument of the caller's, not a local it may free. numba counts the references of
    the arrays handed to each call it does not inline, two atomic operations an array (~5 ns): in
    a loop over every row, or every rebalance row, that costs more than the work."""

    def codegen(context, builder, signature, args):
        array = context.make_array(a)(context, builder, value=args[0])
        array.meminfo = cgutils.get_null_value(array.meminfo.type)
        array.parent = cgutils.get_null_value(array.parent.type)
        return array._getvalue()

    return a(a), codegen


@njit(cache=True)
def _scratch(k):
    """`_run`'s working arrays for up to k columns, made once by its caller and reused."""
    return np.zeros(k), np.full(k, np.nan), np.empty(k), np.empty(k, dtype=np.int64)


@njit(cache=True)
def _run(prices_t, cols, ncols, fee_free, rows, weights, fees, slippage, init_cash, finite, equity, traded, fees_out, scratch):
    """Simulate one weight set; fill `equity` (length n) and write `traded`/`fees_out` on the
    rebalance rows only (the caller passes them zeroed). `prices_t` (K, n): the price levels,
    one row per column; `finite`: no NaN among them; `scratch`: `_scratch(k)`, k >= ncols."""
    n = prices_t.shape[1]
    m = rows.shape[0]
    prices_t, cols, fee_free, weights, equity = _borrowed(prices_t), _borrowed(cols), _borrowed(fee_free), _borrowed(weights), _borrowed(equity)
    position, val_price, order_value, call_seq = _borrowed(scratch[0]), _borrowed(scratch[1]), _borrowed(scratch[2]), _borrowed(scratch[3])
    for c in range(ncols):
        position[c] = 0.0
        val_price[c] = np.nan
    cash = float(init_cash)
    done = 0  # rows before `done` are filled
    for r in range(m):
        i = rows[r]
        if i < done or i >= n:
            continue  # rows must ascend; anything else is ignored
        _fill(prices_t, cols, ncols, position, val_price, cash, done, i, finite, equity)
        cash, equity[i], traded[i], fees_out[i] = _rebalance_row(
            prices_t, cols, ncols, fee_free, i, weights[r], fees, slippage, cash, position, val_price, order_value, call_seq
        )
        done = i + 1
    _fill(prices_t, cols, ncols, position, val_price, cash, done, n, finite, equity)


@njit(cache=True)
def simulate_nb(prices, cols, fee_free, rows, weights, fees, slippage, init_cash):
    """One weight set -> (equity, traded, fees) per row.

    prices (n, K) price levels; cols (k,) int64 price columns of the set; fee_free (k,) bool;
    rows (m,) int64 ascending rebalance rows; weights (m, k) targets, NaN: no order.
    """
    n = prices.shape[0]
    equity = np.empty(n)
    traded = np.zeros(n)
    fees_out = np.zeros(n)
    finite = np.isfinite(prices).all()
    _run(np.ascontiguousarray(prices.T), cols, cols.shape[0], fee_free, rows, weights, fees, slippage, init_cash, finite, equity, traded,
         fees_out, _scratch(cols.shape[0]))
    return equity, traded, fees_out


@njit(parallel=True, cache=True, nogil=True)
def simulate_costs_nb(prices, cols, fee_free, rows, weights, fees, slippage, init_cash, equity):
    """One weight set's equity curves at C costs: equity[c] (C, n) at fees[c], slippage[c] and
    initial cash init_cash[c], in parallel, with no statistics (a sweep's benchmark curves)."""
    n = prices.shape[0]
    finite = np.isfinite(prices).all()
    prices_t = np.ascontiguousarray(prices.T)
    n_costs = fees.shape[0]
    chunk = 16
    for j in prange((n_costs + chunk - 1) // chunk):
        traded = np.empty(n)  # written on rebalance rows, never read here
        fees_out = np.empty(n)
        scratch = _scratch(cols.shape[0])
        for c in range(j * chunk, min(n_costs, (j + 1) * chunk)):
            _run(prices_t, cols, cols.shape[0], fee_free, rows, weights, fees[c], slippage[c], init_cash[c], finite, equity[c], traded,
                 fees_out, scratch)


@njit(cache=True)
def _cash_takes_the_rest(target, ncols, fee_free):
    """The cash asset (the last column, where the set has one) takes what the strategy's
    weights leave, max(1 - sum, 0), as the host's weight sets give it."""
    if fee_free[ncols - 1]:
        invested = 0.0
        for k in range(ncols - 1):
            invested += target[k]
        target[ncols - 1] = max(1.0 - invested, 0.0)


@njit(cache=True)
def _cash_from_the_start(target, ncols, fee_free):
    """Row 0 without the strategy's targets, where the set has a cash asset: everything goes into
    it (no order for the other columns) until the first decision, as the host's weight sets and
    `backtest.engine.simulate` give it. False where the set has no cash asset."""
    if not fee_free[ncols - 1]:
        return False
    for k in range(ncols - 1):
        target[k] = math.nan  # (math, not NumPy: `backtest.engine.cuda` compiles this for the GPU)
    target[ncols - 1] = 1.0
    return True


def _kernel_targets(c, s, set_ptr, rows, weights, ncols, fee_free, rule_ints, rule_floats, combo_rule, rule_rows, rule_weights, target):
    """Combination c's rebalance rows and targets by the strategy's kernel form
    (`_kernel_weights`, bound by `kernel_form_sweep`), row by row: views of the thread's scratch
    `rule_rows` (n,) and `rule_weights` (n, k) holding the rows that rebalance. The rule is
    handed views without reference counts (`_borrowed`): ~1 ns a row for the shipped rules."""
    ints, floats, rule_params, into = _borrowed(rule_ints), _borrowed(rule_floats), _borrowed(combo_rule[c]), _borrowed(target)
    m = 0
    for t in range(rule_rows.shape[0]):
        if _kernel_weights(t, ints, floats, rule_params, into):  # noqa: F821
            _cash_takes_the_rest(into, ncols, fee_free)
        elif t > 0 or not _cash_from_the_start(into, ncols, fee_free):
            continue
        rule_rows[m] = t
        for k in range(ncols):
            rule_weights[m, k] = into[k]
        m += 1
    return rule_rows[:m], rule_weights[:m]


@njit(cache=True)
def _set_targets(c, s, set_ptr, rows, weights, ncols, fee_free, rule_ints, rule_floats, combo_rule, rule_rows, rule_weights, target):
    """Weight set s's rebalance rows and targets (the CSR inputs of `sweep_nb`)."""
    return rows[set_ptr[s] : set_ptr[s + 1]], weights[set_ptr[s] : set_ptr[s + 1]]


# where `sweep_nb` takes each combination's targets from: host weight sets; `kernel_form_sweep`
# compiles it with `_kernel_targets` instead
_combination_targets = _set_targets
_KERNEL_FORM = False


@njit(parallel=True, cache=True, nogil=True)
def sweep_nb(
    prices,
    set_cols,
    set_ncols,
    set_fee_free,
    set_ptr,
    rows,
    weights,
    combo_set,
    combo_fees,
    combo_slippage,
    combo_init_cash,
    combo_bench,
    bench_equity,
    bench_init_cash,
    ppy,
    rf,
    day_number,
    year,
    chunk,
    out,
    equity_out,
    rule_ints=None,
    rule_floats=None,
    combo_rule=None,
):
    """Simulate C combinations and write their statistics to `out` (C, n_stats [+ n_relative]).

    Weight sets in CSR form: set s has `set_ncols[s]` columns `set_cols[s, :ncols]` (price
    columns, `set_fee_free[s]` marks fee-free ones) and rebalance rows
    `rows[set_ptr[s]:set_ptr[s+1]]` with targets `weights[set_ptr[s]:set_ptr[s+1], :ncols]`.
    Combination c runs set `combo_set[c]` with its fees, slippage and initial cash; its
    statistics are `summary_nb` (columns 0..n_stats-1) and, where `combo_bench[c] >= 0`,
    `relative_nb` against `bench_equity[combo_bench[c]]` (initial cash `bench_init_cash[...]`)
    in the next columns (NaN otherwise). `ppy` and `rf` (each row's risk-free return) are the
    statistics' conventions (`backtest.stats.nb`). With `equity_out` of shape (C, rows) the equity
    curves are copied there too (pass shape (0, rows) to keep none). Combinations run in chunks of `chunk` over threads;
    each chunk reuses one set of scratch curves, so memory stays O(threads * rows).
    Compiled by `kernel_form_sweep`, combination c's targets come instead from the strategy's
    kernel form on the tables `rule_ints`, `rule_floats` with its rule parameters `combo_rule[c]`
    (set_ptr, rows and weights unused).
    """
    n = prices.shape[0]
    n_combos = combo_set.shape[0]
    n_stats = len(STAT_NAMES)
    width = out.shape[1]
    n_chunks = (n_combos + chunk - 1) // chunk
    finite = np.isfinite(prices).all()
    prices_t = np.ascontiguousarray(prices.T)
    rule_length = n if _KERNEL_FORM else 0  # the kernel form's rows and targets of a combination
    for j in prange(n_chunks):
        equity = np.empty(n)
        traded = np.zeros(n)
        fees_out = np.zeros(n)
        rule_rows = np.empty(rule_length, dtype=np.int64)
        rule_weights = np.empty((rule_length, set_cols.shape[1]))
        target = np.empty(set_cols.shape[1])
        scratch = _scratch(set_cols.shape[1])
        for c in range(j * chunk, min(n_combos, (j + 1) * chunk)):
            s = combo_set[c]
            set_rows, set_weights = _combination_targets(
                c, s, set_ptr, rows, weights, set_ncols[s], set_fee_free[s], rule_ints, rule_floats, combo_rule, rule_rows, rule_weights, target
            )
            _run(
                prices_t,
                set_cols[s],
                set_ncols[s],
                set_fee_free[s],
                set_rows,
                set_weights,
                combo_fees[c],
                combo_slippage[c],
                combo_init_cash[c],
                finite,
                equity,
                traded,
                fees_out,
                scratch,
            )
            if equity_out.shape[0] > 0:
                equity_out[c, :] = equity
            row = out[c]
            summary_nb(equity, combo_init_cash[c], ppy, rf, day_number, year, traded, fees_out, row[:n_stats])
            if width > n_stats:
                b = combo_bench[c]
                if b >= 0:
                    relative_nb(equity, combo_init_cash[c], bench_equity[b], bench_init_cash[b], ppy, rf, day_number, row[n_stats:])
                else:
                    for k in range(n_stats, width):
                        row[k] = np.nan
            for i in set_rows:  # back to zero for the next combination
                if 0 <= i < n:
                    traded[i] = 0.0
                    fees_out[i] = 0.0


def with_globals(fn, env: dict, name: str | None = None):
    """Python function `fn` (or an `@njit` one's) rebuilt with `env` over its module's globals,
    so that a kernel calls the functions `env` binds (numba reads globals when it compiles)."""
    fn = getattr(fn, "py_func", fn)
    rebuilt = types.FunctionType(fn.__code__, {**fn.__globals__, **env}, fn.__name__, fn.__defaults__, fn.__closure__)
    rebuilt.__qualname__ = name or fn.__qualname__
    return rebuilt


def kernel_form_sweep(kernel_weights):
    """`sweep_nb` with each combination's targets from a strategy's `kernel_weights` (its
    rebalance rows and weights computed by the combination's own thread, row by row), compiled
    once per strategy and process.

    Cached on disk like every kernel here, under a name holding a hash of the file that defines
    `kernel_weights` (numba's cache watches only this file): an edited strategy compiles anew
    (4.5 s on 2 cores; a cached one loads in about 0.3 s); a rule without a file (written in a
    notebook) compiles in every process. Each function compiled here has a name of its own:
    numba tells compiled functions apart by name and a counter that restarts in every process,
    so two kernels cached by different processes would otherwise share a callee's symbol when
    loaded into one."""
    if kernel_weights not in _KERNEL_FORM_SWEEPS:
        source = _source_hash(kernel_weights)
        tag = f"{kernel_weights.__module__}_{kernel_weights.__name__}_{source or 'unsaved'}".replace(".", "_")
        # inlined where it is called: a call per row would cost more than the rule itself
        rule = njit(inline="always")(with_globals(kernel_weights, {}, f"{kernel_weights.__name__}_{tag}"))
        targets = njit(with_globals(_kernel_targets, {"_kernel_weights": rule}, f"_kernel_targets_{tag}"))
        kernel = with_globals(sweep_nb, {"_combination_targets": targets, "_KERNEL_FORM": True}, f"sweep_nb_{tag}")
        _KERNEL_FORM_SWEEPS[kernel_weights] = njit(parallel=True, cache=source is not None, nogil=True)(kernel)
    return _KERNEL_FORM_SWEEPS[kernel_weights]


def compiled_rule(kernel_weights):
    """A strategy's `kernel_weights` compiled for the CPU (once per process)."""
    if kernel_weights not in _COMPILED_RULES:
        _COMPILED_RULES[kernel_weights] = njit(kernel_weights)
    return _COMPILED_RULES[kernel_weights]


_KERNEL_FORM_SWEEPS: dict = {}
_COMPILED_RULES: dict = {}


def _source_hash(fn) -> str | None:
    """A short hash of the file that defines `fn`, or None where it has none."""
    import hashlib
    import inspect
    from pathlib import Path

    try:
        return hashlib.sha256(Path(inspect.getfile(fn)).read_bytes()).hexdigest()[:16]
    except (OSError, TypeError):
        return None
