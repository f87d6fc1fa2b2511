"""first10 and buy_and_hold against independent implementations, and the no-look-ahead property."""

import numpy as np
import pandas as pd
import pytest

from backtest.errors import StrategyError
from backtest.strategy import load_strategy, strategy_names
from tests.reference import first10_signals


def _returns(start="1990-06-01", periods=2500, columns=("S", "L"), seed=1):
    index = pd.bdate_range(start, periods=periods)
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0.0003, 0.01, (periods, len(columns))), index=index, columns=list(columns))


def _first10(returns, **params):
    strategy = load_strategy("first10")
    values = {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30", **params}
    p = strategy.resolve_params(values)
    frame = returns.set_axis([p.small, p.large], axis=1)
    return strategy.target_weights(frame, p), p


@pytest.mark.parametrize("lookback,tilt", [(10, 0.7), (1, 0.9), (5, 0.5), (20, 1.0)])
def test_first10_matches_written_rule(lookback, tilt):
    returns = _returns()
    weights, p = _first10(returns, lookback=lookback, tilt=tilt)
    expected = first10_signals(list(returns.index), returns["S"], returns["L"], lookback, tilt)
    assert list(weights.index) == [d for d, _, _ in expected]
    np.testing.assert_allclose(weights.to_numpy(), [[s, l] for _, s, l in expected])


def test_first10_hand_case():
    # Year 2000 has its previous close (1999-12-31) and 3 sessions; lookback 2 needs 3.
    index = pd.to_datetime(["1999-12-30", "1999-12-31", "2000-01-03", "2000-01-04", "2000-01-05", "2001-01-02"])
    returns = pd.DataFrame(
        {"S": [0.0, 0.0, 0.01, 0.01, -0.5, 0.0], "L": [0.0, 0.0, 0.02, 0.0, 0.5, 0.0]}, index=index
    )
    weights, _ = _first10(returns, lookback=2, tilt=0.8)
    # 2000: small 1.01*1.01-1 = 2.01 % > large 2 % -> small gets 0.8 at the close of the 3rd session.
    # 2001 has only one session: no signal. 1999's first session is the first row: no signal.
    assert list(weights.index) == list(index[[0, 4]])
    assert weights.to_numpy().tolist() == [[0.5, 0.5], [0.8, pytest.approx(0.2)]]


@pytest.mark.parametrize("cut", ["1992-01-10", "1993-01-15", "1993-06-30", "1995-12-29"])
def test_first10_never_looks_ahead(cut):
    """Decisions up to a date depend only on data up to that date: truncate and scramble."""
    returns = _returns()
    full, _ = _first10(returns)
    cut = pd.Timestamp(cut)
    truncated, _ = _first10(returns.loc[:cut])
    scrambled_future = returns.copy()
    rng = np.random.default_rng(99)
    after = scrambled_future.index > cut
    scrambled_future.loc[after] = rng.normal(0, 0.05, (after.sum(), 2))
    scrambled, _ = _first10(scrambled_future)
    pd.testing.assert_frame_equal(truncated, full.loc[:cut])
    pd.testing.assert_frame_equal(scrambled.loc[:cut], full.loc[:cut])


@pytest.mark.parametrize("period,expected_first_sessions", [
    ("monthly", ["2001-01-01", "2001-02-01", "2001-03-01", "2001-04-02"]),
    ("quarterly", ["2001-01-01", "2001-04-02"]),
    ("annual", ["2001-01-01"]),
    ("never", ["2001-01-01"]),
])
def test_buy_and_hold_rebalances_on_first_session_of_each_period(period, expected_first_sessions):
    index = pd.bdate_range("2001-01-01", "2001-04-10")
    returns = pd.DataFrame(0.0, index=index, columns=["ff_size:Lo 30", "ff_size:Hi 30"])
    strategy = load_strategy("buy_and_hold")
    p = strategy.resolve_params({"rebalance": period, "weights": {"ff_size:Lo 30": 0.6, "ff_size:Hi 30": 0.4}})
    weights = strategy.target_weights(returns, p)
    assert [d.strftime("%Y-%m-%d") for d in weights.index] == expected_first_sessions
    assert (weights.to_numpy() == [0.6, 0.4]).all()


def test_strategies_are_listed():
    assert {"first10", "buy_and_hold"} <= set(strategy_names())


@pytest.mark.parametrize("values,message", [
    ({"lookback": "ten"}, "strategy.params.lookback: expected an integer"),
    ({"lookback": 0}, "strategy.params.lookback: expected a value in [1, 60]"),
    ({"tilt": 1.5}, "strategy.params.tilt"),
    ({"small": "ff_size:Nope"}, "strategy.params.small"),
    ({"bogus": 1}, "strategy.params.bogus: unknown parameter"),
])
def test_bad_params_name_the_key(values, message):
    with pytest.raises(StrategyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_strategy("first10").resolve_params(values)


@pytest.mark.parametrize("name,values,message", [
    ("first10", {"small": "ff_size:Hi 30"}, "strategy.params.large: 'ff_size:Hi 30' is already traded through parameter 'small'"),
    ("cyclical_tilt", {"defensives": ["ff_industry10:NoDur", "ff_industry10:Manuf"]},
     "strategy.params.defensives: 'ff_industry10:Manuf' is already traded through parameter 'cyclicals'"),
])
def test_a_series_is_traded_through_one_parameter_only(name, values, message):
    strategy = load_strategy(name)
    params = strategy.resolve_params(values)  # each value is valid on its own
    with pytest.raises(StrategyError, match=message):
        strategy.check_traded_once(params)


def test_a_signal_may_also_be_a_traded_series_at_resolution():
    # rate_regime reads its rate as a signal: naming a traded series there is the rule's own business
    params = load_strategy("rate_regime").resolve_params({"rate": "ff_size:Lo 30"})
    assert params.rate == params.small == "ff_size:Lo 30"


def test_weights_with_leverage_are_rejected():
    strategy = load_strategy("buy_and_hold")
    with pytest.raises(StrategyError, match="more than 1"):
        strategy.resolve_params({"weights": {"ff_size:Lo 30": 0.7, "ff_size:Hi 30": 0.7}})


@pytest.mark.parametrize("rows,index,message", [
    ([[0.5, 0.5]], ["2001-01-06"], "rebalance date 2001-01-06 is not a trading date"),  # a Saturday
    ([[0.5, 0.5], [0.4, 0.6]], ["2001-01-03", "2001-01-02"], "unique and ascending"),
    ([[0.5, 0.5], [0.4, 0.6]], ["2001-01-02", "2001-01-02"], "unique and ascending"),
    ([[-0.1, 0.5]], ["2001-01-02"], "negative or infinite weight on 2001-01-02"),
    ([[float("inf"), 0.5]], ["2001-01-02"], "negative or infinite weight"),
    ([[0.7, 0.5]], ["2001-01-03"], "weights sum to 1.2 on 2001-01-03"),
])
def test_bad_strategy_output_is_named(rows, index, message):
    from backtest.strategy import check_weights

    calendar = pd.bdate_range("2001-01-01", periods=10)
    weights = pd.DataFrame(rows, index=pd.to_datetime(index), columns=["a", "b"])
    with pytest.raises(StrategyError, match=message):
        check_weights(weights, calendar, ["a", "b"], "demo")


def test_strategy_output_is_put_in_asset_order_with_nan_rows_kept():
    from backtest.strategy import check_weights

    calendar = pd.bdate_range("2001-01-01", periods=10)
    weights = pd.DataFrame({"b": [0.3, np.nan], "a": [0.6, np.nan]}, index=calendar[[0, 5]])
    checked = check_weights(weights, calendar, ["a", "b"], "demo")
    assert list(checked.columns) == ["a", "b"]
    assert checked.iloc[0].tolist() == [0.6, 0.3] and checked.iloc[1].isna().all()


# --- writing a rule: signal-only series, declared history, undeclared series ----------------------


def _rule(**attributes):
    """A strategy built in place, as a notebook would (any object with a strategy's attributes)."""
    from types import SimpleNamespace

    from backtest.strategy import strategy_from

    return strategy_from(SimpleNamespace(__doc__="A test rule.", **attributes), name="rule")


def test_a_signal_series_is_read_but_never_traded(shared_data, tmp_path):
    """rate_regime reads the T-bill series as a signal: it reaches the rule, never the weights,
    the weights file or the run's title."""
    import backtest

    result = backtest.run("configs/rate_regime.yaml", start="2015-01-01", end="2018-12-31", out=tmp_path)
    assert "ff_factors:RF" in result.prepared.returns.columns
    assert result.prepared.legs[0].series == ["ff_size:Lo 30", "ff_size:Hi 30"]
    assert result.prepared.legs[0].reads == ["ff_size:Lo 30", "ff_size:Hi 30", "ff_factors:RF"]
    assert list(result.weights.columns) == ["ff_size:Lo 30", "ff_size:Hi 30"]
    assert pd.read_csv(result.directory / "weights.csv").columns.tolist() == ["date", "ff_size:Lo 30", "ff_size:Hi 30"]
    assert "ff_factors:RF" not in result.orders["asset"].tolist()


def test_a_rule_reading_an_undeclared_series_is_told_which():
    from backtest.strategy import Param

    def target_weights(returns, params):
        rate = returns["ff_factors:RF"]  # never declared
        return pd.DataFrame({params.asset: 1.0}, index=returns.index[:1]) if len(rate) else None

    rule = _rule(PARAMS=(Param("asset", "series", "ff_size:Lo 30"),), target_weights=target_weights)
    params = rule.resolve_params({})
    returns = _returns(columns=("ff_size:Lo 30", "ff_factors:RF"))
    with pytest.raises(StrategyError, match=r"target_weights reads series 'ff_factors:RF', which no parameter declares \(.*signal=True"):
        rule.target_weights(returns, params)
    declared = _rule(PARAMS=(Param("asset", "series", "ff_size:Lo 30"), Param("rate", "series", "ff_factors:RF", signal=True)),
                     target_weights=target_weights)
    weights = declared.target_weights(returns, declared.resolve_params({}))
    assert list(weights.columns) == ["ff_size:Lo 30"]


def test_history_is_declared_on_the_parameter():
    from backtest.strategy import Param

    rule = _rule(PARAMS=(Param("n", "int", 30, min=1, history="sessions"), Param("m", "int", 2, min=1, history="months")),
                 target_weights=lambda returns, params: returns.iloc[:1] * 0)
    index = pd.bdate_range("2000-01-03", periods=70)  # 70 sessions to 2000-04-07: three months before its last one
    rule.check_history(index, rule.resolve_params({}), "x.yaml: strategy")
    with pytest.raises(StrategyError, match=r"x.yaml: strategy.params.n: .* has 70 sessions, not more than the 70 sessions of history"):
        rule.check_history(index, rule.resolve_params({"n": 70}), "x.yaml: strategy")
    with pytest.raises(StrategyError, match=r"strategy.params.m: .* has 1 months before its last month, not more than the 2 months"):
        rule.check_history(index[:25], rule.resolve_params({"n": 20}), "x.yaml: strategy")
    with pytest.raises(ValueError, match="history is for int parameters"):
        Param("w", "float", 1.0, history="sessions")
    with pytest.raises(ValueError, match="signal is for series"):
        Param("n", "int", 1, signal=True)
    with pytest.raises(StrategyError, match="LOOKBACK is no longer read: declare the history on the parameter"):
        _rule(PARAMS=(Param("n", "int", 3),), LOOKBACK=("n", "sessions"), target_weights=lambda r, p: r)
