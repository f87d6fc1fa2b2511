"""backtest.stats.significance against statsmodels, scipy, numpy's least squares and hand-worked cases.

Real data: Ken French's daily factors and size deciles, 1926-2025 (26,003 rows). Synthetic:
AR(1) series whose long-run variance is known in closed form.
"""

import math
from statistics import NormalDist

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as scipy_stats
from statsmodels.stats import sandwich_covariance
from statsmodels.stats.multitest import multipletests

from backtest.stats.conventions import sessions_per_year
from backtest.stats.significance import (
    active_return_annual,
    alpha_beta,
    benjamini_hochberg,
    holm,
    newey_west,
    newey_west_lags,
    probabilistic_sharpe,
    sharpe_ratio,
    verdict_line,
)
from tests.real_data import load

PHI = NormalDist().cdf


@pytest.fixture(scope="module")
def french(shared_data, tmp_path_factory):
    """Daily returns (fractions) of the market, T-bills, SMB and the smallest and largest size deciles."""
    frame = load(shared_data, tmp_path_factory, {"ff_factors:Mkt": "mkt", "ff_factors:RF": "rf", "ff_factors:SMB": "smb",
                                                 "ff_size:Lo 10": "small", "ff_size:Hi 10": "large"})
    assert len(frame) == 26003 and frame.notna().all().all()
    return frame


def ar1(n: int, phi: float, mean: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 0.01, n)
    x = np.empty(n)
    x[0] = shocks[0] / math.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + shocks[t]
    return mean + x


def statsmodels_hac(a: np.ndarray, lags: int, use_correction: bool = False):
    fit = sm.OLS(a, np.ones((len(a), 1))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": use_correction},
                                             use_t=False)
    return fit.params[0], fit.bse[0], fit.tvalues[0], fit.pvalues[0]


def synthetic_ar1():
    return ar1(5000, 0.4, 0.0003, seed=7)


@pytest.mark.parametrize("lags", [None, 0, 1, 30])
@pytest.mark.parametrize("series", ["small_minus_large", "smb", "ar1"])
def test_newey_west_matches_statsmodels_hac(french, series, lags):
    """OLS on a constant, HAC with Bartlett weights, no small-sample factor, normal p-values."""
    a = {"small_minus_large": lambda: (french["small"] - french["large"]).to_numpy(),
         "smb": lambda: french["smb"].to_numpy(), "ar1": synthetic_ar1}[series]()
    got = newey_west(a, lags)
    expected_lags = newey_west_lags(len(a)) if lags is None else lags
    assert (got.lags, got.n) == (expected_lags, len(a))
    mean, se, t, p = statsmodels_hac(a, expected_lags)
    np.testing.assert_allclose([got.mean, got.se, got.t, got.p], [mean, se, t, p], rtol=1e-10, atol=0)


def test_newey_west_has_no_small_sample_factor(french):
    """statsmodels' use_correction=True would multiply the variance by n / (n - 1); we do not."""
    a = (french["small"] - french["large"]).to_numpy()
    _, se_corrected, _, _ = statsmodels_hac(a, 13, use_correction=True)
    n = len(a)
    assert newey_west(a).se == pytest.approx(se_corrected * math.sqrt((n - 1) / n), rel=1e-10)
    assert newey_west(a).se != pytest.approx(se_corrected, rel=1e-6)


def test_default_lags_are_statsmodels_default():
    assert (newey_west_lags(26003), newey_west_lags(100), newey_west_lags(1000)) == (13, 4, 6)  # 4 · 10^(2/9) = 6.67
    for n in (50, 100, 999, 5000, 26003):
        e = np.random.default_rng(n).normal(size=n)
        ours = sandwich_covariance.S_hac_simple(e, nlags=newey_west_lags(n))
        np.testing.assert_allclose(ours, sandwich_covariance.S_hac_simple(e, nlags=None), rtol=1e-14)


