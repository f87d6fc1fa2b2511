"""Every shipped strategy, on real data with its default parameters, decides without the future.

Truncating the data after a date must not change any decision before it; replacing every return
after a date by noise must not change any decision up to and including it. (The truncation check
stops short of the cut date itself: a rule may legitimately use the trading calendar, e.g.
"the last session before January", which a truncated file cannot show.)
"""

import numpy as np
import pandas as pd
import pytest

from backtest.data import align_calendars, load_returns
from backtest.strategy import load_strategy, strategy_names

CALENDAR_CUTS = ("1962-06-29", "1987-10-19", "2008-09-15", "2016-11-08", "2020-03-16")


@pytest.mark.parametrize("name", strategy_names())
def test_decisions_ignore_the_future(shared_data, name):
    strategy = load_strategy(name)
    params = strategy.resolve_params({})
    returns, _ = align_calendars(load_returns(strategy.series(params), [shared_data]))
    full = strategy.target_weights(returns, params)
    rng = np.random.default_rng(0)
    # cut on the strategy's own decision dates (where a peek would show) and on fixed dates
    decisions = full.index[1:]
    picks = decisions[np.linspace(0, len(decisions) - 1, min(6, len(decisions))).astype(int)]
    checked = 0
    for cut in [*picks, *map(pd.Timestamp, CALENDAR_CUTS)]:
        if not returns.index[0] < cut < returns.index[-1]:
            continue
        checked += 1
        truncated = strategy.target_weights(returns.loc[:cut], params)
        before = full.index < cut
        pd.testing.assert_frame_equal(truncated.loc[truncated.index < cut], full.loc[before])
        scrambled = returns.copy()
        after = scrambled.index > cut
        scrambled.loc[after] = rng.normal(0, 0.05, (after.sum(), scrambled.shape[1]))
        noisy = strategy.target_weights(scrambled, params)
        pd.testing.assert_frame_equal(noisy.loc[:cut], full.loc[:cut])
    assert checked, f"no cut date inside {returns.index[0].date()}..{returns.index[-1].date()}"
