"""The order semantics of the engine, one row at a time, as scalar functions on plain arrays.

The contract is `backtest.engine.vectorbt` (vectorbt 1.2 `Portfolio.from_orders` with
`size_type="targetpercent"`, `direction="longonly"`, `cash_sharing=True`, `call_seq="auto"`), and
these functions follow vectorbt's own `simulate_from_orders_nb` / `execute_order_nb` / `buy_nb` /
`sell_nb` step by step, including its float tolerances (`is_close_nb`, `add_nb`):

- the valuation price of every column is the row's close (forward-filled past NaN closes);
- at a rebalance row the group value is computed once, before any order: cash + sum(pos * close);
- the columns are called in ascending order of the approximate order value
  `w * value - pos * close` (insertion sort, NaN last), so sells release cash first;
- target shares = w * value / close; a buy pays close * (1 + slippage) plus the proportional fee
  and is cut to cash / (adj_price * (1 + fee)); a sell receives close * (1 - slippage) minus the
  fee and sells at most the position;
- the fee rate is per column (a cash asset such as the T-bill series is fee free).

They are the one source of these semantics: the CPU kernels (`backtest.engine.nb`) inline them,
and `backtest.engine.cuda` compiles the same Python functions for the GPU. So they use only what
both targets compile: `math` (not NumPy) on scalars, and indexing of arrays they are given.
"""

from __future__ import annotations

import math

from numba import njit

REL_TOL = 1e-9  # vectorbt.utils.math_.rel_tol
ABS_TOL = 1e-12  # vectorbt.utils.math_.abs_tol


# The scalar helpers below (down to `_rebalance_row`) are the one source of the order semantics:
# `backtest.engine.cuda` compiles the same Python functions for the GPU. So they use only what
# both targets compile: `math` (not NumPy) on scalars, and indexing of arrays they are given.


@njit(cache=True, inline="always")
def _is_close(a, b):
    if math.isnan(a) or math.isnan(b):
        return False
    if math.isinf(a) or math.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


@njit(cache=True, inline="always")
def _is_close_or_less(a, b):
    if _is_close(a, b):
        return True
    return a < b


@njit(cache=True, inline="always")
def _sign(x):
    """np.sign on a float: -1.0, 0.0, 1.0, or NaN for NaN."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    if x == 0:
        return 0.0
    return x


@njit(cache=True, inline="always")
def _add(a, b):
    """vectorbt's add_nb: a + b, snapped to 0.0 when it is zero within tolerance."""
    if _sign(a) != _sign(b):
        if _is_close(abs(a), abs(b)):
            return 0.0
    elif _is_close(a + b, 0.0):
        return 0.0
    return a + b


@njit(cache=True, inline="always")
def _insert_argsort(A, I, n):
    """vectorbt's insert_argsort_nb on the first n elements (NaN sorts last)."""
    for j in range(1, n):
        A_j = A[j]
        I_j = I[j]
        i = j - 1
        while i >= 0 and (A[i] > A_j or math.isnan(A[i])):
            A[i + 1] = A[i]
            I[i + 1] = I[i]
            i = i - 1
        A[i + 1] = A_j
        I[i + 1] = I_j


@njit(cache=True, inline="always")
def _execute_order(cash, pos, value, size, val_price, price, fee, slippage):
    """One column's order at a rebalance row (vectorbt's execute_order_nb / buy_nb / sell_nb,
    long only, no fixed fees, partial fills allowed) -> (cash, position, traded, fees paid).

    `value` is the group value before any order of the row, `size` the target weight (NaN: no
    order), `val_price` the valuation price, `price` the row's close (NaN: no order)."""
    # numerical clean-up of the state, kept even if nothing fills
    if _is_close(cash, 0.0):
        cash = 0.0
    if _is_close(pos, 0.0):
        pos = 0.0
    v = value
    if _is_close(v, 0.0):
        v = 0.0
    if math.isnan(size) or math.isnan(price):
        return cash, pos, 0.0, 0.0
    if math.isnan(v) or v <= 0:
        return cash, pos, 0.0, 0.0
    if math.isnan(val_price):
        return cash, pos, 0.0, 0.0
    order_size = size * v / val_price - pos
    if order_size > 0:
        adj_price = price * (1 + slippage)
        cash_limit = cash
        if cash_limit == 0:
            return cash, pos, 0.0, 0.0
        req_cash = order_size * adj_price
        req_fees = req_cash * fee
        total_req_cash = req_cash + req_fees
        if _is_close_or_less(total_req_cash, cash_limit):
            final_size = order_size
            fees_paid = req_fees
            final_req_cash = total_req_cash
        else:
            max_req_cash = _add(cash_limit, -0.0) / (1 + fee)
            if max_req_cash <= 0:
                return cash, pos, 0.0, 0.0
            final_size = max_req_cash / adj_price
            fees_paid = cash_limit - max_req_cash
            final_req_cash = cash_limit
        if _is_close(order_size, 0.0):
            return cash, pos, 0.0, 0.0
        if final_size < 0 and not _is_close(final_size, 0.0):
            return cash, pos, 0.0, 0.0
        return _add(cash, -final_req_cash), _add(pos, final_size), final_size * adj_price, fees_paid
    adj_price = price * (1 - slippage)
    size_limit = min(pos, -order_size)
    if pos == 0:
        return cash, pos, 0.0, 0.0
    if _is_close(size_limit, 0.0):
        return cash, pos, 0.0, 0.0
    if size_limit < 0 and not _is_close(size_limit, 0.0):
        return cash, pos, 0.0, 0.0
    acq_cash = size_limit * adj_price
    fees_paid = acq_cash * fee
    final_acq_cash = _add(acq_cash, -fees_paid)
    if final_acq_cash < 0:
        return cash, pos, 0.0, 0.0
    return cash + final_acq_cash, _add(pos, -size_limit), size_limit * adj_price, fees_paid


@njit(cache=True, inline="always")
def _value(cash, position, val_price, ncols):
    """cash + sum(position * valuation price) over the columns held, in column order."""
    total = cash
    for c in range(ncols):
        if position[c] != 0:
            total += position[c] * val_price[c]
    return total


@njit(cache=True, inline="always")
def _mark(prices_t, cols, ncols, i, cash, position, val_price):
    """The value at row i's close: valuation prices from its closes (a NaN close keeps the last)."""
    for c in range(ncols):
        p = prices_t[cols[c], i]
        if not math.isnan(p):
            val_price[c] = p
    return _value(cash, position, val_price, ncols)


@njit(cache=True, inline="always")
def _rebalance_row(prices_t, cols, ncols, fee_free, i, targets, fees, slippage, cash, position, val_price, order_value, call_seq):
    """Row i with orders to `targets` (k,) -> (cash, value after the orders, traded, fees paid).

    Updates `position` and `val_price` in place; `order_value` and `call_seq` are scratch."""
    value = _mark(prices_t, cols, ncols, i, cash, position, val_price)
    for c in range(ncols):
        order_value[c] = targets[c] * value - position[c] * val_price[c]
        call_seq[c] = c
    _insert_argsort(order_value, call_seq, ncols)
    row_traded = 0.0
    row_fees = 0.0
    for k in range(ncols):
        c = call_seq[k]
        fee = 0.0 if fee_free[c] else fees
        cash, position[c], traded, fees_paid = _execute_order(
            cash, position[c], value, targets[c], val_price[c], prices_t[cols[c], i], fee, slippage
        )
        row_traded += traded
        row_fees += fees_paid
    return cash, _value(cash, position, val_price, ncols), row_traded, row_fees
