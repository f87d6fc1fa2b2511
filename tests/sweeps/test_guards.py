"""Guard rails: deflated Sharpe ratio, in/out-of-sample split, walk-forward."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as sps

from backtest.sweeps import guards, periods
from backtest.cli import main
from backtest.errors import ConfigError
from tests import reference
from tests.conftest import REPO_ROOT
from tests.sweeps.test_sweep import config_file, fake_data  # noqa: F401  (fixtures)

CONFIG = str(REPO_ROOT / "configs" / "first10.yaml")
GRID = ["--grid", "strategy.params.lookback=5,10", "--grid", "strategy.params.tilt=0.6,0.8"]


def test_deflated_sharpe_matches_the_paper_formula():
    rng = np.random.default_rng(5)
    r = rng.standard_t(5, 3000) * 0.01 + 0.0008
    trials = rng.normal(0.01, 0.02, 250) * math.sqrt(252)  # annualised, as the sweep's table
    expected, sr0 = reference.deflated_sharpe(r, trials, 252)
    got = guards.deflated_sharpe(r, len(trials), np.var(trials, ddof=1), 252)
    assert got["dsr"] == pytest.approx(expected, rel=1e-10)
    assert got["sr0"] == pytest.approx(sr0, rel=1e-10)  # annualised
    assert got["sr_best"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert got["trials"] == 250 and got["returns"] == 3000 and got["periods_per_year"] == 252
    # the same returns at another annualisation: the probability does not change, the units do
    other = guards.deflated_sharpe(r, len(trials), np.var(trials, ddof=1) / 252 * 12, 12)
    assert other["dsr"] == pytest.approx(expected, rel=1e-10) and other["sr0"] == pytest.approx(sr0 / math.sqrt(21), rel=1e-10)


def test_one_trial_is_the_probabilistic_sharpe_against_zero():
    rng = np.random.default_rng(6)
    r = rng.normal(0.0005, 0.01, 1000)
    sr = r.mean() / r.std(ddof=1)
    psr = sps.norm.cdf(sr * math.sqrt(999) / math.sqrt(1 - sps.skew(r) * sr + (sps.kurtosis(r) + 2) / 4 * sr**2))
    got = guards.deflated_sharpe(r, 1, math.nan, 252)
    assert got["sr0"] == 0 and got["dsr"] == pytest.approx(psr, rel=1e-12)


def test_more_trials_deflate_more_and_noise_is_called_luck():
    rng = np.random.default_rng(7)
    # 400 noise strategies; the winner's Sharpe looks good only because it is the best of 400
    noise = rng.normal(0, 0.01, (400, 1500))
    sharpes = noise.mean(axis=1) / noise.std(axis=1, ddof=1) * math.sqrt(252)
    winner = noise[np.argmax(sharpes)]
    values = [guards.deflated_sharpe(winner, n, np.var(sharpes[:n], ddof=1), 252)["dsr"] for n in (2, 20, 400)]
    assert values[0] > values[1] > values[2]
    verdict = guards.deflated_sharpe(winner, len(sharpes), np.var(sharpes, ddof=1), 252)
    assert verdict["dsr"] < 0.95 and "indistinguishable from luck" in verdict["verdict"]
    assert f"{verdict['sr0']:.3f} a year" in verdict["verdict"]
    skilled = rng.normal(0.002, 0.01, 1500)  # a true Sharpe of 0.2 a day
    assert guards.deflated_sharpe(skilled, len(sharpes), np.var(sharpes, ddof=1), 252)["dsr"] > 0.95


def test_windows_roll_by_the_test_length():
    dates = pd.bdate_range("2000-01-03", "2009-12-31")
    spans = periods.windows(dates, pd.DateOffset(years=3), pd.DateOffset(years=2))
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
        periods.parse_split(text)


@pytest.mark.parametrize("text", ["train=30y", "train=30x,test=5y", "train=0y,test=5y", "foo"])
def test_bad_walk_forward(text):
    with pytest.raises(ConfigError, match="--walk-forward"):
        periods.parse_walk_forward(text)


def _sweep_json(tmp_path, *args):
    result = CliRunner().invoke(main, ["sweep", CONFIG, *GRID, "--out", str(tmp_path), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _best(records, metric="sharpe"):
    return max(records, key=lambda r: r["stats"][metric])


def _french(shared_data):
    """Dates, Lo 30 / Hi 30 returns and RF from the Ken French CSVs, read with the csv module."""
    dates, values = reference.read_french_csv(shared_data / "kenfrench" / "Portfolios_Formed_on_ME_Daily.csv", ["Lo 30", "Hi 30"])
    rf_dates, rf = reference.read_french_csv(shared_data / "kenfrench" / "F-F_Research_Data_Factors_daily.csv", ["RF"])
    assert rf_dates == dates
    return pd.DatetimeIndex(dates), values, pd.Series(rf[:, 0], index=pd.DatetimeIndex(dates))


def _window_figures(equity, base, rf):
    """CAGR and Sharpe of a window's equity from `base` (the close before it), by the README."""
    years = (equity.index[-1] - equity.index[0]).days / 365.25
    ppy = (len(equity) - 1) / years
    r = equity / equity.shift(1, fill_value=base) - 1
    x = r - rf.loc[equity.index]
    return {"cagr": (equity.iloc[-1] / base) ** (1 / years) - 1, "sharpe": x.mean() / x.std(ddof=1) * math.sqrt(ppy)}, r


