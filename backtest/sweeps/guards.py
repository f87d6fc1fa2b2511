"""Guard rails against a sweep fooling its user.

- `deflated_sharpe`: the winner's Sharpe ratio deflated for the number of trials and for
  non-normal returns (Bailey & López de Prado, "The Deflated Sharpe Ratio", 2014).
- `split`: choose the best parameters in-sample, report them out-of-sample against the
  benchmark started fresh at the split, with the significance of the difference.
- `walk_forward`: re-choose on rolling training windows, stitch the out-of-sample test windows,
  and set the stitched curve against the benchmark and the config's untuned parameters.
- `save_guard_rails`: their files in the sweep's directory, describing the latest invocation only.

Out-of-sample figures come from a `backtest run` of the chosen parameters over the whole history
up to the window's end, cut to the window: the strategy keeps its history (a rule such as first10
needs the previous year's close), decisions still use only data up to each date, and the window's
returns start from the portfolio the rule held at the window's start. Every statistic is computed
by `backtest.stats` under the run's conventions (sessions a year and risk-free rate, on the
window's own dates), and every run by `backtest.pipeline`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import shutil
from statistics import NormalDist

import numpy as np
import pandas as pd

from backtest import stats
from backtest.errors import ConfigError
from backtest.sweeps.periods import left_out, windows
from backtest.stats.significance import probabilistic_sharpe, sharpe_ratio

EULER_GAMMA = 0.5772156649015329
CONFIDENCE = 0.95
OUT_OF_SAMPLE_NOTE = (
    "out-of-sample figures: each window is cut from a run of the chosen parameters over the history up to "
    "the window's end, rebased to the initial cash at the window's start (the rule keeps the history it needs, "
    "e.g. the previous year's close; every decision uses only data up to its date); the benchmark is bought "
    "fresh at the close before the out-of-sample period"
)


def deflated_sharpe(excess: np.ndarray, trials: int, trial_variance: float, periods_per_year: float,
                    units: str = "annualised Sharpe ratios") -> dict:
    """Probability that the winner's true Sharpe ratio beats the best of N luck-only trials.

    excess: the winner's per-period excess returns (over the risk-free rate, or over the
    benchmark for an information ratio); trials: N, the number of trials; trial_variance: the
    variance (ddof=1) of the trials' annualised ratios. Annualised throughout, as the sweep's
    table: SR0 = sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))) is the expected maximum
    Sharpe ratio of N trials with no skill, and DSR = `probabilistic_sharpe`(excess, SR0), the
    probability that the true Sharpe ratio exceeds SR0 given the returns' skew and kurtosis.
    """
    r = np.asarray(excess, dtype=float)
    r = r[np.isfinite(r)]
    n = int(trials)
    sr = sharpe_ratio(r, periods_per_year)
    if n > 1:
        quantile = NormalDist().inv_cdf
        expected_max = (1 - EULER_GAMMA) * quantile(1 - 1 / n) + EULER_GAMMA * quantile(1 - 1 / (n * math.e))
        sr0 = math.sqrt(trial_variance) * expected_max
    else:
        sr0 = 0.0
    dsr = probabilistic_sharpe(r, sr0, periods_per_year)
    if dsr >= CONFIDENCE:
        verdict = f"the best result beats what luck gives the best of {n:,} trials (deflated Sharpe {dsr:.3f} >= {CONFIDENCE})"
    else:
        verdict = (
            f"the best result is indistinguishable from luck: with {n:,} trials the best ratio expected from luck "
            f"alone is {sr0:.3f} a year vs the winner's {sr:.3f} (deflated Sharpe {dsr:.3f} < {CONFIDENCE})"
        )
    return {"dsr": dsr, "sr0": float(sr0), "sr_best": float(sr), "trials": n, "returns": len(r),
            "periods_per_year": periods_per_year, "units": units, "verdict": verdict}


def sweep_deflated_sharpes(result) -> dict:
    """`deflated_sharpe` of a sweep's winners, and the significance of its winner by the metric.

    "deflated_sharpe": the winner by Sharpe ratio, on its excess returns over the risk-free rate
    (better than no skill at all?). "deflated_sharpe_vs_benchmark" (when there is a benchmark):
    the winner by information ratio, on its returns minus the benchmark's (does the rule add
    anything over its benchmark?). The trials are the combinations at the winner's cost variant
    (its fees, slippage and initial cash): the strategy settings tried, not each cost they were
    tried at ("cost_variants" counts those). "significance": the winner by the sweep's metric
    against its benchmark (`backtest.stats.edge`); "conventions": the winner's conventions. Each distinct winner's curves are computed once
    more, by the sweep's kernel (no vectorbt: the sweep command does not pay its import).
    """
    from backtest.pipeline import edge_significance
    from backtest.sweeps.evaluate import combination_curves

    plan = result.plan
    curves: dict[int, object] = {}

    def curves_of(combination: int):
        if combination not in curves:
            curves[combination] = combination_curves(plan, plan.params(combination))
        return curves[combination]

    out = {}
    for key, ratio_name in (("deflated_sharpe", "sharpe"), ("deflated_sharpe_vs_benchmark", "information_ratio")):
        moments = result.ranking.moments.get(ratio_name)
        won = moments.winner() if moments is not None else None
        if won is None:
            continue
        best, variant = won
        winner = curves_of(best)
        conventions = winner.conventions
        returns = stats.daily_returns(pd.Series(winner.strategy, index=winner.dates), winner.initial_cash)
        if ratio_name == "information_ratio":
            excess = returns - stats.daily_returns(pd.Series(winner.benchmark, index=winner.dates), winner.initial_cash)
            units = "annualised information ratios (returns over the benchmark's)"
        else:
            excess = returns - conventions.risk_free
            units = f"annualised Sharpe ratios of returns over the risk-free rate ({_risk_free_words(conventions)})"
        figures = deflated_sharpe(excess.to_numpy(), int(moments.counts[variant]), moments.variance_of(variant),
                                  conventions.periods_per_year, units)
        out[key] = {"params": plan.params(best), **figures, "cost_variants": moments.groups}
    order = result.order()
    if len(order):
        winner = curves_of(int(order[0]))
        out["conventions"] = winner.conventions.to_json()  # the winner's (a grid of series may hold several calendars)
        if winner.benchmark is not None:
            out["significance"] = {"params": plan.params(int(order[0])), **edge_significance(
                pd.Series(winner.strategy, index=winner.dates), pd.Series(winner.benchmark, index=winner.dates),
                winner.initial_cash, winner.initial_cash, winner.conventions, name="the winner")}
    return out


def _risk_free_words(conventions) -> str:
    source = conventions.risk_free_source
    return source if isinstance(source, str) else f"{source:g} a year"


def window_of(simulation, start, end, initial: float) -> dict:
    """A simulation's curves cut to [start, end], rebased so the window starts from `initial` at
    the close before its first date (the whole first date's return counts)."""
    equity = simulation.equity
    inside = (equity.index >= start) & (equity.index <= end)
    first = int(np.argmax(inside))
    scale = initial / equity.iloc[first - 1] if first > 0 else 1.0
    return {
        "equity": equity[inside] * scale,
        "traded": simulation.traded[inside] * scale,
        "fees": simulation.fees[inside] * scale,
    }


def _figures(window: dict, initial: float, conventions) -> dict:
    """A window's statistics under the run's conventions on the window's own dates."""
    on = conventions.on(window["equity"].index)
    return stats.performance(window["equity"], initial, on.periods_per_year, traded=window["traded"],
                             fees=window["fees"], risk_free=on.risk_free)


def _against(window: dict, other: dict, initial: float, conventions, name: str, against: str) -> tuple[dict, dict]:
    """(relative figures, significance) of a window against another on the same dates."""
    from backtest.pipeline import edge_significance

    equity, other_equity = window["equity"], other["equity"]
    if not equity.index.equals(other_equity.index):  # series of other calendars: their common dates
        common = equity.index.intersection(other_equity.index)
        equity, other_equity = equity.loc[common], other_equity.loc[common]
    on = conventions.on(equity.index)
    relative = stats.relative(equity, initial, other_equity, initial, on.periods_per_year, risk_free=on.risk_free)
    return relative, edge_significance(equity, other_equity, initial, initial, on, name=name, against=against)


def fresh_benchmark(run, start):
    """The run's benchmark bought afresh at the close before `start` (not carried from the run's
    first date): its simulation from that close to the run's end."""
    from backtest.pipeline import run_leg

    prepared = run.prepared
    dates = prepared.returns.index
    base = dates[dates < pd.Timestamp(start)][-1]
    returns = prepared.returns.loc[base:]
    cut = dataclasses.replace(prepared, returns=returns, conventions=prepared.conventions.on(returns.index))
    return run_leg(cut, prepared.legs[1]).simulation


def _dotted(tree: dict, key: str):
    """The value at a dotted key of a nested dict (None where a section has no such key)."""
    for part in key.split("."):
        tree = tree.get(part) if isinstance(tree, dict) else None
    return tree


def best_params(result, count: int = 1) -> list[dict]:
    return [result.plan.params(int(c)) for c in result.order()[:count]]


def split(plan, result, is_end: dt.date, period: tuple, top: int = 5) -> dict:
    """The in-sample winners out-of-sample, each against the benchmark bought fresh at the split.

    `result` is the sweep on the in-sample period; `period` the (start, end) of the whole config,
    whose part after `is_end` is the out-of-sample window.
    """
    from backtest.pipeline import run_backtest

    oos_start = pd.Timestamp(is_end) + pd.Timedelta(days=1)
    rows, benchmark, in_sample = [], None, None
    for c in result.order()[:top]:
        params = plan.params(int(c))
        run = run_backtest(plan.config(params, period))
        dates = run.prepared.returns.index
        if dates[-1] < oos_start:
            raise ConfigError(f"--split: no data after the in-sample end {is_end}")
        initial, conventions = run.prepared.config.portfolio.initial_cash, run.prepared.conventions
        in_sample = in_sample or [str(dates[0].date()), str(dates[dates <= pd.Timestamp(is_end)][-1].date())]
        window = window_of(run.strategy.simulation, oos_start, dates[-1], initial)
        row = {"params": params, "in_sample": result.record(int(c))["stats"], "out_of_sample": _figures(window, initial, conventions)}
        if run.benchmark is not None:
            fresh = window_of(fresh_benchmark(run, oos_start), oos_start, dates[-1], initial)
            relative, row["significance"] = _against(window, fresh, initial, conventions, "the winner", "the benchmark")
            row["out_of_sample"].update(relative)
            benchmark = benchmark or _figures(fresh, initial, conventions)
        rows.append(row)
    return {
        "in_sample": in_sample,
        "in_sample_end": str(is_end),
        "out_of_sample_start": str(oos_start.date()),
        "metric": plan.metric,
        "winners": rows,
        "benchmark_out_of_sample": benchmark,
        "note": OUT_OF_SAMPLE_NOTE,
    }


def walk_forward(plan, train: pd.DateOffset, test: pd.DateOffset, run_window_sweep, dates: pd.DatetimeIndex) -> dict:
    """Rolling re-selection on the data's `dates` (`periods.check_periods`, which found at least
    one window); `run_window_sweep(start, end)` sweeps the grid on one training window.

    Each test window is run with the parameters chosen on the training window before it ("tuned"),
    beside the config's own parameters ("untuned") and the benchmark bought fresh at the close
    before the first test window, over the same dates. The stitched curves chain the test
    windows; the tuned one is set against the benchmark and the untuned one with significance.
    Returns the report (JSON-ready) with "equity": the stitched curves (a DataFrame), and
    "left_out": a note on sessions after the last window (one too short to measure), or None.
    """
    from backtest.pipeline import run_backtest

    base = plan.config()
    initial = base.portfolio.initial_cash
    spans = windows(dates, train, test)  # at least one: `periods.check_periods` refused the sweep otherwise
    first, last = spans[0][2], spans[-1][3]
    untuned = run_backtest(plan.config({}, (base.period.start, last)))
    conventions = untuned.prepared.conventions
    benchmark = fresh_benchmark(untuned, first) if untuned.benchmark is not None else None
    pieces, report, value = [], [], initial
    for train_start, train_end, test_start, test_end in spans:
        chosen_result = run_window_sweep(train_start, train_end)
        params = best_params(chosen_result)[0]
        run = run_backtest(plan.config(params, (base.period.start, test_end)))
        window = window_of(run.strategy.simulation, test_start, test_end, initial)
        scale = value / initial  # chain: each window starts from the previous window's end value
        pieces.append({k: v * scale for k, v in window.items()})
        value = float(pieces[-1]["equity"].iloc[-1])
        row = {
            "train": [str(train_start.date()), str(train_end.date())],
            "test": [str(test_start.date()), str(test_end.date())],
            "params": params,
            "train_" + plan.metric: chosen_result.record(int(chosen_result.order()[0]))["stats"][plan.metric],
            "test_stats": _figures(window, initial, conventions),
            "untuned_stats": _figures(window_of(untuned.strategy.simulation, test_start, test_end, initial), initial, conventions),
        }
        if benchmark is not None:
            row["benchmark_stats"] = _figures(window_of(benchmark, test_start, test_end, initial), initial, conventions)
        report.append(row)
    stitched = {k: pd.concat([p[k] for p in pieces]) for k in ("equity", "traded", "fees")}
    others = {"untuned": window_of(untuned.strategy.simulation, first, last, initial)}
    if benchmark is not None:
        others["benchmark"] = window_of(benchmark, first, last, initial)
    out = {"windows": report, "stitched": _figures(stitched, initial, conventions)}
    out.update({name: _figures(curve, initial, conventions) for name, curve in others.items()})
    out["untuned_params"] = {key: _dotted(base.to_dict(), key) for key in plan.keys}
    out["significance"] = {}
    for name, against in (("benchmark", "the benchmark"), ("untuned", "the untuned config")):
        if name in others:
            relative, out["significance"][f"vs_{name}"] = _against(stitched, others[name], initial, conventions, "walk-forward", against)
            if name == "benchmark":
                out["stitched"].update(relative)
    out["equity"] = pd.DataFrame({"walk_forward": stitched["equity"], **{k: v["equity"] for k, v in others.items()}}).rename_axis("date")
    out["note"] = (OUT_OF_SAMPLE_NOTE + "; the stitched curve chains the test windows, each starting from the previous one's end "
                   "value; the untuned config and the benchmark run over the same dates")
    out["left_out"] = left_out(dates, spans)
    return out


def save_guard_rails(directory, guard_rails: dict, walk_forward_equity=None) -> None:
    """guard_rails.json and, for a walk-forward, its files (`store.write_walk_forward`): what this
    invocation computed, and nothing of an earlier one. The sweep id does not depend on the guard
    rails asked for, so an earlier `--walk-forward` (or one with other windows) wrote into the same
    directory: its files go. walk_forward.json, the file `backtest report` looks for, is removed
    first and renamed into place last, after the others, which are built under a temporary
    directory first: a walk-forward is never shown with another invocation's files."""
    from backtest.io import temp_path, write_json
    from backtest.sweeps.store import WALK_FORWARD_FILES, write_walk_forward

    (directory / WALK_FORWARD_FILES[0]).unlink(missing_ok=True)
    report = guard_rails.get("walk_forward")
    if report is None:
        for name in WALK_FORWARD_FILES[1:]:
            (directory / name).unlink(missing_ok=True)
    else:
        staging = temp_path(directory / "walk_forward")  # a killed writer's is removed by the next sweep (`Store.open`)
        staging.mkdir()
        try:
            write_walk_forward(staging, report, walk_forward_equity)
            for name in reversed(WALK_FORWARD_FILES):
                os.replace(staging / name, directory / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    # what the sweep's report shows beside its table (the walk-forward has files of its own)
    write_json(directory / "guard_rails.json", {k: v for k, v in guard_rails.items() if k != "walk_forward"})
