"""The kernel form of the rule on the CPU: the sweep kernel computes each combination's targets
from the strategy's `kernel_tables` and `kernel_weights` (`backtest.engine.nb.kernel_form_sweep`),
never calling `target_weights` on the host.

For every shipped strategy, on its real 1926-2025 data: a grid over its rule, costs and the cash
asset gives every statistic of the same grid with the rule run on the host (the strategy file
without its kernel form: `target_weights` once per parameter set, as host weight sets) and of
`backtest run`, to 1e-9 relative. Kernels compiled and cached by different processes load into
one and each runs its own rule. Benchmark curves for many costs are held a group at a time.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from backtest import sweeps
from backtest.strategy import load_strategy, strategy_names
from tests.conftest import REPO_ROOT
from tests.sweeps.host_rule import guarded
from tests.sweeps.test_sweep import _run_stats, config_file, fake_data  # noqa: F401  (fixtures)
from tests.sweeps.test_sweep_cuda import _distinct_rules

# each strategy's config and a grid over its rule that changes its rebalances; buy_and_hold has no
# config of its own: it is sector_rotation's benchmark (ten industries, monthly) made the strategy
RULE_GRIDS = {
    "first10": ("first10.yaml", ["strategy.params.lookback=5,10", "strategy.params.tilt=0.6,0.8", "strategy.params.hold=0,7"]),
    "january_effect": ("january_effect.yaml", ["strategy.params.start_month=1,12", "strategy.params.end_month=1,3", "strategy.params.tilt=0.6,0.8"]),
    "size_momentum": ("size_momentum.yaml", ["strategy.params.months=1,6", "strategy.params.tilt=0.3,0.8"]),
    "trend_filter": ("trend_filter.yaml", ["strategy.params.window=10,50,200"]),
    "sector_rotation": ("sector_rotation.yaml", ["strategy.params.lookback=21,63", "strategy.params.top=1,3"]),
    "cyclical_tilt": ("cyclical_tilt.yaml", ["strategy.params.lookback=21,63", "strategy.params.tilt=0.6,0.8"]),
    "rate_regime": ("rate_regime.yaml", ["strategy.params.months=1,3", "strategy.params.window=1,63"]),
    "buy_and_hold": ("sector_rotation.yaml", ["strategy.params.rebalance=never,monthly,quarterly,annual"]),
}
COSTS = ["portfolio.fees=0.001,0.003", "portfolio.cash=none,rf"]
SLIPPAGE = ["portfolio.slippage=0.0005"]
HOST_FILE = '"""{name} without its kernel form: its rule runs on the host."""\nfrom strategies.{name} import PARAMS, target_weights\n'


def test_every_shipped_strategy_is_swept_here():
    assert sorted(RULE_GRIDS) == [name for name in strategy_names() if load_strategy(name).kernel_form is not None] == strategy_names()


def _configs(tmp_path, name: str):
    """The strategy's config, and the same with the strategy read from a file without its
    kernel form."""
    raw = yaml.safe_load((REPO_ROOT / "configs" / RULE_GRIDS[name][0]).read_text())
    if raw["strategy"]["name"] != name:  # buy_and_hold: the benchmark as the strategy
        raw["strategy"] = dict(raw["benchmark"])
    (tmp_path / "host.py").write_text(HOST_FILE.format(name=name))
    host = {**raw, "strategy": {"file": str(tmp_path / "host.py"), "params": raw["strategy"]["params"]}}
    paths = []
    for label, config in (("kernel", raw), ("host", host)):
        path = tmp_path / f"{label}.yaml"
        path.write_text(yaml.safe_dump(config))
        paths.append(path)
    return paths


def _assert_same_stats(got, expected, what):
    assert got.names == expected.names
    for c in range(expected.combinations):
        for j, name in enumerate(expected.names):
            assert got.stats[c, j] == pytest.approx(expected.stats[c, j], rel=1e-9, abs=1e-12, nan_ok=True), (what, c, name)


@pytest.mark.parametrize("name", sorted(RULE_GRIDS))
def test_kernel_form_equals_the_host_rule_and_backtest_run_on_real_data(shared_data, tmp_path, monkeypatch, name):
    kernel_config, host_config = _configs(tmp_path, name)
    grid = [*RULE_GRIDS[name][1], *COSTS]
    host = sweeps.run_sweep(sweeps.make_plan(host_config, grid, set=SLIPPAGE), out=None, jobs=2)
    module = importlib.import_module(f"strategies.{name}")
    monkeypatch.setattr(module, "target_weights", guarded(module))  # the kernel sweep must not call it
    plan = sweeps.make_plan(kernel_config, grid, set=SLIPPAGE)
    kernel = sweeps.run_sweep(plan, out=None, jobs=2)
    monkeypatch.undo()
    assert kernel.combinations == host.combinations >= 12
    sets, frames = _distinct_rules(kernel_config, SLIPPAGE, plan)
    assert frames == sets >= 2  # each parameter set of the grid trades differently: the comparison is not vacuous
    assert np.nanmax(kernel.stats[:, kernel.names.index("rebalances")]) >= 20
    _assert_same_stats(kernel, host, "host")
    # backtest run, on the last combination (fees 0.003, the cash asset) and one of another rule
    for c in (kernel.combinations - 1, kernel.combinations // 4 - 1):
        expected = _run_stats(kernel_config, plan.params(c), SLIPPAGE)
        for j, stat in enumerate(kernel.names):
            assert kernel.stats[c, j] == pytest.approx(expected[stat], rel=1e-9, abs=1e-12, nan_ok=True), (plan.params(c), stat)


def test_the_guard_catches_a_sweep_that_calls_the_host(fake_data, config_file, monkeypatch):  # noqa: F811
    """The guard fails a sweep whose kernel form is not used (here: none is found)."""
    import strategies.first10 as first10

    from backtest.errors import StrategyError
    from backtest.sweeps.evaluate import Evaluator

    monkeypatch.setattr(first10, "target_weights", guarded(first10))
    monkeypatch.setattr(Evaluator, "_kernel_rule", lambda self, ctx_id: None)
    with pytest.raises(StrategyError, match="the sweep called strategies.first10.target_weights on the host"):
        sweeps.run_sweep(sweeps.make_plan(config_file, ["strategy.params.lookback=3,4"]), out=None, jobs=1)


CACHED_SWEEP = """
import json, sys
from tests.sweeps.test_sweep import install_fake_data
install_fake_data()
from backtest import sweeps
out = {}
for config, grid in json.loads(sys.argv[1]):
    result = sweeps.run_sweep(sweeps.make_plan(config, grid), out=None, jobs=1)
    out[config] = result.stats.tolist()