def test_newey_west_sees_autocorrelation():
    """AR(1) with φ = 0.5: the long-run sd of the mean is σ_ε / (1 - φ) / √n, twice the naive σ_x / √n · √3."""
    phi, n = 0.5, 40000
    a = ar1(n, phi, 0.0, seed=3)
    long_run_se = 0.01 / (1 - phi) / math.sqrt(n)
    assert newey_west(a, lags=60).se == pytest.approx(long_run_se, rel=0.1)
    naive_se = a.std(ddof=0) / math.sqrt(n)
    assert newey_west(a, lags=0).se == pytest.approx(naive_se, rel=1e-12)


def test_newey_west_edge_cases():
    constant = newey_west(np.full(50, 0.001))
    assert constant.se == 0 and math.isnan(constant.t) and math.isnan(constant.p)
    assert newey_west([0.01, -0.01], lags=5).lags == 1  # at most n - 1 lags
    with pytest.raises(ValueError, match="at least 2"):
        newey_west([0.01])
    with pytest.raises(ValueError, match=r"row 1 is not"):
        newey_west([0.01, np.nan, 0.02])
    with pytest.raises(ValueError, match="lags must be"):
        newey_west([0.01, 0.02, 0.03], lags=-1)


def test_active_return_and_sharpe_hand_worked():
    assert active_return_annual([0.001, 0.003], 252) == pytest.approx(0.504, rel=1e-15)
    x = np.array([0.01, -0.01, 0.02, 0.0])  # mean 0.005, sd (ddof 1) √(5e-4 / 3)
    assert sharpe_ratio(x, 4) == pytest.approx(0.005 / math.sqrt(5e-4 / 3) * 2, rel=1e-14)
    assert math.isnan(sharpe_ratio(np.full(5, 0.01), 252))
    np.testing.assert_allclose(sharpe_ratio(np.vstack([x, -x]), 4), [0.15 ** 0.5 * 2, -(0.15 ** 0.5) * 2], rtol=1e-14)


def test_probabilistic_sharpe_hand_worked():
    """x = (1, -1, 2, 0) %: SR = √0.15 a period, skewness 0, kurtosis 1.64 (moments by hand)."""
    x = np.array([0.01, -0.01, 0.02, 0.0])
    # SR* = 0: z = √0.15 · √3 / √(1 + (1.64 - 1) / 4 · 0.15)
    assert probabilistic_sharpe(x, 0.0, 4) == pytest.approx(PHI(math.sqrt(0.45) / math.sqrt(1.024)), rel=1e-13)
    # an annual benchmark Sharpe of 0.2 with 4 periods a year is 0.1 a period
    z = (math.sqrt(0.15) - 0.1) * math.sqrt(3) / math.sqrt(1.024)
    assert probabilistic_sharpe(x, 0.2, 4) == pytest.approx(PHI(z), rel=1e-13)
    # the observed Sharpe as benchmark: z = 0
    assert probabilistic_sharpe(x, sharpe_ratio(x, 4), 4) == pytest.approx(0.5, abs=1e-15)
    assert math.isnan(probabilistic_sharpe(np.full(5, 0.01), 0.0, 252))


