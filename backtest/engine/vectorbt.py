"""vectorbt wrapper: target weights on a returns calendar -> equity curve and orders.

Order semantics (vectorbt's, and the contract any faster kernel must match):
- the returns are turned into price levels P_t = prod_{s<=t} (1 + r_s) and every order executes
  at the close of its row (buys at P(1 + slippage), sells at P(1 - slippage));
- all assets share one pool of cash; every target weight is a share of the portfolio value
  before the rebalance (valued at the row's close);
- sells execute before buys; a buy the remaining cash cannot pay for, fees included, is cut to
  what the cash covers; fees are a proportion of each order's value.
With `cash_asset` set, that column (e.g. the T-bill series) receives whatever the strategy leaves
uninvested, without fees, so idle cash earns its return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from backtest.errors import DataError


# vectorbt snaps a valuation price within 1e-12 of zero to zero and then refuses to size a target
# order at it (ValueError), so no price level may fall that low; a return of -100 % or worse
# would make it zero or negative.
MIN_PRICE_LEVEL = 1e-12


def price_levels(returns: pd.DataFrame) -> np.ndarray:
    """P_t = prod_{s<=t} (1 + r_s) per column, as a float64 array; DataError naming the series and
    date where a level is not above MIN_PRICE_LEVEL or overflows (NaN levels pass: no price that day)."""
    with np.errstate(over="ignore"):
        prices = np.cumprod(1.0 + returns.to_numpy(dtype=np.float64), axis=0)
    bad = (prices <= MIN_PRICE_LEVEL) | np.isinf(prices)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        fate = "overflows" if np.isinf(prices[row, col]) else f"falls to {prices[row, col]:.3g}"
        raise DataError(
            f"series {returns.columns[col]}: its price level (the product of 1 + return) {fate} "
            f"on {returns.index[row].date()} (return {returns.iat[row, col]:.6g} that day); "
            f"a backtest needs it above {MIN_PRICE_LEVEL:g} and finite (a file of prices or percents read as returns?)"
        )
    return prices


@dataclass(frozen=True)
class Simulation:
    """What a simulation produced, all on the run's calendar."""

    equity: pd.Series  # portfolio value at each close, after that row's trading
    orders: pd.DataFrame  # one row per filled order: date, asset, side, size, price, value, fees
    traded: pd.Series  # per row: sum of |order value| over assets
    fees: pd.Series  # per row: fees paid
    initial_cash: float


def simulate(
    returns: pd.DataFrame,
    target_weights: pd.DataFrame,
    initial_cash: float,
    fees: float = 0.0,
    slippage: float = 0.0,
    cash_asset: str | None = None,
) -> Simulation:
    """Rebalance to `target_weights` (rows: rebalance dates; NaN: no change) over `returns`."""
    pf = portfolio(returns, target_weights, initial_cash, fees, slippage, cash_asset)
    assets = list(pf.wrapper.columns)
    prices = pf.close.to_numpy()
    records = pf.orders.records
    dates = returns.index[records["idx"]]
    value = records["size"] * records["price"]
    orders = pd.DataFrame(
        {
            "date": dates,
            "asset": np.asarray(assets, dtype=object)[records["col"]],
            "side": np.where(records["side"] == 0, "buy", "sell"),
            "size": records["size"],
            "price": records["price"],
            "value": value,
            "fees": records["fees"],
        }
    )
    per_row = np.zeros((2, len(returns)))
    np.add.at(per_row[0], records["idx"], value)
    np.add.at(per_row[1], records["idx"], records["fees"])
    equity = pd.Series(_equity(records, prices, initial_cash), index=returns.index, name="equity")
    return Simulation(
        equity=equity,
        orders=orders,
        traded=pd.Series(per_row[0], index=returns.index, name="traded"),
        fees=pd.Series(per_row[1], index=returns.index, name="fees"),
        initial_cash=float(initial_cash),
    )


def portfolio(
    returns: pd.DataFrame,
    target_weights: pd.DataFrame,
    initial_cash: float,
    fees: float = 0.0,
    slippage: float = 0.0,
    cash_asset: str | None = None,
):
    """vectorbt's `Portfolio` of rebalancing to `target_weights` over `returns` (the simulation
    behind `simulate`; with `cash_asset`, that column takes what the targets leave uninvested, and
    everything from the first row until the strategy's first decision)."""
    vbt = _vectorbt()

    assets = list(target_weights.columns)
    size = target_weights.reindex(index=returns.index)
    if cash_asset is not None:
        # the cash asset gets whatever the other targets leave (even if the strategy named it)
        if cash_asset not in assets:
            assets.append(cash_asset)
        invested = size.drop(columns=cash_asset, errors="ignore").sum(axis=1, min_count=1)
        size[cash_asset] = (1.0 - invested).clip(lower=0.0)
        if np.isnan(size[cash_asset].iloc[0]):  # before the first decision, all in the cash asset
            size.loc[size.index[0], cash_asset] = 1.0
    fee_rates = np.array([0.0 if asset == cash_asset else fees for asset in assets])
    prices = price_levels(returns[assets])
    close = pd.DataFrame(prices, index=returns.index, columns=assets)

    return vbt.Portfolio.from_orders(
        close,
        # C order always: one compiled signature of vectorbt's simulator serves every call
        size=np.ascontiguousarray(size[assets].to_numpy()),
        size_type="targetpercent",
        direction="longonly",
        fees=fee_rates[None, :],
        slippage=slippage,
        init_cash=initial_cash,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        freq="1D",
    )


def _vectorbt():
    """vectorbt, imported only when a simulation runs (heavy). It also imports quantstats where that
    is installed, for an accessor this package never uses, which brings matplotlib, seaborn and
    statsmodels (0.7-1.5 s more on `backtest run`): quantstats is hidden from it while it loads."""
    import sys

    if "vectorbt" in sys.modules or "quantstats" in sys.modules:
        import vectorbt

        return vectorbt
    sys.modules["quantstats"] = None  # `import quantstats` raises ImportError while this is set
    try:
        import vectorbt
    finally:
        del sys.modules["quantstats"]
    return vectorbt


def _equity(records: np.ndarray, prices: np.ndarray, initial_cash: float) -> np.ndarray:
    """Portfolio value at each close from the filled orders: cash plus positions at the close.

    The same figure as vectorbt's `Portfolio.value()`, without loading its ten numba functions.
    """
    buy = records["side"] == 0
    signed_size = np.where(buy, records["size"], -records["size"])
    cash_flow = -signed_size * records["price"] - records["fees"]
    position_change = np.zeros(prices.shape)
    np.add.at(position_change, (records["idx"], records["col"]), signed_size)
    cash = initial_cash + np.cumsum(np.bincount(records["idx"], cash_flow, minlength=len(prices)))
    return cash + (np.cumsum(position_change, axis=0) * prices).sum(axis=1)
