"""The vectorbt engine against an independent plain-Python rebalancing loop."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine import simulate
from tests.reference import rebalance_loop


def _frame(values, columns=("a", "b")):
    index = pd.bdate_range("2001-01-01", periods=len(values))
    return pd.DataFrame(values, index=index, columns=list(columns), dtype=float)


def test_hand_computed_two_assets_no_fees():
    # prices: a = 1.10, 1.21 ; b = 0.90, 0.99 (returns +10 %/+10 % and -10 %/+10 %)
    returns = _frame([[0.10, -0.10], [0.10, 0.10]])
    weights = _frame([[0.5, 0.5]]).iloc[:1]
    sim = simulate(returns, weights, initial_cash=100.0)
    # 50 in each at the first close, then each grows 10 %: 55 + 55 = 110
    assert sim.equity.iloc[0] == pytest.approx(100.0, rel=1e-12)
    assert sim.equity.iloc[1] == pytest.approx(110.0, rel=1e-12)


def test_hand_computed_fees_cut_the_last_buy():
    returns = _frame([[0.0, 0.0], [0.0, 0.0]])
    weights = _frame([[0.5, 0.5]]).iloc[:1]
    sim = simulate(returns, weights, initial_cash=100.0, fees=0.01)
    # first buy: 50 + 0.50 fee leaves 49.50; second buy is cut to 49.50 / 1.01 = 49.0099...
    second = 49.5 / 1.01
    assert sim.orders["value"].tolist() == pytest.approx([50.0, second], rel=1e-12)
    assert sim.fees.iloc[0] == pytest.approx(0.5 + second * 0.01, rel=1e-12)
    assert sim.equity.iloc[-1] == pytest.approx(50.0 + second, rel=1e-12)


@pytest.mark.parametrize("fees,slippage", [(0.0, 0.0), (0.0005, 0.0), (0.002, 0.001)])
def test_random_rebalancing_matches_reference(fees, slippage):
    rng = np.random.default_rng(7)
    n, k = 2000, 3
    returns = _frame(rng.normal(0.0004, 0.012, (n, k)), columns=("x", "y", "z"))
    weights = pd.DataFrame(np.nan, index=returns.index, columns=returns.columns)
    rows = np.sort(rng.choice(np.arange(1, n), 60, replace=False))
    raw = rng.uniform(0, 1, (len(rows), k))
    weights.iloc[0] = [0.3, 0.3, 0.3]
    weights.iloc[rows] = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(0.5, 1.0, (len(rows), 1))
    sparse = weights.dropna(how="all")
    sim = simulate(returns, sparse, 1e5, fees=fees, slippage=slippage)
    prices = np.cumprod(1 + returns.to_numpy(), axis=0)
    expected, fees_paid = rebalance_loop(prices, weights.to_numpy(), 1e5, fees, slippage)
    np.testing.assert_allclose(sim.equity.to_numpy(), expected, rtol=1e-9)
    assert sim.fees.sum() == pytest.approx(fees_paid, rel=1e-9)


def test_cash_asset_takes_the_uninvested_share():
    returns = _frame([[0.0, 0.001], [0.02, 0.001], [0.01, 0.001]], columns=("a", "rf"))
    weights = _frame([[0.6]], columns=("a",)).iloc[:1]
    sim = simulate(returns, weights, 1000.0, fees=0.001, cash_asset="rf")
    # targets: a 600, rf 400 (no fee). The smaller order goes first: rf takes 400, leaving 600
    # cash, so the buy of a (600 plus 0.6 fee) is cut to 600 / 1.001 of value.
    a_value = 600 / 1.001
    assert sim.equity.iloc[0] == pytest.approx(a_value + 400, rel=1e-12)
    assert sim.fees.iloc[0] == pytest.approx(a_value * 0.001, rel=1e-12)
    assert sim.equity.iloc[2] == pytest.approx(a_value * 1.02 * 1.01 + 400 * 1.001**2, rel=1e-12)


def test_cash_asset_is_held_from_the_first_row_until_the_first_decision():
    # a rule with a warm-up (a moving average) decides first at row 2: until then the money earns
    # the T-bill return, as the README's "uninvested is held in T-bills" says, not nothing
    returns = _frame([[0.05, 0.001], [-0.03, 0.001], [0.02, 0.001], [0.01, 0.001]], columns=("a", "rf"))
    weights = _frame([[1.0]], columns=("a",)).iloc[:1]
    weights.index = returns.index[2:3]
    sim = simulate(returns, weights, 1000.0, fees=0.001, cash_asset="rf")
    a_value = 1002.001 / 1.001  # row 2: the T-bills sold (1000 * 1.001^2) go into a, the buy cut by its fee
    assert sim.equity.iloc[:3].tolist() == pytest.approx([1000.0, 1001.0, a_value], rel=1e-12)
    assert sim.orders[["date", "asset", "side"]].values.tolist() == [
        [returns.index[0], "rf", "buy"], [returns.index[2], "rf", "sell"], [returns.index[2], "a", "buy"]]
    assert sim.equity.iloc[3] == pytest.approx(a_value * 1.01, rel=1e-12)
    without = simulate(returns, weights, 1000.0, fees=0.001)  # no cash asset: idle cash until row 2
    assert without.equity.iloc[:2].tolist() == [1000.0, 1000.0]


def test_cash_asset_named_by_the_strategy_is_not_doubled():
    returns = _frame([[0.01, 0.001], [0.02, 0.001]], columns=("a", "rf"))
    named = _frame([[0.6, 0.0]], columns=("a", "rf")).iloc[:1]
    unnamed = named[["a"]]
    one = simulate(returns, named, 1000.0, fees=0.001, cash_asset="rf")
    other = simulate(returns, unnamed, 1000.0, fees=0.001, cash_asset="rf")
    pd.testing.assert_series_equal(one.equity, other.equity)
    assert set(one.orders["asset"]) == {"a", "rf"} and len(one.orders) == 2


def test_equity_equals_vectorbts_own_value():
    """The equity rebuilt from the order records is vectorbt's Portfolio.value()."""
    import vectorbt as vbt

    rng = np.random.default_rng(3)
    returns = _frame(rng.normal(0.0005, 0.01, (300, 2)))
    weights = _frame([[0.5, 0.5], [0.9, 0.1], [0.2, 0.3]]).set_axis(returns.index[[0, 100, 200]])
    sim = simulate(returns, weights, 1e4, fees=0.003, slippage=0.001)
    close = np.cumprod(1 + returns.to_numpy(), axis=0)
    size = weights.reindex(returns.index).to_numpy()
    portfolio = vbt.Portfolio.from_orders(
        close, size=size, size_type="targetpercent", direction="longonly", fees=0.003, slippage=0.001,
        init_cash=1e4, cash_sharing=True, group_by=True, call_seq="auto",
    )
    np.testing.assert_allclose(sim.equity.to_numpy(), portfolio.value().to_numpy().ravel(), rtol=1e-12)


