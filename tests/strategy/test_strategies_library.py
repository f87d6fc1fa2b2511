"""The strategy library (first10 hold, january_effect, size_momentum, sector_rotation, cyclical_tilt,
rate_regime, trend_filter): hand-computed cases, independent loop references on synthetic data,
and the no-look-ahead property (truncate the data at a date, and scramble everything after it:
the decisions up to that date must not change)."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from backtest.errors import StrategyError
from backtest.strategy import Param, load_strategy
from tests import reference
from tests.conftest import REPO_ROOT

IND = [f"ff_industry10:{n}" for n in ("NoDur", "Durbl", "Manuf", "Enrgy", "HiTec", "Telcm", "Shops", "Hlth", "Utils", "Other")]
S, L, RF = "ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:RF"
CONFIGS = REPO_ROOT / "configs"


def _params(strategy, **values):
    """Declared defaults overridden by `values`; numbers and choices coerced (ranges checked)
    without asking the data catalog about series ids."""
    resolved = {}
    for p in strategy.params:
        value = values.get(p.name, p.default)
        resolved[p.name] = value if p.kind in ("series", "series_list", "weights") else p.coerce(value, p.name)
    return SimpleNamespace(**resolved)


def _run(name, returns, **values):
    """Weights through Strategy.target_weights (so the output passes check_weights)."""
    strategy = load_strategy(name)
    p = _params(strategy, **values)
    return strategy.target_weights(returns[strategy.reads(p)], p)


def _returns(columns, periods=2500, start="1990-06-01", seed=1, mean=0.0003, vol=0.01):
    index = pd.bdate_range(start, periods=periods)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(mean, vol, (periods, len(columns))), index=index, columns=list(columns))


def _rates(index, seed=2):
    """A daily T-bill return that moves in steps and sometimes stays flat for months."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-1, 0, 0, 0, 1], size=len(index)) * (rng.random(len(index)) < 0.02)
    return pd.Series(np.clip(1e-4 + np.cumsum(steps) * 1e-5, 0.0, None), index=index)


def _frame(dates, columns):
    return pd.DataFrame(0.0, index=pd.to_datetime(dates), columns=columns)


def _assert_rows(weights, expected):
    """expected: list of (date string, [weights in column order])."""
    assert [d.strftime("%Y-%m-%d") for d in weights.index] == [d for d, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [w for _, w in expected], atol=1e-12)


def _assert_no_look_ahead(run, returns, cuts, seed=99):
    """Truncate at each cut, and replace everything after it by noise whose first sessions jump
    by +30 % and -30 % in alternate columns (the rate included), then the opposite way: a
    decision at or before the cut that peeked at a later row would differ between the two."""
    full = run(returns)
    rng = np.random.default_rng(seed)
    for cut in map(pd.Timestamp, cuts):
        truncated = run(returns.loc[:cut])
        pd.testing.assert_frame_equal(truncated, full.loc[:cut], obj=f"truncated at {cut.date()}")
        after = np.flatnonzero(returns.index > cut)
        signs = np.resize([1.0, -1.0], returns.shape[1])
        for jump in (0.3 * signs, -0.3 * signs):
            scrambled = returns.copy()
            noise = rng.normal(0.0, 0.05, (len(after), returns.shape[1]))
            noise[:5] = jump
            scrambled.iloc[after] = noise
            pd.testing.assert_frame_equal(run(scrambled).loc[:cut], full.loc[:cut], obj=f"scrambled after {cut.date()}")


CUTS = ["1991-01-01", "1992-01-31", "1992-02-03", "1993-06-30", "1995-12-29", "1997-03-03"]


# ---------------------------------------------------------------- series_list parameter kind


