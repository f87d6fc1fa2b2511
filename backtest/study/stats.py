"""Statistics shared by every study: group summaries, bootstrap intervals, permutation tests, verdicts.

One helper of each kind serves all studies. Everything is seeded and vectorised (resamples are
drawn as matrices in chunks, never in a Python loop per resample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
DEFAULT_RESAMPLES = 10_000
_CHUNK_CELLS = 4_000_000  # resample matrix cells per chunk (~32 MB of float64)


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    return x[~np.isnan(x)]


def _rng(seed, *stream) -> np.random.Generator:
    """A generator for (seed, stream...): independent, reproducible streams per group/outcome."""
    return np.random.default_rng([int(seed), *map(int, stream)])


def positive_share(x: np.ndarray, axis=None):
    """Share of values above zero."""
    return np.mean(np.asarray(x) > 0, axis=axis)


STATISTICS = {"mean": np.mean, "median": np.median, "positive_share": positive_share}


def bootstrap_ci(
    values,
    statistics=("mean",),
    *,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    stream: tuple[int, ...] = (),
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap confidence intervals of `statistics` (names in STATISTICS) of `values`.

    Resamples the values with replacement `resamples` times (seeded), computes each statistic per
    resample, and returns {name: (lower, upper)} at the (1 - level)/2 and (1 + level)/2 quantiles.
    NaN values are dropped; fewer than 2 values give (nan, nan).
    """
    x = _clean(values)
    n = len(x)
    if n < 2:
        return {name: (math.nan, math.nan) for name in statistics}
    rng = _rng(seed, *stream)
    draws = {name: np.empty(resamples) for name in statistics}
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, resamples, chunk):
        b = min(chunk, resamples - start)
        sample = x[rng.integers(0, n, size=(b, n))]
        for name in statistics:
            draws[name][start : start + b] = STATISTICS[name](sample, axis=1)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {name: tuple(float(v) for v in np.percentile(d, q)) for name, d in draws.items()}


def permutation_p_value(
    a, b, *, seed: int = 0, permutations: int = DEFAULT_RESAMPLES, stream: tuple[int, ...] = ()
) -> float:
    """Two-sided permutation test of mean(a) - mean(b) = 0.

    Shuffles the pooled values `permutations` times (seeded), splits them into groups of the
    original sizes, and returns (1 + #{|d*| >= |d|}) / (1 + permutations): never 0, ~1 for
    identical groups. NaN values are dropped; an empty group gives nan.
    """
    a, b = _clean(a), _clean(b)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    pooled = np.concatenate([a, b])
    n, na = len(pooled), len(a)
    observed = abs(a.mean() - b.mean())
    tol = 1e-12 * max(1.0, float(np.abs(pooled).max()))  # ties count as "as extreme"
    rng = _rng(seed, *stream)
    extreme = 0
    chunk = max(1, _CHUNK_CELLS // n)
    for start in range(0, permutations, chunk):
        k = min(chunk, permutations - start)
        shuffled = rng.permuted(np.broadcast_to(pooled, (k, n)), axis=1)
        diff = shuffled[:, :na].mean(axis=1) - shuffled[:, na:].mean(axis=1)
        extreme += int(np.count_nonzero(np.abs(diff) >= observed - tol))
    return (1 + extreme) / (1 + permutations)


def describe(
    values, outcome: str, *, seed: int = 0, resamples: int = DEFAULT_RESAMPLES, stream: tuple[int, ...] = ()
) -> dict:
    """Count, mean, median and positive share of one outcome in one group, with bootstrap CIs.

    Keys: `count`, `<outcome>_mean`, `<outcome>_median`, `<outcome>_positive_share` and the same
    three with `_ci` ([lower, upper], 95 % percentile bootstrap).
    """
    x = _clean(values)
    out = {"count": int(len(x))}
    ci = bootstrap_ci(x, tuple(STATISTICS), seed=seed, resamples=resamples, stream=stream)
    for name, fn in STATISTICS.items():
        out[f"{outcome}_{name}"] = float(fn(x)) if len(x) else math.nan
        out[f"{outcome}_{name}_ci"] = list(ci[name])
    return out


@dataclass(frozen=True)
class Claim:
    """A testable statement: `outcome` is higher in group `high` than in group `low`."""

    outcome: str  # outcome column, e.g. "market_rest"
    high: str  # group expected to be higher, e.g. "led"
    low: str  # the other group, e.g. "not_led"
    text: str  # the claim in plain words


def verdict(claim: Claim, mean_high: float, mean_low: float, p_value: float, alpha: float = ALPHA) -> str:
    """Plain words: is the claim supported at `alpha`, and which way does the data point?"""
    pct = f"{alpha * 100:g} %"
    if any(map(math.isnan, (mean_high, mean_low, p_value))):
        return f"cannot test at {pct}: a group is empty ({claim.text})"
    diff = mean_high - mean_low
    figures = (
        f"mean {claim.outcome} {mean_high * 100:+.2f} % ({claim.high}) vs {mean_low * 100:+.2f} % "
        f"({claim.low}), difference {diff * 100:+.2f} pp, p = {p_value:.3f}"
    )
    if p_value < alpha and diff > 0:
        return f"supported at {pct}: {claim.text}; {figures}"
    if p_value < alpha:
        return f"not supported at {pct}: the data goes significantly the other way ({claim.text} is contradicted); {figures}"
    way = "same direction as the claim, but" if diff > 0 else "the data goes the other way, and"
    return f"not supported at {pct}: {way} the difference is not significant; {figures}"


def summarize(
    frame,
    groups: dict[str, np.ndarray],
    claims: list[Claim],
    *,
    outcomes: list[str],
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
) -> dict:
    """The summary object every study prints.

    frame: rows (DataFrame) holding the outcome columns; groups: name -> boolean mask over rows;
    claims: tested pairs, the first is the headline (`p_value`, `verdict`).
    Returns {group: describe(...) for each outcome, ..., "comparisons": [...], "p_value", "verdict"}.
    """
    summary: dict = {}
    for g, (name, mask) in enumerate(groups.items()):
        entry: dict = {}
        for o, outcome in enumerate(outcomes):
            d = describe(frame.loc[mask, outcome], outcome, seed=seed, resamples=resamples, stream=(g, o))
            entry.update(d)
        summary[name] = entry
    comparisons = []
    for c, claim in enumerate(claims):
        high = frame.loc[groups[claim.high], claim.outcome]
        low = frame.loc[groups[claim.low], claim.outcome]
        p = permutation_p_value(high, low, seed=seed, permutations=resamples, stream=(1000 + c,))
        mh = float(_clean(high).mean()) if _clean(high).size else math.nan
        ml = float(_clean(low).mean()) if _clean(low).size else math.nan
        comparisons.append(
            {
                "claim": claim.text,
                "outcome": claim.outcome,
                "groups": [claim.high, claim.low],
                "difference": mh - ml,
                "p_value": p,
                "verdict": verdict(claim, mh, ml, p),
            }
        )
    summary["comparisons"] = comparisons
    summary["p_value"] = comparisons[0]["p_value"] if comparisons else math.nan
    summary["verdict"] = comparisons[0]["verdict"] if comparisons else ""
    return summary
