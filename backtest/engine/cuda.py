"""The sweep kernel on an NVIDIA GPU (numba's CUDA target): one thread per combination.

`sweep_cuda` takes the inputs of `backtest.engine.nb.sweep_nb` (per-combination fees,
slippage, initial cash and benchmark curve) and fills the same statistics. Each combination's
target weights come either from host weight sets (`sweep_nb`'s CSR form) or, for a strategy with
a kernel form (`kernel_tables`, `kernel_weights`: see `backtest.strategy.loader`), from its own
thread, which evaluates the strategy's `kernel_weights` row by row on tables made once from the
data, as the CPU kernel does. The kernel is written once; `_kernel` compiles it with either
source of targets.
Each thread simulates its combination row by row and accumulates every statistic in that
single pass, so no equity curve is stored. The order semantics and the statistic formulas are not
rewritten here: the scalar functions of `orders` (`_rebalance_row` and what it calls) and of
`stats` (`summary_figures_nb`, `relative_figures_nb`, `cagr_nb`, `years_nb`) are compiled a second time, as
CUDA device functions, from their Python source. Only the per-row accumulation below is GPU
code of its own (the CPU kernel makes a few vectorised passes over a stored curve instead).

With NUMBA_ENABLE_CUDASIM=1 numba runs this module on the CPU in its CUDA simulator (slow, for
tests). Importing it costs about a second: only `backtest sweep --backend cuda|auto` does.
"""

from __future__ import annotations

import math

import numpy as np

if not hasattr(np, "row_stack"):  # numba-cuda still calls np.row_stack, which numpy 2.5 removed
    np.row_stack = np.vstack

from numba import cuda, float64, int64  # noqa: E402

from backtest.engine import nb, orders  # noqa: E402
from backtest.stats import nb as stats_nb  # noqa: E402
from backtest.stats.nb import EXCESS_CAGR, MIN_TRADE_SHARE, N_RELATIVE, N_STATS  # noqa: E402

MAX_COLS = 16  # columns of one weight set (assets plus the cash asset): the threads' scratch size
THREADS_PER_BLOCK = 128


def _device_functions(*functions, env: dict | None = None) -> dict:
    """CUDA device versions of Python functions or `@njit` ones, callees before callers: each
    is rebuilt with its module's globals, in which `env` and the names of the functions already
    converted refer to their device versions (so `_execute_order` calls the device `_is_close`)."""
    compiled: dict = dict(env or {})
    for function in functions:
        rebuilt = nb.with_globals(function, compiled)
        compiled[rebuilt.__name__] = cuda.jit(device=True)(rebuilt)
    return compiled


_DEVICE = _device_functions(
    orders._is_close,
    orders._is_close_or_less,
    orders._sign,
    orders._add,
    orders._insert_argsort,
    orders._value,
    orders._mark,
    orders._execute_order,
    orders._rebalance_row,
    nb._cash_takes_the_rest,
    nb._cash_from_the_start,
    stats_nb.years_nb,
    stats_nb.cagr_nb,
    stats_nb.return_step_nb,
    stats_nb.drawdown_start_nb,
    stats_nb.drawdown_step_nb,
    stats_nb.year_step_nb,
    stats_nb.relative_step_nb,
    stats_nb.summary_figures_nb,
    stats_nb.relative_figures_nb,
)
_rebalance_row = _DEVICE["_rebalance_row"]
_mark = _DEVICE["_mark"]
_return_step = _DEVICE["return_step_nb"]
_relative_step = _DEVICE["relative_step_nb"]
_drawdown_start = _DEVICE["drawdown_start_nb"]
_drawdown_step = _DEVICE["drawdown_step_nb"]
_year_step = _DEVICE["year_step_nb"]
_cagr = _DEVICE["cagr_nb"]
_years = _DEVICE["years_nb"]
_summary_figures = _DEVICE["summary_figures_nb"]
_relative_figures = _DEVICE["relative_figures_nb"]


def _csr_weights(t, rows, weights, rule_params, cursor, ncols, fee_free, target):
    """Row t's targets from a host-computed weight set (`sweep_nb`'s CSR form: its rows are
    rows[0, start:end], rule_params = (start, end)); `cursor` keeps the thread's place."""
    if t == 0:
        cursor[0] = int(rule_params[0])
    r = cursor[0]
    end = int(rule_params[1])
    while r < end and rows[0, r] < t:  # repeated rows: only the first counts, as in sweep_nb
        r += 1
    hit = r < end and rows[0, r] == t
    if hit:
        for k in range(ncols):
            target[k] = weights[r, k]
        r += 1
    cursor[0] = r
    return hit