def test_series_list_kind_coerces_and_feeds_series(monkeypatch):
    checked = []
    monkeypatch.setattr("backtest.strategy.params._check_series", lambda sid, where, catalogs=(): checked.append((sid, where)))
    param = Param("universe", "series_list", ("a:X", "a:Y"))
    assert param.coerce(("a:X", "b:Y"), "strategy.params.universe") == ["a:X", "b:Y"]
    assert checked == [("a:X", "strategy.params.universe[0]"), ("b:Y", "strategy.params.universe[1]")]
    for bad, message in [("a:X", "a list of series ids"), ([], "a list of series ids"), (["a:X", 3], r"universe\[1\]"), (["a:X", "a:X"], "distinct")]:
        with pytest.raises(StrategyError, match=message):
            param.coerce(bad, "strategy.params.universe")
    strategy = load_strategy("sector_rotation")
    assert strategy.series(_params(strategy, universe=["a:C1", "a:C2", "a:D1"])) == ["a:C1", "a:C2", "a:D1"]


def test_series_list_checks_ids_against_the_catalog():
    with pytest.raises(StrategyError, match=r"strategy.params.universe\[1\]"):
        load_strategy("sector_rotation").resolve_params({"universe": ["ff_industry10:Manuf", "ff_industry10:Nope"]})
    p = load_strategy("sector_rotation").resolve_params({"universe": ["sector:XLB", "sector:XLE"]})
    assert p.universe == ["sector:XLB", "sector:XLE"]


# ---------------------------------------------------------------- first10: hold horizon


def test_first10_hold_hand_case():
    dates = ["1999-12-31", "2000-01-03", "2000-01-04", "2000-01-05", "2000-12-29",
             "2001-01-02", "2001-01-03", "2001-01-04", "2001-01-05"]
    returns = _frame(dates, [S, L])
    returns.loc["2000-01-03", S] = 0.01  # 2000: small leads after 2 sessions -> 0.8 at the 3rd
    returns.loc["2001-01-02", L] = 0.01  # 2001: large leads -> 0.2
    # hold 0: unchanged rule, signals at 2000-01-05 (row 3) and 2001-01-04 (row 7)
    _assert_rows(_run("first10", returns, lookback=2, tilt=0.8),
                 [("1999-12-31", [0.5, 0.5]), ("2000-01-05", [0.8, 0.2]), ("2001-01-04", [0.2, 0.8])])
    # hold 3: back to 50/50 three sessions after row 3 (row 6, 2001-01-03), before the next signal;
    # the 2001 exit (row 10) is past the data
    _assert_rows(_run("first10", returns, lookback=2, tilt=0.8, hold=3),
                 [("1999-12-31", [0.5, 0.5]), ("2000-01-05", [0.8, 0.2]), ("2001-01-03", [0.5, 0.5]), ("2001-01-04", [0.2, 0.8])])
    # hold 4: the exit falls on the next signal's session (row 7): the signal wins
    _assert_rows(_run("first10", returns, lookback=2, tilt=0.8, hold=4),
                 [("1999-12-31", [0.5, 0.5]), ("2000-01-05", [0.8, 0.2]), ("2001-01-04", [0.2, 0.8])])
    # hold 1: the 2001 exit is the last row (row 8)
    assert _run("first10", returns, lookback=2, tilt=0.8, hold=1).index[-1] == pd.Timestamp("2001-01-05")


@pytest.mark.parametrize("lookback,tilt,hold", [(10, 0.7, 0), (10, 0.7, 20), (5, 0.9, 1), (10, 0.7, 245), (3, 1.0, 260)])
def test_first10_hold_matches_reference(lookback, tilt, hold):
    returns = _returns([S, L])
    weights = _run("first10", returns, lookback=lookback, tilt=tilt, hold=hold)
    expected = reference.first10_hold_signals(list(returns.index), returns[S].tolist(), returns[L].tolist(), lookback, tilt, hold)
    assert list(weights.index) == [d for d, _, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [[s, l] for _, s, l in expected])


def test_first10_default_hold_is_the_seed_rule():
    returns = _returns([S, L])
    expected = reference.first10_signals(list(returns.index), returns[S], returns[L], 10, 0.7)
    weights = _run("first10", returns)
    assert list(weights.index) == [d for d, _, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [[s, l] for _, s, l in expected])


