"""`backtest sweep --backend cuda`: the CUDA kernel against the CPU kernel and `backtest run`.

CI has no GPU, so the kernel runs in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1). numba reads
that flag when `numba.cuda` is first imported, and pytest-xdist workers share nothing with each
other but may import numba.cuda for other tests: so every simulator run is a subprocess of its
own (`_simulated_sweep`), on the synthetic data of test_sweep or the real data where present.
The comparisons (every statistic of every combination to 1e-9 relative) run in this process, on
the CPU backend and `backtest run`. Tests that need a real GPU are marked `gpu` and skip without one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from backtest import sweeps
from backtest.sweeps import backends
from backtest.sweeps.evaluate import Evaluator
from backtest.strategy import parameter_columns
from tests.conftest import REPO_ROOT
from tests.sweeps.test_sweep import SERIES, _run_stats, config_file, fake_data  # noqa: F401  (fixtures)

SLICE = ["period.start=1990-06-01", "period.end=1991-08-30", "portfolio.slippage=0.0007"]  # 327 rows
DRIVER = """
import os, sys
if hasattr(os, "sched_setaffinity"):  # the simulator's threads convoy on the GIL across cores: one core runs it ~20x faster
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
if sys.argv[1] == "fake":
    from tests.sweeps.test_sweep import install_fake_data
    install_fake_data()
if "TEST_MAX_COLS" in os.environ:  # a lower column limit, to reach the guard with few series
    import backtest.engine.cuda
    backtest.engine.cuda.MAX_COLS = int(os.environ["TEST_MAX_COLS"])
if "TEST_NO_HOST_RULE" in os.environ:  # the kernel computes this strategy's weights, not the host
    import importlib
    from tests.sweeps.host_rule import guarded
    module = importlib.import_module("strategies." + os.environ["TEST_NO_HOST_RULE"])
    module.target_weights = guarded(module)
