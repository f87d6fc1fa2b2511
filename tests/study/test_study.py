"""backtest study: hand-built years with written-out answers, statistics helpers, CLI, real data.

The real-data tests recompute the tables independently with plain pandas/numpy from the returns
that `backtest.data` serves (they skip where the data or the data layer is absent).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import main
from backtest import study
from backtest.study.common import StudyError, rate_regime
from backtest.study.stats import bootstrap_ci, permutation_p_value

RESAMPLES = 2000
S, L, M = "t:S", "t:L", "t:M"


def _hand_frame() -> pd.DataFrame:
    """1999: one session (the first previous close). 2000 and 2001: five sessions each.
    2002: four sessions ending in June (the data's last year: partial)."""
    rows = [
        # date          S      L     M
        ("1999-12-31", 0.00, 0.00, 0.00),
        ("2000-01-03", 0.10, 0.00, 0.00),
        ("2000-01-04", 0.00, 0.00, -0.10),
        ("2000-01-05", 0.00, 0.05, 0.10),
        ("2000-12-28", 0.00, 0.00, 0.00),
        ("2000-12-29", 0.00, 0.00, 0.00),
        ("2001-01-02", -0.05, 0.00, 0.02),
        ("2001-01-03", 0.00, 0.00, 0.00),
        ("2001-01-04", 0.02, 0.00, -0.01),
        ("2001-12-27", 0.00, 0.00, -0.01),
        ("2001-12-28", 0.00, 0.00, 0.03),
        ("2002-01-02", 0.01, 0.00, 0.00),
        ("2002-01-03", 0.01, 0.00, 0.00),
        ("2002-01-04", 0.00, 0.00, 0.05),
        ("2002-06-28", 0.00, 0.00, 0.05),
    ]
    frame = pd.DataFrame([r[1:] for r in rows], index=pd.DatetimeIndex([r[0] for r in rows]), columns=[S, L, M])
    return frame


def _run_first10(frame, **kw):
    return study.first10(small=S, large=L, market=M, frame=frame, resamples=RESAMPLES, **kw)


# --- first10 and january on hand-built years ----------------------------------------------------


def test_first10_hand_built_years():
    result = _run_first10(_hand_frame(), lookback=2)
    rows = result.rows.set_index("year")
    assert list(rows.index) == [2000, 2001, 2002]  # 1999 has no previous close
    y = rows.loc[2000]
    # small: 1.10 * 1.00 - 1 = 0.10; large: 0 -> spread 0.10
    assert y["spread"] == pytest.approx(0.10) and y["small_led"]
    assert y["market_rest"] == pytest.approx(0.10)  # 1.10 * 1 * 1 - 1
    assert y["market_full"] == pytest.approx(-0.01)  # 0.90 * 1.10 - 1
    assert y["small_minus_large_rest"] == pytest.approx(-0.05)  # 0 - 0.05
    assert y["max_drawdown"] == pytest.approx(-0.10)  # peak at the previous close, trough 0.90
    assert y["signal_date"] == "2000-01-04" and y["end"] == "2000-12-29" and not y["partial"]
    y = rows.loc[2001]
    assert y["spread"] == pytest.approx(-0.05) and not y["small_led"]
    assert y["market_rest"] == pytest.approx(0.99 * 0.99 * 1.03 - 1)  # 0.009503
    assert y["market_full"] == pytest.approx(1.02 * 0.99 * 0.99 * 1.03 - 1)
    assert y["small_minus_large_rest"] == pytest.approx(0.02)
    assert y["max_drawdown"] == pytest.approx(1.02 * 0.99 * 0.99 / 1.02 - 1)  # -0.0199 from the 1.02 peak
    y = rows.loc[2002]
    assert y["partial"] and y["end"] == "2002-06-28"
    assert y["spread"] == pytest.approx(1.01**2 - 1) and y["market_rest"] == pytest.approx(1.05**2 - 1)
    # the partial year is listed but not summarised
    summary = result.summary  # groups x statistics
    assert summary.loc["led", "count"] == 1 and summary.loc["not_led", "count"] == 1
    assert summary.loc["led", "market_rest_mean"] == pytest.approx(0.10)
    assert summary.loc["not_led", "market_rest_mean"] == pytest.approx(0.009503)
    assert summary.loc["led", "market_rest_positive_share"] == 1.0
    assert math.isnan(summary.loc["led", "market_rest_mean_ci_low"])  # one year: no interval
    assert {"market_rest_mean_ci_low", "market_rest_mean_ci_high", "market_full_median"} <= set(summary.columns)
    assert result.figures["led"]["count"] == 1  # the JSON "summary" object
    assert list(result.tests["outcome"]) == ["market_rest", "small_minus_large_rest", "market_full"]


def test_first10_needs_more_sessions_than_the_lookback():
    rows = _run_first10(_hand_frame(), lookback=4).rows
    assert list(rows["year"]) == [2000, 2001]  # 2002 has 4 sessions: not > 4
    with pytest.raises(StudyError, match="no year"):
        _run_first10(_hand_frame(), lookback=5)


def test_first10_start_end_keep_the_previous_close():
    rows = _run_first10(_hand_frame(), lookback=2, start="2001-01-01", end="2001-12-31").rows
    assert list(rows["year"]) == [2001] and rows["previous_close"].iloc[0] == "2000-12-29"
    assert not rows["partial"].iloc[0]
    cut_short = _run_first10(_hand_frame(), lookback=2, end="2001-06-30").rows.set_index("year")
    assert cut_short.loc[2001, "partial"]  # cut by --end before Dec 20


def test_empty_range_is_a_study_error():
    with pytest.raises(StudyError, match="no data"):
        _run_first10(_hand_frame(), start="2010-01-01")
    with pytest.raises(StudyError, match="after"):
        _run_first10(_hand_frame(), start="2001-01-01", end="2000-01-01")


def test_january_hand_built_years():
    result = study.january(small=S, large=L, market=M, frame=_hand_frame(), resamples=RESAMPLES)
    rows = result.rows.set_index("year")
    assert list(rows["head_sessions"]) == [3, 3, 3]
    assert rows.loc[2000, "spread"] == pytest.approx(0.10 - 0.05)
    assert rows.loc[2000, "market_rest"] == pytest.approx(0.0)
    assert rows.loc[2001, "spread"] == pytest.approx(0.95 * 1.02 - 1)
    assert rows.loc[2001, "market_rest"] == pytest.approx(0.99 * 1.03 - 1)
    assert rows.loc[2002, "partial"]
    # the January effect over the complete years 2000 and 2001: spreads +0.05 and -0.031
    effect = result.figures["january_effect"]
    assert effect["count"] == 2 and effect["spread_mean"] == pytest.approx((0.05 + 0.95 * 1.02 - 1) / 2)
    assert effect["spread_positive_share"] == 0.5
    # two values, mean 0.0095: every sign flip's |mean| (0.0095 or (0.05 + 0.031) / 2) is at least as
    # large, so every resample is as extreme: p = 1
    assert effect["p_value"] == 1.0 and effect["verdict"].startswith("not supported at 5 %")
    assert "January effect" in result.tests["claim"].iloc[-1]
    assert result.tests["groups"].iloc[-1] == "january_effect vs 0" and len(result.tests) == 4


# --- rates and sectors on hand-built months -----------------------------------------------------


def test_rate_regime_compares_monthly_averages_m_months_apart():
    days = pd.DatetimeIndex(["2000-01-03", "2000-01-04", "2000-02-01", "2000-03-01", "2000-04-03", "2000-05-01"])
    rf = pd.Series([1e-4, 3e-4, 1e-4, 2e-4, 2e-4, 1e-4], index=days)  # averages: Jan 2e-4, Feb 1e-4, Mar 2e-4, Apr 2e-4, May 1e-4
    regime = rate_regime(rf, 1)
    # the regime of a month is known at its start: month t-1 vs t-2
    assert regime[pd.Period("2000-03")] == "easing"  # Feb < Jan
    assert regime[pd.Period("2000-04")] == "tightening"  # Mar > Feb
    assert regime[pd.Period("2000-05")] == "flat"  # Apr == Mar
    assert regime[pd.Period("2000-06")] == "easing"  # May < Apr (the month after the data)
    assert regime[pd.Period("2000-02")] is None and regime[pd.Period("2000-01")] is None
    assert rate_regime(rf, 2)[pd.Period("2000-04")] == "flat"  # Mar == Jan


def _monthly_frame():
    """Three months of two sessions each; RF set so that March is easing (m = 1)."""
    days = pd.DatetimeIndex(["2000-01-03", "2000-01-31", "2000-02-01", "2000-02-29", "2000-03-01", "2000-03-31"])
    return pd.DataFrame(
        {
            S: [0.01, 0.01, 0.02, -0.01, 0.03, 0.00],
            L: [0.00, 0.00, 0.01, 0.01, -0.01, 0.00],
            M: [0.00] * 6,
            "t:RF": [2e-4, 2e-4, 1e-4, 1e-4, 1e-4, 1e-4],
        },
        index=days,
    )


def test_rates_monthly_rows():
    result = study.rates(small=S, large=L, market=M, rf="t:RF", months=1, frame=_monthly_frame(), resamples=RESAMPLES)
    rows = result.rows.set_index("month")
    assert rows.loc["2000-01", "small_minus_large"] == pytest.approx(1.01**2 - 1)
    assert rows.loc["2000-02", "small_minus_large"] == pytest.approx(1.02 * 0.99 - 1.01 * 1.01)
    assert rows.loc["2000-03", "small_minus_large"] == pytest.approx(0.03 + 0.01)
    assert rows.loc["2000-03", "regime"] == "easing" and rows["regime"].iloc[:2].isna().all()
    assert result.summary.loc["easing", "count"] == 1 and result.summary.loc["tightening", "count"] == 0
    assert "cannot test" in result.figures["verdict"]


def test_sectors_equal_weight_groups_and_prior_month_signal():
    days = pd.DatetimeIndex(["2000-01-31", "2000-02-29", "2000-03-31"])
    cyc = [f"ff_industry10:{n}" for n in ("Manuf", "Enrgy", "Durbl")]
    dfn = [f"ff_industry10:{n}" for n in ("NoDur", "Hlth", "Utils")]
    frame = pd.DataFrame(0.0, index=days, columns=[*cyc, *dfn, "ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:RF"])
    frame.loc["2000-02-29", cyc] = [0.03, 0.06, 0.00]  # mean 0.03
    frame.loc["2000-02-29", dfn] = [0.01, 0.01, 0.01]
    frame.loc["2000-01-31", "ff_size:Lo 30"] = 0.02  # small led in January
    frame.loc["2000-02-29", "ff_size:Hi 30"] = 0.02  # large led in February
    result = study.sectors(frame=frame, months=1, resamples=RESAMPLES)
    rows = result.rows.set_index("month")
    assert rows.loc["2000-02", "cyclicals_minus_defensives"] == pytest.approx(0.02)
    assert rows.loc["2000-02", "small_led_prior"] is True or rows.loc["2000-02", "small_led_prior"] == True  # noqa: E712
    assert rows.loc["2000-03", "small_led_prior"] == False  # noqa: E712
    assert rows.loc["2000-01", "small_led_prior"] is None
    assert result.summary.loc["small_led", "count"] == 1 and result.summary.loc["small_lagged", "count"] == 1
    with pytest.raises(StudyError, match="universe"):
        study.sectors(universe="nope", frame=frame)


# --- statistics helpers ------------------------------------------------------------------------


def test_bootstrap_ci_contains_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(3)
    widths = []
    for n in (20, 200, 2000):
        x = rng.normal(0.05, 0.2, n)
        lo, hi = bootstrap_ci(x, seed=1, resamples=RESAMPLES)["mean"]
        assert lo < x.mean() < hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    # the width follows the standard error: 1.96 * 2 * sd / sqrt(n) within 15 %
    assert widths[2] == pytest.approx(2 * 1.96 * 0.2 / math.sqrt(2000), rel=0.15)
    assert bootstrap_ci(x, seed=1, resamples=500) == bootstrap_ci(x, seed=1, resamples=500)  # seeded
    assert all(math.isnan(v) for v in bootstrap_ci([1.0], resamples=100)["mean"])


def test_permutation_p_value_extremes():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 40)
    assert permutation_p_value(x, x.copy(), seed=0, permutations=RESAMPLES) == pytest.approx(1.0)
    assert permutation_p_value(x, x + 3.0, seed=0, permutations=RESAMPLES) < 0.01
    assert permutation_p_value(x, x + 3.0, seed=0, permutations=RESAMPLES) == pytest.approx(1 / (RESAMPLES + 1))
    assert math.isnan(permutation_p_value([], x))