@pytest.mark.parametrize("column, benchmark", [("mkt", 0.0), ("mkt", 0.4), ("small", 0.6), ("smb", -0.1)])
def test_probabilistic_sharpe_matches_scipy_moments(french, column, benchmark):
    """Excess returns over T-bills on the real calendar, against scipy's skewness and kurtosis."""
    x = (french[column] - french["rf"]).to_numpy()
    ppy = sessions_per_year(french.index)
    sr = x.mean() / x.std(ddof=1)
    skew = scipy_stats.skew(x)
    kurt = scipy_stats.kurtosis(x, fisher=False)
    z = (sr - benchmark / math.sqrt(ppy)) * math.sqrt(len(x) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    expected = scipy_stats.norm.cdf(z)
    assert probabilistic_sharpe(x, benchmark, ppy) == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_alpha_beta_hand_worked():
    x = np.array([0.01, -0.02, 0.005, 0.03, -0.01])
    result = alpha_beta(0.001 + 1.5 * x, x, 252)
    assert (result.alpha, result.beta, result.n) == (pytest.approx(0.001, abs=1e-16), pytest.approx(1.5, rel=1e-14), 5)
    assert result.alpha_annual == pytest.approx(0.252, rel=1e-12)
    flat = alpha_beta(x, np.full(5, 0.001), 252)
    assert math.isnan(flat.alpha) and math.isnan(flat.beta) and math.isnan(flat.alpha_annual)
    with pytest.raises(ValueError, match="5 strategy returns but 4 benchmark"):
        alpha_beta(x, x[:4], 252)


@pytest.mark.parametrize("column", ["small", "large", "smb"])
def test_alpha_beta_matches_least_squares_and_statsmodels(french, column):
    y = (french[column] - french["rf"]).to_numpy()
    x = (french["mkt"] - french["rf"]).to_numpy()
    ppy = sessions_per_year(french.index)
    got = alpha_beta(y, x, ppy)
    (alpha, beta), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    np.testing.assert_allclose([got.alpha, got.beta], [alpha, beta], rtol=1e-9)
    np.testing.assert_allclose([got.alpha, got.beta], fit.params, rtol=1e-9)
    assert got.alpha_annual == pytest.approx(alpha * ppy, rel=1e-9)


def test_holm_and_bh_hand_worked():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04; Holm x 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02], rtol=1e-14)
    # BH x 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04 -> running min from the top
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02], rtol=1e-14)
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    assert holm([]).shape == benjamini_hochberg([]).shape == (0,)


@pytest.mark.parametrize("seed", range(5))
def test_holm_and_bh_match_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.06, 10), rng.uniform(0, 1, 8), [0.0, 1.0, 0.02, 0.02]])
    rng.shuffle(p)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-14)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-14)


def test_multiple_testing_ignores_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.005])
    known = ~np.isnan(p)
    for ours, method in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
        adjusted = ours(p)
        assert np.isnan(adjusted[~known]).all()
        np.testing.assert_allclose(adjusted[known], multipletests(p[known], method=method)[1], rtol=1e-14)
    with pytest.raises(ValueError, match=r"\[0, 1\], got 1.5"):
        holm([0.2, 1.5])


def test_verdict_lines():
    assert verdict_line("first10", 0.0054, 1.34, 0.18) == (
        "first10 beat its benchmark by 0.54 pp a year; t = 1.34, p = 0.18: not distinguishable from luck at 5 %")
    assert verdict_line("trend_filter", -0.0123, -2.51, 0.0121) == (
        "trend_filter trailed its benchmark by 1.23 pp a year; t = -2.51, p = 0.01: distinguishable from luck at 5 %")
    assert verdict_line("trend_filter", -0.0123, -2.65, 0.0081).endswith("t = -2.65, p = 0.008: distinguishable from luck at 5 %")
    assert verdict_line("deciles", 0.031, 4.2, 2.7e-5, alpha=0.01) == (
        "deciles beat its benchmark by 3.10 pp a year; t = 4.20, p < 0.001: distinguishable from luck at 1 %")
    assert verdict_line("x", 0.01, 1.8, 0.072, alpha=0.1) == (
        "x beat its benchmark by 1.00 pp a year; t = 1.80, p = 0.07: distinguishable from luck at 10 %")
    assert verdict_line("twin", 0.0, math.nan, math.nan) == "twin matched its benchmark on every row: no active return to test"
    assert "nothing random to test" in verdict_line("steady", 0.02, math.nan, math.nan)


def test_verdict_from_a_real_test(french):
    """Small minus large deciles, 1926-2025, end to end: the line states the test's own numbers."""
    a = (french["small"] - french["large"]).to_numpy()
    ppy = sessions_per_year(french.index)
    test = newey_west(a)
    line = verdict_line("small", active_return_annual(a, ppy), test.t, test.p)
    assert line.startswith(f"small beat its benchmark by {a.mean() * ppy * 100:.2f} pp a year; t = {test.t:.2f}")