def _strategy_weights(t, ints, floats, rule_params, cursor, ncols, fee_free, target):
    """Row t's targets from the strategy's own `kernel_weights`, and the cash asset taking what
    they leave, as in the CPU kernel (`backtest.engine.nb._kernel_targets`)."""
    if not _kernel_weights(t, ints, floats, rule_params, target):
        return t == 0 and _cash_from_the_start(target, ncols, fee_free)
    _cash_takes_the_rest(target, ncols, fee_free)
    return True


def _sweep_kernel(
    prices_t, set_cols, set_ncols, set_fee_free, combo_set, rule_ints, rule_floats, combo_rule, combo_fees,
    combo_slippage, combo_init_cash, combo_bench, bench_equity, bench_init_cash, ppy, rf, day_number, year, out,
):
    c = cuda.grid(1)
    if c >= combo_set.shape[0]:
        return
    position = cuda.local.array(MAX_COLS, float64)
    val_price = cuda.local.array(MAX_COLS, float64)
    order_value = cuda.local.array(MAX_COLS, float64)
    call_seq = cuda.local.array(MAX_COLS, int64)
    target = cuda.local.array(MAX_COLS, float64)
    cursor = cuda.local.array(1, int64)
    s = combo_set[c]
    cols = set_cols[s]
    ncols = set_ncols[s]
    fee_free = set_fee_free[s]
    rule_params = combo_rule[c]
    fees = combo_fees[c]
    slippage = combo_slippage[c]
    init_cash = combo_init_cash[c]
    b = combo_bench[c]
    n = prices_t.shape[1]
    for k in range(ncols):
        position[k] = 0.0
        val_price[k] = math.nan
    cash = init_cash
    e = init_cash  # the value at the previous close
    # the sums of summary_nb's passes, accumulated here in one
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    x1 = 0.0
    x2 = 0.0
    down2 = 0.0
    peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open = _drawdown_start(init_cash)
    year_start = init_cash
    n_years = 0
    n_positive = 0
    best = -math.inf
    worst = math.inf
    count = 0
    share = 0.0
    fees_sum = 0.0
    # and those of relative_nb
    bench_prev = bench_init_cash[b] if b >= 0 else 1.0
    r0 = 0.0
    b0 = 0.0
    x0 = 0.0
    sr = 0.0
    sb = 0.0
    sx = 0.0
    srb = 0.0
    sbb = 0.0
    sxx = 0.0
    for t in range(n):
        prev = e
        if _weights_at(t, rule_ints, rule_floats, rule_params, cursor, ncols, fee_free, target):
            cash, e, traded, fees_paid = _rebalance_row(
                prices_t, cols, ncols, fee_free, t, target, fees, slippage, cash, position, val_price, order_value, call_seq
            )
            count += 1 if traded > MIN_TRADE_SHARE * e else 0
            share += traded / e
            fees_sum += fees_paid
        else:
            e = _mark(prices_t, cols, ncols, t, cash, position, val_price)
        ret = e / prev - 1.0
        if t == 0:
            shift = ret
        s1, s2, x1, x2, down2 = _return_step(ret, rf[t], shift, s1, s2, x1, x2, down2)
        peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open = _drawdown_step(
            e, t, peak, peak_idx, threshold, mdd, mdd_peak, mdd_rec, mdd_open
        )
        if t == n - 1 or year[t + 1] != year[t]:
            n_years, n_positive, best, worst = _year_step(e / year_start - 1.0, n_years, n_positive, best, worst)
            year_start = e
        if b >= 0:
            bench = bench_equity[b, t]
            bench_return = bench / bench_prev - 1.0
            bench_prev = bench
            if t == 0:
                r0 = ret - rf[t]
                b0 = bench_return - rf[t]
                x0 = ret - bench_return
            else:
                sr, sb, sx, srb, sbb, sxx = _relative_step(ret, bench_return, rf[t], r0, b0, x0, sr, sb, sx, srb, sbb, sxx)
    row = out[c]
    for k in range(row.shape[0]):
        row[k] = math.nan
    if n == 0:
        return
    _summary_figures(
        n, init_cash, e, ppy, shift, s1, s2, x1, x2, down2, mdd, mdd_peak, mdd_rec, day_number,
        n_years, n_positive, best, worst, count, share, fees_sum, row,
    )
    if b >= 0 and row.shape[0] >= N_STATS + N_RELATIVE:
        relative = row[N_STATS:]
        years = _years(day_number, n)
        relative[EXCESS_CAGR] = _cagr(e, init_cash, years) - _cagr(bench_prev, bench_init_cash[b], years)
        if n >= 2:
            _relative_figures(n, ppy, r0, b0, x0, sr, sb, sx, srb, sbb, sxx, relative)


_DEVICE.update(_device_functions(_csr_weights))