def test_sign_flip_p_value_matches_scipy():
    from scipy.stats import permutation_test

    from backtest.study.stats import sign_flip_p_value

    x = np.array([0.045, -0.012, 0.081, 0.02, 0.066, -0.03, 0.051, 0.009, 0.037, -0.004, 0.028, 0.072])
    expected = permutation_test((x,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=100_000,
                                vectorized=True, random_state=0).pvalue
    assert 0.001 < expected < 0.1
    assert sign_flip_p_value(x, seed=0, permutations=20_000) == pytest.approx(expected, abs=0.005)
    assert sign_flip_p_value(np.r_[x, -x], seed=0, permutations=2_000) == pytest.approx(1.0)  # symmetric: mean 0
    assert math.isnan(sign_flip_p_value([]))


def test_verdicts_use_holm_across_the_comparisons_and_report_benjamini_hochberg():
    from statsmodels.stats.multitest import multipletests

    from backtest.study.stats import Claim, summarize

    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"a": rng.normal(0, 1, 60), "b": rng.normal(0, 1, 60), "c": rng.normal(0, 1, 60)})
    frame.loc[:29, "a"] += 1.2  # a clear difference in a; none in b and c
    groups = {"first": np.arange(60) < 30, "second": np.arange(60) >= 30}
    claims = [Claim(o, "first", "second", f"{o} is higher in the first half") for o in ("a", "b", "c")]
    summary = summarize(frame, groups, claims, outcomes=["a", "b", "c"], seed=0, resamples=2000)
    p = [c["p_value"] for c in summary["comparisons"]]
    holm, bh = multipletests(p, method="holm")[1], multipletests(p, method="fdr_bh")[1]
    assert [c["p_value_holm"] for c in summary["comparisons"]] == pytest.approx(list(holm), rel=1e-12)
    assert [c["p_value_bh"] for c in summary["comparisons"]] == pytest.approx(list(bh), rel=1e-12)
    assert summary["comparisons"][0]["verdict"].startswith("supported at 5 %")
    assert "Holm" in summary["comparisons"][0]["verdict"] and "over 3 comparisons" in summary["comparisons"][0]["verdict"]
    # a p-value under 5 % that Holm lifts above it is not supported
    decided = [c["p_value_holm"] < 0.05 for c in summary["comparisons"]]
    assert [c["verdict"].startswith("supported") for c in summary["comparisons"]] == [d and c["difference"] > 0 for d, c in zip(decided, summary["comparisons"])]