def test_first10_hold_never_looks_ahead():
    _assert_no_look_ahead(lambda r: _run("first10", r, hold=20), _returns([S, L]), CUTS + ["1993-01-15", "1993-02-12", "1993-02-15"])


# ---------------------------------------------------------------- january_effect


def test_january_effect_hand_case():
    dates = ["1999-12-30", "1999-12-31", "2000-01-03", "2000-01-31", "2000-02-01", "2000-12-29", "2001-01-02"]
    returns = _frame(dates, [S, L])
    # into the tilt at the close of 1999-12-31 (next session is in January), out at the close of
    # 2000-01-31 (the window's last session); 2001-01-02 is the last row: no next session, no change
    _assert_rows(_run("january_effect", returns, tilt=0.8),
                 [("1999-12-30", [0.5, 0.5]), ("1999-12-31", [0.8, 0.2]), ("2000-01-31", [0.5, 0.5]), ("2000-12-29", [0.8, 0.2])])
    # December..January wraps over the year end: tilted from the first row (next is December),
    # out at 2000-01-31, and in again at 2000-02-01, whose next session here is 2000-12-29
    _assert_rows(_run("january_effect", returns, start_month=12, end_month=1, tilt=0.9),
                 [("1999-12-30", [0.9, 0.1]), ("2000-01-31", [0.5, 0.5]), ("2000-02-01", [0.9, 0.1])])
    # a window with no session in the data: neutral throughout
    _assert_rows(_run("january_effect", returns, start_month=6, end_month=8), [("1999-12-30", [0.5, 0.5])])


@pytest.mark.parametrize("start,end,tilt", [(1, 1, 0.7), (11, 1, 0.9), (3, 5, 0.2), (1, 12, 1.0), (12, 11, 0.6)])
def test_january_effect_matches_reference(start, end, tilt):
    returns = _returns([S, L])
    weights = _run("january_effect", returns, start_month=start, end_month=end, tilt=tilt)
    expected = reference.january_effect_signals(list(returns.index), start, end, tilt)
    assert list(weights.index) == [d for d, _, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [[s, l] for _, s, l in expected])


def test_january_effect_never_looks_ahead():
    """The rule uses the calendar only: scrambling returns changes nothing. Truncating changes
    at most the cut itself, when the cut is the eve of a window edge: the truncated calendar
    no longer says that the next session is in (or out of) the window."""
    returns = _returns([S, L])
    run = lambda r: _run("january_effect", r)  # noqa: E731
    full = run(returns)
    pd.testing.assert_frame_equal(run(returns * -3.0 + 0.01), full)
    for cut in map(pd.Timestamp, CUTS + ["1992-12-31", "1993-01-29", "1993-02-01"]):
        truncated = run(returns.loc[:cut])
        day_before = cut - pd.Timedelta(days=1)
        pd.testing.assert_frame_equal(truncated.loc[:day_before], full.loc[:day_before])
        assert cut not in truncated.index
    # the eves of window edges, where the full calendar rebalances and a truncated one cannot
    assert {pd.Timestamp(d) for d in ("1992-01-31", "1992-12-31", "1993-01-29")} <= set(full.index)


# ---------------------------------------------------------------- size_momentum


def test_size_momentum_hand_case():
    returns = _frame(["2000-01-03", "2000-01-04", "2000-02-01", "2000-02-02", "2000-03-01"], [S, L])
    returns[S] = [0.0, 0.10, 0.0, -0.05, 0.0]
    returns[L] = [0.0, 0.05, 0.02, 0.0, 0.0]
    # Feb 1 vs Jan 3: small 1.10 - 1 = 10 % > large 1.05 * 1.02 - 1 = 7.1 % -> 0.8 small
    # Mar 1 vs Feb 1: small 0.95 - 1 = -5 % < large 0 % -> 0.2 small; Jan: no December -> 50/50
    _assert_rows(_run("size_momentum", returns, months=1, tilt=0.8),
                 [("2000-01-03", [0.5, 0.5]), ("2000-02-01", [0.8, 0.2]), ("2000-03-01", [0.2, 0.8])])
    # two months: only March has a reference month (January): small 1.1 * 0.95 = 4.5 % < 7.1 %
    _assert_rows(_run("size_momentum", returns, months=2, tilt=0.8),
                 [("2000-01-03", [0.5, 0.5]), ("2000-02-01", [0.5, 0.5]), ("2000-03-01", [0.2, 0.8])])