from backtest.cli import main
main(sys.argv[2:])
"""

# each strategy on the synthetic series, with a grid that changes its rebalances
STRATEGIES = {
    "first10": (
        {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30", "lookback": 10, "tilt": 0.7},
        ["strategy.params.lookback=3,9", "strategy.params.tilt=0.6,0.9", "strategy.params.hold=0,1,20"],
    ),
    "january_effect": (
        {"small": "ff_size:Lo 10", "large": "ff_size:Hi 10"},
        ["strategy.params.start_month=1,11", "strategy.params.end_month=2,12", "strategy.params.tilt=0.8"],
    ),
    "size_momentum": (
        {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30"},
        ["strategy.params.months=1,3", "strategy.params.tilt=0.65,0.9"],
    ),
    "trend_filter": (
        {"asset": "ff_size:Lo 30"},
        ["strategy.params.window=10,30,60"],
    ),
    "buy_and_hold": (
        {"weights": {"ff_size:Lo 30": 0.6, "ff_size:Hi 30": 0.3}},
        ["strategy.params.rebalance=never,monthly,quarterly"],
    ),
    "sector_rotation": (
        {"universe": ["ff_size:Lo 30", "ff_size:Hi 30", "ff_size:Lo 10", "ff_size:Hi 10"]},
        ["strategy.params.lookback=5,21", "strategy.params.top=1,3"],
    ),
    "cyclical_tilt": (
        {"cyclicals": ["ff_size:Lo 30", "ff_size:Lo 10"], "defensives": ["ff_size:Hi 30", "ff_size:Hi 10"]},
        ["strategy.params.lookback=5,21", "strategy.params.tilt=0.6,0.9"],
    ),
    "rate_regime": (
        {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30", "rate": "ff_factors:RF"},
        ["strategy.params.months=1,3", "strategy.params.window=5,21"],
    ),
}


def _config(tmp_path, strategy, params):
    path = tmp_path / f"{strategy}.yaml"
    path.write_text(
        json.dumps(
            {
                "strategy": {"name": strategy, "params": params},
                "benchmark": {"name": "buy_and_hold", "params": {"weights": {"ff_size:Lo 30": 0.5, "ff_size:Hi 30": 0.5}, "rebalance": "never"}},
                "portfolio": {"initial_cash": 100000, "fees": 0.0005, "slippage": 0.0, "cash": "none"},
            }
        )
    )
    return path


def _simulated_sweep(data, config, overrides, grid, out, *extra, env=None, backend="cuda"):
    """`backtest sweep --backend cuda --json` in the CUDA simulator -> (exit code, JSON or None, stderr)."""
    args = [str(config), *(f"--set={o}" for o in overrides), *(f"--grid={g}" for g in grid)]
    args += ["--backend", backend, "--json", "--out", str(out), "--jobs", "1", *extra]
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-c", DRIVER, data, "sweep", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, json.loads(done.stdout) if done.returncode == 0 else None, done.stderr


def _assert_equal_stats(records, result, config=None, overrides=(), check_runs=0):
    """Every statistic of every combination equal to the CPU sweep's (and the first `check_runs`
    to `backtest run`'s), to 1e-9 relative."""
    assert len(records) == result.combinations
    for c, record in enumerate(records):
        assert record["params"] == result.plan.params(c)
        expected = result.record(c)["stats"]
        for name in result.names:
            assert record["stats"][name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12, nan_ok=True), (c, name)
    for c in range(check_runs):
        expected = _run_stats(config, result.plan.params(c), list(overrides))
        for name in result.names:
            got = records[c]["stats"][name]
            got = np.nan if got is None else got
            assert got == pytest.approx(expected[name], rel=1e-9, abs=1e-12, nan_ok=True), (c, name)


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_simulated_gpu_equals_cpu_and_backtest_run(fake_data, tmp_path, strategy):  # noqa: F811
    params, grid = STRATEGIES[strategy]
    config = _config(tmp_path, strategy, params)
    grid = [*grid, "portfolio.fees=0,0.002", "portfolio.cash=none,rf"]
    # each has a kernel form (kernel_weights): the host must not compute its weights
    code, gpu, stderr = _simulated_sweep("fake", config, SLICE, grid, tmp_path / "gpu", env={"TEST_NO_HOST_RULE": strategy})
    assert code == 0, stderr
    assert "GPU not used" not in stderr
    plan = sweeps.make_plan(config, grid, set=SLICE)
    cpu = sweeps.run_sweep(plan, out=None, jobs=1)
    assert cpu.combinations >= 12
    # the statistics are over the synthetic T-bill series (excess returns), as `backtest run`'s
    from backtest.config import load_config
    from backtest.pipeline import prepare

    conventions = prepare(load_config(config, SLICE)).conventions
    assert conventions.risk_free_source == "ff_factors:RF" and (conventions.risk_free.iloc[1:] > 0).all()  # (not row 0: the purchase)
    rebalances = cpu.stats[:, cpu.names.index("rebalances")]
    assert np.nanmax(rebalances) >= 2  # the slice trades: the comparison covers the order logic
    sets, frames = _distinct_rules(config, SLICE, plan)
    assert frames == sets >= 3  # each strategy parameter set of the grid trades differently
    _assert_equal_stats(gpu["results"], cpu, config, SLICE, check_runs=2)


def _distinct_rules(config, overrides, plan) -> tuple[int, int]:
    """How many distinct strategy parameter sets the plan has, and how many distinct
    target_weights (dates and weights) they give on its data."""
    from backtest.config import load_config
    from backtest.pipeline import prepare

    prepared = prepare(load_config(config, overrides))
    leg = prepared.legs[0]
    sets = {tuple((k.removeprefix("strategy.params."), v) for k, v in plan.params(c).items() if k.startswith("strategy.params."))
            for c in range(len(plan.combos))}
    frames = set()
    for values in sets:
        weights = leg.strategy.target_weights(prepared.returns, leg.strategy.resolve_params({**vars(leg.params), **dict(values)}))
        frames.add((tuple(weights.index.asi8), weights.to_numpy().tobytes()))
    return len(sets), len(frames)