def test_permutation_p_value_matches_scipy():
    from scipy.stats import permutation_test

    a = np.array([0.12, -0.03, 0.25, 0.08, 0.31, 0.05])
    b = np.array([0.02, -0.10, 0.07, 0.15, -0.04, 0.01])

    def diff(u, v, axis):
        return np.mean(u, axis=axis) - np.mean(v, axis=axis)

    expected = permutation_test((a, b), diff, permutation_type="independent", alternative="two-sided", n_resamples=100_000, vectorized=True).pvalue
    got = permutation_p_value(a, b, seed=0, permutations=20_000)
    assert 0.01 < expected < 0.5
    assert got == pytest.approx(expected, abs=0.01)


# --- CLI on synthetic data ----------------------------------------------------------------------


SYNTH_IDS = ["ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:Mkt", "ff_factors:RF",
             *(f"ff_industry10:{n}" for n in ("Manuf", "Enrgy", "Durbl", "NoDur", "Hlth", "Utils"))]


def _synthetic() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    index = pd.bdate_range("1990-01-01", "1999-12-31")
    frame = pd.DataFrame(rng.normal(0.0004, 0.01, (len(index), len(SYNTH_IDS))), index=index, columns=SYNTH_IDS)
    frame["ff_factors:RF"] = np.repeat(rng.integers(1, 4, len(index) // 20 + 1), 20)[: len(index)] * 1e-4
    return frame


@pytest.fixture
def fake_data(monkeypatch):
    import backtest.data as data
    from backtest.errors import DataError

    frame = _synthetic()

    def load_returns(ids, search_path=None):
        for sid in ids:
            if sid not in frame:
                raise DataError(f"unknown series id {sid!r}")
        return frame[list(ids)]

    monkeypatch.setattr(data, "load_returns", load_returns, raising=False)
    monkeypatch.setattr(data, "align_calendars", lambda f: (f.dropna(), 0), raising=False)
    return frame


def _cli(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("name,key", [("first10", "years"), ("january", "years"), ("rates", "rows"), ("sectors", "rows")])
def test_cli_json_shape(fake_data, tmp_path, name, key):
    result = _cli("study", name, "--json", "--out", str(tmp_path), "--resamples", "500")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert isinstance(out[key], list) and out[key]
    summary = out["summary"]
    assert {"p_value", "p_value_holm", "verdict", "comparisons"} <= set(summary)
    assert 0 < summary["p_value"] <= summary["p_value_holm"] <= 1 and ("supported at 5 %" in summary["verdict"])
    assert all({"p_value_holm", "p_value_bh"} <= set(c) for c in summary["comparisons"])
    if name == "january":
        effect = summary["january_effect"]
        assert {"spread_mean", "spread_mean_ci", "spread_positive_share", "p_value", "p_value_holm", "verdict"} <= set(effect)
    directory = tmp_path / out["directory"].rsplit("/", 1)[-1]
    assert directory.name.startswith(f"study-{name}-")
    assert (directory / f"{name}.png").stat().st_size > 0 and (directory / "rows.csv").exists()
    if key == "years":
        year = out["years"][0]
        assert set(year) >= {"year", "small_led", "spread", "market_rest", "market_full", "small_minus_large_rest", "max_drawdown", "partial"}
        led = summary["led"]
        assert set(led) >= {"count", "market_rest_mean", "market_rest_median", "market_rest_positive_share", "market_rest_mean_ci"}
        assert len(led["market_rest_mean_ci"]) == 2 and set(summary) >= {"led", "not_led"}


def test_cli_table_shows_the_january_effect_and_adjusted_p_values(fake_data, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    result = _cli("study", "january", "--out", str(tmp_path), "--resamples", "200")
    assert result.exit_code == 0, result.output
    out = json.loads(_cli("study", "january", "--json", "--out", str(tmp_path), "--resamples", "200").output)
    effect = out["summary"]["january_effect"]
    (row,) = [line for line in result.output.splitlines() if line.startswith("│ january_effect")]
    assert f"{effect['count']}" in row and f"{effect['spread_mean'] * 100:.2f} %" in row
    assert "(the January effect):" in result.output and "Holm" in result.output and "over 4 comparisons" in result.output


def test_cli_table_and_nan_as_null(fake_data, tmp_path):
    result = _cli("study", "rates", "--out", str(tmp_path), "--resamples", "200")
    assert result.exit_code == 0, result.output
    assert "easing" in result.output and "p = " in result.output
    out = json.loads(_cli("study", "rates", "--json", "--out", str(tmp_path), "--resamples", "200").output)
    assert out["rows"][0]["regime"] is None  # no prior months: null, never NaN
    assert "NaN" not in json.dumps(out)


@pytest.mark.parametrize(
    "args,needle",
    [
        (["first10", "--small", "ff_size:Nope"], "Nope"),
        (["first10", "--start", "2030-01-01"], "no data"),
        (["first10", "--start", "yesterday-ish"], "--start"),
        (["ytd", "ff_size:Lo 30", "--as-of", "1980-01-15"], "before"),
        (["ytd", "ff_size:Lo 30", "--as-of", "2003-01-15"], "no data in 2003"),
    ],
)
def test_cli_bad_input_one_line_exit_2(fake_data, tmp_path, args, needle):
    result = _cli("study", *args, "--out", str(tmp_path)) if args[0] != "ytd" else _cli("study", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_ytd(fake_data, tmp_path):
    result = _cli("study", "ytd", "ff_size:Lo 30", "--as-of", "1995-01-08", "--json", "--out", str(tmp_path))  # a Sunday
    out = json.loads(result.output)["series"][0]
    s = fake_data["ff_size:Lo 30"]
    assert out["date_used"] == "1995-01-06" and out["base_date"] == "1994-12-30"
    assert out["ytd"] == pytest.approx(np.prod(1 + s["1995-01-02":"1995-01-06"]) - 1)
    text = _cli("study", "ytd", "ff_size:Lo 30", "--as-of", "1995-01-08", "--out", str(tmp_path)).output
    assert "1995-01-06" in text and "on or before 1995-01-08" in text


def test_ytd_is_a_study_result_written_like_the_others(fake_data, tmp_path):
    """ytd answers as every study does (.rows, .summary, .tests, study-ytd-<...>/ under --out),
    and takes one id as a string as well as a list."""
    s = fake_data["ff_size:Lo 30"]
    expected = np.prod(1 + s["1995-01-02":"1995-01-06"]) - 1  # 1994's last close -> the Friday before the Sunday
    one = study.ytd("ff_size:Lo 30", "1995-01-08")
    assert isinstance(one, study.StudyResult)
    assert one.rows["id"].tolist() == ["ff_size:Lo 30"]
    assert one.rows["ytd"].iloc[0] == pytest.approx(expected)
    assert one.summary.empty and one.tests.empty  # no groups, no comparisons
    two = study.ytd(["ff_size:Lo 30", "ff_size:Hi 30"], "1995-01-08", out=tmp_path)
    assert two.rows["id"].tolist() == ["ff_size:Lo 30", "ff_size:Hi 30"]
    assert two.directory.parent == tmp_path and two.directory.name.startswith("study-ytd-")
    assert pd.read_csv(two.directory / "rows.csv")["ytd"].tolist() == pytest.approx(two.rows["ytd"].tolist())
    result = _cli("study", "ytd", "ff_size:Lo 30", "--as-of", "1995-01-08", "--out", str(tmp_path / "cli"))
    assert result.exit_code == 0, result.output
    (written,) = (tmp_path / "cli").iterdir()
    assert written.name.startswith("study-ytd-") and f"Results: {written}" in result.output
    assert json.loads((written / "study.json").read_text())["series"][0]["ytd"] == pytest.approx(expected)


# --- real data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_loader(shared_data):
    try:
        from backtest.data import align_calendars, load_returns
    except ImportError:
        pytest.skip("backtest.data is not available yet")
    return load_returns, align_calendars


def test_real_first10_1990s_against_an_independent_recomputation(real_loader):
    load_returns, _ = real_loader
    ids = ["ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:Mkt"]
    result = study.first10(start="1990-01-01", end="1999-12-31", resamples=RESAMPLES)
    got = result.rows.set_index("year")
    assert list(got.index) == list(range(1990, 2000)) and not got["partial"].any()

    frame = load_returns(ids).dropna()
    for year in range(1990, 2000):
        prev = frame[frame.index.year == year - 1].iloc[-1:]
        this = frame[frame.index.year == year]
        growth = (1 + this).cumprod()
        head, full = growth.iloc[9], growth.iloc[-1]
        spread = head["ff_size:Lo 30"] - head["ff_size:Hi 30"]
        rest = full / head - 1
        peak = np.maximum.accumulate(np.r_[1.0, growth["ff_factors:Mkt"].to_numpy()])
        drawdown = (np.r_[1.0, growth["ff_factors:Mkt"].to_numpy()] / peak - 1).min()
        row = got.loc[year]
        assert row["previous_close"] == str(prev.index[-1].date())
        assert row["signal_date"] == str(this.index[9].date())
        assert row["spread"] == pytest.approx(spread, abs=1e-12)
        assert row["small_led"] == (spread > 0)
        assert row["market_rest"] == pytest.approx(rest["ff_factors:Mkt"], abs=1e-12)
        assert row["market_full"] == pytest.approx(full["ff_factors:Mkt"] - 1, abs=1e-12)
        assert row["small_minus_large_rest"] == pytest.approx(rest["ff_size:Lo 30"] - rest["ff_size:Hi 30"], abs=1e-12)
        assert row["max_drawdown"] == pytest.approx(drawdown, abs=1e-12)
    led = got[got["small_led"]]["market_rest"]
    assert result.summary.loc["led", "count"] == len(led)
    assert result.summary.loc["led", "market_rest_mean"] == pytest.approx(led.mean())
    assert result.summary.loc["led", "market_rest_median"] == pytest.approx(led.median())


def test_real_rates_regimes_against_an_independent_recomputation(real_loader):
    load_returns, _ = real_loader
    result = study.rates(start="1990-01-01", end="1999-12-31", resamples=RESAMPLES)
    got = result.rows.set_index("month")
    frame = load_returns(["ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:RF"])
    rf = frame["ff_factors:RF"].dropna()
    avg = rf.groupby([rf.index.year, rf.index.month]).mean()
    avg.index = [pd.Period(year=y, month=m, freq="M") for y, m in avg.index]
    part = frame.loc["1990":"1999"]
    small = (1 + part["ff_size:Lo 30"]).groupby(part.index.to_period("M")).prod() - 1
    large = (1 + part["ff_size:Hi 30"]).groupby(part.index.to_period("M")).prod() - 1
    assert len(got) == 120
    for month in pd.period_range("1990-01", "1999-12", freq="M"):
        prior, base = avg[month - 1], avg[month - 7]
        expected = "easing" if prior < base - 1e-12 else "tightening" if prior > base + 1e-12 else "flat"
        assert got.loc[str(month), "regime"] == expected, month
        assert got.loc[str(month), "small_minus_large"] == pytest.approx(small[month] - large[month], abs=1e-12)


def test_real_etf_first10_reports_the_partial_current_year(real_loader):
    result = study.first10(small="etf:IWM", large="etf:SPY", market="etf:SPY", resamples=RESAMPLES)
    rows = result.rows
    last = rows.iloc[-1]
    assert rows["year"].iloc[0] == 2001  # IWM starts in May 2000: 2000 has no previous close
    assert last["partial"] and last["end"] < f"{last['year']}-12-20"
    assert rows["partial"].sum() == 1
    counted = result.summary.loc["led", "count"] + result.summary.loc["not_led", "count"]
    assert counted == len(rows) - 1


def test_real_ytd_iwm_mid_january_2026(real_loader):
    load_returns, _ = real_loader
    s = load_returns(["etf:IWM"])["etf:IWM"].dropna()
    if s.index[-1] < pd.Timestamp("2026-01-16"):
        pytest.skip("the ETF data ends before 2026-01-16")
    out = study.ytd(["etf:IWM"], "2026-01-16").rows.iloc[0]
    expected = np.prod(1 + s["2026-01-01":"2026-01-16"]) - 1
    assert out["ytd"] == pytest.approx(expected, abs=1e-12)
    assert out["base_date"] == str(s[:"2025-12-31"].index[-1].date())


def test_rates_study_with_the_market_as_one_of_the_pair(shared_data, tmp_path):
    """--large and --market may be the same series (SPY is both the large caps and the market)."""
    from click.testing import CliRunner

    from backtest.cli import main

    result = CliRunner().invoke(main, ["study", "rates", "--small", "etf:IWM", "--large", "etf:SPY", "--market", "etf:SPY",
                                       "--resamples", "200", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert rows and all("small_minus_large" in r for r in rows)


@pytest.mark.parametrize("start,end,years,mean,positive", [
    ("1926-12-01", "1999-12-31", 73, 0.0454, 0.82),  # the figures by hand: +4.54 %, 82 % of years
    ("1999-12-01", "2025-12-31", 25, 0.0091, 0.52),  # 2000-2024 (2025 is partial): +0.91 %, 52 %
])
def test_real_january_effect_before_and_after_2000(real_loader, start, end, years, mean, positive):
    """Small minus large in January (Lo 30 - Hi 30, previous year's last close to January's last
    close), recomputed with plain pandas; `--start/--end` set the periods side by side."""
    load_returns, _ = real_loader
    frame = load_returns(["ff_size:Lo 30", "ff_size:Hi 30"]).dropna()
    spreads = []
    for year in range(frame.index[0].year + 1, 2026):
        january = frame[(frame.index.year == year) & (frame.index.month == 1)]
        after = frame[frame.index.year == year]
        if not len(january) or after.index[-1].month < 12 or not (pd.Timestamp(start) < january.index[0] <= pd.Timestamp(end)):
            continue
        growth = (1 + january).prod()
        spreads.append(growth["ff_size:Lo 30"] - growth["ff_size:Hi 30"])
    spreads = np.array(spreads)
    result = study.january(start=start, end=end, resamples=RESAMPLES)
    effect = result.figures["january_effect"]
    assert effect["count"] == len(spreads) == years
    assert effect["spread_mean"] == pytest.approx(spreads.mean(), abs=1e-12)
    assert effect["spread_positive_share"] == pytest.approx((spreads > 0).mean(), abs=1e-12)
    assert round(effect["spread_mean"], 4) == mean and round(effect["spread_positive_share"], 2) == positive
    low, high = effect["spread_mean_ci"]
    assert low < spreads.mean() < high
