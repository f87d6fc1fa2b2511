"""Config validation and `--set` overrides: every bad input names its key."""

import datetime as dt

import pytest

from backtest.config import load_config, parse_assignment, set_dotted, validate
from backtest.errors import ConfigError

BASE = {"strategy": {"name": "first10"}}


def test_defaults_fill_in():
    config = validate(BASE)
    assert config.portfolio.initial_cash == 100_000
    assert config.portfolio.fees == 0.0005
    assert config.portfolio.cash == "none"
    assert config.stats.periods_per_year == "auto" and config.stats.risk_free == "auto"
    assert config.benchmark is None


def test_one_data_directory_may_be_given_without_a_list():
    assert validate({**BASE, "data": {"path": "../mydata"}}).data.path == ["../mydata"]
    assert validate({**BASE, "data": {"path": ["a", "b"]}}).data.path == ["a", "b"]


@pytest.mark.parametrize("text,key,value", [
    ("strategy.params.lookback=7", "strategy.params.lookback", 7),
    ("portfolio.fees=0.001", "portfolio.fees", 0.001),
    ('strategy.params.small="etf:IWM"', "strategy.params.small", "etf:IWM"),
    ("strategy.params.small=ff_size:Lo 10", "strategy.params.small", "ff_size:Lo 10"),
    ("period.start=null", "period.start", None),
])
def test_parse_assignment_types_values(text, key, value):
    assert parse_assignment(text) == (key, value)


def test_set_dotted_creates_sections():
    raw = {"strategy": {"name": "first10"}}
    set_dotted(raw, "strategy.params.lookback", 5)
    set_dotted(raw, "period.start", "2000-01-01")
    assert raw == {"strategy": {"name": "first10", "params": {"lookback": 5}}, "period": {"start": "2000-01-01"}}
    assert validate(raw).period.start == dt.date(2000, 1, 1)


@pytest.mark.parametrize("raw,message", [
    ({**BASE, "portfolio": {"fees": "lots"}}, "portfolio.fees"),
    ({**BASE, "portfolio": {"fees": -0.1}}, "portfolio.fees"),
    ({**BASE, "portfolio": {"initial_cash": 0}}, "portfolio.initial_cash"),
    ({**BASE, "portfolio": {"cash": "gold"}}, "portfolio.cash"),
    ({**BASE, "portfolio": {"feez": 0.1}}, "portfolio.feez: unknown key"),
    ({**BASE, "colour": "red"}, "colour: unknown key"),
    ({**BASE, "period": {"start": "2001-13-45"}}, "period.start"),
    ({**BASE, "period": {"start": "2005-01-01", "end": "2001-01-01"}}, "period: start 2005-01-01 is after end 2001-01-01"),
    ({"portfolio": {}}, "strategy: Field required"),
    ({"strategy": {"params": {}}}, "strategy: give a strategy name or file"),
])
def test_bad_configs_name_the_key(raw, message):
    with pytest.raises(ConfigError) as info:
        validate(raw, source="my.yaml")
    assert str(info.value).startswith("my.yaml: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy: {name: first10\n")
    with pytest.raises(ConfigError, match="bad.yaml: line"):
        load_config(bad)
    with pytest.raises(ConfigError, match="nope.yaml: cannot read the config"):
        load_config(tmp_path / "nope.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(listing)


def test_set_into_a_scalar_is_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("strategy: {name: first10}\nportfolio: {fees: 0.001}\n")
    with pytest.raises(ConfigError, match="portfolio.fees is not a section"):
        load_config(path, ["portfolio.fees.x=1"])