@pytest.mark.parametrize("months,tilt", [(12, 0.7), (1, 0.9), (6, 0.6), (36, 1.0)])
def test_size_momentum_matches_reference(months, tilt):
    returns = _returns([S, L])
    weights = _run("size_momentum", returns, months=months, tilt=tilt)
    expected = reference.size_momentum_signals(list(returns.index), returns[S].tolist(), returns[L].tolist(), months, tilt)
    assert list(weights.index) == [d for d, _, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [[s, l] for _, s, l in expected])


def test_size_momentum_never_looks_ahead():
    _assert_no_look_ahead(lambda r: _run("size_momentum", r, months=3), _returns([S, L]), CUTS)


def test_size_momentum_rebalances_on_first_sessions_not_month_ends():
    returns = _returns([S, L], periods=80, start="2001-01-01")
    weights = _run("size_momentum", returns, months=1)
    assert [d.strftime("%Y-%m-%d") for d in weights.index] == ["2001-01-01", "2001-02-01", "2001-03-01", "2001-04-02"]


# ---------------------------------------------------------------- sector_rotation


def test_sector_rotation_hand_case():
    cols = ["sector:XLB", "sector:XLE", "sector:XLU"]
    returns = _frame(["2000-01-03", "2000-01-04", "2000-01-05", "2000-02-01", "2000-03-01"], cols)
    returns[cols[0]] = [0.0, 0.0, 0.10, 0.00, -0.10]
    returns[cols[1]] = [0.0, 0.0, 0.00, 0.05, 0.00]
    returns[cols[2]] = [0.0, 0.0, 0.02, 0.02, 0.00]
    # Jan 3 (row 0 < L = 2): all three equally. Feb 1 (rows 2-3): XLB 10 %, XLE 5 %, XLU 4.04 %.
    # Mar 1 (rows 3-4): XLB -10 %, XLE 5 %, XLU 2 %.
    third = 1 / 3
    _assert_rows(_run("sector_rotation", returns, universe=cols, lookback=2, top=1),
                 [("2000-01-03", [third] * 3), ("2000-02-01", [1, 0, 0]), ("2000-03-01", [0, 1, 0])])
    _assert_rows(_run("sector_rotation", returns, universe=cols, lookback=2, top=2),
                 [("2000-01-03", [third] * 3), ("2000-02-01", [0.5, 0.5, 0]), ("2000-03-01", [0, 0.5, 0.5])])
    # top larger than the universe: hold all
    _assert_rows(_run("sector_rotation", returns, universe=cols, lookback=2, top=5).iloc[1:2], [("2000-02-01", [third] * 3)])
    # ties go to the series listed first: with flat returns, XLB then XLE
    _assert_rows(_run("sector_rotation", returns * 0, universe=cols, lookback=2, top=2).iloc[1:2], [("2000-02-01", [0.5, 0.5, 0])])


@pytest.mark.parametrize("lookback,top", [(126, 3), (1, 1), (21, 5), (252, 10)])
def test_sector_rotation_matches_reference(lookback, top):
    returns = _returns(IND, periods=1500)
    weights = _run("sector_rotation", returns, lookback=lookback, top=top)
    assert list(weights.columns) == IND
    expected = reference.sector_rotation_signals(list(returns.index), [returns[c].tolist() for c in IND], lookback, top)
    assert list(weights.index) == [d for d, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [w for _, w in expected])


def test_sector_rotation_never_looks_ahead():
    _assert_no_look_ahead(lambda r: _run("sector_rotation", r, lookback=63), _returns(IND), CUTS)


# ---------------------------------------------------------------- cyclical_tilt