def _kernel(kernel_weights=None):
    """The sweep kernel with its targets from weight sets (None) or from a strategy's
    `kernel_weights`, compiled once per process for each. The strategy's variant is not cached
    on disk: numba's cache key would not see a change in the strategy's file."""
    if kernel_weights not in _KERNELS:
        if kernel_weights is None:
            weights_at = _DEVICE["_csr_weights"]
        else:
            strategy = _device_functions(kernel_weights)[kernel_weights.__name__]
            weights_at = _device_functions(_strategy_weights, env={**_DEVICE, "_kernel_weights": strategy})["_strategy_weights"]
        kernel = nb.with_globals(_sweep_kernel, {"_weights_at": weights_at})
        _KERNELS[kernel_weights] = cuda.jit(cache=kernel_weights is None)(kernel)
    return _KERNELS[kernel_weights]


_KERNELS: dict = {}


def csr_rule(set_ptr, rows, weights, combo_set):
    """Host weight sets (`sweep_nb`'s CSR inputs) as the kernel's rule inputs: the rows as a
    one-row table, the weights, and each combination's (start, end) in them."""
    combo_rule = np.column_stack([set_ptr[combo_set], set_ptr[combo_set + 1]]).astype(np.float64)
    return rows[None, :], weights, combo_rule


def sweep_cuda(
    prices_t, set_cols, set_ncols, set_fee_free, combo_set, kernel_weights, rule_ints, rule_floats, combo_rule,
    combo_fees, combo_slippage, combo_init_cash, combo_bench, bench_equity, bench_init_cash, ppy, rf, day_number,
    year, out,
) -> None:
    """Fill `out` as `sweep_nb` does, on the current CUDA device (no equity curves).

    `prices_t` is the prices transposed (columns, rows). Combination c trades set combo_set[c]
    (columns as in `sweep_nb`); its targets come from `kernel_weights` (a strategy's, with its
    tables `rule_ints`, `rule_floats` and its parameters `combo_rule[c]`), or with `kernel_weights`
    None from host weight sets (the three from `csr_rule`). Arrays that stay the same from batch
    to batch (prices, tables, risk-free returns, calendar) are copied to the device once."""
    if set_cols.shape[1] > MAX_COLS:
        raise ValueError(f"sweep_cuda: weight sets of at most {MAX_COLS} columns, got {set_cols.shape[1]}")
    n_combos = combo_set.shape[0]
    if n_combos == 0:
        return
    n = prices_t.shape[1]
    if bench_equity.shape[0] == 0:  # no benchmark: a placeholder row keeps the array non-empty
        bench_equity, bench_init_cash = np.ones((1, n)), np.ones(1)
    prices_d, rf_d, day_number_d, year_d = (_resident(a) for a in (prices_t, rf, day_number, year))
    # a strategy's tables serve every batch; host weight sets change from batch to batch
    ints_d, floats_d = (_resident(a) if kernel_weights is not None else cuda.to_device(a) for a in (rule_ints, rule_floats))
    per_batch = [cuda.to_device(np.ascontiguousarray(a)) for a in (set_cols, set_ncols, set_fee_free, combo_set)]
    per_combo = [
        cuda.to_device(np.ascontiguousarray(a))
        for a in (combo_rule, combo_fees, combo_slippage, combo_init_cash, combo_bench, bench_equity, bench_init_cash)
    ]
    out_d = cuda.device_array(out.shape, dtype=np.float64)
    blocks = (n_combos + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    _kernel(kernel_weights)[blocks, THREADS_PER_BLOCK](
        prices_d, *per_batch, ints_d, floats_d, *per_combo, float(ppy), rf_d, day_number_d, year_d, out_d
    )
    out[...] = out_d.copy_to_host()


def _resident(host: np.ndarray):
    """The device copy of a host array the sweep keeps unchanged (prices, rule tables, calendar):
    copied on first use, then reused by every batch (the host array is kept, so its id stays its own)."""
    hit = _RESIDENT.get(id(host))
    if hit is None or hit[0] is not host:
        hit = _RESIDENT[id(host)] = (host, cuda.to_device(np.ascontiguousarray(host)))
    return hit[1]


_RESIDENT: dict = {}


def release() -> None:
    """Free the device copies `sweep_cuda` kept (the sweep is over)."""
    _RESIDENT.clear()


def unavailable(device: int = 0) -> str | None:
    """Why the CUDA backend cannot run on GPU `device` (None: it can)."""
    if not cuda.is_available():
        return "no NVIDIA GPU with a CUDA driver was found"
    count = len(cuda.gpus)
    if not 0 <= device < count:
        return f"--device {device}: there {'is 1 GPU' if count == 1 else f'are {count} GPUs'} (0..{count - 1})"
    return None


def select(device: int) -> None:
    cuda.select_device(device)