print(json.dumps(out))
"""


def _in_process(sweeps_to_run, env):
    done = subprocess.run([sys.executable, "-c", CACHED_SWEEP, json.dumps(sweeps_to_run)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return {config: np.array(stats) for config, stats in json.loads(done.stdout).items()}


def test_kernels_cached_by_different_processes_run_their_own_rules_in_one(fake_data, tmp_path):  # noqa: F811
    """Each of two processes compiles and caches one strategy's kernel (both starting from the
    same cache, so numba numbers their functions alike); a third loads both and each runs its own
    rule: the same statistics as the rules run on the host."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    names = {"january_effect": ["strategy.params.end_month=1,2"], "size_momentum": ["strategy.params.months=1,3"]}
    configs = {}
    for name, grid in names.items():
        params = {"small": "ff_size:Lo 10", "large": "ff_size:Hi 10"}
        for label, strategy in (("kernel", {"name": name}), ("host", {"file": str(tmp_path / f"{name}_host.py")})):
            path = tmp_path / f"{name}_{label}.yaml"
            path.write_text(json.dumps({"strategy": {**strategy, "params": params}, "portfolio": {"fees": 0.001, "cash": "rf"}}))
            configs[name, label] = str(path)
        (tmp_path / f"{name}_host.py").write_text(HOST_FILE.format(name=name))
    _in_process([[configs[name, "host"], grid] for name, grid in names.items()], env)  # the shared kernels, cached first
    for name, grid in names.items():
        _in_process([[configs[name, "kernel"], grid]], env)
    together = _in_process([[configs[name, label], grid] for name, grid in names.items() for label in ("kernel", "host")], env)
    for name in names:
        np.testing.assert_allclose(together[configs[name, "kernel"]], together[configs[name, "host"]], rtol=1e-9, atol=1e-12)
    assert not np.allclose(together[configs["january_effect", "kernel"]], together[configs["size_momentum", "kernel"]])


def test_benchmark_curves_for_many_costs_are_held_a_group_at_a_time(fake_data, config_file, monkeypatch):  # noqa: F811
    """With room for three benchmark curves, a grid of 20 (fees, slippage) pairs runs in groups
    of three, with the same statistics as with room for every curve, and equal to backtest run."""
    from backtest.sweeps import evaluate

    grid = ["strategy.params.lookback=3,9", "portfolio.fees=0:0.004:0.001", "portfolio.slippage=0,0.0005,0.001,0.002"]
    plan = sweeps.make_plan(config_file, grid)
    roomy = sweeps.run_sweep(plan, out=None, jobs=1, batch_size=16)
    monkeypatch.setattr(evaluate, "BENCH_CURVES_BYTES", 3 * 8 * len(fake_data))
    held = []
    bench_curves = evaluate.Evaluator._bench_curves
    monkeypatch.setattr(evaluate.Evaluator, "_bench_curves", lambda self, context, triples, *out: held.append(len(triples)) or bench_curves(self, context, triples, *out))
    tight = sweeps.run_sweep(plan, out=None, jobs=1, batch_size=16)
    assert max(held) == 3 and sum(held) > 20  # groups of three, in each batch of 16
    np.testing.assert_array_equal(tight.stats, roomy.stats)
    for c in (0, 17, 39):
        expected = _run_stats(config_file, plan.params(c))
        for j, stat in enumerate(tight.names):
            assert tight.stats[c, j] == pytest.approx(expected[stat], rel=1e-9, abs=1e-12, nan_ok=True), (plan.params(c), stat)


def test_a_sweep_of_a_kernel_form_says_nothing_and_one_without_says_why_it_is_slower(fake_data, config_file, tmp_path):  # noqa: F811
    from tests.sweeps.test_sweep import _cli

    quiet = _cli("sweep", str(config_file), "--grid", "strategy.params.lookback=3,4", "--json", "--out", str(tmp_path / "a"))
    assert quiet.exit_code == 0
    json.loads(quiet.output)  # stdout and stderr together: only the JSON
    (tmp_path / "host.py").write_text(HOST_FILE.format(name="first10"))
    config_file.write_text(config_file.read_text().replace("name: first10", f"file: {tmp_path / 'host.py'}"))
    told = _cli("sweep", str(config_file), "--grid", "strategy.params.lookback=3,4", "--json", "--out", str(tmp_path / "b"))
    assert told.exit_code == 0
    first, rest = told.output.split("\n", 1)
    assert first == ("strategy host has no kernel form (kernel_tables, kernel_weights), so its rule runs on the host: "
                     "a Python call per parameter set, slower than the rule inside the kernel")
    assert json.loads(rest)["combinations"] == 2
    costs_only = _cli("sweep", str(config_file), "--grid", "portfolio.fees=0,0.001", "--json", "--out", str(tmp_path / "c"))
    json.loads(costs_only.output)  # one parameter set: one call, nothing to say