def test_cyclical_tilt_hand_case():
    cyc, dfn = ["sector:XLB", "sector:XLI"], ["sector:XLU"]
    returns = _frame(["2000-01-03", "2000-02-01", "2000-03-01"], cyc + dfn)
    returns.loc["2000-02-01"] = [0.04, -0.02, 0.005]  # cyclicals average 1 % > 0.5 %
    # Jan (row 0 < L = 1): 0.5 each group; Feb: cyclicals lead -> 0.8 split in two;
    # Mar: all flat, a tie -> the defensives get 0.8
    _assert_rows(_run("cyclical_tilt", returns, cyclicals=cyc, defensives=dfn, lookback=1, tilt=0.8),
                 [("2000-01-03", [0.25, 0.25, 0.5]), ("2000-02-01", [0.4, 0.4, 0.2]), ("2000-03-01", [0.1, 0.1, 0.8])])


def test_cyclical_tilt_rejects_a_series_in_both_groups():
    returns = _frame(["2000-01-03", "2000-02-01"], ["sector:XLB", "sector:XLU"])
    with pytest.raises(StrategyError, match="'sector:XLU' is already traded through parameter 'cyclicals'"):
        _run("cyclical_tilt", returns, cyclicals=["sector:XLB", "sector:XLU"], defensives=["sector:XLU"])


@pytest.mark.parametrize("lookback,tilt", [(126, 0.7), (1, 1.0), (252, 0.55)])
def test_cyclical_tilt_matches_reference(lookback, tilt):
    returns = _returns(IND)
    cyc, dfn = [IND[2], IND[3], IND[1]], [IND[0], IND[7], IND[8]]
    weights = _run("cyclical_tilt", returns, lookback=lookback, tilt=tilt)
    assert list(weights.columns) == cyc + dfn
    expected = reference.cyclical_tilt_signals(
        list(returns.index), [returns[c].tolist() for c in cyc], [returns[c].tolist() for c in dfn], lookback, tilt
    )
    assert list(weights.index) == [d for d, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [w for _, w in expected])


def test_cyclical_tilt_never_looks_ahead():
    _assert_no_look_ahead(lambda r: _run("cyclical_tilt", r, lookback=42), _returns(IND), CUTS)


# ---------------------------------------------------------------- rate_regime


def test_rate_regime_hand_case():
    returns = _frame(["2000-01-03", "2000-01-04", "2000-02-01", "2000-03-01", "2000-04-03"], [S, L, RF])
    returns[RF] = [1e-4, 1e-4, 1e-4, 2e-4, 0.5e-4]
    # window 2: level(Feb 1) = 1e-4, level(Mar 1) = 1.5e-4, level(Apr 3) = 1.25e-4; Jan 3 undefined.
    # Feb vs Jan: undefined -> 50/50. Mar vs Feb: +0.5e-4 * 252e4 = +126 bp (tightening) -> 0.2.
    # Apr vs Mar: -0.25e-4 * 252e4 = -63 bp (easing) -> 0.8. RF is read, never traded: no column.
    _assert_rows(_run("rate_regime", returns, months=1, window=2, tilt=0.8),
                 [("2000-01-03", [0.5, 0.5]), ("2000-02-01", [0.5, 0.5]), ("2000-03-01", [0.2, 0.8]), ("2000-04-03", [0.8, 0.2])])
    # a 100 bp threshold keeps the -63 bp move "unchanged"
    _assert_rows(_run("rate_regime", returns, months=1, window=2, tilt=0.8, min_change_bp=100).iloc[2:],
                 [("2000-03-01", [0.2, 0.8]), ("2000-04-03", [0.5, 0.5])])
    # a flat rate is "unchanged": neutral
    returns[RF] = 3e-4
    assert (_run("rate_regime", returns, months=1, window=2)[S] == 0.5).all()


