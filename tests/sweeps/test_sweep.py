"""Parameter sweeps: grid parsing, the numba kernel against the references, every combination
against `backtest run`, resume after an interruption, the CLI, the Ray backend.

Most tests run on a synthetic data set installed in place of `backtest.data` (fast, and
independent of the data files); `test_real_data_matches_backtest_run` checks the real first10
history where ../shared/data is present.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest import sweeps
from backtest.sweeps.grid import parse_values
from backtest.config import load_config
from backtest.errors import ConfigError, DataError
from backtest.engine.nb import simulate_nb, sweep_nb
from backtest.stats.nb import RELATIVE_STAT_NAMES, STAT_NAMES, summary_nb
from tests.reference import rebalance_loop

SERIES = ["ff_size:Lo 30", "ff_size:Hi 30", "ff_size:Lo 10", "ff_size:Hi 10", "ff_factors:RF"]


def _synthetic_returns(n=2600, seed=11):
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("1990-01-01", periods=n)
    values = rng.normal(0.0004, 0.011, (n, len(SERIES)))
    values[:, -1] = rng.uniform(0.00005, 0.0002, n)  # T-bill: small and positive
    return pd.DataFrame(values, index=index, columns=SERIES)


SYNTHETIC = _synthetic_returns()


def _check_series_id(series_id, catalogs=()):
    if series_id not in SERIES:
        raise DataError(f"unknown series id {series_id!r}")


FAKE_DATA = {
    "check_series_id": _check_series_id,
    "load_returns": lambda ids, path=None, period=None, catalogs=(): SYNTHETIC[list(ids)].loc[slice(*(period or (None, None)))],
    "align_calendars": lambda frame: (frame.dropna(), 0),
    "default_search_path": lambda: [],
    "source_files": lambda ids, path=None, catalogs=(): {},
}


def install_fake_data():
    """For Ray worker processes (runtime_env worker_process_setup_hook)."""
    import backtest.data as data

    for name, fn in FAKE_DATA.items():
        setattr(data, name, fn)


@pytest.fixture
def fake_data(monkeypatch):
    """Serve SYNTHETIC through the `backtest.data` functions the pipeline calls."""
    import backtest.data as data

    for name, fn in FAKE_DATA.items():
        monkeypatch.setattr(data, name, fn, raising=False)
    return SYNTHETIC


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "first10.yaml"
    path.write_text(
        """