# each strategy on a slice of the real series (two year starts, the 2020 crash), with a grid
# that changes its rebalances
REAL_GRIDS = {
    "first10": ["strategy.params.lookback=5,10", "strategy.params.tilt=0.6,0.8", "strategy.params.hold=0,7"],
    "january_effect": ["strategy.params.start_month=1,12", "strategy.params.end_month=1,3", "strategy.params.tilt=0.6,0.8"],
    "size_momentum": ["strategy.params.months=1,6", "strategy.params.tilt=0.3,0.8"],
    "trend_filter": ["strategy.params.window=10,50,200"],
    "sector_rotation": ["strategy.params.lookback=21,63", "strategy.params.top=1,3"],
    "cyclical_tilt": ["strategy.params.lookback=21,63", "strategy.params.tilt=0.6,0.8"],
    "rate_regime": ["strategy.params.months=1,3", "strategy.params.window=1,63"],
}


@pytest.mark.parametrize("strategy", sorted(REAL_GRIDS))
def test_simulated_gpu_on_real_data(shared_data, tmp_path, strategy):
    """A strategy's config on a slice of the real Ken French series, against the CPU backend
    and `backtest run`; the host never calls its target_weights in the sweep."""
    overrides = ["period.start=2019-11-01", "period.end=2021-03-31", "portfolio.slippage=0.0005"]
    grid = [*REAL_GRIDS[strategy], "portfolio.fees=0.001,0.003", "portfolio.cash=none,rf"]
    config = REPO_ROOT / "configs" / f"{strategy}.yaml"
    code, gpu, stderr = _simulated_sweep("real", config, overrides, grid, tmp_path / "gpu", env={"TEST_NO_HOST_RULE": strategy})
    assert code == 0, stderr
    plan = sweeps.make_plan(config, grid, set=overrides)
    sets, frames = _distinct_rules(config, overrides, plan)
    assert frames == sets >= 3
    cpu = sweeps.run_sweep(plan, out=None, jobs=1)
    _assert_equal_stats(gpu["results"], cpu, config, overrides, check_runs=2)


def test_strategy_without_a_kernel_form_runs_on_the_gpu_from_host_weight_sets(fake_data, tmp_path):  # noqa: F811
    """A strategy file with `target_weights` only: the host computes its weight sets, once per
    parameter set, and says so in one line; the GPU simulates them, equal to the CPU."""
    (tmp_path / "hold.py").write_text('"""buy_and_hold without its kernel form."""\nfrom strategies.buy_and_hold import PARAMS, target_weights\n')
    config = _config(tmp_path, "buy_and_hold", {"weights": {"ff_size:Lo 30": 0.6, "ff_size:Hi 30": 0.4}, "rebalance": "monthly"})
    config.write_text(config.read_text().replace('"name": "buy_and_hold"', f'"file": "{tmp_path / "hold.py"}"', 1))
    grid = ["portfolio.fees=0,0.001", "strategy.params.rebalance=monthly,quarterly"]
    code, gpu, stderr = _simulated_sweep("fake", config, SLICE, grid, tmp_path / "gpu")
    assert code == 0, stderr
    assert stderr.strip() == ("strategy hold has no kernel form (kernel_tables, kernel_weights), so its rule runs on the host: "
                              "a Python call per parameter set, slower than the rule inside the kernel")
    cpu = sweeps.run_sweep(sweeps.make_plan(config, grid, set=SLICE), out=None, jobs=1)
    _assert_equal_stats(gpu["results"], cpu)


def test_too_many_columns_for_the_gpu_is_a_user_error(fake_data, tmp_path):  # noqa: F811
    """A strategy whose weight sets exceed the GPU kernel's columns: with --backend cuda, exit 2
    before anything is written; with --backend auto, the CPU runs it, with a one-line notice."""
    config = _config(tmp_path, "first10", STRATEGIES["first10"][0])
    grid = ["strategy.params.tilt=0.6,0.7", "portfolio.cash=rf"]  # two series plus cash: 3 columns
    code, _, stderr = _simulated_sweep("fake", config, SLICE, grid, tmp_path / "gpu", env={"TEST_MAX_COLS": "2"})
    assert code == 2
    assert stderr.strip().splitlines() == [
        "error: --backend cuda: strategy first10 trades 3 columns with the cash asset; the GPU kernel takes at most 2 (run it with --backend local)"
    ]
    assert not (tmp_path / "gpu").exists()
    code, auto, stderr = _simulated_sweep("fake", config, SLICE, grid, tmp_path / "auto", env={"TEST_MAX_COLS": "2"}, backend="auto")
    assert code == 0, stderr
    assert stderr.strip().splitlines() == [
        "GPU not used: strategy first10 trades 3 columns with the cash asset; the GPU kernel takes at most 2; running on the CPU"
    ]
    _assert_equal_stats(auto["results"], sweeps.run_sweep(sweeps.make_plan(config, grid, set=SLICE), out=None, jobs=1))