@pytest.mark.parametrize("months,window,min_change_bp,tilt", [(6, 21, 0.0, 0.7), (1, 1, 0.0, 0.9), (12, 63, 10.0, 0.6), (3, 21, 500.0, 0.7)])
def test_rate_regime_matches_reference(months, window, min_change_bp, tilt):
    returns = _returns([S, L])
    returns[RF] = _rates(returns.index)
    weights = _run("rate_regime", returns, months=months, window=window, min_change_bp=min_change_bp, tilt=tilt)
    assert list(weights.columns) == [S, L]  # the rate is a signal: read, never a traded column
    expected = reference.rate_regime_signals(list(returns.index), returns[RF].tolist(), months, window, min_change_bp, tilt)
    assert list(weights.index) == [d for d, *_ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [w for _, *w in expected])
    if min_change_bp == 0.0 and months == 6:  # all three regimes occur in this synthetic history
        assert set(weights[S]) == {0.5, tilt, 1 - tilt}


def test_rate_regime_never_trades_the_rate_and_refuses_to():
    returns = _returns([S, L])
    returns[RF] = _rates(returns.index)
    with pytest.raises(StrategyError, match="cannot also be traded"):
        _run("rate_regime", returns, small=RF)


def test_rate_regime_never_looks_ahead():
    returns = _returns([S, L])
    returns[RF] = _rates(returns.index)
    _assert_no_look_ahead(lambda r: _run("rate_regime", r, months=2), returns, CUTS)


# ---------------------------------------------------------------- trend_filter


def test_trend_filter_hand_case():
    returns = _frame(pd.bdate_range("2000-01-03", periods=6), ["ff_factors:Mkt"])
    returns["ff_factors:Mkt"] = [0.0, 0.1, -0.1, 0.2, 0.0, -0.3]
    # P = 1, 1.1, 0.99, 1.188, 1.188, 0.8316; MA3 from row 2: 1.03, 1.0927, 1.122, 1.0692
    # row 2: 0.99 < 1.03 -> cash (first decision); row 3: in; row 4: still in; row 5: out
    _assert_rows(_run("trend_filter", returns, window=3), [("2000-01-05", [0.0]), ("2000-01-06", [1.0]), ("2000-01-10", [0.0])])
    assert _run("trend_filter", returns, window=7).empty


@pytest.mark.parametrize("window", [200, 2, 50])
def test_trend_filter_matches_reference(window):
    returns = _returns(["ff_factors:Mkt"], mean=0.0004)
    weights = _run("trend_filter", returns, window=window)
    expected = reference.trend_filter_signals(list(returns.index), returns["ff_factors:Mkt"].tolist(), window)
    assert list(weights.index) == [d for d, _ in expected]
    np.testing.assert_allclose(weights.to_numpy().ravel(), [w for _, w in expected])
    assert len(weights) > 4


def test_trend_filter_never_looks_ahead():
    _assert_no_look_ahead(lambda r: _run("trend_filter", r, window=50), _returns(["ff_factors:Mkt"], mean=0.0004), CUTS)


# ---------------------------------------------------------------- configs


LIBRARY_CONFIGS = {
    "first10_deciles.yaml": "first10",
    "first10_quintiles.yaml": "first10",
    "first10_hold20.yaml": "first10",
    "january_effect.yaml": "january_effect",
    "size_momentum.yaml": "size_momentum",
    "sector_rotation.yaml": "sector_rotation",
    "sector_rotation_etf.yaml": "sector_rotation",
    "cyclical_tilt.yaml": "cyclical_tilt",
    "cyclical_tilt_sectors.yaml": "cyclical_tilt",
    "rate_regime.yaml": "rate_regime",
    "trend_filter.yaml": "trend_filter",
}


def test_every_numeric_param_has_a_range_and_help():
    for name in sorted(set(LIBRARY_CONFIGS.values())):
        strategy = load_strategy(name)
        assert strategy.doc
        for p in strategy.params:
            assert p.help, (name, p.name)
            if p.kind in ("int", "float"):
                assert p.min is not None and p.max is not None and p.min <= p.default <= p.max, (name, p.name)


@pytest.mark.parametrize("name,strategy", sorted(LIBRARY_CONFIGS.items()))
def test_library_configs_validate(name, strategy):
    from backtest.config import load_config

    config = load_config(CONFIGS / name)
    assert config.strategy.name == strategy
    loaded = load_strategy(strategy)
    p = _params(loaded, **config.strategy.params)  # every key is a declared parameter, in range
    assert set(config.strategy.params) <= {q.name for q in loaded.params}
    assert loaded.series(p)


