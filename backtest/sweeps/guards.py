"""Guard rails against a sweep fooling its user.

- `deflated_sharpe`: the winner's Sharpe ratio deflated for the number of trials and for
  non-normal returns (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014).
- `split`: choose the best parameters in-sample, report them out-of-sample.
- `walk_forward`: re-choose on rolling training windows, stitch the out-of-sample test windows.

Out-of-sample figures come from a `backtest run` of the chosen parameters over the whole history
up to the window's end, cut to the window: the strategy keeps its history (a rule such as first10
needs the previous year's close), decisions still use only data up to each date, and the window's
returns start from the portfolio the rule held at the window's start. Every statistic is computed
by `backtest.stats`, and every run by `backtest.pipeline`.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

from backtest import stats
from backtest.errors import ConfigError

EULER_GAMMA = 0.5772156649015329
CONFIDENCE = 0.95
OUT_OF_SAMPLE_NOTE = (
    "out-of-sample figures: each window is cut from a run of the chosen parameters over the history up to "
    "the window's end, rebased to the initial cash at the window's start (the rule keeps the history it needs, "
    "e.g. the previous year's close; every decision uses only data up to its date)"
)


def deflated_sharpe(returns: np.ndarray, trials: int, trial_variance: float) -> dict:
    """Probability that the winner's true Sharpe ratio beats the best of N luck-only trials.

    returns: the winner's per-period returns; trials: N, the number of trials (finite Sharpe
    ratios); trial_variance: the variance (ddof=1) of the trials' per-period (not annualised)
    Sharpe ratios. SR0 = sqrt(V[SR]) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))) is the expected
    maximum Sharpe ratio of N trials with no skill; then
    DSR = Φ((SR - SR0) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1)/4 SR²)).
    """
    from statistics import NormalDist  # (scipy.stats takes 0.8 s to import: a sweep need not wait)

    norm = NormalDist()
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    n, t = int(trials), len(r)
    sr = r.mean() / r.std(ddof=1)
    if n > 1:
        expected_max = (1 - EULER_GAMMA) * norm.inv_cdf(1 - 1 / n) + EULER_GAMMA * norm.inv_cdf(1 - 1 / (n * math.e))
        sr0 = math.sqrt(trial_variance) * expected_max
    else:
        sr0 = 0.0
    deviations = r - r.mean()
    m2 = np.mean(deviations**2)
    skewness, kurt = np.mean(deviations**3) / m2**1.5, np.mean(deviations**4) / m2**2  # the moments' ratios (population)
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skewness * sr + (kurt - 1) / 4 * sr**2)
    dsr = norm.cdf(z)
    if dsr >= CONFIDENCE:
        verdict = f"the best result beats what luck gives the best of {n:,} trials (deflated Sharpe {dsr:.3f} >= {CONFIDENCE})"
    else:
        verdict = (
            f"the best result is indistinguishable from luck: with {n:,} trials the best Sharpe ratio "
            f"expected from luck alone is {sr0:.4f} a period vs the winner's {sr:.4f} (deflated Sharpe {dsr:.3f} < {CONFIDENCE})"
        )
    return {"dsr": dsr, "sr0": float(sr0), "sr_best": float(sr), "trials": n, "returns": t, "verdict": verdict}


def parse_split(text: str) -> tuple[dt.date | None, dt.date]:
    """'1926-01-01:1999-12-31' (or ':1999-12-31') -> in-sample start and end dates."""
    start, sep, end = str(text).partition(":")
    try:
        if not sep or not end:
            raise ValueError
        return (dt.date.fromisoformat(start) if start else None), dt.date.fromisoformat(end)
    except ValueError:
        raise ConfigError(f"--split {text!r}: expected IN_SAMPLE_START:IN_SAMPLE_END, e.g. 1926-01-01:1999-12-31") from None


def parse_walk_forward(text: str) -> tuple[pd.DateOffset, pd.DateOffset]:
    """'train=30y,test=5y' (units y or m) -> the two window lengths."""
    lengths = {}
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(train|test)\s*=\s*(\d+)\s*([ym])\s*", part)
        if not match or int(match[2]) < 1:
            raise ConfigError(f"--walk-forward {text!r}: expected train=<N>y,test=<N>y (units y or m)")
        n = int(match[2])
        lengths[match[1]] = pd.DateOffset(years=n) if match[3] == "y" else pd.DateOffset(months=n)
    if set(lengths) != {"train", "test"}:
        raise ConfigError(f"--walk-forward {text!r}: give both train= and test=")
    return lengths["train"], lengths["test"]


def windows(dates: pd.DatetimeIndex, train: pd.DateOffset, test: pd.DateOffset) -> list[tuple]:
    """Rolling (train_start, train_end, test_start, test_end) on the data's own dates.

    Training covers [t, t + train), testing [t + train, t + train + test); t steps by `test`.
    The last test window may be shorter (it ends with the data).
    """
    out = []
    start, last = dates[0], dates[-1]
    while True:
        test_start = start + train
        if test_start > last:
            break
        test_end = test_start + test
        train_dates = dates[(dates >= start) & (dates < test_start)]
        test_dates = dates[(dates >= test_start) & (dates < test_end)]
        if len(train_dates) >= 2 and len(test_dates):
            out.append((train_dates[0], train_dates[-1], test_dates[0], test_dates[-1]))
        start = start + test
    return out


def check_periods(config, in_sample_end: dt.date | None = None, walk: tuple | None = None) -> None:
    """Fail before any sweep runs if a split leaves no out-of-sample data, or no walk-forward
    window fits in the data."""
    from backtest.pipeline import prepare

    dates = prepare(config).returns.index
    if in_sample_end is not None and dates[-1] <= pd.Timestamp(in_sample_end):
        raise ConfigError(f"--split: no data after the in-sample end {in_sample_end} (the data ends {dates[-1].date()})")
    if walk is not None and not windows(dates, *walk):
        raise ConfigError(f"--walk-forward: the data ({dates[0].date()}..{dates[-1].date()}) is shorter than one training plus test window")


def sweep_deflated_sharpes(result) -> dict:
    """`deflated_sharpe` of a sweep's winners, with all its combinations as the trials.

    "deflated_sharpe": the winner by Sharpe ratio, on its returns (better than no skill at all?).
    "deflated_sharpe_vs_benchmark" (when there is a benchmark): the winner by information ratio, on
    its returns minus the benchmark's (does the rule add anything over its benchmark?).
    Each distinct winner's curves are computed once more, by the sweep's kernel (no vectorbt:
    the sweep command does not pay its import).
    """
    from backtest.sweeps.evaluate import combination_curves

    plan = result.plan
    curves: dict[int, object] = {}
    out = {}
    for key, ratio_name in (("deflated_sharpe", "sharpe"), ("deflated_sharpe_vs_benchmark", "information_ratio")):
        moments = result.ranking.moments.get(ratio_name)
        if moments is None or not moments.count:
            continue
        best = moments.best_row
        if best not in curves:
            curves[best] = combination_curves(plan, plan.params(best))
        winner = curves[best]
        returns = stats.daily_returns(pd.Series(winner.strategy, index=winner.dates), winner.initial_cash)
        if ratio_name == "information_ratio":
            returns = returns - stats.daily_returns(pd.Series(winner.benchmark, index=winner.dates), winner.initial_cash)
        # the trials' annualised ratios, per period: their variance divided by the periods a year
        variance = moments.variance / winner.periods_per_year
        out[key] = {"params": plan.params(best), **deflated_sharpe(returns.to_numpy(), moments.count, variance)}
    return out


def window_of(run, start, end, leg: str = "strategy") -> dict:
    """A run's leg cut to [start, end], rebased so the window starts from the initial cash."""
    initial = run.prepared.config.portfolio.initial_cash
    simulation = getattr(run, leg).simulation
    equity = simulation.equity
    inside = (equity.index >= start) & (equity.index <= end)
    first = int(np.argmax(inside))
    scale = initial / equity.iloc[first - 1] if first > 0 else 1.0
    return {
        "equity": equity[inside] * scale,
        "traded": simulation.traded[inside] * scale,
        "fees": simulation.fees[inside] * scale,
    }


