"""The batch facade (`backtest.engine.simulate_batch`, `simulate_curves`) against the plain
rebalancing loop of tests/reference.py and its statistics by plain numpy."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine import Targets, WeightSet, simulate_batch, simulate_curves
from backtest.stats.nb import STAT_NAMES
from tests.reference import rebalance_loop, summary_figures

N, K = 700, 3


@pytest.fixture(scope="module")
def market():
    rng = np.random.default_rng(11)
    returns = rng.normal(0.0004, 0.011, (N, K))
    prices = np.cumprod(1 + returns, axis=0)
    dates = pd.bdate_range("2003-01-01", periods=N)
    day_number = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    return prices, dates, day_number, dates.year.to_numpy().astype(np.int64)


def _weight_set(rng, cols, n_rows):
    rows = np.sort(rng.choice(np.arange(1, N), n_rows - 1, replace=False))
    rows = np.r_[0, rows].astype(np.int64)
    raw = rng.uniform(0, 1, (n_rows, len(cols)))
    weights = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(0.6, 1.0, (n_rows, 1))
    return WeightSet(np.array(cols, dtype=np.int64), np.zeros(len(cols), dtype=np.bool_), rows, weights)


def _dense(ws):
    """A weight set as the reference loop takes it: (N, K) targets, NaN where no order."""
    dense = np.full((N, K), np.nan)
    for r, w in zip(ws.rows, ws.weights):
        dense[r, ws.cols] = w
        dense[r, np.setdiff1d(np.arange(K), ws.cols)] = 0.0
    return dense


def test_two_weight_sets_at_three_costs_match_the_loop(market):
    prices, dates, day_number, year = market
    rng = np.random.default_rng(3)
    sets = [_weight_set(rng, [0, 2], 40), _weight_set(rng, [1, 0, 2], 25)]
    combo_set = np.array([1, 0, 0, 1, 1], dtype=np.int64)  # interleaved: each combination names its set
    fees = np.array([0.0, 0.001, 0.002, 0.0005, 0.0])
    slippage = np.array([0.0, 0.0, 0.001, 0.0005, 0.002])
    init = np.array([1e5, 1e5, 5e4, 1e6, 1e5])
    out = np.empty((5, len(STAT_NAMES)))
    equity = np.empty((5, N))
    simulate_batch(prices, Targets.from_weight_sets(sets, combo_set), fees, slippage, init, np.full(5, -1, dtype=np.int64),
                   np.empty((0, N)), np.empty(0), 252.0, np.zeros(N), day_number, year, out, equity)
    for c, s in enumerate(combo_set):
        expected, fees_paid = rebalance_loop(prices, _dense(sets[s]), init[c], fees[c], slippage[c])
        np.testing.assert_allclose(equity[c], expected, rtol=1e-9)
        figures = summary_figures(expected, init[c], dates, periods_per_year=252.0)
        for name, value in figures.items():
            assert out[c, STAT_NAMES.index(name)] == pytest.approx(value, rel=1e-9), name
        assert out[c, STAT_NAMES.index("fees_paid")] == pytest.approx(fees_paid, rel=1e-9)
        # the same set alone, by the curves facade (a sweep's benchmark curves)
        alone = simulate_curves(prices, sets[s], fees[c : c + 1], slippage[c : c + 1], init[c : c + 1])
        np.testing.assert_allclose(alone[0], equity[c], rtol=1e-12)


def test_take_keeps_each_combination_with_its_own_set(market):
    prices, dates, day_number, year = market
    rng = np.random.default_rng(5)
    sets = [_weight_set(rng, [0, 1], 30), _weight_set(rng, [2], 10)]
    targets = Targets.from_weight_sets(sets, np.array([0, 1, 0], dtype=np.int64))
    run = {}
    for combos in (np.array([0, 1, 2]), np.array([2, 1])):
        part = targets.take(combos)
        out = np.empty((len(combos), len(STAT_NAMES)))
        costs = np.zeros(len(combos))
        simulate_batch(prices, part, costs, costs, np.full(len(combos), 1e5), np.full(len(combos), -1, dtype=np.int64),
                       np.empty((0, N)), np.empty(0), 252.0, np.zeros(N), day_number, year, out)
        run[tuple(combos)] = out
    np.testing.assert_array_equal(run[(2, 1)], run[(0, 1, 2)][[2, 1]])
    assert run[(0, 1, 2)][0, 0] != run[(0, 1, 2)][1, 0]  # the two sets differ


def test_the_gpu_keeps_no_curves(market):
    prices, _, day_number, year = market
    ws = _weight_set(np.random.default_rng(1), [0], 5)
    with pytest.raises(ValueError, match="keeps no equity curves"):
        simulate_batch(prices, Targets.from_weight_sets([ws], np.zeros(1, dtype=np.int64)), np.zeros(1), np.zeros(1), np.ones(1),
                       np.full(1, -1, dtype=np.int64), np.empty((0, N)), np.empty(0), 252.0, np.zeros(N), day_number, year,
                       np.empty((1, len(STAT_NAMES))), np.empty((1, N)), gpu=True)
