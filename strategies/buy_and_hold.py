"""Buy and hold fixed weights, optionally rebalanced back to them periodically.

Buy the given weights at the close of the first row. With a rebalance period (monthly, quarterly,
annual), trade back to the weights at the close of the first session of each new period; with
`never`, let them drift.
"""

import numpy as np
import pandas as pd

from backtest.strategy import Param
from backtest.strategy.lib import distinct_values, period_starts

PARAMS = (
    Param("weights", "weights", {"ff_size:Lo 30": 0.5, "ff_size:Hi 30": 0.5}, help="series id -> weight (sum <= 1)"),
    Param("rebalance", "choice", "never", choices=("never", "monthly", "quarterly", "annual"), help="how often to trade back to the weights"),
)

def rebalance_rows(dates: pd.DatetimeIndex, rebalance: str) -> np.ndarray:
    """Whether each row rebalances: the first row, and each new period's first session."""
    rows = np.zeros(len(dates), dtype=bool)
    if rebalance == "never":
        rows[:1] = True
    else:
        rows[period_starts(dates, rebalance)] = True
    return rows


def target_weights(returns: pd.DataFrame, params) -> pd.DataFrame:
    starts = returns.index[rebalance_rows(returns.index, params.rebalance)]
    row = pd.Series(params.weights)
    return pd.DataFrame([row] * len(starts), index=starts)


# -- The kernel form of the rule ----------------------------------------------------------------
# The same rule as `target_weights`, run by the sweep kernel itself, one thread per parameter set,
# on the CPU and on a GPU (the contract: backtest/strategy/loader.py): the table is the calendar's
# rebalance rows of each schedule in the grid.


def kernel_tables(returns: pd.DataFrame, sets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each rebalance schedule of the grid (table row j) and each row t: 1 where t rebalances,
    else 0 (1 byte a row per schedule); no float table (a placeholder); per parameter set (j, then
    its weights in the order of the traded series)."""
    schedules, schedule_of_set = distinct_values(sets.rebalance)
    rebalances = np.array([rebalance_rows(returns.index, s) for s in schedules], dtype=np.int8)
    weights, weights_of_set = distinct_values(sets.weights)  # one data context: each maps the same series
    targets = np.array([[w[s] for s in returns.columns] for w in weights], dtype=np.float64)
    rule_params = np.column_stack([schedule_of_set, targets[weights_of_set]]).astype(np.float64)
    return rebalances, np.zeros((1, 1)), rule_params


def kernel_weights(t, rebalances, unused, rule_params, target):
    """Row t's target weights into `target`; False where row t does not rebalance."""
    if rebalances[int(rule_params[0]), t] == 0:
        return False
    for k in range(rule_params.shape[0] - 1):
        target[k] = rule_params[k + 1]
    return True
