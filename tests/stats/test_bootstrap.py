"""backtest.stats.bootstrap: the block generator's distribution, the fast path against direct
computation on the indices, and the intervals against arch's StationaryBootstrap."""

import math

import numpy as np
import pytest
from arch.bootstrap import StationaryBootstrap
from scipy import stats as scipy_stats

from backtest.stats import bootstrap
from backtest.stats.bootstrap import (
    default_mean_block,
    paired_sharpe_intervals,
    percentile_interval,
    sharpe_difference_interval,
    sharpe_interval,
    stationary_bootstrap_blocks,
)
from backtest.stats.conventions import sessions_per_year
from backtest.stats.significance import sharpe_ratio
from tests.real_data import load
from tests.reference import correlated_pair


@pytest.fixture(scope="module")
def excess(shared_data, tmp_path_factory):
    """Daily excess returns over T-bills of the market and of the smallest size decile, 1926-2025."""
    frame = load(shared_data, tmp_path_factory, {"ff_factors:Mkt": "mkt", "ff_factors:RF": "rf", "ff_size:Lo 10": "small"})
    return (frame["mkt"] - frame["rf"]).to_numpy(), (frame["small"] - frame["rf"]).to_numpy(), sessions_per_year(frame.index)


def test_blocks_tile_each_resample():
    blocks = stationary_bootstrap_blocks(50, 40, 7.0, np.random.default_rng(1))
    lengths = np.bincount(blocks.resample, weights=blocks.length)
    assert (lengths == 50).all() and (blocks.length >= 1).all()
    assert ((blocks.start >= 0) & (blocks.start < 50)).all()
    idx = blocks.indices()
    assert idx.shape == (40, 50)
    # within a block the rows follow each other, wrapping from 49 to 0
    first_of_block = np.zeros(40 * 50, dtype=bool)
    first_of_block[np.cumsum(blocks.length) - blocks.length] = True
    flat = idx.ravel()
    follows = flat[1:] == (flat[:-1] + 1) % 50
    assert follows[~first_of_block[1:]].all()
    assert first_of_block[::50].all()  # every resample starts a block
    assert (flat[first_of_block] == blocks.start).all()
    # every row can start a block, the last one included
    assert set(stationary_bootstrap_blocks(10, 200, 2.0, np.random.default_rng(2)).start) == set(range(10))


def test_block_lengths_are_geometric_and_starts_uniform():
    """Blocks not cut by the end of their resample have Geometric(1 / mean_block) lengths."""
    n, mean_block = 2000, 20.0
    blocks = stationary_bootstrap_blocks(n, 500, mean_block, np.random.default_rng(11))
    last_of_resample = np.append(blocks.resample[1:] != blocks.resample[:-1], True)
    lengths = blocks.length[~last_of_resample]
    p = 1 / mean_block
    se = math.sqrt((1 - p) / p**2 / len(lengths))
    assert abs(lengths.mean() - mean_block) < 4 * se
    assert len(lengths) == pytest.approx(500 * (n - 1) * p, rel=0.02)  # a new block at each row with p
    # goodness of fit: lengths 1..60 one by one, the tail together
    observed = np.bincount(np.minimum(lengths, 61), minlength=62)[1:]
    pmf = scipy_stats.geom.pmf(np.arange(1, 61), p)
    expected = np.append(pmf, 1 - pmf.sum()) * len(lengths)
    assert scipy_stats.chisquare(observed, expected).pvalue > 1e-3
    starts = np.bincount(blocks.start * 20 // n, minlength=20)
    assert scipy_stats.chisquare(starts).pvalue > 1e-3


def test_generator_continues_blocks_as_often_as_arch():
    """P(next row follows the previous one) = (1 - p) + p / n in both generators."""
    n, mean_block, reps = 300, 10, 400
    ours = stationary_bootstrap_blocks(n, reps, mean_block, np.random.default_rng(5)).indices()
    arch = StationaryBootstrap(mean_block, np.zeros(n), seed=5)
    theirs = np.array([arch.index.copy() for _ in arch.bootstrap(reps)])
    expected = (1 - 1 / mean_block) + 1 / mean_block / n
    for idx in (ours, theirs):
        follows = (idx[:, 1:] == (idx[:, :-1] + 1) % n).mean()
        assert follows == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / idx[:, 1:].size))