def test_device_out_of_range_is_a_user_error(fake_data, tmp_path):  # noqa: F811
    config = _config(tmp_path, "first10", STRATEGIES["first10"][0])
    code, _, stderr = _simulated_sweep("fake", config, SLICE, ["strategy.params.tilt=0.6,0.7"], tmp_path / "gpu", "--device", "5")
    assert code == 2
    assert stderr.strip().splitlines() == ["error: --backend cuda: --device 5: there is 1 GPU (0..0)"]
    assert not (tmp_path / "gpu").exists()


def _no_gpu_here() -> str | None:
    return None if backends.gpu_problem() else "a CUDA GPU is present"


def test_without_gpu_cuda_is_a_one_line_error_and_auto_runs_locally(fake_data, tmp_path):  # noqa: F811
    reason = _no_gpu_here()
    if reason:
        pytest.skip(reason)
    config = _config(tmp_path, "first10", STRATEGIES["first10"][0])
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    args = [str(config), "--grid=strategy.params.tilt=0.6,0.7", "--backend", "cuda", "--out", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", DRIVER, "fake", "sweep", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: --backend cuda: no NVIDIA GPU with a CUDA driver was found"]
    assert not (tmp_path / "out").exists()
    notices = []
    plan = sweeps.make_plan(config, ["strategy.params.tilt=0.6,0.7"], set=SLICE)
    auto = sweeps.run_sweep(plan, out=None, jobs=1, backend="auto", notify=notices.append)
    local = sweeps.run_sweep(plan, out=None, jobs=1, backend="local")
    assert notices == []
    np.testing.assert_array_equal(auto.stats, local.stats)


@pytest.mark.gpu
def test_real_gpu_equals_cpu(fake_data, tmp_path):  # noqa: F811
    """On a real GPU (where there is one): first10 over the whole synthetic history."""
    if backends.gpu_problem() is not None:
        pytest.skip(f"needs a CUDA GPU: {backends.gpu_problem()}")
    config = _config(tmp_path, "first10", STRATEGIES["first10"][0])
    grid = [*STRATEGIES["first10"][1], "portfolio.fees=0,0.002", "portfolio.slippage=0,0.001"]
    plan = sweeps.make_plan(config, grid)
    gpu = sweeps.run_sweep(plan, out=None, jobs=1, backend="cuda")
    cpu = sweeps.run_sweep(plan, out=None, jobs=1)
    _assert_equal_stats(gpu.records(), cpu)


# parameter sets of each strategy's kernel form, edge values included
RULE_CASES = {
    "first10": [dict(lookback=1, tilt=0.7, hold=0), dict(lookback=10, tilt=0.7, hold=0), dict(lookback=10, tilt=0.3, hold=5),
                dict(lookback=23, tilt=0.85, hold=1), dict(lookback=60, tilt=0.6, hold=260), dict(lookback=5, tilt=0.0, hold=30)],
    "january_effect": [dict(start_month=1, end_month=1, tilt=0.7), dict(start_month=11, end_month=2, tilt=0.8),
                       dict(start_month=12, end_month=1, tilt=0.0), dict(start_month=5, end_month=5, tilt=1.0),
                       dict(start_month=3, end_month=9, tilt=0.5), dict(start_month=1, end_month=12, tilt=0.6),
                       dict(start_month=2, end_month=1, tilt=0.9), dict(start_month=12, end_month=12, tilt=0.3)],
    "size_momentum": [dict(months=1, tilt=0.7), dict(months=36, tilt=0.3), dict(months=12, tilt=0.0),
                      dict(months=6, tilt=1.0), dict(months=3, tilt=0.5)],
    "trend_filter": [dict(window=2), dict(window=3), dict(window=200), dict(window=756)],
}