# ---------------------------------------------------------------- real data (../shared/data)


@pytest.fixture(scope="module")
def french(shared_data):
    """Lo 30, Hi 30, Mkt, RF and the 10 industries, parsed by the reference reader, from 1990."""
    def read(file, columns, prefix):
        dates, values = reference.read_french_csv(shared_data / "kenfrench" / file, columns)
        return pd.DataFrame(values, index=pd.DatetimeIndex(dates), columns=[f"{prefix}:{c}" for c in columns])

    size = read("Portfolios_Formed_on_ME_Daily.csv", ["Lo 30", "Hi 30"], "ff_size")
    factors = read("F-F_Research_Data_Factors_daily.csv", ["Mkt-RF", "RF"], "ff_factors")
    factors["ff_factors:Mkt"] = factors.pop("ff_factors:Mkt-RF") + factors["ff_factors:RF"]
    industries = read("10_Industry_Portfolios_Daily.csv", [c.split(":")[1] for c in IND], "ff_industry10")
    return pd.concat([size, factors, industries], axis=1, join="inner").loc["1990":]


def test_real_rate_regime_follows_the_fed(french):
    weights = _run("rate_regime", french)
    expected = reference.rate_regime_signals(list(french.index), french[RF].tolist(), 6, 21, 0.0, 0.7)
    np.testing.assert_allclose(weights.to_numpy(), [w for _, *w in expected])
    small = weights[S]
    assert small["2001-06-01"] == 0.7  # 2001 cuts: easing
    assert small["2005-06-01"] == pytest.approx(0.3) and small["2022-09-01"] == pytest.approx(0.3)  # hiking: tightening
    assert small["2013-08-01"] == 0.5  # T-bill return 0.000 % all of 2013: unchanged
    assert RF not in weights.columns  # a signal: read, never traded


def test_real_trend_filter_and_sector_rotation_match_references(french):
    recent = french.loc["2005":]
    weights = _run("trend_filter", recent)
    expected = reference.trend_filter_signals(list(recent.index), recent["ff_factors:Mkt"].tolist(), 200)
    assert list(weights.index) == [d for d, _ in expected]
    held = weights["ff_factors:Mkt"].reindex(recent.index).ffill()
    assert held["2008-12-31"] == 0.0 and held["2017-12-29"] == 1.0  # out in the 2008 crash, in during 2017
    weights = _run("sector_rotation", recent)
    expected = reference.sector_rotation_signals(list(recent.index), [recent[c].tolist() for c in IND], 126, 3)
    np.testing.assert_allclose(weights.to_numpy(), [w for _, w in expected])
    assert weights.loc["2023-01-03", "ff_industry10:Enrgy"] == pytest.approx(1 / 3)  # energy led 2022


def test_real_january_effect_calendar(french):
    weights = _run("january_effect", french.loc["1999-12":"2002-02"])
    assert [d.strftime("%Y-%m-%d") for d in weights.index] == [
        "1999-12-01", "1999-12-31", "2000-01-31", "2000-12-29", "2001-01-31", "2001-12-31", "2002-01-31"]


@pytest.mark.parametrize("name", sorted(LIBRARY_CONFIGS))
def test_library_configs_run_on_real_data(shared_data, name):
    """Each config end to end (data -> weights -> engine -> statistics), over 2015-2018."""
    from backtest.config import load_config
    from backtest.pipeline import run_backtest

    result = run_backtest(load_config(CONFIGS / name, ["period.start=2015-01-01", "period.end=2018-12-31"]))
    weights = result.strategy.target_weights
    assert len(weights) >= 4 and np.isfinite(result.strategy.stats["cagr"])
    assert result.benchmark is not None and result.start.startswith("2015-01")
    if name == "rate_regime.yaml":
        assert RF not in weights.columns and RF in result.prepared.returns.columns  # read as a signal, not traded
