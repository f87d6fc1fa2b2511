"""Is an edge over a benchmark more than luck? The `"significance"` block of every comparison.

One function, `significance`, serves `backtest run` (the strategy against its benchmark),
`compare` (each run against the first, on their common dates) and a sweep's winner (against its
benchmark, in- and out-of-sample, and the walk-forward curve against the benchmark and the
untuned parameters). From per-period simple returns r_t (the strategy), b_t (the benchmark),
rf_t (the risk-free rate) on the same rows and ppy periods a year:

- active returns a_t = r_t - b_t: `active_return` = mean(a) * ppy; `t_stat` and `p_value` (two
  sided, normal) from a Newey-West (Bartlett) standard error with ⌊4 (n/100)^(2/9)⌋ lags;
- the strategy's Sharpe ratio of excess returns r - rf with its 95 % stationary-bootstrap
  interval, the benchmark's, and the difference with its interval and bootstrap p-value (paired
  resamples, seeded; mean block round(n^(1/3)) rows);
- `probabilistic_sharpe`: the probability that the strategy's true Sharpe ratio exceeds the
  benchmark's (Bailey & López de Prado);
- `verdict`: one plain sentence.
"""

from __future__ import annotations

import numpy as np

from backtest.stats.bootstrap import DEFAULT_RESAMPLES, paired_sharpe_intervals
from backtest.stats.significance import MIN_RETURNS, finite_returns, newey_west, probabilistic_sharpe, verdict_line

__all__ = ["LEVEL", "SEED", "significance"]

SEED = 0
LEVEL = 0.95


def significance(returns, benchmark_returns, risk_free, periods_per_year: float, *, name: str = "the strategy",
                 against: str = "its benchmark", n_resamples: int = DEFAULT_RESAMPLES, seed: int = SEED,
                 mean_block: float | None = None) -> dict:
    """The significance block (JSON-ready floats) of `returns` against `benchmark_returns`.

    `risk_free`: each row's risk-free return (or a scalar, e.g. 0). `name` and `against` word the
    verdict ("first10 beat its benchmark by ..."). See the module docstring for the figures.
    """
    r = finite_returns(returns, "strategy returns", MIN_RETURNS)
    b = finite_returns(benchmark_returns, "benchmark returns", MIN_RETURNS)
    if len(r) != len(b):
        raise ValueError(f"significance: {len(r)} strategy returns but {len(b)} benchmark returns")
    rf = np.broadcast_to(np.asarray(risk_free, dtype=np.float64), r.shape)
    test = newey_west(r - b)
    active_return = test.mean * periods_per_year
    sharpe, benchmark_sharpe, difference = paired_sharpe_intervals(
        r - rf, b - rf, periods_per_year, n_resamples=n_resamples, mean_block=mean_block, seed=seed, level=LEVEL)
    return {
        "active_return": active_return,
        "t_stat": test.t,
        "p_value": test.p,
        "lags": test.lags,
        "n": test.n,
        "sharpe": sharpe.estimate,
        "sharpe_ci": [sharpe.low, sharpe.high],
        "benchmark_sharpe": benchmark_sharpe.estimate,
        "benchmark_sharpe_ci": [benchmark_sharpe.low, benchmark_sharpe.high],
        "sharpe_difference": difference.estimate,
        "sharpe_difference_ci": [difference.low, difference.high],
        "sharpe_difference_p_value": difference.p_value,
        "probabilistic_sharpe": probabilistic_sharpe(r - rf, benchmark_sharpe.estimate, periods_per_year),
        "bootstrap": {"resamples": n_resamples, "mean_block": difference.mean_block, "seed": seed, "level": LEVEL},
        "verdict": verdict_line(name, active_return, test.t, test.p, against=against),
    }