def _assert_same_weights(got, expected):
    """Exactly the same rebalance dates, columns and weights (bit for bit)."""
    assert got.index.equals(expected.index)
    assert list(got.columns) == list(expected.columns)
    assert np.array_equal(got.to_numpy(), expected.to_numpy())


@pytest.mark.parametrize("strategy,values", [(name, v) for name, cases in RULE_CASES.items() for v in cases],
                         ids=lambda x: x if isinstance(x, str) else "-".join(map(str, x.values())))
def test_device_rule_gives_target_weights_on_real_data(shared_data, strategy, values):
    """The kernel form (kernel_tables + kernel_weights, compiled for the CPU) gives exactly the
    dates and weights of the strategy's target_weights over 1926-2025."""
    from backtest.config import validate
    from backtest.pipeline import prepare

    config = validate(yaml.safe_load((REPO_ROOT / "configs" / f"{strategy}.yaml").read_text()), base_dir=REPO_ROOT / "configs")
    prepared = prepare(config)
    rule = prepared.legs[0].strategy
    params = rule.resolve_params({**config.strategy.params, **values})
    assert prepared.returns.index[0].year <= 1926 and prepared.returns.index[-1].year >= 2025
    expected = rule.target_weights(prepared.returns, params)
    assert len(expected) >= 1
    _assert_same_weights(rule.kernel_target_weights(prepared.returns, [params])[0], expected)


def test_device_rule_of_a_whole_grid_on_real_data(shared_data):
    """One set of tables for every parameter set of a strategy (as a sweep makes them) gives each
    set's target_weights exactly."""
    from backtest.config import validate
    from backtest.pipeline import prepare

    for strategy, cases in RULE_CASES.items():
        config = validate(yaml.safe_load((REPO_ROOT / "configs" / f"{strategy}.yaml").read_text()), base_dir=REPO_ROOT / "configs")
        prepared = prepare(config)
        rule = prepared.legs[0].strategy
        params_list = [rule.resolve_params({**config.strategy.params, **values}) for values in cases]
        for params, got in zip(params_list, rule.kernel_target_weights(prepared.returns, params_list)):
            _assert_same_weights(got, rule.target_weights(prepared.returns, params))