strategy: {name: first10, params: {small: "ff_size:Lo 30", large: "ff_size:Hi 30", lookback: 10, tilt: 0.7}}
benchmark: {name: buy_and_hold, params: {weights: {"ff_size:Lo 30": 0.5, "ff_size:Hi 30": 0.5}, rebalance: never}}
portfolio: {initial_cash: 100000, fees: 0.0005, slippage: 0.0, cash: none}
"""
    )
    return path


# --- grid values -------------------------------------------------------------------------------


def test_integer_range_is_inclusive():
    assert parse_values("5:20") == list(range(5, 21))


def test_float_range_rounds_to_the_step():
    values = parse_values("0.5:1.0:0.05")
    assert len(values) == 11
    assert values[3] == 0.65 and values[-1] == 1.0
    assert parse_values("0:0.001:0.0005") == [0.0, 0.0005, 0.001]
    assert parse_values("1:10:3") == [1, 4, 7, 10]


def test_comma_lists_are_yaml_scalars():
    assert parse_values("ff_size:Lo 10,ff_size:Lo 20") == ["ff_size:Lo 10", "ff_size:Lo 20"]
    assert parse_values("0,0.0005,0.001") == [0, 0.0005, 0.001]
    assert parse_values("none,rf") == ["none", "rf"]
    assert parse_values("ff_size:Lo 10") == ["ff_size:Lo 10"]
    assert parse_values([1, 2, 2]) == [1, 2]


def test_any_iterable_of_values_and_numpy_scalars():
    """Python callers pass ranges, numpy arrays and pandas Indexes: their values, as plain Python."""
    for spec, expected in [(range(5, 8), [5, 6, 7]), (np.linspace(0, 1, 3), [0.0, 0.5, 1.0]), (pd.Index([3, 4]), [3, 4]),
                           ((0.5, 0.7), [0.5, 0.7]), (np.int64(7), [7]), (np.array(0.25), [0.25])]:
        values = parse_values(spec)
        assert values == expected and [type(v) for v in values] == [type(v) for v in expected], spec
    assert parse_values({"ff_size:Lo 30": 1.0}) == [{"ff_size:Lo 30": 1.0}]  # a mapping is one value (weights)


@pytest.mark.parametrize("spec", ["1:0", "0.5:1.0", "1:5:0", "1:5:-1"])
def test_bad_ranges_are_user_errors(spec):
    with pytest.raises(ConfigError):
        parse_values(spec)


# --- the kernel ---------------------------------------------------------------------------------


def _random_weights(rng, n, k, rebalances=80):
    weights = np.full((n, k), np.nan)
    rows = np.sort(rng.choice(np.arange(1, n), rebalances, replace=False))
    raw = rng.uniform(0, 1, (len(rows), k))
    weights[0] = 1.0 / k
    weights[rows] = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(0.5, 1.0, (len(rows), 1))
    return weights


@pytest.mark.parametrize("fees,slippage", [(0.0, 0.0), (0.0005, 0.0), (0.002, 0.001)])
def test_kernel_matches_reference_loop(fees, slippage):
    rng = np.random.default_rng(5)
    n, k = 3000, 3
    prices = np.cumprod(1 + rng.normal(0.0004, 0.012, (n, k)), axis=0)
    weights = _random_weights(rng, n, k)
    rows = np.flatnonzero(~np.isnan(weights).all(axis=1))
    equity, traded, fees_paid = simulate_nb(prices, np.arange(k), np.zeros(k, bool), rows, weights[rows], fees, slippage, 1e5)
    expected, expected_fees = rebalance_loop(prices, weights, 1e5, fees, slippage)
    np.testing.assert_allclose(equity, expected, rtol=1e-12)
    assert fees_paid.sum() == pytest.approx(expected_fees, rel=1e-12, abs=1e-12)
    assert (traded[np.setdiff1d(np.arange(n), rows)] == 0).all()


def test_kernel_matches_vectorbt_engine_with_cash_asset_and_partial_rows():
    from backtest.engine import simulate

    rng = np.random.default_rng(9)
    n = 1500
    returns = pd.DataFrame(rng.normal(0.0003, 0.01, (n, 3)), index=pd.bdate_range("2001-01-01", periods=n), columns=["a", "b", "rf"])
    returns["rf"] = 0.0001
    weights = pd.DataFrame(_random_weights(rng, n, 2, 50), index=returns.index, columns=["a", "b"]) * 0.8
    weights.iloc[100, 1] = np.nan  # a row with an order for one asset only
    sparse = weights.dropna(how="all")
    sim = simulate(returns, sparse, 1e5, fees=0.001, slippage=0.0005, cash_asset="rf")
    size = sparse.copy()
    size["rf"] = (1 - size.sum(axis=1, min_count=1)).clip(lower=0)
    rows = returns.index.get_indexer(size.index)
    prices = np.cumprod(1 + returns.to_numpy(), axis=0)
    equity, traded, fees_paid = simulate_nb(prices, np.arange(3), np.array([False, False, True]), rows, size.to_numpy(), 0.001, 0.0005, 1e5)
    np.testing.assert_allclose(equity, sim.equity.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fees_paid, sim.fees.to_numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(traded, sim.traded.to_numpy(), rtol=1e-9, atol=1e-9)


def test_batch_kernel_equals_single_runs_plus_summary():
    rng = np.random.default_rng(3)
    n, k = 1200, 2
    prices = np.cumprod(1 + rng.normal(0.0004, 0.012, (n, k)), axis=0)
    days = np.arange(n, dtype=np.int64) + 7300
    years = (1990 + days // 365).astype(np.int64)
    rf = rng.uniform(0.0, 0.0003, n)
    sets = [_random_weights(rng, n, k, 30) for _ in range(3)]
    set_rows = [np.flatnonzero(~np.isnan(w).all(axis=1)) for w in sets]
    ptr = np.r_[0, np.cumsum([len(r) for r in set_rows])]
    rows = np.concatenate(set_rows)
    weights = np.concatenate([w[r] for w, r in zip(sets, set_rows)])
    combo_set = np.array([0, 1, 2, 2, 1, 0, 2], dtype=np.int64)
    fees = np.array([0, 0.001, 0.0005, 0, 0.002, 0.0001, 0.001])
    slippage = np.array([0, 0, 0.001, 0.0005, 0, 0.001, 0])
    init = np.array([1e5, 1e5, 5e4, 1e6, 1e5, 2e5, 1e5])
    out = np.empty((len(combo_set), len(STAT_NAMES)))
    equity_out = np.empty((len(combo_set), n))
    sweep_nb(
        prices, np.tile(np.arange(k), (3, 1)), np.full(3, k), np.zeros((3, k), bool), ptr, rows, weights,
        combo_set, fees, slippage, init, np.full(len(combo_set), -1), np.empty((0, n)), np.empty(0),
        252.0, rf, days, years, 2, out, equity_out,
    )
    for c, s in enumerate(combo_set):
        equity, traded, fees_paid = simulate_nb(prices, np.arange(k), np.zeros(k, bool), set_rows[s], sets[s][set_rows[s]], fees[c], slippage[c], init[c])
        expected = np.empty(len(STAT_NAMES))
        summary_nb(equity, init[c], 252.0, rf, days, years, traded, fees_paid, expected)
        np.testing.assert_array_equal(out[c], expected)
        np.testing.assert_array_equal(equity_out[c], equity)


# --- sweeps against backtest run -----------------------------------------------------------------


def _run_stats(config_file, params, extra=()):
    from backtest.pipeline import run_backtest

    overrides = list(extra) + [f"{k}={v}" for k, v in params.items()]
    return run_backtest(load_config(config_file, overrides)).strategy.stats


def test_every_combination_matches_backtest_run(fake_data, config_file, tmp_path):
    plan = sweeps.make_plan(
        config_file,
        [
            "strategy.params.lookback=3,8",
            "strategy.params.tilt=0.6:0.9:0.15",
            "portfolio.fees=0,0.001",
            "portfolio.cash=none,rf",
            "strategy.params.small=ff_size:Lo 30,ff_size:Lo 10",
        ],
        set=["portfolio.slippage=0.0007"],
    )
    result = sweeps.run_sweep(plan, out=tmp_path / "out", jobs=2)
    assert result.combinations == 2 * 3 * 2 * 2 * 2
    assert result.names == list(STAT_NAMES) + list(RELATIVE_STAT_NAMES)
    rng = np.random.default_rng(1)
    picks = set(rng.choice(result.combinations, 5, replace=False).tolist())
    for c in range(result.combinations):  # always cover fees > 0 with cash: rf and a series id swap
        p = plan.params(c)
        if p["portfolio.fees"] > 0 and p["portfolio.cash"] == "rf" and p["strategy.params.small"] == "ff_size:Lo 10":
            picks.add(c)
            break
    table = pd.read_parquet(result.directory / "results.parquet")  # the table as written, a window at a time
    assert table["combo"].tolist() == list(range(result.combinations))
    for c in sorted(picks):
        expected = _run_stats(config_file, plan.params(c), ["portfolio.slippage=0.0007"])
        got = table.loc[c, result.names].to_dict()
        assert got["final_value"] == pytest.approx(expected["final_value"], rel=1e-9)
        for name in result.names:
            assert got[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12, nan_ok=True), (plan.params(c), name)


def test_swapping_series_ids_loads_their_data(fake_data, config_file):
    grid = ["strategy.params.small=ff_size:Lo 30,ff_size:Lo 10", "strategy.params.large=ff_size:Hi 30,ff_size:Hi 10", "strategy.params.tilt=0.8"]
    plan = sweeps.make_plan(config_file, grid)
    result = sweeps.run_sweep(plan, out=None, jobs=1)
    finals = result.stats[:, result.names.index("final_value")]
    assert len(set(finals.tolist())) == 4
    for c in range(4):
        expected = _run_stats(config_file, plan.params(c))
        assert finals[c] == pytest.approx(expected["final_value"], rel=1e-9)
        assert result.stats[c, result.names.index("beta")] == pytest.approx(expected["beta"], rel=1e-9)


def _on_the_host(config_file):
    """The config with first10 as a file without its kernel form: the sweep calls its
    target_weights on the host, once per distinct parameter set (imported from `strategies.first10`
    when the sweep loads the file: a test's replacement of it counts the calls)."""
    host = config_file.parent / "first10_host.py"
    host.write_text('"""first10 without its kernel form."""\nfrom strategies.first10 import PARAMS, target_weights\n')
    config_file.write_text(config_file.read_text().replace("name: first10", f"file: {host}"))
    return config_file


def test_strategy_called_once_per_distinct_parameter_set(fake_data, config_file, monkeypatch):
    import strategies.first10 as first10

    calls = []
    original = first10.target_weights
    monkeypatch.setattr(first10, "target_weights", lambda r, p: calls.append(1) or original(r, p))
    plan = sweeps.make_plan(_on_the_host(config_file), ["strategy.params.lookback=5:8", "portfolio.fees=0,0.001,0.002", "portfolio.slippage=0,0.001"])
    result = sweeps.run_sweep(plan, out=None, jobs=1)
    assert result.combinations == 24
    assert len(calls) == 4


def test_values_equal_once_coerced_share_one_strategy_call(fake_data, config_file, monkeypatch):
    # 1 and 1.0 are two grid values (an int and a float) but one float tilt: one weight set
    import strategies.first10 as first10

    calls = []
    original = first10.target_weights
    monkeypatch.setattr(first10, "target_weights", lambda r, p: calls.append(p.tilt) or original(r, p))
    plan = sweeps.make_plan(_on_the_host(config_file), ["strategy.params.tilt=1,1.0,0.5", "strategy.params.lookback=5:6"])
    assert [type(v) for v in plan.axes[0].values] == [int, float, float]
    result = sweeps.run_sweep(plan, out=None, jobs=1)
    assert sorted(calls) == [0.5, 0.5, 1.0, 1.0]
    assert all(isinstance(t, float) for t in calls)
    for c in range(result.combinations):
        expected = _run_stats(config_file, plan.params(c))
        assert result.stats[c, result.names.index("final_value")] == pytest.approx(expected["final_value"], rel=1e-9)


def test_sweep_section_set_overrides_and_samples(fake_data, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        """
strategy: {name: first10, params: {lookback: 10, tilt: 0.7}}
benchmark: null
sweep: {grid: {strategy.params.lookback: "5:12", strategy.params.tilt: "0.5:1.0:0.1"}, samples: 10, seed: 4, metric: cagr}
"""
    )
    plan = sweeps.make_plan(path, set=["portfolio.fees=0.002"])
    assert plan.keys == ["strategy.params.lookback", "strategy.params.tilt"]
    assert len(plan.combos) == 10 and plan.metric == "cagr"
    again = sweeps.make_plan(path, set=["portfolio.fees=0.002"])
    assert again.sweep_id == plan.sweep_id and np.array_equal(again.combos, plan.combos)
    assert sweeps.make_plan(path, set=["portfolio.fees=0.001"]).sweep_id != plan.sweep_id
    assert not np.array_equal(sweeps.make_plan(path, seed=5, set=["portfolio.fees=0.002"]).combos, plan.combos)
    result = sweeps.run_sweep(plan, out=None, jobs=1)
    assert result.names == list(STAT_NAMES)  # no benchmark: no relative figures
    c = int(result.order()[0])
    expected = _run_stats(path, plan.params(c), ["portfolio.fees=0.002"])
    assert result.stats[c, result.names.index("cagr")] == pytest.approx(expected["cagr"], rel=1e-9)
    cagr = result.stats[:, result.names.index("cagr")]
    assert cagr[c] == cagr.max()


@pytest.mark.parametrize("samples", [96_960, 200_000])
def test_samples_at_least_the_grid_is_the_plain_sweep_with_a_note(fake_data, config_file, samples):
    grid = ["strategy.params.lookback=1:40", "strategy.params.tilt=0:1:0.01", "portfolio.fees=0:0.0023:0.0001"]  # 40 x 101 x 24
    plain = sweeps.make_plan(config_file, grid)
    assert len(plain.combos) == 96_960
    notes = []
    sampled = sweeps.make_plan(config_file, grid, samples=samples, seed=3, notify=notes.append)
    assert sampled.sweep_id == plain.sweep_id and sampled.samples is None
    np.testing.assert_array_equal(sampled.combos, plain.combos)
    assert notes == [(f"note: --samples {samples:,} is not fewer than the grid's 96,960 combinations: the whole grid runs "
                      "(the same sweep as without sampling)")]
    fewer = sweeps.make_plan(config_file, grid, samples=96_959, notify=notes.append)
    assert len(notes) == 1 and len(np.unique(fewer.combos, axis=0)) == 96_959 and fewer.sweep_id != plain.sweep_id


def test_cli_samples_beyond_the_grid_runs_the_plain_sweep(fake_data, config_file, tmp_path):
    args = ["sweep", str(config_file), "--grid", "strategy.params.lookback=5:7", "--json", "--out", str(tmp_path)]
    plain, sampled = _cli(*args), _cli(*args, "--samples", "4")
    assert plain.exit_code == sampled.exit_code == 0, sampled.output
    assert json.loads(sampled.stdout) == json.loads(plain.stdout)
    assert sampled.stderr == "note: --samples 4 is not fewer than the grid's 3 combinations: the whole grid runs (the same sweep as without sampling)\n"
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == [json.loads(plain.stdout)["sweep_id"]]


def interrupt_after(batches: int, seen: list):
    """An `on_batch` callback that records progress and stops the sweep after `batches` batches."""

    def on_batch(done, total):
        seen.append(done)
        if len(seen) == batches:
            raise KeyboardInterrupt

    return on_batch


def test_resume_after_interruption_computes_only_the_rest(fake_data, config_file, tmp_path):
    grid = ["strategy.params.lookback=4:9", "strategy.params.tilt=0.5:1.0:0.1", "portfolio.fees=0,0.001"]
    plan = sweeps.make_plan(config_file, grid)
    seen = []
    with pytest.raises(KeyboardInterrupt):
        sweeps.run_sweep(plan, out=tmp_path / "a", jobs=1, batch_size=10, on_batch=interrupt_after(2, seen))
    assert seen == [10, 20]
    assert len(list((tmp_path / "a" / plan.sweep_id / "parts").glob("part-*.parquet"))) == 2
    resumed = sweeps.run_sweep(sweeps.make_plan(config_file, grid), out=tmp_path / "a", jobs=1, batch_size=10)
    assert resumed.computed == resumed.combinations - 20
    fresh = sweeps.run_sweep(plan, out=tmp_path / "b", jobs=1)
    assert fresh.computed == fresh.combinations == 72
    assert resumed.stats is None and fresh.stats is None  # written to disk: not held in memory
    a = pd.read_parquet(tmp_path / "a" / plan.sweep_id / "results.parquet")
    b = pd.read_parquet(tmp_path / "b" / plan.sweep_id / "results.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_process_pool_gives_the_same_results(fake_data, config_file):
    plan = sweeps.make_plan(config_file, ["strategy.params.lookback=2:13", "strategy.params.tilt=0.6,0.8"])
    one = sweeps.run_sweep(plan, out=None, jobs=1)
    two = sweeps.run_sweep(plan, out=None, jobs=2)
    np.testing.assert_array_equal(one.stats, two.stats)


def test_keep_equity_saves_the_curves(fake_data, config_file, tmp_path):
    from backtest.pipeline import run_backtest

    plan = sweeps.make_plan(config_file, ["strategy.params.tilt=0.6,0.9", "portfolio.cash=none,rf"])
    sweeps.run_sweep(plan, out=tmp_path, jobs=1, keep_equity=True)
    files = sorted((tmp_path / plan.sweep_id / "equity").glob("*.parquet"))
    curves = pd.concat([pd.read_parquet(f).set_index("date") for f in files], axis=1)
    assert sorted(curves.columns, key=int) == ["0", "1", "2", "3"]
    run = run_backtest(load_config(config_file, [f"{k}={v}" for k, v in plan.params(3).items()]))
    np.testing.assert_allclose(curves["3"].to_numpy(), run.strategy.simulation.equity.to_numpy(), rtol=1e-9)


# --- the command ----------------------------------------------------------------------------------


def _cli(*args):
    from backtest.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_json_lists_every_combination(fake_data, config_file, tmp_path):
    result = _cli(
        "sweep", str(config_file), "--grid", "strategy.params.lookback=5:7", "--grid", "portfolio.fees=0,0.001",
        "--set", "period.start=1991-01-01", "--json", "--out", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["combinations"] == 6 and len(payload["results"]) == 6
    first = payload["results"][0]
    assert first["params"] == {"strategy.params.lookback": 5, "portfolio.fees": 0}
    assert set(first["stats"]) == set(STAT_NAMES) | set(RELATIVE_STAT_NAMES)
    assert first["stats"]["fees_paid"] == 0
    expected = _run_stats(config_file, {"strategy.params.lookback": 6, "portfolio.fees": 0.001, "period.start": "1991-01-01"})
    assert payload["results"][3]["stats"]["final_value"] == pytest.approx(expected["final_value"], rel=1e-9)
    assert "NaN" not in result.output


def test_cli_table_files_and_heatmap(fake_data, config_file, tmp_path):
    result = _cli(
        "sweep", str(config_file), "--grid", "strategy.params.lookback=5:9", "--grid", "strategy.params.tilt=0.5:1.0:0.25",
        "--grid", "portfolio.fees=0,0.001", "--heatmap", "lookback,tilt", "--metric", "max_drawdown", "--top", "3", "--out", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert "Top 3 by max_drawdown" in result.output
    (directory,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name.startswith("first10-sweep-")]
    table = pd.read_parquet(directory / "results.parquet")
    assert len(table) == 30 and list(table.columns[:4]) == ["combo", "strategy.params.lookback", "strategy.params.tilt", "portfolio.fees"]
    pd.testing.assert_frame_equal(table, pd.read_csv(directory / "results.csv"), check_dtype=False)
    assert (directory / "heatmap_max_drawdown.png").stat().st_size > 1000
    best = table["max_drawdown"].max()  # least negative first
    assert f"{best * 100:,.2f} %" in result.output.split("\n", 4)[4]


@pytest.mark.parametrize(
    "grid,needle",
    [
        ("strategy.params.tilt=0.5,1.5", "strategy.params.tilt"),
        ("portfolio.fees=0,2", "portfolio.fees"),
        ("strategy.params.nope=1,2", "strategy.params.nope"),
        ("portfolio.cash=none,bonds", "portfolio.cash"),
        ("strategy.params.small=ff_size:Lo 30,xx:yy", "strategy.params.small"),
        ("strategy.params.lookback=1:0", "strategy.params.lookback"),
    ],
)
def test_cli_bad_values_name_the_key(fake_data, config_file, tmp_path, grid, needle):
    result = _cli("sweep", str(config_file), "--grid", grid, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("error:")
    assert not (tmp_path / "out").exists()


def test_cli_combination_errors_stop_before_any_output(fake_data, config_file, tmp_path):
    # each value is fine alone, one combination (start 1996 with end 1995) is not
    result = _cli(
        "sweep", str(config_file), "--grid", "period.start=1991-01-01,1996-01-01", "--grid", "period.end=1995-01-01,1999-01-01",
        "--grid", "strategy.params.lookback=5:6", "--out", str(tmp_path / "out"),
    )
    assert result.exit_code == 2
    assert "period" in result.output and "after end" in result.output
    assert not (tmp_path / "out").exists()


def test_cli_unknown_metric_is_a_user_error(fake_data, config_file, tmp_path):
    result = _cli("sweep", str(config_file), "--grid", "strategy.params.lookback=5:6", "--metric", "luck", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--metric luck" in result.output


# --- real data ------------------------------------------------------------------------------------


def test_real_data_matches_backtest_run(shared_data, tmp_path):
    try:
        from backtest.data import align_calendars, load_returns  # noqa: F401
    except ImportError:
        pytest.skip("backtest.data is not available yet")
    config = "configs/first10.yaml"
    plan = sweeps.make_plan(config, ["strategy.params.lookback=9,10", "portfolio.fees=0.001", "portfolio.cash=none,rf"], set=["portfolio.slippage=0.0005"])
    result = sweeps.run_sweep(plan, out=None, jobs=2)
    for c in (0, 3):
        expected = _run_stats(config, plan.params(c), ["portfolio.slippage=0.0005"])
        got = dict(zip(result.names, result.stats[c]))
        assert got["final_value"] == pytest.approx(expected["final_value"], rel=1e-9)
        for name in result.names:
            assert got[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12, nan_ok=True), name


def test_real_sweep_killed_midway_resumes(shared_data, tmp_path):
    """SIGINT a real `backtest sweep` once its first batches are saved; the rerun computes the
    rest, and the table equals an uninterrupted sweep's."""
    import signal
    import subprocess
    import sys
    import time

    try:
        from backtest.data import align_calendars, load_returns  # noqa: F401
    except ImportError:
        pytest.skip("backtest.data is not available yet")
    from tests.conftest import REPO_ROOT

    grid = ["strategy.params.lookback=1:40", "strategy.params.tilt=0.5:1.0:0.05", "portfolio.fees=0,0.001"]
    args = [sys.executable, "-m", "backtest.cli", "sweep", "configs/first10.yaml", "--jobs", "1", "--batch-size", "40", "--json"]
    for g in grid:
        args += ["--grid", g]
    plan = sweeps.make_plan(REPO_ROOT / "configs" / "first10.yaml", grid)
    parts = tmp_path / "a" / plan.sweep_id / "parts"
    child = subprocess.Popen(
        args + ["--out", str(tmp_path / "a")], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # background shells ignore SIGINT
    )
    deadline = time.time() + 60
    while time.time() < deadline and child.poll() is None and len(list(parts.glob("part-*.parquet"))) < 2:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode in (0, 130), err
    saved = len(list(parts.glob("part-*.parquet")))
    assert saved >= 2
    rerun = subprocess.run(args + ["--out", str(tmp_path / "a")], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["combinations"] == 880
    if child.returncode == 130:  # interrupted before the end (the usual case): only the rest ran
        assert 2 <= saved < 22 and b"interrupted" in err
    sweeps.run_sweep(plan, out=tmp_path / "b", jobs=1)
    a = pd.read_parquet(tmp_path / "a" / plan.sweep_id / "results.parquet")
    b = pd.read_parquet(tmp_path / "b" / plan.sweep_id / "results.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert len(list(parts.glob("part-*.parquet"))) == 22


# --- Ray --------------------------------------------------------------------------------------------


def test_ray_backend_equals_local(fake_data, config_file, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'backtest[ray]')")
    plan = sweeps.make_plan(config_file, ["strategy.params.lookback=5:8", "portfolio.fees=0,0.001"])
    local = sweeps.run_sweep(plan, out=tmp_path / "local", jobs=1)
    from tests.conftest import REPO_ROOT

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}, "worker_process_setup_hook": "tests.sweeps.test_sweep.install_fake_data"},
    )
    try:
        remote = sweeps.run_sweep(plan, out=tmp_path / "ray", jobs=2, backend="ray", batch_size=3)
    finally:
        ray.shutdown()
    assert remote.computed == local.combinations
    np.testing.assert_array_equal(remote.stats, local.stats)