def _figures(window: dict, initial: float, ppy: int) -> dict:
    return stats.performance(window["equity"], initial, ppy, traded=window["traded"], fees=window["fees"])


def best_params(result, count: int = 1) -> list[dict]:
    return [result.plan.params(int(c)) for c in result.order()[:count]]


def split(plan, result, is_end: dt.date, period: tuple, top: int = 5) -> dict:
    """The in-sample winners out-of-sample.

    `result` is the sweep on the in-sample period; `period` the (start, end) of the whole config,
    whose part after `is_end` is the out-of-sample window.
    """
    from backtest.pipeline import run_backtest

    oos_start = pd.Timestamp(is_end) + pd.Timedelta(days=1)
    rows, benchmark = [], None
    for c in result.order()[:top]:
        params = plan.params(int(c))
        run = run_backtest(plan.config(params, period))
        dates = run.prepared.returns.index
        if dates[-1] < oos_start:
            raise ConfigError(f"--split: no data after the in-sample end {is_end}")
        config = run.prepared.config
        window = window_of(run, oos_start, dates[-1])
        oos = _figures(window, config.portfolio.initial_cash, config.stats.periods_per_year)
        rows.append({"params": params, "in_sample": result.record(int(c))["stats"], "out_of_sample": oos})
        if benchmark is None and run.benchmark is not None:
            window = window_of(run, oos_start, dates[-1], leg="benchmark")
            benchmark = _figures(window, config.portfolio.initial_cash, config.stats.periods_per_year)
    return {
        "in_sample_end": str(is_end),
        "out_of_sample_start": str(oos_start.date()),
        "metric": plan.metric,
        "winners": rows,
        "benchmark_out_of_sample": benchmark,
        "note": OUT_OF_SAMPLE_NOTE,
    }


