"""Look-ahead detection (`backtest.check`, `backtest check`).

Every shipped strategy (at its defaults) and every shipped config must come out clean; four
deliberately cheating rules (tests/fixtures/lookahead/: tomorrow's return, a centred rolling
mean, a `shift(-1)` signal, a whole-sample mean) must be caught, with the offending date and
asset named.
"""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest import lookahead
from backtest.cli import main
from backtest.config import load_config, validate
from backtest.pipeline import prepare
from backtest.strategy import strategy_names
from tests.conftest import REPO_ROOT

CHEATS = REPO_ROOT / "tests" / "fixtures" / "lookahead"
CONFIGS = sorted((REPO_ROOT / "configs").glob("*.yaml"))


def _reports(config, cuts, seed=0):
    """The one helper: a config (a path, or a dict for a strategy alone) -> check reports."""
    if isinstance(config, dict):
        config = validate({"benchmark": None, **config}, source="test", base_dir=REPO_ROOT)
    else:
        config = load_config(config)
    return lookahead.check(prepare(config), cuts=cuts, seed=seed)


@pytest.mark.parametrize("name", strategy_names())
def test_shipped_strategy_is_clean(shared_data, name):
    (report,) = _reports({"strategy": {"name": name}}, cuts=20)
    assert len(report.cuts) == 20 and not report.refused
    assert report.clean, report.offences[0].describe()


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_is_clean(shared_data, config):
    for report in _reports(config, cuts=8):
        assert len(report.cuts) == 8 and not report.refused
        assert report.clean, f"{report.key}: {report.offences[0].describe()}"


@pytest.mark.parametrize("cheat", ["peek_tomorrow", "centred_mean", "shifted_signal", "full_sample_zscore"])
def test_cheating_strategy_is_caught(shared_data, cheat):
    (report,) = _reports({"strategy": {"file": str(CHEATS / f"{cheat}.py")}}, cuts=20)
    assert not report.clean
    first = report.offences[0]
    assert first.asset in ("ff_size:Lo 30", "ff_size:Hi 30")
    assert first.date <= first.cut and first.full != first.altered
    # the named decision really is one of the full run's (or the altered run's) rebalance dates
    returns = prepare(validate({"strategy": {"file": str(CHEATS / f"{cheat}.py")}}, base_dir=REPO_ROOT)).returns
    assert first.date in returns.index


def test_one_day_peek_is_caught_on_its_decision_date(shared_data):
    """Tomorrow's return at a decision date: only scrambling can see it, at that very date."""
    (report,) = _reports({"strategy": {"file": str(CHEATS / "peek_tomorrow.py")}}, cuts=20)
    assert {o.method for o in report.offences} == {"scrambled"}
    assert all(o.date == o.cut for o in report.offences)


def test_whole_sample_statistic_is_caught_by_truncation_too(shared_data):
    (report,) = _reports({"strategy": {"file": str(CHEATS / "full_sample_zscore.py")}}, cuts=5)
    assert {o.method for o in report.offences} == {"truncated", "scrambled"}
    assert len({o.cut for o in report.offences}) == 5


# --- the pieces ------------------------------------------------------------------------------

DATES = pd.bdate_range("2020-01-01", periods=6)


def test_first_difference_treats_a_missing_row_as_no_change():
    full = pd.DataFrame({"a": [0.5, np.nan, 0.3], "b": [0.5, np.nan, 0.7]}, index=DATES[[0, 2, 4]])
    same = full.drop(index=DATES[2])  # the all-NaN row dropped: the same decisions
    assert lookahead.first_difference(full, same, DATES[5], inclusive=True) is None
    moved = full.drop(index=DATES[4])  # a real decision missing
    date, asset, was, now = lookahead.first_difference(full, moved, DATES[5], inclusive=True)
    assert (date, asset, was) == (DATES[4], "a", 0.3) and np.isnan(now)
    assert lookahead.first_difference(full, moved, DATES[4], inclusive=False) is None  # before the cut only


def test_first_difference_is_exact():
    full = pd.DataFrame({"a": [0.5, 0.25], "b": [0.5, 0.75]}, index=DATES[:2])
    nudged = full.copy()
    nudged.iloc[1, 1] = np.nextafter(0.75, 1.0)
    assert lookahead.first_difference(full, nudged, DATES[1], inclusive=True)[:2] == (DATES[1], "b")


def test_scramble_flips_every_sign_after_the_cut_only():
    rng = np.random.default_rng(1)
    returns = pd.DataFrame(rng.normal(0, 0.01, (6, 2)), index=DATES, columns=["a", "b"])
    returns.iloc[5, 0] = 0.0
    scrambled = lookahead.scramble_after(returns, DATES[2], np.random.default_rng(0))
    pd.testing.assert_frame_equal(scrambled.iloc[:3], returns.iloc[:3])
    before, after = returns.iloc[3:].to_numpy(), scrambled.iloc[3:].to_numpy()
    assert (np.where(before > 0, after < 0, after > 0)).all()
    assert ((np.abs(after) >= 0.001) & (np.abs(after) <= 0.1)).all()


def test_cut_dates_prefer_decisions_and_stay_inside():
    index = pd.bdate_range("2000-01-03", periods=300)
    decisions = index[[0, 50, 100, 299]]
    cuts = lookahead.cut_dates(index, decisions, 5, np.random.default_rng(0))
    assert len(cuts) == len(set(cuts)) == 5 and cuts == sorted(cuts)
    assert {index[50], index[100]} <= set(cuts)  # the decisions strictly inside, then others
    assert all(index[0] < c < index[-1] for c in cuts)
    assert lookahead.cut_dates(index[:3], decisions[:1], 5, np.random.default_rng(0)) == [index[1]]


# --- the command -----------------------------------------------------------------------------


def _cheat_config(tmp_path, cheat):
    path = tmp_path / f"{cheat}.yaml"
    path.write_text(f"strategy: {{file: {CHEATS / cheat}.py}}\nbenchmark: null\n")
    return path


def test_check_command_clean_exit_0(shared_data):
    result = CliRunner().invoke(main, ["check", str(REPO_ROOT / "configs" / "first10.yaml"), "--cuts", "3"])
    assert result.exit_code == 0, result.output
    assert "strategy 'first10': no look-ahead at 3 cut dates" in result.stdout
    assert "benchmark 'buy_and_hold': no look-ahead at 3 cut dates" in result.stdout


def test_check_command_names_the_offence_and_exits_3(shared_data, tmp_path):
    config = _cheat_config(tmp_path, "centred_mean")
    result = CliRunner().invoke(main, ["check", str(config), "--cuts", "6", "--seed", "2"])
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"look-ahead in strategy 'centred_mean' ({config}): with the data after ")
    assert "its decision on " in line and "for ff_size:" in line and "cut dates]" in line
    as_json = CliRunner().invoke(main, ["check", str(config), "--cuts", "6", "--seed", "2", "--json"])
    assert as_json.exit_code == 3
    (leg,) = json.loads(as_json.stdout)["legs"]
    assert not leg["clean"] and len(leg["cuts"]) == 6
    first = min(leg["offences"], key=lambda o: (o["date"], o["cut"]))
    assert f"after {first['cut']} " in line and f"decision on {first['date']} for {first['asset']}" in line


def test_check_command_bad_input_exit_2(shared_data, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("strategy: {file: nowhere.py}\n")
    result = CliRunner().invoke(main, ["check", str(config)])
    assert result.exit_code == 2 and "strategy.file: no such file" in result.stderr
