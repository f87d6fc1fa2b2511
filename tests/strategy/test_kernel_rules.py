"""Every strategy's kernel form of its rule (`kernel_tables` + `kernel_weights`, compiled for the
CPU by `Strategy.kernel_target_weights`) gives exactly its `target_weights`: the same rebalance
dates, columns and weights, bit for bit.

The strategies are discovered (every module in `strategies/` with a kernel form), and so are
their data: every shipped config whose strategy or benchmark names one, on the real 1926-2025
series (the Ken French industries and the sector ETFs for the ten-asset rules). The parameter
sets are each parameter at its bounds, next to them and between them, every choice, and a few
random mixes, computed both from one set of tables for the whole list (as a sweep makes them) and
one set at a time; the edge cases are one and two rows, periods shorter than the rules' history,
a period starting on a month's last session (the next row a first session, at lookback 1), a
period ending on a year's last session, one of zero returns (every comparison a tie) and one
with a calendar month missing.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from backtest.strategy import distinct_values, load_strategy, parameter_columns, strategy_names
from tests.conftest import REPO_ROOT

KERNEL_RULES = [name for name in strategy_names() if load_strategy(name).kernel_form is not None]


def _legs_in_configs() -> list[tuple[str, str, str]]:
    """(strategy, config file, leg) for every shipped config leg that names a strategy with a
    kernel form, one per distinct (strategy, parameters)."""
    legs, seen = [], set()
    for path in sorted((REPO_ROOT / "configs").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        for leg in ("strategy", "benchmark"):
            spec = raw.get(leg) or {}
            key = (spec.get("name"), repr(spec.get("params")))
            if spec.get("name") in KERNEL_RULES and key not in seen:
                seen.add(key)
                legs.append((spec["name"], path.name, leg))
    return legs


LEGS = _legs_in_configs()


def test_every_shipped_strategy_has_a_kernel_form_and_real_data_to_test_it_on():
    assert KERNEL_RULES == strategy_names()
    assert {name for name, _, _ in LEGS} == set(KERNEL_RULES)


def _spread(param) -> list:
    """A numeric parameter's bounds, the values next to them and two between them."""
    low, high = param.min, param.max
    if param.kind == "int":
        low, high = int(low), int(high)
        return sorted({low, low + 1, low + (high - low) // 3, low + 2 * (high - low) // 3, high - 1, high})
    return [low, low + 0.37 * (high - low), (low + high) / 2, high]


def parameter_cases(strategy, base: dict, mixes: int = 4) -> list[dict]:
    """Parameter values over `base`: each numeric parameter over its `_spread`, each choice and
    two other weightings of the same series, one parameter at a time, then `mixes` random draws
    of the numbers and choices together."""
    varied = [p for p in strategy.params if p.kind == "choice" or p.kind in ("int", "float") and p.min is not None and p.max is not None]
    cases = [dict(base)]
    for param in varied:
        cases += [{**base, param.name: value} for value in (param.choices if param.kind == "choice" else _spread(param))]
    for param in (p for p in strategy.params if p.kind == "weights"):  # other weights of the same series
        weights = base.get(param.name, param.default)
        cases.append({**base, param.name: {s: w / 2 for s, w in weights.items()}})
        cases.append({**base, param.name: dict(zip(weights, [1.0] + [0.0] * (len(weights) - 1)))})
    rng = np.random.default_rng(14)
    for _ in range(mixes):
        mix = dict(base)
        for param in varied:
            if param.kind == "choice":
                mix[param.name] = param.choices[rng.integers(len(param.choices))]
            elif param.kind == "int":
                mix[param.name] = int(rng.integers(param.min, param.max + 1))
            else:
                mix[param.name] = float(rng.uniform(param.min, param.max))
        cases.append(mix)
    return cases


def _assert_same_weights(got: pd.DataFrame, expected: pd.DataFrame, what) -> None:
    assert got.index.equals(expected.index), what
    assert list(got.columns) == list(expected.columns), what
    assert np.array_equal(got.to_numpy(), expected.to_numpy()), what


def _check(strategy, returns: pd.DataFrame, params_list: list, alone: bool = True) -> list[pd.DataFrame]:
    """rule_weights of the whole list (one set of tables) and of each set alone against
    target_weights; the target weights."""
    expected = [strategy.target_weights(returns, params) for params in params_list]
    for params, got, want in zip(params_list, strategy.kernel_target_weights(returns, params_list), expected):
        _assert_same_weights(got, want, (vars(params), "grid", len(returns)))
        if alone:
            _assert_same_weights(strategy.kernel_target_weights(returns, [params])[0], want, (vars(params), "alone", len(returns)))
    return expected


_PREPARED: dict = {}


def _prepared(config_name: str):
    """A shipped config's data over its whole period (prepared once per test session)."""
    if config_name not in _PREPARED:
        from backtest.config import validate
        from backtest.pipeline import prepare

        config = validate(yaml.safe_load((REPO_ROOT / "configs" / config_name).read_text()), base_dir=REPO_ROOT / "configs")
        _PREPARED[config_name] = (config, prepare(config))
    return _PREPARED[config_name]


def _leg(config_name: str, leg: str):
    config, prepared = _prepared(config_name)
    strategy = prepared.legs[0 if leg == "strategy" else 1].strategy
    return strategy, dict(getattr(config, leg).params), prepared.returns


@pytest.mark.parametrize("name,config_name,leg", LEGS, ids=[f"{n}-{c}-{leg}" for n, c, leg in LEGS])
def test_kernel_form_gives_target_weights_on_real_data(shared_data, name, config_name, leg):
    strategy, base, returns = _leg(config_name, leg)
    assert strategy.name == name
    if config_name.endswith(("_etf.yaml", "_sectors.yaml")):
        assert returns.index[0].year <= 2015 and returns.index[-1].year >= 2024
    else:
        assert returns.index[0].year <= 1926 and returns.index[-1].year >= 2025
    params_list = [strategy.resolve_params(values) for values in parameter_cases(strategy, base)]
    expected = _check(strategy, returns, params_list)
    # the cases are not vacuous: most trade differently, and some rebalance many times
    distinct = {(tuple(w.index.asi8), w.to_numpy().tobytes()) for w in expected}
    assert len(distinct) >= len(params_list) // 2
    assert max(len(w) for w in expected) >= 20


def _edge_periods(returns: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Short and gapped periods of the real data."""
    months = returns.index.to_period("M")
    three_years = returns.loc[(returns.index.year >= returns.index.year[0] + 1) & (returns.index.year <= returns.index.year[0] + 3)]
    missing_month = months[len(returns) // 2]
    month_start = int(np.flatnonzero(months[1:] != months[:-1])[2]) + 1
    return {
        "one row": returns.iloc[:1],
        "two rows": returns.iloc[:2],
        "two months": returns.iloc[:40],
        "14 months": returns.iloc[:300],
        "from a month's last session": returns.iloc[month_start - 1 : month_start + 299],  # row 1 starts a month
        "flat (every trailing return ties)": returns.iloc[:300] * 0.0,
        "to a year's last session": three_years,
        "a month missing": returns[months != missing_month].iloc[len(returns) // 2 - 400 : len(returns) // 2 + 400],
    }


@pytest.mark.parametrize("name", KERNEL_RULES)
def test_kernel_form_gives_target_weights_on_edge_periods(shared_data, name):
    config_name, leg = next((c, leg) for n, c, leg in LEGS if n == name)
    strategy, base, returns = _leg(config_name, leg)
    params_list = [strategy.resolve_params(values) for values in parameter_cases(strategy, base, mixes=2)]
    periods = _edge_periods(returns)
    assert len(periods["a month missing"].index.to_period("M").unique()) < len(pd.period_range(*periods["a month missing"].index[[0, -1]].to_period("M")))
    for what, period in periods.items():
        _check(strategy, period, params_list, alone=what in ("one row", "a month missing"))


@pytest.mark.parametrize("name", KERNEL_RULES)
def test_tables_of_a_sweep_grid_equal_those_of_its_parameter_sets(shared_data, name):
    """A sweep hands `kernel_tables` its unswept parameters as one value broadcast (no memory per
    set): the tables and rule parameters equal those made from one array value per set."""
    config_name, leg = next((c, leg) for n, c, leg in LEGS if n == name)
    strategy, base, returns = _leg(config_name, leg)
    cases = parameter_cases(strategy, base, mixes=0)[1:]
    params_list = [strategy.resolve_params(values) for values in cases]
    listed = parameter_columns(params_list)
    swept = {name for name, column in vars(listed).items() if len(distinct_values(column)[0]) > 1}
    broadcast = SimpleNamespace(**{name: column if name in swept else np.broadcast_to(column[:1], len(column)) for name, column in vars(listed).items()})
    for got, expected in zip(strategy.kernel_tables(returns, broadcast, len(cases)), strategy.kernel_tables(returns, listed, len(cases))):
        assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=True)


def test_distinct_values_of_parameter_columns():
    numbers, index = distinct_values(np.array([21, 5, 21, 63]))
    assert numbers == [5, 21, 63] and index.tolist() == [1, 0, 1, 2]
    same_list = ["a", "b"]
    lists = np.empty(5, dtype=object)
    lists[:] = [same_list, ["c"], same_list, ["a", "b"], ["c"]]  # equal values in different objects are one value
    values, index = distinct_values(lists)
    assert values == [["a", "b"], ["c"]] and index.tolist() == [0, 1, 0, 0, 1]
    choices = np.array(["monthly", "never", "monthly"], dtype=object)
    assert distinct_values(choices)[0] == ["monthly", "never"] and distinct_values(choices)[1].tolist() == [0, 1, 0]
    one = np.empty(1, dtype=object)
    one[0] = {"x": 1.0}
    values, index = distinct_values(np.broadcast_to(one, 10**7))  # an unswept parameter: no loop over the sets
    assert values == [{"x": 1.0}] and index.shape == (10**7,) and not index.any()


def test_sets_that_split_the_same_series_differently_share_one_table(shared_data):
    """cyclical_tilt: sets whose groups together hold the same series in the same order (one
    sweep context) but split them differently."""
    strategy, base, returns = _leg("cyclical_tilt.yaml", "strategy")
    series = [*base["cyclicals"], *base["defensives"]]
    params_list = [strategy.resolve_params({**base, "cyclicals": series[:k], "defensives": series[k:], "lookback": lookback})
                   for k in (1, 3, 5) for lookback in (21, 126)]
    expected = _check(strategy, returns, params_list, alone=False)
    assert len({w.to_numpy().tobytes() for w in expected}) == len(params_list)


@pytest.mark.parametrize("name,values", [("rate_regime", {"rate": "ff_size:Lo 30"})])
def test_kernel_form_refuses_what_target_weights_refuses(shared_data, name, values):
    from backtest.errors import StrategyError

    config_name, leg = next((c, leg) for n, c, leg in LEGS if n == name)
    strategy, base, returns = _leg(config_name, leg)
    params = strategy.resolve_params({**base, **values})
    with pytest.raises(StrategyError) as refused:
        strategy.target_weights(returns, params)
    with pytest.raises(StrategyError) as refused_by_tables:
        strategy.kernel_tables(returns, parameter_columns([params]), 1)
    reason = str(refused.value).split("target_weights raised StrategyError: ")[1]
    assert str(refused_by_tables.value).endswith(f"kernel_tables raised StrategyError: {reason}")