def walk_forward(plan, train: pd.DateOffset, test: pd.DateOffset, run_window_sweep) -> dict:
    """Rolling re-selection; `run_window_sweep(start, end)` sweeps the grid on one training window."""
    from backtest.pipeline import prepare, run_backtest

    base = plan.config()
    initial, ppy = base.portfolio.initial_cash, base.stats.periods_per_year
    dates = prepare(base).returns.index
    spans = windows(dates, train, test)
    if not spans:
        raise ConfigError(f"--walk-forward: the data ({dates[0].date()}..{dates[-1].date()}) is shorter than one training plus test window")
    pieces, report, value = [], [], initial
    for train_start, train_end, test_start, test_end in spans:
        chosen_result = run_window_sweep(train_start, train_end)
        params = best_params(chosen_result)[0]
        run = run_backtest(plan.config(params, (base.period.start, test_end)))
        window = window_of(run, test_start, test_end)
        scale = value / initial  # chain: each window starts from the previous window's end value
        piece = {k: v * scale for k, v in window.items()}
        pieces.append(piece)
        value = float(piece["equity"].iloc[-1])
        report.append(
            {
                "train": [str(train_start.date()), str(train_end.date())],
                "test": [str(test_start.date()), str(test_end.date())],
                "params": params,
                "train_" + plan.metric: chosen_result.record(int(chosen_result.order()[0]))["stats"][plan.metric],
                "test_stats": _figures(window, initial, ppy),
            }
        )
    stitched = {k: pd.concat([p[k] for p in pieces]) for k in ("equity", "traded", "fees")}
    return {
        "windows": report,
        "stitched": _figures(stitched, initial, ppy),
        "equity": stitched["equity"],
        "note": OUT_OF_SAMPLE_NOTE + "; the stitched curve chains the test windows, each starting from the previous one's end value",
    }