SYNTHETIC_ASSETS = {"first10": {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30"},
                    "january_effect": {"small": "ff_size:Lo 10", "large": "ff_size:Hi 10"},
                    "size_momentum": {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30"},
                    "trend_filter": {"asset": "ff_size:Lo 30"}}


@pytest.mark.parametrize("strategy", sorted(RULE_CASES))
def test_device_rule_gives_target_weights_on_synthetic_data(fake_data, strategy):  # noqa: F811
    """The same on the synthetic series (no real data needed), one rule at a time and for the whole
    list at once, on the full history and on edge cases: one row, two rows, a period shorter than
    the longest window or lookback, a period ending on the last session before a January, a
    missing calendar month."""
    from backtest.strategy import load_strategy

    rule = load_strategy(strategy)
    params_list = [rule.resolve_params({**SYNTHETIC_ASSETS[strategy], **values}) for values in RULE_CASES[strategy]]
    returns = fake_data[rule.series(params_list[0])]
    no_march = returns[returns.index.to_period("M") != pd.Period("1992-03")]
    for data in (returns, returns.iloc[:1], returns.iloc[:2], returns.iloc[:400], returns.loc[:"1991-12-31"], no_march):
        grid = rule.kernel_target_weights(data, params_list)
        for params, from_grid in zip(params_list, grid):
            expected = rule.target_weights(data, params)
            _assert_same_weights(rule.kernel_target_weights(data, [params])[0], expected)
            _assert_same_weights(from_grid, expected)


RULE_FILE = '''
import numpy as np
import pandas as pd
from backtest.strategy import Param
PARAMS = (Param("asset", "series", "ff_size:Lo 30"),)
def target_weights(returns, params):
    return pd.DataFrame({params.asset: [1.0]}, index=returns.index[:1])
'''
TABLES = '''
def kernel_tables(returns, sets):
    return np.zeros((1, len(returns)), np.int64), np.zeros(FLOATS_SHAPE), np.zeros((len(sets.asset), 1))
'''
WEIGHTS = '''
def kernel_weights(t, ints, floats, p, target):
    return False
'''


def _rule_strategy(tmp_path, tables=True, weights=True, floats_shape="(1, 3)", extra=""):
    from backtest.strategy import load_strategy

    path = tmp_path / "rule.py"
    path.write_text(RULE_FILE + extra + (TABLES.replace("FLOATS_SHAPE", floats_shape) if tables else "") + (WEIGHTS if weights else ""))
    return load_strategy(file=path), path


@pytest.mark.parametrize("tables,weights", [(True, False), (False, True)])
def test_a_kernel_form_needs_both_functions(tmp_path, tables, weights):
    from backtest.errors import StrategyError

    with pytest.raises(StrategyError) as caught:
        _rule_strategy(tmp_path, tables=tables, weights=weights)
    assert str(caught.value) == f"strategy 'rule' ({tmp_path / 'rule.py'}): kernel_tables and kernel_weights go together"


@pytest.mark.parametrize("old", ["GPU = True\n", "def gpu_tables(returns, sets):\n    pass\n"])
def test_the_old_names_of_the_kernel_form_are_refused_with_the_new_ones(tmp_path, old):
    from backtest.errors import StrategyError

    with pytest.raises(StrategyError) as caught:
        _rule_strategy(tmp_path, extra=old)
    assert str(caught.value) == (f"strategy 'rule' ({tmp_path / 'rule.py'}): GPU, gpu_tables and gpu_weights are no longer read: "
                                 "the rule's kernel form is kernel_tables and kernel_weights (no flag), and runs on the CPU and the GPU")


def test_kernel_tables_of_the_wrong_shape_are_a_strategy_error(tmp_path):
    from backtest.errors import StrategyError

    strategy, path = _rule_strategy(tmp_path, floats_shape="3")
    returns = pd.DataFrame({"ff_size:Lo 30": [0.01, 0.0, -0.01]}, index=pd.date_range("2020-01-01", periods=3))
    params = strategy.resolve_params({})
    with pytest.raises(StrategyError) as caught:
        strategy.kernel_tables(returns, parameter_columns([params, params]), 2)
    assert str(caught.value) == (f"strategy 'rule' ({path}): kernel_tables must return two 2-D tables and one row of rule "
                                 "parameters per parameter set (got shapes (1, 3), (3,), (2, 1) for 2 sets)")
    good, _ = _rule_strategy(tmp_path)
    ints, floats, rule_params = good.kernel_tables(returns, parameter_columns([params, params]), 2)
    assert (ints.shape, floats.shape, rule_params.shape) == ((1, 3), (1, 3), (2, 1))


def test_grid_parameter_columns_equal_those_of_each_point(fake_data, config_file):  # noqa: F811
    """A grid's parameter columns for `kernel_tables`, built per axis, equal the columns of each
    point's own resolved parameters (values coerced: lookback 3.0 is the int 3)."""
    plan = sweeps.make_plan(config_file, ["strategy.params.lookback=3.0,9,4", "strategy.params.tilt=0.6,1", "strategy.params.hold=0:3"])
    evaluator = Evaluator(plan)
    points = np.array([5, 0, 17, 3, 23, 5])
    got = vars(evaluator.point_leg.columns(points))
    expected = vars(parameter_columns([evaluator.point_leg[int(p)].params for p in points]))
    assert got.keys() == expected.keys()
    for name in expected:
        assert got[name].tolist() == expected[name].tolist() and got[name].dtype == expected[name].dtype, name
    assert got["lookback"].dtype == np.int64 and got["tilt"].dtype == np.float64


def test_small_integer_tables_stay_small(fake_data):  # noqa: F811
    """A strategy's int8 table reaches the kernel as int8 (1 byte a row per window); a table of
    another type becomes int64."""
    from backtest.strategy import load_strategy

    rule = load_strategy("trend_filter")
    params_list = [rule.resolve_params({"asset": "ff_size:Lo 30", "window": w}) for w in (2, 50, 50, 200)]
    returns = fake_data[["ff_size:Lo 30"]]
    ints, _, rule_params = rule.kernel_tables(returns, parameter_columns(params_list), 4)
    assert ints.dtype == np.int8 and ints.shape == (3, len(returns))  # one row per distinct window
    assert rule_params[:, 0].tolist() == [0, 1, 1, 2]
