"""Seeded stationary bootstrap (Politis & Romano 1994) intervals for Sharpe ratios.

A resample of n rows is built from blocks of consecutive rows (wrapping from the last row to
the first): the first block starts at a uniform random row, and each later row starts a new
block with probability 1 / mean_block, else continues the block. Block lengths are therefore
geometric with mean `mean_block`, which keeps the serial dependence of daily returns (volatility
clusters) that an i.i.d. bootstrap would destroy. The default mean block length is
round(n^(1/3)) rows (30 for 26,003 rows), the order of the optimal rate for variance-type
statistics; pass `mean_block` to choose another.

Speed: resamples are generated and scored as blocks, never as n indices each. Row sums of a
resample are differences of prefix sums over each block, so 10,000 resamples of 26,000 rows
cost ~10^7 block operations rather than 2.6 * 10^8 index look-ups (the work is n * resamples /
mean_block: a mean block of 1, the i.i.d. bootstrap, is the slow case). `Blocks.indices()` expands
blocks to indices where they are needed (the tests use it to check the fast path against
direct computation).

The interval is the percentile interval: the (1 - level)/2 and (1 + level)/2 quantiles of the
resampled statistics (numpy's linear interpolation), as arch's `conf_int(method="percentile")`.
Each interval also carries the two-sided bootstrap p-value of "the statistic is 0", from the
resampled statistics centred on the estimate (Ledoit & Wolf 2008):
p = (1 + #{|s* - s| >= |s|}) / (resamples + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from backtest.stats.significance import MIN_RETURNS, finite_returns, sharpe_ratio

__all__ = [
    "Blocks",
    "Interval",
    "default_mean_block",
    "paired_sharpe_intervals",
    "percentile_interval",
    "sharpe_difference_interval",
    "sharpe_interval",
    "stationary_bootstrap_blocks",
]

DEFAULT_RESAMPLES = 2000
# blocks generated at once (a few arrays of this length): bounds memory at ~100 MB
_CHUNK_BLOCKS = 1 << 21


def default_mean_block(n: int) -> int:
    """The default mean block length: round(n^(1/3)), at least 1."""
    return max(1, round(n ** (1.0 / 3.0)))


@dataclass(frozen=True)
class Blocks:
    """Stationary-bootstrap resamples as blocks: block k gives resample `resample[k]` the rows
    start[k], start[k] + 1, ... (mod n) for `length[k]` positions; blocks are in order, so each
    resample's blocks are consecutive and their lengths sum to n."""

    n: int
    n_resamples: int
    resample: np.ndarray
    start: np.ndarray
    length: np.ndarray

    def indices(self) -> np.ndarray:
        """The (n_resamples, n) row indices of the resamples."""
        first = np.cumsum(self.length) - self.length  # position of each block's first row
        offset = np.repeat(self.start - first, self.length)
        return ((offset + np.arange(self.n_resamples * self.n)) % self.n).reshape(self.n_resamples, self.n)


def stationary_bootstrap_blocks(n: int, n_resamples: int, mean_block: float, rng: np.random.Generator) -> Blocks:
    """Draw `n_resamples` stationary-bootstrap resamples of n rows, as blocks.

    The resamples are laid end to end as one stream of n_resamples * n positions. New blocks
    start at a Bernoulli(1 / mean_block) process over the stream (drawn as geometric gaps), and
    at the first position of every resample; each block starts at a uniform random row.
    """
    if n < 1 or n_resamples < 1:
        raise ValueError(f"stationary_bootstrap_blocks: need n >= 1 and n_resamples >= 1, got {n}, {n_resamples}")
    if not mean_block >= 1:
        raise ValueError(f"stationary_bootstrap_blocks: mean_block must be >= 1, got {mean_block}")
    p = 1.0 / mean_block
    total = n * n_resamples
    # enough geometric gaps to pass the end of the stream almost always; topped up otherwise
    expected = total * p
    gaps = rng.geometric(p, size=int(expected + 6 * math.sqrt(expected) + 16))
    while gaps.sum() < total:
        gaps = np.concatenate([gaps, rng.geometric(p, size=len(gaps))])
    events = np.cumsum(gaps) - 1  # position of each success of the Bernoulli process
    events = events[: np.searchsorted(events, total)]
    resample_starts = np.arange(n_resamples, dtype=np.int64) * n
    events = events[events % n != 0]  # resample starts are added once, below
    position = np.insert(events, np.searchsorted(events, resample_starts), resample_starts)
    length = np.diff(np.append(position, total))
    start = rng.integers(0, n, size=len(position))
    return Blocks(n=n, n_resamples=n_resamples, resample=position // n, start=start, length=length)


def _prefix_sums(x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(c, running sums of d and d²) for d = x - c, c = mean(x), over d repeated twice (rows
    n..2n-1 wrap around to 0..n-1) with a leading 0: the sum over rows [s, e) is
    prefix[e] - prefix[s] for any e <= 2n. Centring keeps Σd² - (Σd)²/n free of cancellation
    even for a series whose mean dwarfs its spread."""
    center = float(x.mean())
    doubled = np.concatenate([x, x]) - center
    return center, *(np.concatenate([[0.0], np.cumsum(values)]) for values in (doubled, doubled * doubled))


def _resampled_sharpes(prefixes, blocks: Blocks, periods_per_year: float) -> list[np.ndarray]:
    """The annualised Sharpe ratio (mean / std(ddof=1) * √ppy) of each resample, per series.

    prefixes: `_prefix_sums` of each series. A block never exceeds one resample's n rows, so
    start + length <= 2n - 1 stays inside the doubled sums.
    """
    n = blocks.n
    end = blocks.start + blocks.length
    out = []
    for center, *sums in prefixes:
        s1, s2 = (np.bincount(blocks.resample, weights=prefix[end] - prefix[blocks.start], minlength=blocks.n_resamples)
                  for prefix in sums)
        variance = (s2 - s1 * s1 / n) / (n - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(variance > 0, (center + s1 / n) / np.sqrt(variance), np.nan) * math.sqrt(periods_per_year))
    return out


@dataclass(frozen=True)
class Interval:
    """A statistic with its bootstrap percentile interval."""

    estimate: float
    low: float
    high: float
    level: float
    n_resamples: int
    mean_block: float
    seed: int
    p_value: float  # two-sided, of estimate = 0 (see the module docstring)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The (1 - level)/2 and (1 + level)/2 quantiles of `values` (linear interpolation); NaN if any is NaN."""
    if not 0 < level < 1:
        raise ValueError(f"percentile_interval: level must be in (0, 1), got {level}")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100.0 - tail])
    return float(low), float(high)