@pytest.mark.parametrize("bad_return", [-1.0, -1.5])
def test_a_price_level_at_or_below_zero_is_refused_by_name(bad_return):
    """A return of -100 % or worse (e.g. a sentinel read as a return) makes the price level zero or
    negative: a data error naming the series and date, never vectorbt's internal ValueError."""
    from backtest.errors import DataError

    dates = pd.bdate_range("2001-01-01", periods=4)
    returns = pd.DataFrame({"x:A": [0.01, 0.02, bad_return, 0.01], "x:B": [0.0] * 4}, index=dates)
    weights = pd.DataFrame({"x:A": [0.5], "x:B": [0.5]}, index=dates[:1])
    with pytest.raises(DataError, match=r"series x:A: .* on 2001-01-03 \(return -1") as refused:
        simulate(returns, weights, initial_cash=100.0)
    level = 1.01 * 1.02 * (1 + bad_return)  # the product of 1 + return to that day, by hand
    assert f"falls to {level:.3g} on 2001-01-03" in str(refused.value)


def test_a_price_level_that_overflows_is_refused_by_name(tmp_path):
    """Prices read as returns (100 to 106: +10,000 % a day) overflow the level within 160 rows:
    a data error naming the series and the date, before any rule computes on it, never a run of inf
    and exit 0."""
    import backtest
    from backtest.errors import DataError

    dates = pd.bdate_range("2001-01-01", periods=400)
    (tmp_path / "P.csv").write_text("Date,P\n" + "".join(f"{d:%Y-%m-%d},{100 + k % 7}\n" for k, d in enumerate(dates)))
    (tmp_path / "cat.yaml").write_text("pct:\n  kind: returns\n  returns: total\n  unit: fraction\n  file: P.csv\n")
    config = {"strategy": {"name": "buy_and_hold", "params": {"weights": {"pct:P": 1.0}}}, "benchmark": None,
              "data": {"catalog": str(tmp_path / "cat.yaml")}}
    with pytest.raises(DataError, match=r"series pct:P: its price level \(the product of 1 \+ return\) overflows on 2001-") as refused:
        backtest.run(config)
    # the first day the product of 1 + return leaves the floats, by a plain loop
    level, first = 1.0, None
    for k, day in enumerate(dates):
        level *= 1 + (100 + k % 7)
        if first is None and level == float("inf"):
            first = day
    assert f"overflows on {first:%Y-%m-%d} (return {100 + dates.get_loc(first) % 7:g} that day)" in str(refused.value)
    # the files at fault first: the series' file and the catalog that says what its numbers are
    assert str(refused.value).startswith(f"{(tmp_path / 'P.csv').resolve()}, {(tmp_path / 'cat.yaml').resolve()}: series pct:P")


def test_vectorbt_loads_without_quantstats_which_stays_importable():
    """vectorbt would import quantstats (matplotlib, seaborn, statsmodels) for an accessor the
    engine never uses: the engine hides it while vectorbt loads, and it imports normally after."""
    import subprocess
    import sys

    code = ("import sys; from backtest.engine.vectorbt import _vectorbt; _vectorbt()\n"
            "print(sorted(m for m in ('quantstats', 'matplotlib', 'seaborn', 'statsmodels') if m in sys.modules))\n"
            "import quantstats; print(quantstats.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "quantstats"]