@pytest.mark.parametrize("n, mean_block", [(7, 3.0), (500, 1.0), (500, 25.0), (5000, 400.0)])
def test_fast_sharpes_equal_direct_computation_on_the_indices(n, mean_block):
    """Also for a T-bill-like series whose mean is 100 times its spread (no cancellation)."""
    rng = np.random.default_rng(n)
    x, y = rng.normal(0.0005, 0.01, n), rng.standard_t(4, n) * 0.01 + (1.0 if n == 5000 else 0.0)
    blocks = stationary_bootstrap_blocks(n, 64, mean_block, np.random.default_rng(0))
    fast_x, fast_y = bootstrap._resampled_sharpes([bootstrap._prefix_sums(x), bootstrap._prefix_sums(y)], blocks, 252)
    idx = blocks.indices()
    np.testing.assert_allclose(fast_x, sharpe_ratio(x[idx], 252), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast_y, sharpe_ratio(y[idx], 252), rtol=1e-12, atol=1e-12)


def arch_interval(arrays, func, reps, mean_block, seed):
    """arch's percentile interval, and the indices it drew (replayed from the same seed)."""
    bs = StationaryBootstrap(mean_block, *arrays, seed=seed)
    low, high = bs.conf_int(func, reps=reps, method="percentile", size=0.95).ravel()
    bs.reset()
    indices = np.array([bs.index.copy() for _ in bs.bootstrap(reps)])
    return low, high, indices


def test_sharpe_interval_statistic_matches_arch(excess):
    """On arch's own resamples, our Sharpe and percentile rule give arch's conf_int(method="percentile")."""
    market, _, ppy = excess
    low, high, idx = arch_interval([market], lambda x: sharpe_ratio(x, ppy), 300, 30, seed=17)
    assert percentile_interval(sharpe_ratio(market[idx], ppy), 0.95) == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))


def test_sharpe_difference_statistic_matches_arch(excess):
    market, small, ppy = excess
    low, high, idx = arch_interval([small, market], lambda s, m: sharpe_ratio(s, ppy) - sharpe_ratio(m, ppy), 300, 30, seed=4)
    ours = percentile_interval(sharpe_ratio(small[idx], ppy) - sharpe_ratio(market[idx], ppy), 0.95)
    assert ours == (pytest.approx(low, rel=1e-12), pytest.approx(high, rel=1e-12))


def test_intervals_agree_with_arch_in_distribution(excess):
    """Different random numbers, same method: our interval's ends lie within bootstrap noise of arch's."""
    market, small, ppy = excess
    ours = sharpe_difference_interval(small, market, ppy, n_resamples=2000, seed=1)
    assert ours.mean_block == default_mean_block(len(market)) == 30
    low, high, _ = arch_interval([small, market], lambda s, m: sharpe_ratio(s, ppy) - sharpe_ratio(m, ppy), 2000, 30, seed=2)
    width = high - low
    assert ours.low == pytest.approx(low, abs=0.08 * width) and ours.high == pytest.approx(high, abs=0.08 * width)


def test_interval_fields_and_seeding(excess):
    market, _, ppy = excess
    one = sharpe_interval(market, ppy, n_resamples=500, seed=3)
    assert one == sharpe_interval(market, ppy, n_resamples=500, seed=3)
    assert one != sharpe_interval(market, ppy, n_resamples=500, seed=4)
    assert one.estimate == pytest.approx(market.mean() / market.std(ddof=1) * math.sqrt(ppy), rel=1e-12)
    assert one.low < one.estimate < one.high
    assert (one.level, one.n_resamples, one.mean_block, one.seed) == (0.95, 500, 30.0, 3)


def test_iid_interval_width_matches_the_normal_theory():
    """Mean block 1 on i.i.d. normal returns: the interval is ±1.96 of Lo's (2002) standard error,
    √((1 + SR²/2) / n) a period."""
    n, ppy = 5000, 252
    x = np.random.default_rng(9).normal(0.0005, 0.01, n)
    got = sharpe_interval(x, ppy, n_resamples=2000, mean_block=1, seed=0)
    sr = x.mean() / x.std(ddof=1)
    se = math.sqrt((1 + sr**2 / 2) / n) * math.sqrt(ppy)
    assert (got.high - got.low) / (2 * 1.959964 * se) == pytest.approx(1.0, abs=0.06)


def test_coverage_on_autocorrelated_returns():
    """AR(1) returns with a known mean: over 200 independent samples the 95 % interval for the
    mean-to-sd ratio covers it about 95 % of the time with blocks (93 % seen), and clearly less
    with an i.i.d. bootstrap (mean block 1: 82.5 % seen), which ignores the autocorrelation."""
    phi, n, trials = 0.3, 2000, 200
    true_sharpe = 0.0005 / (0.01 / math.sqrt(1 - phi**2)) * math.sqrt(252)
    rng = np.random.default_rng(21)
    covered = {None: 0, 1: 0}
    for trial in range(trials):
        shocks = rng.normal(0, 0.01, n)
        x = np.empty(n)
        x[0] = shocks[0] / math.sqrt(1 - phi**2)
        for t in range(1, n):
            x[t] = phi * x[t - 1] + shocks[t]
        for mean_block in covered:
            interval = sharpe_interval(x + 0.0005, 252, n_resamples=400, mean_block=mean_block, seed=trial)
            covered[mean_block] += interval.low <= true_sharpe <= interval.high
    assert 0.9 <= covered[None] / trials <= 0.99
    assert covered[1] / trials < 0.88