def _paired_returns(series, what: str) -> list[np.ndarray]:
    arrays = [finite_returns(x, what, at_least=MIN_RETURNS) for x in series]
    if len({len(x) for x in arrays}) > 1:
        raise ValueError(f"{what}: the returns must be on the same rows, got {' and '.join(str(len(x)) for x in arrays)}")
    return arrays


def _centred_p_value(values: np.ndarray, estimate: float) -> float:
    """(1 + #{|v - estimate| >= |estimate|}) / (len(values) + 1); NaN for a NaN estimate."""
    if math.isnan(estimate):
        return math.nan
    extreme = np.count_nonzero(np.abs(values - estimate) >= abs(estimate))
    return float((1 + extreme) / (len(values) + 1))


def _bootstrap(series, periods_per_year, combines, what, n_resamples, mean_block, seed, level) -> list[Interval]:
    """Intervals for each combine(sharpe of each series), all series resampled on the same blocks."""
    arrays = _paired_returns(series, what)
    n = len(arrays[0])
    mean_block = default_mean_block(n) if mean_block is None else mean_block
    prefixes = [_prefix_sums(x) for x in arrays]
    rng = np.random.default_rng(seed)
    chunk = max(1, int(_CHUNK_BLOCKS // (1 + (n - 1) / mean_block)))  # resamples at once
    values: list[list[np.ndarray]] = [[] for _ in combines]
    for done in range(0, n_resamples, chunk):
        blocks = stationary_bootstrap_blocks(n, min(chunk, n_resamples - done), mean_block, rng)
        sharpes = _resampled_sharpes(prefixes, blocks, periods_per_year)
        for k, combine in enumerate(combines):
            values[k].append(combine(*sharpes))
    estimates = [np.float64(sharpe_ratio(x, periods_per_year)) for x in arrays]
    intervals = []
    for combine, drawn in zip(combines, values):
        drawn = np.concatenate(drawn)
        estimate = float(combine(*estimates))
        low, high = percentile_interval(drawn, level)
        intervals.append(Interval(estimate=estimate, low=low, high=high, level=level, n_resamples=n_resamples,
                                  mean_block=float(mean_block), seed=seed, p_value=_centred_p_value(drawn, estimate)))
    return intervals


def sharpe_interval(excess, periods_per_year: float, *, n_resamples: int = DEFAULT_RESAMPLES,
                    mean_block: float | None = None, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile interval of the annualised Sharpe ratio of excess returns x_t = r_t - rf_t.

    Sharpe = mean / std(ddof=1) * √ppy on each of `n_resamples` stationary-bootstrap resamples
    (mean block length `mean_block`, default round(n^(1/3))), drawn from numpy's default_rng(seed).
    """
    return _bootstrap([excess], periods_per_year, [lambda s: s], "sharpe_interval", n_resamples, mean_block, seed, level)[0]


def sharpe_difference_interval(excess, other_excess, periods_per_year: float, *, n_resamples: int = DEFAULT_RESAMPLES,
                               mean_block: float | None = None, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile interval of Sharpe(excess) - Sharpe(other_excess) on paired rows.

    Both series are resampled with the same blocks (the same rows in each resample), so the
    interval keeps their correlation; otherwise as `sharpe_interval`.
    """
    return _bootstrap([excess, other_excess], periods_per_year, [lambda s, o: s - o], "sharpe_difference_interval",
                      n_resamples, mean_block, seed, level)[0]


def paired_sharpe_intervals(excess, other_excess, periods_per_year: float, *, n_resamples: int = DEFAULT_RESAMPLES,
                            mean_block: float | None = None, seed: int = 0,
                            level: float = 0.95) -> tuple[Interval, Interval, Interval]:
    """`sharpe_interval` of each series and `sharpe_difference_interval` of the two, from one set
    of resamples (the same seed gives the same blocks, so each equals its own function's result at
    the cost of one bootstrap): (excess's Sharpe, other_excess's Sharpe, their difference)."""
    combines = [lambda s, o: s, lambda s, o: o, lambda s, o: s - o]
    return tuple(_bootstrap([excess, other_excess], periods_per_year, combines, "paired_sharpe_intervals",
                            n_resamples, mean_block, seed, level))
