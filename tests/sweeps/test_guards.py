"""Guard rails: deflated Sharpe ratio, in/out-of-sample split, walk-forward."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from backtest.sweeps import guards
from backtest.cli import main
from backtest.errors import ConfigError
from tests.conftest import REPO_ROOT

CONFIG = str(REPO_ROOT / "configs" / "first10.yaml")
GRID = ["--grid", "strategy.params.lookback=5,10", "--grid", "strategy.params.tilt=0.6,0.8"]


def _dsr_by_hand(r, trials):
    """Bailey & López de Prado (2014), eqs. for SR0 and DSR, written out independently."""
    sr = np.mean(r) / np.std(r, ddof=1)
    n = len(trials)
    gamma = 0.5772156649015329
    sr0 = np.std(trials, ddof=1) * ((1 - gamma) * sps.norm.ppf(1 - 1 / n) + gamma * sps.norm.ppf(1 - 1 / (n * np.e)))
    g3 = sps.skew(r)
    g4 = sps.kurtosis(r) + 3
    return sps.norm.cdf((sr - sr0) * np.sqrt(len(r) - 1) / np.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)), sr0


def test_deflated_sharpe_matches_the_paper_formula():
    rng = np.random.default_rng(5)
    r = rng.standard_t(5, 3000) * 0.01 + 0.0008
    trials = rng.normal(0.01, 0.02, 250)
    expected, sr0 = _dsr_by_hand(r, trials)
    got = guards.deflated_sharpe(r, len(trials), np.var(trials, ddof=1))
    assert got["dsr"] == pytest.approx(expected, rel=1e-10)
    assert got["sr0"] == pytest.approx(sr0, rel=1e-10)
    assert got["trials"] == 250 and got["returns"] == 3000


def test_one_trial_is_the_probabilistic_sharpe_against_zero():
    rng = np.random.default_rng(6)
    r = rng.normal(0.0005, 0.01, 1000)
    sr = r.mean() / r.std(ddof=1)
    psr = sps.norm.cdf(sr * math.sqrt(999) / math.sqrt(1 - sps.skew(r) * sr + (sps.kurtosis(r) + 2) / 4 * sr**2))
    got = guards.deflated_sharpe(r, 1, math.nan)
    assert got["sr0"] == 0 and got["dsr"] == pytest.approx(psr, rel=1e-12)


def test_more_trials_deflate_more_and_noise_is_called_luck():
    rng = np.random.default_rng(7)
    # 400 noise strategies; the winner's Sharpe looks good only because it is the best of 400
    noise = rng.normal(0, 0.01, (400, 1500))
    sharpes = noise.mean(axis=1) / noise.std(axis=1, ddof=1)
    winner = noise[np.argmax(sharpes)]
    values = [guards.deflated_sharpe(winner, n, np.var(sharpes[:n], ddof=1))["dsr"] for n in (2, 20, 400)]
    assert values[0] > values[1] > values[2]
    verdict = guards.deflated_sharpe(winner, len(sharpes), np.var(sharpes, ddof=1))
    assert verdict["dsr"] < 0.95 and "indistinguishable from luck" in verdict["verdict"]
    skilled = rng.normal(0.002, 0.01, 1500)  # a true Sharpe of 0.2 a day
    assert guards.deflated_sharpe(skilled, len(sharpes), np.var(sharpes, ddof=1))["dsr"] > 0.95


def test_windows_roll_by_the_test_length():
    dates = pd.bdate_range("2000-01-03", "2009-12-31")
    spans = guards.windows(dates, pd.DateOffset(years=3), pd.DateOffset(years=2))
    starts = [s[0].year for s in spans]
    assert starts == [2000, 2002, 2004, 2006]
    for i, (train_start, train_end, test_start, test_end) in enumerate(spans):
        anchor = pd.Timestamp("2000-01-03") + pd.DateOffset(years=2 * i)  # steps of the test length
        assert anchor <= train_start and train_end < anchor + pd.DateOffset(years=3) <= test_start
        assert dates.get_loc(test_start) == dates.get_loc(train_end) + 1
        assert test_end < anchor + pd.DateOffset(years=5)
    assert spans[-1][3] == dates[-1]  # the last test window ends with the data (2009: 3+2 from 2006 = 2011)


@pytest.mark.parametrize("text", ["1999-12-31", "1926-01-01:", "a:b", "1926-01-01-1999"])
def test_bad_split(text):
    with pytest.raises(ConfigError, match="--split"):
        guards.parse_split(text)


@pytest.mark.parametrize("text", ["train=30y", "train=30x,test=5y", "train=0y,test=5y", "foo"])
def test_bad_walk_forward(text):
    with pytest.raises(ConfigError, match="--walk-forward"):
        guards.parse_walk_forward(text)


def _sweep_json(tmp_path, *args):
    result = CliRunner().invoke(main, ["sweep", CONFIG, *GRID, "--out", str(tmp_path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _best(records, metric="sharpe"):
    return max(records, key=lambda r: r["stats"][metric])


def test_split_on_real_data(shared_data, tmp_path):
    out = _sweep_json(tmp_path, "--set", "period.start=1950-01-01", "--split", "1950-01-01:1989-12-31")
    # the in-sample winner is the best row of the same grid swept on the in-sample period alone
    alone = _sweep_json(tmp_path / "alone", "--set", "period.start=1950-01-01", "--set", "period.end=1989-12-31")
    winner = out["split"]["winners"][0]
    assert winner["params"] == _best(alone["results"])["params"]
    assert winner["in_sample"]["sharpe"] == pytest.approx(_best(alone["results"])["stats"]["sharpe"], rel=1e-12)
    # out of sample: the 1990.. part of a plain run with those params, from its own equity curve
    sets = [a for k, v in winner["params"].items() for a in ("--set", f"{k}={v}")]
    run = CliRunner().invoke(main, ["run", CONFIG, *sets, "--start", "1950-01-01", "--out", str(tmp_path / "run"), "--json"])
    run_id = json.loads(run.stdout)["run_id"]
    curves = pd.read_csv(tmp_path / "run" / run_id / "equity.csv", index_col="date", parse_dates=True)
    bench = curves["benchmark"]
    bench_cagr = (bench.iloc[-1] / bench[:"1989-12-31"].iloc[-1]) ** (252 / len(bench["1990-01-01":])) - 1
    assert out["split"]["benchmark_out_of_sample"]["cagr"] == pytest.approx(bench_cagr, rel=1e-9)
    equity = curves["strategy"]
    before = equity[:"1989-12-31"].iloc[-1]
    oos = equity["1990-01-01":]
    cagr = (oos.iloc[-1] / before) ** (252 / len(oos)) - 1
    r = oos / oos.shift(1, fill_value=before) - 1
    assert winner["out_of_sample"]["cagr"] == pytest.approx(cagr, rel=1e-9)
    assert winner["out_of_sample"]["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)
    assert out["deflated_sharpe"]["trials"] == 4 and 0 <= out["deflated_sharpe"]["dsr"] <= 1
    assert {"dsr", "sr0", "sr_best", "trials", "verdict"} <= set(out["deflated_sharpe"])
    assert "rebased to the initial cash" in out["split"]["note"]


def test_walk_forward_on_real_data(shared_data, tmp_path):
    out = _sweep_json(tmp_path, "--set", "period.start=1960-01-01", "--walk-forward", "train=20y,test=10y")
    windows = out["walk_forward"]["windows"]
    assert [w["test"][0][:4] for w in windows] == ["1980", "1990", "2000", "2010", "2020"]
    # each window's choice is the best of the grid swept on its training window
    for w in windows[:2]:
        alone = _sweep_json(tmp_path / w["train"][0], "--set", f"period.start={w['train'][0]}", "--set", f"period.end={w['train'][1]}")
        assert w["params"] == _best(alone["results"])["params"]
    # the stitched curve chains the windows: its return over a window is that window's return
    sweep_dir = tmp_path / out["sweep_id"]
    stitched = pd.read_csv(sweep_dir / "walk_forward_equity.csv", index_col="date", parse_dates=True)["equity"]
    value = 100_000.0
    for w in windows:
        part = stitched[w["test"][0]: w["test"][1]]
        assert part.iloc[-1] / value - 1 == pytest.approx(w["test_stats"]["total_return"], rel=1e-9)
        value = part.iloc[-1]
    r = stitched / stitched.shift(1, fill_value=100_000.0) - 1
    assert out["walk_forward"]["stitched"]["final_value"] == pytest.approx(stitched.iloc[-1], rel=1e-12)
    assert out["walk_forward"]["stitched"]["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)
    # one source of truth: the stitched figures are backtest.stats.performance of the stitched curve
    from backtest import stats

    expected = stats.performance(stitched, 100_000.0, 252)
    for name in ("cagr", "sharpe", "sortino", "calmar", "max_drawdown", "volatility", "total_return", "final_value"):
        assert out["walk_forward"]["stitched"][name] == pytest.approx(expected[name], rel=1e-9, nan_ok=True), name
    assert "starting from the previous one's end value" in out["walk_forward"]["note"]


def test_split_and_walk_forward_together_is_an_error(shared_data, tmp_path):
    result = CliRunner().invoke(main, ["sweep", CONFIG, *GRID, "--out", str(tmp_path), "--split", "1950-01-01:1989-12-31", "--walk-forward", "train=20y,test=10y"])
    assert result.exit_code == 2 and "not both" in result.output


@pytest.mark.parametrize("args,message", [
    (["--split", "1926-01-01:2030-01-01"], "--split: no data after the in-sample end 2030-01-01"),
    (["--walk-forward", "train=200y,test=5y"], "--walk-forward: the data"),
])
def test_impossible_guard_periods_fail_before_writing(shared_data, tmp_path, args, message):
    result = CliRunner().invoke(main, ["sweep", CONFIG, *GRID, "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "out").exists()


def test_split_and_walk_forward_from_the_yaml_sweep_section(shared_data, tmp_path):
    text = (REPO_ROOT / "configs" / "first10.yaml").read_text()
    for key, value, expected in (("split", "1950-01-01:1989-12-31", "split"), ("walk_forward", "train=20y,test=20y", "walk_forward")):
        path = tmp_path / f"{key}.yaml"
        path.write_text(text + f'\nsweep: {{grid: {{strategy.params.lookback: "5,10"}}, {key}: "{value}"}}\n')
        result = CliRunner().invoke(main, ["sweep", str(path), "--set", "period.start=1950-01-01", "--out", str(tmp_path / key), "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert expected in out and out["deflated_sharpe"]["trials"] == 2
    assert out["walk_forward"]["windows"][0]["test"][0][:4] == "1970"