def test_chunks_join_up(monkeypatch):
    """With chunks of 3 resamples, the interval is the one from the same random stream in one go."""
    n = 40
    x = np.random.default_rng(2).normal(0.001, 0.01, n)
    monkeypatch.setattr(bootstrap, "_CHUNK_BLOCKS", 3 * (1 + (n - 1) / 4))
    got = sharpe_interval(x, 252, n_resamples=10, mean_block=4, seed=8, level=0.8)
    rng = np.random.default_rng(8)
    idx = np.vstack([stationary_bootstrap_blocks(n, size, 4, rng).indices() for size in (3, 3, 3, 1)])
    assert (got.low, got.high) == pytest.approx(percentile_interval(sharpe_ratio(x[idx], 252), 0.8), rel=1e-9)


def test_p_value_is_that_of_the_centred_resamples():
    """p = (1 + #{|d* - d| >= |d|}) / (R + 1), d* each resample's difference computed directly on
    its rows (Ledoit & Wolf's centred statistic), from the same seeded stream."""
    a, b = correlated_pair(7, 800, 0.0006, 0.0)
    got = sharpe_difference_interval(a, b, 252, n_resamples=300, mean_block=10, seed=3)
    idx = stationary_bootstrap_blocks(800, 300, 10, np.random.default_rng(3)).indices()
    drawn = sharpe_ratio(a[idx], 252) - sharpe_ratio(b[idx], 252)
    d = sharpe_ratio(a, 252) - sharpe_ratio(b, 252)
    assert got.p_value == (1 + np.count_nonzero(np.abs(drawn - d) >= abs(d))) / 301


def test_paired_intervals_equal_the_single_ones():
    a, b = correlated_pair(8, 1500, 0.0005, 0.0002)
    both = paired_sharpe_intervals(a, b, 252, n_resamples=400, seed=5)
    assert both[0] == sharpe_interval(a, 252, n_resamples=400, seed=5)
    assert both[1] == sharpe_interval(b, 252, n_resamples=400, seed=5)
    assert both[2] == sharpe_difference_interval(a, b, 252, n_resamples=400, seed=5)


def test_identical_series_give_p_one_and_a_clear_edge_a_small_p():
    a, _ = correlated_pair(4, 1500, 0.0004, 0.0)
    same = sharpe_difference_interval(a, a.copy(), 252, n_resamples=300)
    assert same.p_value == 1.0 and same.estimate == 0.0
    a, b = correlated_pair(6, 2520, 0.0012, 0.0)  # annual Sharpe ~1.9 vs 0, ten years
    better = sharpe_difference_interval(a, b, 252, n_resamples=2000, mean_block=21, seed=0)
    assert better.p_value < 0.01 and better.estimate > 0 and better.low > 0
    assert sharpe_difference_interval(b, a, 252, n_resamples=2000, mean_block=21, seed=0).p_value == pytest.approx(better.p_value)


def test_difference_p_values_are_roughly_uniform_under_the_null():
    """Two independent series with the same true Sharpe ratio, 200 seeds: about 5 % rejections."""
    p = []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        a, b = rng.normal(0.0005, 0.01, 500), rng.normal(0.0005, 0.01, 500)
        p.append(sharpe_difference_interval(a, b, 252, n_resamples=199, mean_block=21, seed=seed).p_value)
    p = np.array(p)
    assert 0.01 <= (p < 0.05).mean() <= 0.12
    assert 0.4 <= p.mean() <= 0.6
    assert all(20 <= n <= 60 for n in np.histogram(p, bins=5, range=(0, 1))[0])


def test_bad_inputs():
    x = np.random.default_rng(0).normal(size=100)
    with pytest.raises(ValueError, match="on the same rows, got 100 and 99"):
        sharpe_difference_interval(x, x[:99], 252)
    with pytest.raises(ValueError, match="row 5 is not"):
        sharpe_interval(np.where(np.arange(100) == 5, np.nan, x), 252)
    with pytest.raises(ValueError, match="at least 3"):
        sharpe_interval(x[:2], 252)
    with pytest.raises(ValueError, match="mean_block must be >= 1"):
        sharpe_interval(x, 252, mean_block=0.5)
    with pytest.raises(ValueError, match="level"):
        sharpe_interval(x, 252, level=95)