def _newey_west(active):
    import statsmodels.api as sm

    lags = int(4 * (len(active) / 100) ** (2 / 9))
    fit = sm.OLS(np.asarray(active), np.ones(len(active))).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}, use_t=False)
    return fit.tvalues[0], fit.pvalues[0]


def test_split_on_real_data(shared_data, tmp_path):
    out = _sweep_json(tmp_path, "--set", "period.start=1950-01-01", "--split", "1950-01-01:1989-12-31")
    # the in-sample winner is the best row of the same grid swept on the in-sample period alone
    alone = _sweep_json(tmp_path / "alone", "--set", "period.start=1950-01-01", "--set", "period.end=1989-12-31")
    winner = out["split"]["winners"][0]
    assert winner["params"] == _best(alone["results"])["params"]
    assert winner["in_sample"]["sharpe"] == pytest.approx(_best(alone["results"])["stats"]["sharpe"], rel=1e-12)
    assert out["split"]["in_sample"] == ["1950-01-03", "1989-12-29"]
    # out of sample: the 1990.. part of a plain run with those params, from its own equity curve
    sets = [a for k, v in winner["params"].items() for a in ("--set", f"{k}={v}")]
    run = CliRunner().invoke(main, ["run", CONFIG, *sets, "--start", "1950-01-01", "--out", str(tmp_path / "run"), "--json"])
    run_id = json.loads(run.stdout)["run_id"]
    curves = pd.read_csv(tmp_path / "run" / run_id / "equity.csv", index_col="date", parse_dates=True)
    dates, values, rf = _french(shared_data)
    equity = curves["strategy"]
    oos = equity["1990-01-01":]
    expected, r = _window_figures(oos, equity[:"1989-12-31"].iloc[-1], rf)
    assert winner["out_of_sample"]["cagr"] == pytest.approx(expected["cagr"], rel=1e-9)
    assert winner["out_of_sample"]["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-9)
    # the benchmark: 50/50 bought fresh at the last in-sample close (1989-12-29), not carried from 1950
    base = dates.get_loc(pd.Timestamp("1989-12-29"))
    prices = np.cumprod(1 + values[base:], axis=0)
    hold = np.full(prices.shape, np.nan)
    hold[0] = 0.5
    bench, _ = reference.rebalance_loop(prices, hold, 100_000, 0.0005)
    # measured, as every window, from its value at the close before the window (after buying)
    bench_figures, b = _window_figures(pd.Series(bench[1:], index=dates[base + 1:]), bench[0], rf)
    for name in ("cagr", "sharpe"):
        assert out["split"]["benchmark_out_of_sample"][name] == pytest.approx(bench_figures[name], rel=1e-9), name
    # excess return, information ratio and significance against that benchmark
    years = (oos.index[-1] - oos.index[0]).days / 365.25
    assert winner["out_of_sample"]["excess_cagr"] == pytest.approx(expected["cagr"] - bench_figures["cagr"], rel=1e-9)
    active = r - b
    ppy = (len(oos) - 1) / years
    assert winner["out_of_sample"]["information_ratio"] == pytest.approx(active.mean() / active.std(ddof=1) * math.sqrt(ppy), rel=1e-9)
    t, p = _newey_west(active)
    assert winner["significance"]["t_stat"] == pytest.approx(t, rel=1e-9) and winner["significance"]["p_value"] == pytest.approx(p, rel=1e-9)
    assert out["deflated_sharpe"]["trials"] == 4 and 0 <= out["deflated_sharpe"]["dsr"] <= 1
    assert {"dsr", "sr0", "sr_best", "trials", "verdict", "units", "cost_variants"} <= set(out["deflated_sharpe"])
    assert "rebased to the initial cash" in out["split"]["note"] and "fresh" in out["split"]["note"]
    table = CliRunner().invoke(main, ["sweep", CONFIG, *GRID, "--out", str(tmp_path), "--set", "period.start=1950-01-01",
                                      "--split", "1950-01-01:1989-12-31"])
    assert "in-sample (1950-01-03 → 1989-12-29)" in table.stdout and "benchmark, bought at the split" in table.stdout


def test_walk_forward_on_real_data(shared_data, tmp_path):
    out = _sweep_json(tmp_path, "--set", "period.start=1960-01-01", "--walk-forward", "train=20y,test=10y")
    report = out["walk_forward"]
    windows = report["windows"]
    assert [w["test"][0][:4] for w in windows] == ["1980", "1990", "2000", "2010", "2020"]
    # each window's choice is the best of the grid swept on its training window
    for w in windows[:2]:
        alone = _sweep_json(tmp_path / w["train"][0], "--set", f"period.start={w['train'][0]}", "--set", f"period.end={w['train'][1]}")
        assert w["params"] == _best(alone["results"])["params"]
    # the stitched curve chains the windows: its return over a window is that window's return
    sweep_dir = tmp_path / out["sweep_id"]
    curves = pd.read_csv(sweep_dir / "walk_forward_equity.csv", index_col="date", parse_dates=True)
    stitched = curves["walk_forward"]
    value = 100_000.0
    for w in windows:
        part = stitched[w["test"][0]: w["test"][1]]
        assert part.iloc[-1] / value - 1 == pytest.approx(w["test_stats"]["total_return"], rel=1e-9)
        value = part.iloc[-1]
    dates, values, rf = _french(shared_data)
    expected, r = _window_figures(stitched, 100_000.0, rf)
    assert report["stitched"]["final_value"] == pytest.approx(stitched.iloc[-1], rel=1e-12)
    assert report["stitched"]["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-9)
    assert report["stitched"]["cagr"] == pytest.approx(expected["cagr"], rel=1e-9)
    # the untuned config (lookback 10, tilt 0.7) over the same dates: a plain run, cut and rebased
    run = CliRunner().invoke(main, ["run", CONFIG, "--start", "1960-01-01", "--out", str(tmp_path / "run"), "--json"])
    plain = pd.read_csv(tmp_path / "run" / json.loads(run.stdout)["run_id"] / "equity.csv", index_col="date", parse_dates=True)["strategy"]
    before = plain[: windows[0]["train"][1]].iloc[-1]
    np.testing.assert_allclose(curves["untuned"].to_numpy(), plain[windows[0]["test"][0]:].to_numpy() * 100_000 / before, rtol=1e-12)
    assert report["untuned_params"] == {"strategy.params.lookback": 10, "strategy.params.tilt": 0.7}
    # the benchmark bought fresh at the close before the first test window
    base = dates.get_loc(pd.Timestamp(windows[0]["train"][1]))
    prices = np.cumprod(1 + values[base:], axis=0)
    hold = np.full(prices.shape, np.nan)
    hold[0] = 0.5
    bench, _ = reference.rebalance_loop(prices, hold, 100_000, 0.0005)
    np.testing.assert_allclose(curves["benchmark"].to_numpy(), bench[1:] * 100_000 / bench[0], rtol=1e-9)
    bench_figures, b = _window_figures(curves["benchmark"], 100_000.0, rf)
    assert report["benchmark"]["sharpe"] == pytest.approx(bench_figures["sharpe"], rel=1e-9)
    t, p = _newey_west(r - b)
    vs = report["significance"]["vs_benchmark"]
    assert vs["t_stat"] == pytest.approx(t, rel=1e-9) and vs["p_value"] == pytest.approx(p, rel=1e-9)
    assert "the benchmark" in vs["verdict"] and "the untuned config" in report["significance"]["vs_untuned"]["verdict"]
    # saved in the sweep directory: the report (JSON), one row per window (CSV)
    saved = json.loads((sweep_dir / "walk_forward.json").read_text())
    assert saved == report
    rows = pd.read_csv(sweep_dir / "walk_forward.csv")
    assert rows["test_start"].tolist() == [w["test"][0] for w in windows]
    assert rows["tuned_sharpe"].tolist() == pytest.approx([w["test_stats"]["sharpe"] for w in windows], rel=1e-12)
    assert rows["benchmark_total_return"].tolist() == pytest.approx([w["benchmark_stats"]["total_return"] for w in windows], rel=1e-12)
    assert rows["lookback"].tolist() == [w["params"]["strategy.params.lookback"] for w in windows]
    assert "starting from the previous one's end value" in report["note"]
    # and shown in the sweep's report
    from html import escape

    shown = CliRunner().invoke(main, ["report", str(sweep_dir)])
    assert shown.exit_code == 0, shown.output
    document = (sweep_dir / "report.html").read_text()
    assert "<h2>Walk-forward (out of sample)</h2>" in document
    for block in report["significance"].values():
        assert escape(block["verdict"]) in document
    assert f"{report['stitched']['sharpe']:.3f}" in document and escape(windows[-1]["test"][1]) in document


def test_walk_forward_leaves_out_a_last_test_window_too_short_to_measure(shared_data, tmp_path):
    """2019-01-02 (the first session) .. 2020-07-02 with train=12m,test=1m: the test windows start
    on the 2nd of each month of 2020; July's holds one session (2020-07-02), too short for the
    statistics: it is left out, and a note says so. (The README's train=98y,test=5y keeps a
    shortened last window that is long enough.)"""
    result = CliRunner().invoke(main, ["sweep", CONFIG, "--grid", "strategy.params.lookback=5,10", "--out", str(tmp_path), "--json",
                                       "--set", "period.start=2019-01-01", "--set", "period.end=2020-07-02",
                                       "--walk-forward", "train=12m,test=1m"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["walk_forward"]
    assert [w["test"] for w in report["windows"]] == [
        ["2020-01-02", "2020-01-31"], ["2020-02-03", "2020-02-28"], ["2020-03-02", "2020-04-01"],
        ["2020-04-02", "2020-05-01"], ["2020-05-04", "2020-06-01"], ["2020-06-02", "2020-07-01"]]
    note = ("note: walk-forward: 1 session after the last test window left out (2020-07-02..2020-07-02): "
            "a test window needs at least 3 sessions for its statistics")
    assert result.stderr.splitlines() == [note] and report["left_out"] == note


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


def test_guard_rail_files_describe_the_latest_invocation_only(fake_data, config_file, tmp_path, monkeypatch):  # noqa: F811
    """The sweep id does not depend on --walk-forward: the same sweep without it, or with other
    windows, writes into the same directory, and its files and report describe that invocation."""
    args = ["sweep", str(config_file), "--grid", "strategy.params.lookback=2,5", "--out", str(tmp_path), "--json"]

    def sweep(*extra):
        result = CliRunner().invoke(main, [*args, *extra])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    files = ["walk_forward.json", "walk_forward.csv", "walk_forward_equity.csv"]
    first = sweep("--walk-forward", "train=4y,test=2y")
    directory = tmp_path / first["sweep_id"]
    assert all((directory / name).is_file() for name in files)
    other = sweep("--walk-forward", "train=6y,test=1y")
    assert other["sweep_id"] == first["sweep_id"]
    saved = json.loads((directory / "walk_forward.json").read_text())
    assert saved == other["walk_forward"] and [w["test"] for w in saved["windows"]] != [w["test"] for w in first["walk_forward"]["windows"]]
    rows = pd.read_csv(directory / "walk_forward.csv")
    assert rows["test_start"].tolist() == [w["test"][0] for w in other["walk_forward"]["windows"]]
    curves = pd.read_csv(directory / "walk_forward_equity.csv", index_col="date")
    assert curves.index[0] == other["walk_forward"]["windows"][0]["test"][0]

    # killed (here: failing) while renaming the new files into place: no walk_forward.json beside them
    def failing_replace(source, target, real=guards.os.replace):
        if target == directory / "walk_forward.csv":  # into place (not the staging's own atomic writes)
            raise OSError("disk full")
        real(source, target)

    with monkeypatch.context() as patched, pytest.raises(OSError):
        patched.setattr(guards.os, "replace", failing_replace)
        guards.save_guard_rails(directory, {"walk_forward": first["walk_forward"]}, curves)
    assert not (directory / "walk_forward.json").exists() and not [p for p in directory.iterdir() if p.name.endswith(".tmp")]

    plain = sweep()
    assert plain["sweep_id"] == first["sweep_id"] and "walk_forward" not in plain
    assert not any((directory / name).exists() for name in files)
    assert json.loads((directory / "guard_rails.json").read_text()) == {k: v for k, v in plain.items() if k not in ("sweep_id", "combinations", "results")}
    assert not [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    shown = CliRunner().invoke(main, ["report", str(directory)])
    assert shown.exit_code == 0, shown.output
    assert "Walk-forward" not in (directory / "report.html").read_text()
