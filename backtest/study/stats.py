"""Statistics shared by every study: group summaries, bootstrap intervals, permutation tests, verdicts.

One helper of each kind serves all studies. Everything is seeded and vectorised (resamples are
drawn as matrices in chunks, never in a Python loop per resample). A study makes several
comparisons at once, so each verdict is decided on Holm's adjusted p-value across them (the
family-wise error at 5 %), and Benjamini-Hochberg's is reported beside it
(`backtest.stats.significance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backtest.stats.significance import benjamini_hochberg, holm

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


def sign_flip_p_value(values, *, seed: int = 0, permutations: int = DEFAULT_RESAMPLES, stream: tuple[int, ...] = ()) -> float:
    """Two-sided test of mean(values) = 0 by random sign flips (exact under a distribution
    symmetric about 0): (1 + #{|mean(±x)| >= |mean(x)|}) / (1 + permutations). NaN values are
    dropped; no value gives nan."""
    x = _clean(values)
    if len(x) == 0:
        return math.nan
    observed = abs(x.mean())
    tol = 1e-12 * max(1.0, float(np.abs(x).max()))  # ties count as "as extreme"
    rng = _rng(seed, *stream)
    extreme = 0
    chunk = max(1, _CHUNK_CELLS // len(x))
    for start in range(0, permutations, chunk):
        k = min(chunk, permutations - start)
        signs = rng.integers(0, 2, size=(k, len(x))) * 2 - 1
        extreme += int(np.count_nonzero(np.abs((signs * x).mean(axis=1)) >= observed - tol))
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
    """A testable statement: `outcome` is higher in group `high` than in group `low`, or, with
    `low` None, its mean in group `high` is above 0."""

    outcome: str  # outcome column, e.g. "market_rest"
    high: str  # group expected to be higher, e.g. "led"
    low: str | None  # the other group, e.g. "not_led"; None: against 0
    text: str  # the claim in plain words


def _p(p: float) -> str:
    """A p-value with the digits that matter: 0.754, 0.0022, 0.0001 (10,000 permutations' floor)."""
    return f"{p:.3f}" if p >= 0.01 else f"{p:.2g}"


def verdict(claim: Claim, mean_high: float, mean_low: float, p_value: float, p_holm: float, p_bh: float,
            family: int, alpha: float = ALPHA) -> str:
    """Plain words: is the claim supported at `alpha` after Holm's adjustment across the `family`
    of comparisons, and which way does the data point? (`mean_low` 0 for a claim against 0.)"""
    pct = f"{alpha * 100:g} %"
    if any(map(math.isnan, (mean_high, mean_low, p_value))):
        return f"cannot test at {pct}: a group is empty ({claim.text})"
    diff = mean_high - mean_low
    if claim.low is None:
        figures = f"mean {claim.outcome} {mean_high * 100:+.2f} % ({claim.high})"
    else:
        figures = (f"mean {claim.outcome} {mean_high * 100:+.2f} % ({claim.high}) vs {mean_low * 100:+.2f} % "
                   f"({claim.low}), difference {diff * 100:+.2f} pp")
    figures += f", p = {_p(p_value)} (Holm {_p(p_holm)}, Benjamini-Hochberg {_p(p_bh)}, over {family} comparisons)"
    if p_holm < alpha and diff > 0:
        return f"supported at {pct}: {claim.text}; {figures}"
    if p_holm < alpha:
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
    group_outcomes: dict[str, list[str]] | None = None,
) -> dict:
    """The summary object every study prints.

    frame: rows (DataFrame) holding the outcome columns; groups: name -> boolean mask over rows;
    claims: tested pairs (or one group against 0), the first is the headline (`p_value`,
    `verdict`); group_outcomes: the outcomes described for a group, where not `outcomes`. Each comparison's p-value is adjusted across all of them (Holm; Benjamini-Hochberg
    reported too), and its verdict decided on Holm's.
    Returns {group: describe(...) for each outcome, ..., "comparisons": [...], "p_value",
    "p_value_holm", "verdict"}.
    """
    summary: dict = {}
    for g, (name, mask) in enumerate(groups.items()):
        entry: dict = {}
        for o, outcome in enumerate((group_outcomes or {}).get(name, outcomes)):
            d = describe(frame.loc[mask, outcome], outcome, seed=seed, resamples=resamples, stream=(g, o))
            entry.update(d)
        summary[name] = entry
    comparisons, means = [], []
    for c, claim in enumerate(claims):
        high = _clean(frame.loc[groups[claim.high], claim.outcome])
        if claim.low is None:
            p = sign_flip_p_value(high, seed=seed, permutations=resamples, stream=(1000 + c,))
            low = np.zeros(1)
        else:
            low = _clean(frame.loc[groups[claim.low], claim.outcome])
            p = permutation_p_value(high, low, seed=seed, permutations=resamples, stream=(1000 + c,))
        means.append((float(high.mean()) if high.size else math.nan, float(low.mean()) if low.size else math.nan))
        comparisons.append({"claim": claim.text, "outcome": claim.outcome, "groups": [claim.high, claim.low],
                            "difference": means[-1][0] - means[-1][1], "p_value": p})
    adjusted = holm([c["p_value"] for c in comparisons]), benjamini_hochberg([c["p_value"] for c in comparisons])
    family = int(np.count_nonzero(~np.isnan([c["p_value"] for c in comparisons])))
    for c, (claim, comparison) in enumerate(zip(claims, comparisons)):
        comparison["p_value_holm"], comparison["p_value_bh"] = float(adjusted[0][c]), float(adjusted[1][c])
        comparison["verdict"] = verdict(claim, *means[c], comparison["p_value"], comparison["p_value_holm"],
                                        comparison["p_value_bh"], family)
    summary["comparisons"] = comparisons
    summary["p_value"] = comparisons[0]["p_value"] if comparisons else math.nan
    summary["p_value_holm"] = comparisons[0]["p_value_holm"] if comparisons else math.nan
    summary["verdict"] = comparisons[0]["verdict"] if comparisons else ""
    return summary
