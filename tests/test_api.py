"""The public Python API (`import backtest`): the same numbers as the command line, nothing
written unless `out` is given."""

import json
import types

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import backtest
from backtest.cli import main
from backtest.errors import ConfigError, StrategyError
from tests.conftest import REPO_ROOT

CONFIG = str(REPO_ROOT / "configs" / "first10.yaml")
PERIOD = {"start": "1990-01-01", "end": "1999-12-31"}


@pytest.fixture(scope="module")
def run_1990s(shared_data):
    return backtest.run(CONFIG, set={"strategy.params.lookback": 7}, **PERIOD)


def test_run_in_memory_equals_the_cli_and_writes_nothing(run_1990s, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_1990s.directory is None and not any(tmp_path.iterdir())
    cli = CliRunner().invoke(main, ["run", CONFIG, "--set", "strategy.params.lookback=7", "--start", PERIOD["start"],
                                    "--end", PERIOD["end"], "--json", "--out", str(tmp_path / "out")])
    assert cli.exit_code == 0, cli.output
    printed = json.loads(cli.stdout)
    summary = run_1990s.summary()
    assert {k: summary[k] for k in ("start", "end", "strategy", "benchmark")} == {k: printed[k] for k in ("start", "end", "strategy", "benchmark")}
    assert run_1990s.stats["sharpe"] == printed["strategy"]["sharpe"]
    assert run_1990s.benchmark_stats["cagr"] == printed["benchmark"]["cagr"]
    assert run_1990s.config["strategy"]["params"]["lookback"] == 7
    # the one-line repr: the CLI's period and Sharpe ratio
    assert repr(run_1990s) == (f"<RunResult first10 vs buy_and_hold, {printed['start']} → {printed['end']}, "
                               f"sharpe {printed['strategy']['sharpe']:.3f}>")


def test_run_result_frames(run_1990s):
    equity = run_1990s.equity
    assert list(equity.columns) == ["strategy", "benchmark"] and equity.index[0] == pd.Timestamp("1990-01-02")
    # the drawdown from the running peak (which starts at the initial cash), by a plain loop
    peak, expected = 100_000.0, []
    for value in equity["strategy"]:
        peak = max(peak, value)
        expected.append(value / peak - 1.0)
    np.testing.assert_allclose(run_1990s.drawdown["strategy"], expected, rtol=0, atol=1e-15)
    assert list(run_1990s.weights.columns) == ["ff_size:Lo 30", "ff_size:Hi 30"]
    assert set(run_1990s.orders["leg"]) == {"strategy", "benchmark"}
    assert "Sharpe" in run_1990s._repr_html_() and "first10" in run_1990s._repr_html_()


def test_to_vectorbt_is_the_same_portfolio(run_1990s):
    """vectorbt's own value() of the Portfolio equals the equity curve the run reports."""
    portfolio = run_1990s.to_vectorbt()
    np.testing.assert_allclose(portfolio.value().to_numpy(), run_1990s.equity["strategy"].to_numpy(), rtol=1e-12)


def test_figure_and_report(run_1990s, tmp_path):
    figure = run_1990s.figure()
    assert [trace.name for trace in figure.data] == ["benchmark", "strategy"]  # the strategy drawn last, on top
    np.testing.assert_allclose(np.asarray(figure.data[1].y, dtype=float), run_1990s.equity["strategy"] / 100_000, rtol=1e-6)
    with pytest.raises(ConfigError, match="give a path"):
        run_1990s.report()
    report = run_1990s.report(tmp_path / "r.html")
    assert report.html.stat().st_size > 100_000 and "first10" in report.html.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # the run directory it read was temporary


def test_out_writes_and_records_like_the_cli(shared_data, tmp_path):
    result = backtest.run(CONFIG, out=tmp_path, **PERIOD)
    assert result.directory.parent == tmp_path and (result.directory / "stats.json").is_file()
    stored = json.loads((result.directory / "stats.json").read_text())
    assert stored["run_id"] == result.run_id and stored["strategy"]["sharpe"] == result.stats["sharpe"]
    listed = CliRunner().invoke(main, ["runs", "list", "--out", str(tmp_path), "--json"])
    assert [r["id"] for r in json.loads(listed.stdout)] == [result.run_id]


def test_a_dict_config_and_a_strategy_object(shared_data):
    """A rule written in a notebook: any object with PARAMS and target_weights, no strategy file."""
    from backtest import Param

    def target_weights(returns, params):
        return pd.DataFrame({params.asset: [1.0]}, index=returns.index[:1])

    rule = types.SimpleNamespace(__doc__="Buy the asset and hold it.", __name__="all_in",
                                 PARAMS=(Param("asset", "series", "ff_size:Hi 30"),), target_weights=target_weights)
    config = {"benchmark": None, "portfolio": {"fees": 0.0}}
    result = backtest.run(config, strategy=rule, **PERIOD)
    assert result.strategy.leg.strategy.name == "all_in"
    returns = backtest.load(["ff_size:Hi 30"], **PERIOD)["ff_size:Hi 30"]
    # bought at the first close (no fees): the value grows with every later return
    assert result.equity["strategy"].iloc[-1] == pytest.approx(100_000 * np.prod(1 + returns.to_numpy()[1:]), rel=1e-12)
    with pytest.raises(StrategyError, match="unknown parameter of strategy 'all_in'"):
        backtest.run(config, strategy=rule, set={"strategy.params.assett": "ff_size:Lo 30"})


def _hold(returns, params):
    return pd.DataFrame({params.asset: [1.0]}, index=returns.index[:1])


def test_a_rule_defined_in_memory_is_named_recorded_and_refused_by_rerun(shared_data, tmp_path):
    """A SimpleNamespace rule: named by its NAME, else its function, else notebook_rule (never
    "SimpleNamespace"); its run is marked in memory, and rerun says why it cannot load it."""
    from backtest import Param

    params = (Param("asset", "series", "ff_size:Hi 30"),)
    rule = types.SimpleNamespace(__doc__="Hold the asset.", PARAMS=params, target_weights=_hold)
    result = backtest.run(CONFIG, strategy=rule, out=tmp_path, **PERIOD)
    assert result.strategy.leg.strategy.name == "_hold" == result.config["strategy"]["name"]
    assert "SimpleNamespace" not in json.dumps(result.summary()) and result.run_id.startswith("_hold-")
    assert result.significance["verdict"].startswith("_hold ")
    assert json.loads((result.directory / "manifest.json").read_text())["strategy_in_memory"] is True
    rerun = CliRunner().invoke(main, ["rerun", result.run_id, "--out", str(tmp_path)])
    assert rerun.exit_code == 2 and rerun.stdout == ""
    assert rerun.stderr.splitlines() == [f"error: run {result.run_id}: its strategy '_hold' was defined in memory "
                                         "(strategy= in Python, no file), so it cannot be rerun from the registry; "
                                         "save the rule as a .py file and run it again"]
    named = types.SimpleNamespace(NAME="hold_large", PARAMS=params, target_weights=_hold)
    anonymous = types.SimpleNamespace(PARAMS=params, target_weights=lambda returns, p: _hold(returns, p))
    assert [backtest.run(CONFIG, strategy=r, **PERIOD).strategy.leg.strategy.name for r in (named, anonymous)] == ["hold_large", "notebook_rule"]
    with pytest.raises(StrategyError, match="'notebook_rule' is defined in memory .*a sweep runs a strategy from a file"):
        backtest.sweep(CONFIG, {"strategy.params.asset": ["ff_size:Hi 30", "ff_size:Lo 30"]}, strategy=anonymous, **PERIOD)


def test_a_rule_module_from_a_file_runs_reruns_and_sweeps(shared_data, tmp_path):
    """A module imported from a file: its file is recorded (rerun loads it again) and `sweep`
    takes it; the sweep's combination equals the run."""
    import importlib.util

    path = tmp_path / "hold_rule.py"
    path.write_text('"""Hold the asset."""\nimport pandas as pd\nfrom backtest import Param\n\n'
                    'PARAMS = (Param("asset", "series", "ff_size:Hi 30"),)\n\n\n'
                    'def target_weights(returns, params):\n    return pd.DataFrame({params.asset: [1.0]}, index=returns.index[:1])\n')
    spec = importlib.util.spec_from_file_location("hold_rule", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = backtest.run(CONFIG, strategy=module, out=tmp_path / "results", **PERIOD)
    assert result.config["strategy"]["name"] == "hold_rule" and result.config["strategy"]["file"] == str(path.resolve())
    assert json.loads((result.directory / "manifest.json").read_text())["strategy_in_memory"] is False
    rerun = CliRunner().invoke(main, ["rerun", result.run_id, "--out", str(tmp_path / "results")])
    assert rerun.exit_code == 0, rerun.output
    swept = backtest.sweep(CONFIG, {"strategy.params.asset": ["ff_size:Lo 30", "ff_size:Hi 30"]}, strategy=module, **PERIOD)
    sharpe = swept.table.set_index("strategy.params.asset")["sharpe"]
    assert sharpe["ff_size:Hi 30"] == pytest.approx(result.stats["sharpe"], rel=1e-9)
    assert sharpe["ff_size:Lo 30"] != pytest.approx(result.stats["sharpe"], rel=1e-3)


def test_load_is_what_a_run_reads(shared_data):
    frame = backtest.load(["ff_size:Lo 30", "etf_tr:SPY"], start="2001-01-01", end="2001-12-31")
    assert list(frame.columns) == ["ff_size:Lo 30", "etf_tr:SPY"] and frame.notna().all().all()
    assert frame.index[0] == pd.Timestamp("2001-01-02") and frame.index[-1] == pd.Timestamp("2001-12-31")
    spy = pd.read_csv(shared_data / "etfs_total_return" / "SPY.csv", index_col="date", parse_dates=True)["close"]
    np.testing.assert_allclose(frame["etf_tr:SPY"], (spy / spy.shift(1) - 1).reindex(frame.index), rtol=1e-12)


def test_load_refuses_bad_periods_by_name(shared_data):
    """A date that does not exist, start after end, a period with no data: a ConfigError naming
    the argument (never a pandas error, never an empty frame)."""
    with pytest.raises(ConfigError, match=r"^start: '2020-13-01' is not a date"):
        backtest.load(["ff_size:Lo 30"], start="2020-13-01")
    with pytest.raises(ConfigError, match=r"^end: 'soon' is not a date"):
        backtest.load(["ff_size:Lo 30"], end="soon")
    with pytest.raises(ConfigError, match=r"^start: 20200101 is not a date \(YYYY-MM-DD\): expected a date as YYYY-MM-DD"):
        backtest.load(["ff_size:Lo 30"], start=20200101)  # as a config's period: not nanoseconds since 1970
    with pytest.raises(ConfigError, match=r"^start 2021-01-01 is after end 2020-01-01"):
        backtest.load(["ff_size:Lo 30"], start="2021-01-01", end="2020-01-01")
    with pytest.raises(ConfigError, match=r"no common trading dates of ff_size:Lo 30 from 2200-01-01 to the last date"):
        backtest.load(["ff_size:Lo 30"], start="2200-01-01")
    assert list(backtest.load("ff_size:Lo 30", start="2020-01-02", end="2020-01-02").index) == [pd.Timestamp("2020-01-02")]


@pytest.mark.parametrize("params, message", [
    ({"resamples": 0}, "first10: resamples: expected an integer of at least 100, got 0"),
    ({"resamples": 99}, "first10: resamples: expected an integer of at least 100, got 99"),
    ({"seed": -1}, "first10: seed: expected an integer of at least 0, got -1"),
    ({"resamples": "many"}, "first10: resamples: expected an integer of at least 100, got 'many'"),
    ({"lookbak": 5}, "first10: unknown parameter 'lookbak' (did you mean 'lookback'?)"),
])
def test_study_parameters_are_checked_as_on_the_command_line(params, message):
    """Checked before any data is read: no shared data needed."""
    from backtest.study import StudyError

    with pytest.raises(StudyError) as err:
        backtest.study.first10(**params)
    assert str(err.value).startswith(message)


def test_sweep_in_memory(shared_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = backtest.sweep(CONFIG, {"strategy.params.lookback": "5:7", "strategy.params.tilt": [0.6, 0.9]}, **PERIOD)
    assert result.directory is None and not any(tmp_path.iterdir())
    table = result.table
    assert len(table) == 6 and list(table.columns[:2]) == ["strategy.params.lookback", "strategy.params.tilt"]
    best = result.best(2)
    assert list(best.index) == list(table.sort_values("sharpe", ascending=False, kind="stable").index[:2])
    grid = result.heatmap("lookback", "tilt")
    assert grid.loc[0.9, 6] == table.query("`strategy.params.lookback` == 6 and `strategy.params.tilt` == 0.9")["sharpe"].item()
    one = backtest.run(CONFIG, set={"strategy.params.lookback": 6, "strategy.params.tilt": 0.9}, **PERIOD)
    assert table.loc[best.index[0], "sharpe"] == pytest.approx(max(table["sharpe"]))
    assert grid.loc[0.9, 6] == pytest.approx(one.stats["sharpe"], rel=1e-9)
    assert 0 <= result.deflated_sharpe["dsr"] <= 1 and result.deflated_sharpe["trials"] == 6
    winner = table.loc[best.index[0]]
    assert repr(result) == (f"<SweepResult {result.plan.sweep_id}: 6 combinations over lookback (3) x tilt (2); best sharpe "
                            f"{winner['sharpe']:.4g} at lookback={winner['strategy.params.lookback']:g}, "
                            f"tilt={winner['strategy.params.tilt']:g}>")


def test_set_and_grid_take_what_python_callers_pass(run_1990s, shared_data):
    """`set=`: a mapping (numpy values too), one "key=value" text or a list of them, all the same
    run; `grid=`: ranges and numpy arrays as well as lists."""
    for given in ("strategy.params.lookback=7", ["strategy.params.lookback=7"], {"strategy.params.lookback": np.int64(7)}):
        result = backtest.run(CONFIG, set=given, **PERIOD)
        assert result.config["strategy"]["params"]["lookback"] == 7, given
        pd.testing.assert_series_equal(result.stats, run_1990s.stats)
    with pytest.raises(ConfigError, match="set: expected a mapping of dotted keys to values"):
        backtest.run(CONFIG, set=7, **PERIOD)
    swept = backtest.sweep(CONFIG, {"strategy.params.lookback": range(6, 8), "strategy.params.tilt": np.linspace(0.5, 0.7, 2)}, **PERIOD)
    table = swept.table
    assert sorted(zip(table["strategy.params.lookback"], table["strategy.params.tilt"])) == [(6, 0.5), (6, 0.7), (7, 0.5), (7, 0.7)]
    assert run_1990s.config["strategy"]["params"]["tilt"] == 0.7  # the run above is one of the combinations
    row = table.query("`strategy.params.lookback` == 7 and `strategy.params.tilt` == 0.7")
    assert row["sharpe"].item() == pytest.approx(run_1990s.stats["sharpe"], rel=1e-9)


def test_compare_and_check_take_results_and_configs(run_1990s, shared_data):
    other = backtest.run(CONFIG, **PERIOD)
    comparison = backtest.compare(run_1990s, other, CONFIG + " --start 1990-01-01 --end 1999-12-31")
    assert [e.stats["sharpe"] for e in comparison.entries] == [run_1990s.stats["sharpe"], other.stats["sharpe"], other.stats["sharpe"]]
    assert comparison.directory is None
    (strategy, benchmark) = backtest.check(CONFIG, start="1980-01-01", cuts=4)
    assert strategy.clean and benchmark.clean and len(strategy.cuts) == 4


def test_study_objects(shared_data):
    result = backtest.study.first10(start="1990-01-01", end="1999-12-31", resamples=200)
    assert list(result.rows["year"]) == list(range(1990, 2000)) and result.directory is None


def test_a_sweep_may_swap_two_series_parameters(shared_data):
    # small = Hi 30 clashes with the base config's large, large = Lo 30 with its small; the one
    # combination the grid makes, (Hi 30, Lo 30), trades each series once
    grid = {"strategy.params.small": ["ff_size:Hi 30"], "strategy.params.large": ["ff_size:Lo 30"], "strategy.params.lookback": [5, 6]}
    result = backtest.sweep(CONFIG, grid, **PERIOD)
    swapped = backtest.run(CONFIG, set={"strategy.params.small": "ff_size:Hi 30", "strategy.params.large": "ff_size:Lo 30",
                                        "strategy.params.lookback": 5}, **PERIOD)
    row = result.table.query("`strategy.params.lookback` == 5").iloc[0]
    assert row["sharpe"] == pytest.approx(swapped.stats["sharpe"], rel=1e-9)


def test_a_sweep_whose_axes_combine_into_one_series_twice_stops_and_writes_nothing(shared_data, tmp_path):
    # each axis value is valid on its own; small = large arises only in combination
    grid = {"strategy.params.small": ["ff_size:Lo 30", "ff_size:Hi 30"], "strategy.params.large": ["ff_size:Hi 30"]}
    with pytest.raises(StrategyError, match="strategy.params.large: 'ff_size:Hi 30' is already traded through parameter 'small'"):
        backtest.sweep(CONFIG, grid, out=tmp_path / "sweeps", **PERIOD)
    assert not any((tmp_path / "sweeps").rglob("*.*"))
