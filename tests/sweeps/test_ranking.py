"""A sweep's results streamed: the table written a window at a time from its part files, and only
the best combinations and the deflated ratios' moments kept in memory (`backtest.ranking`).

Each streamed figure is checked against the same figure computed on the whole table at once
(numpy over the full column, a stable pandas sort, `deflated_sharpe` on every trial)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest import sweeps
from backtest.sweeps import guards, store
from backtest.cli import main
from backtest.pipeline import run_backtest
from backtest.sweeps.ranking import Moments, Ranking
from tests import reference
from tests.sweeps.test_sweep import config_file, fake_data, interrupt_after  # noqa: F401  (fixtures)


def _chunked(n: int, rng) -> list[slice]:
    cuts = np.sort(rng.choice(np.arange(1, n), size=rng.integers(0, 12), replace=False)) if n > 1 else []
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


@pytest.mark.parametrize("seed", range(8))
def test_moments_merged_by_chunks_equal_numpy_on_the_whole_column(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    values = rng.normal(0.4, 0.3, n).round(int(rng.integers(1, 4)))  # rounded: ties for the maximum
    values[rng.random(n) < 0.1] = np.nan
    values[rng.random(n) < 0.01] = np.inf  # not a finite trial
    moments = Moments()
    for part in _chunked(n, rng):
        moments.add(np.arange(n)[part], values[part])
    finite = values[np.isfinite(values)]
    assert moments.count == len(finite)
    assert moments.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert moments.variance == pytest.approx(np.var(finite, ddof=1), rel=1e-10)
    assert moments.best_row == int(np.flatnonzero(values == finite.max())[0])  # the first row of a tie


def test_moments_of_nothing_finite():
    moments = Moments()
    moments.add(np.arange(3), np.array([np.nan, np.inf, -np.inf]))
    assert moments.count == 0 and moments.best_row is None and math.isnan(moments.variance)


def best_first(values, lower_is_better: bool) -> list[int]:
    """Row numbers, best value first (lowest first where lower is better), NaN last, ties in row
    order: a plain Python sort."""
    return sorted(range(len(values)), key=lambda i: (math.isnan(values[i]), values[i] if lower_is_better else -values[i], i))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("keep", [1, 5, 40, 5000])
@pytest.mark.parametrize("metric,lower_is_better", [("sharpe", False), ("volatility", True)])
def test_ranking_by_chunks_equals_a_sort_of_the_whole_table(seed, keep, metric, lower_is_better):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 2000))
    table = pd.DataFrame({"combo": np.arange(n), metric: rng.integers(-5, 5, n) / 4.0, "cagr": rng.normal(size=n)})
    table.loc[rng.random(n) < 0.2, metric] = np.nan
    ranking = Ranking(metric, keep)
    for part in _chunked(n, rng):
        ranking.add(table.iloc[part])
    expected = table.iloc[best_first(table[metric].tolist(), lower_is_better)[:keep]]
    pd.testing.assert_frame_equal(ranking.top, expected.reset_index(drop=True))
    assert ranking.order().tolist() == expected["combo"].tolist()


@pytest.mark.parametrize("metric", ["volatility", "max_drawdown_days", "rebalances", "turnover", "fees_paid", "tracking_error", "beta"])
def test_lower_is_better_statistics_rank_lowest_first(fake_data, config_file, metric):  # noqa: F811
    """best(k), the order, the heatmap's best over the other keys: all by the lowest value,
    against a plain sort and a plain loop over the whole table."""
    plan = sweeps.make_plan(config_file, GRID, metric=metric)
    result = sweeps.run_sweep(plan, out=None, jobs=1, top=7)
    table = result.table
    expected = best_first(table[metric].tolist(), lower_is_better=True)[:7]
    assert result.order().tolist() == expected
    pd.testing.assert_frame_equal(result.best(7), table.loc[expected], check_dtype=False)
    grid = result.heatmap("lookback", "tilt")
    for lookback in plan.axes[0].values:
        for tilt in plan.axes[1].values:
            cell = table[(table["strategy.params.lookback"] == lookback) & (table["strategy.params.tilt"] == tilt)][metric]
            assert grid.loc[tilt, lookback] == min(cell.dropna(), default=np.nan)


GRID = ["strategy.params.lookback=2:9", "strategy.params.tilt=0.55:0.95:0.1", "portfolio.fees=0,0.002"]


def test_streamed_sweep_equals_the_whole_table_in_memory(fake_data, config_file, tmp_path, monkeypatch):  # noqa: F811
    """Parts that interleave (a resumed sweep with another batch size) and windows smaller than a
    part: the written table, the ranking and the deflated Sharpe ratios equal those of the same
    sweep held in memory whole."""
    plan = sweeps.make_plan(config_file, GRID)
    in_memory = sweeps.run_sweep(plan, out=None, jobs=1)
    total = in_memory.combinations  # 8 x 5 x 2 = 80
    names = in_memory.names
    parts = tmp_path / plan.sweep_id / "parts"
    with pytest.raises(KeyboardInterrupt):
        sweeps.run_sweep(plan, out=tmp_path, jobs=1, batch_size=10, on_batch=interrupt_after(3, []))
    (parts / "part-000000010-000000019.parquet").unlink()  # a hole: the resumed batch spans part 20-29
    monkeypatch.setattr(store, "TABLE_CHUNK", 7)  # windows smaller than a part, not aligned with any
    streamed = sweeps.run_sweep(plan, out=tmp_path, jobs=1, batch_size=25, top=6)
    assert streamed.computed == total - 20 and streamed.stats is None
    assert sorted(p.name for p in parts.iterdir())[:3] == [
        "part-000000000-000000009.parquet", "part-000000010-000000044.parquet", "part-000000020-000000029.parquet"]

    table = pd.read_parquet(tmp_path / plan.sweep_id / "results.parquet")
    assert table["combo"].tolist() == list(range(total))
    np.testing.assert_array_equal(table[names].to_numpy(), in_memory.stats)
    for i, key in enumerate(plan.keys):
        assert table[key].tolist() == [plan.axes[i].values[j] for j in plan.combos[:, i]]
    csv = pd.read_csv(tmp_path / plan.sweep_id / "results.csv")
    np.testing.assert_allclose(csv[names].to_numpy(), in_memory.stats, rtol=1e-15)

    metric = in_memory.stats[:, names.index(plan.metric)]
    best_first = np.argsort(-np.where(np.isnan(metric), -np.inf, metric), kind="stable")
    assert streamed.order().tolist() == best_first[:6].tolist()
    assert [streamed.record(int(c)) for c in best_first[:6]] == [in_memory.record(int(c)) for c in best_first[:6]]
    with pytest.raises(KeyError, match="not among the 6 ranked"):
        streamed.record(int(best_first[-1]))
    assert list(streamed.records()) == [in_memory.record(c) for c in range(total)]

    # deflated Sharpe ratios: the streamed moments against the trials at the winner's costs
    got = guards.sweep_deflated_sharpes(streamed)
    assert set(got) == {"deflated_sharpe", "deflated_sharpe_vs_benchmark", "significance", "conventions"}
    assert got["conventions"]["risk_free"] == "ff_factors:RF"
    fees = np.array([plan.params(c)["portfolio.fees"] for c in range(total)])
    for key, ratio_name in (("deflated_sharpe", "sharpe"), ("deflated_sharpe_vs_benchmark", "information_ratio")):
        ratio = in_memory.stats[:, names.index(ratio_name)]
        best = int(np.nanargmax(ratio))
        assert got[key]["params"] == plan.params(best)
        same_costs = ratio[(fees == fees[best]) & np.isfinite(ratio)]  # 40 parameter sets, not 80 combinations
        run = run_backtest(plan.config(plan.params(best)))
        dates = run.prepared.returns.index
        returns = guards.stats.daily_returns(run.strategy.simulation.equity, 100000.0)
        if ratio_name == "information_ratio":
            excess = returns - guards.stats.daily_returns(run.benchmark.simulation.equity, 100000.0)
        else:
            rf = fake_data["ff_factors:RF"].loc[dates].copy()  # the T-bill series, on the same calendar,
            rf.iloc[0] = 0.0  # but none on row 0, the purchase at its close
            excess = returns - rf
        ppy = (len(dates) - 1) / ((dates[-1] - dates[0]).days / 365.25)
        dsr, sr0 = reference.deflated_sharpe(excess.to_numpy(), same_costs, ppy)
        assert got[key]["trials"] == len(same_costs) == 40 and got[key]["cost_variants"] == 2
        assert got[key]["dsr"] == pytest.approx(dsr, rel=1e-9)
        assert got[key]["sr0"] == pytest.approx(sr0, rel=1e-9)
        assert got[key]["sr_best"] == pytest.approx(ratio[best], rel=1e-9)  # the table's own figure

    # the heatmap grid from the streamed table equals pandas on the whole table
    grid = sweeps.metric_grid(streamed.frames(["strategy.params.lookback", "strategy.params.tilt", "sharpe"]),
                             "strategy.params.lookback", "strategy.params.tilt", "sharpe")
    whole = table.groupby(["strategy.params.tilt", "strategy.params.lookback"])["sharpe"].max().unstack("strategy.params.lookback")
    pd.testing.assert_frame_equal(grid, whole, check_names=False)


def test_a_missing_part_is_an_error_not_a_hole(fake_data, config_file, tmp_path):  # noqa: F811
    plan = sweeps.make_plan(config_file, GRID)
    sweeps.run_sweep(plan, out=tmp_path, jobs=1, batch_size=10)
    parts = store.Store(tmp_path / plan.sweep_id)
    (parts.parts / "part-000000030-000000039.parquet").unlink()
    with pytest.raises(RuntimeError, match="combination 30 is in no part file"):
        list(parts.windows(["sharpe"], len(plan.combos)))


def test_json_streams_every_combination_across_flushes(fake_data, config_file, tmp_path):  # noqa: F811
    """10,100 combinations: more than one flush of 10,000 records; the output is one JSON object."""
    grid = ["portfolio.fees=0:0.0099:0.0001", "portfolio.slippage=0:0.001:0.00001"]
    out = CliRunner().invoke(main, ["sweep", str(config_file), *sum((["--grid", g] for g in grid), []), "--out", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    document = json.loads(out.stdout)
    assert document["combinations"] == len(document["results"]) == 100 * 101
    table = pd.read_parquet(tmp_path / document["sweep_id"] / "results.parquet")
    got = [r["stats"]["final_value"] for r in document["results"]]
    np.testing.assert_array_equal(got, table["final_value"].to_numpy())
    assert [r["params"]["portfolio.fees"] for r in document["results"][:2]] == [0.0, 0.0]
    # only costs are swept: one strategy setting tried, at 10,100 costs (which are not trials)
    assert document["deflated_sharpe"]["trials"] == 1 and document["deflated_sharpe"]["sr0"] == 0
    assert document["deflated_sharpe"]["cost_variants"] == int(np.isfinite(table["sharpe"]).sum()) == 10_100


def test_no_csv_above_the_row_limit(fake_data, config_file, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(store, "CSV_MAX_ROWS", 79)
    out = CliRunner().invoke(main, ["sweep", str(config_file), *sum((["--grid", g] for g in GRID), []), "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "results.parquet only: no CSV above 79 combinations" in out.output
    (directory,) = [d for d in tmp_path.iterdir() if d.is_dir()]
    assert not (directory / "results.csv").exists()
    assert pd.read_parquet(directory / "results.parquet")["combo"].tolist() == list(range(80))
    monkeypatch.setattr(store, "CSV_MAX_ROWS", 80)
    again = CliRunner().invoke(main, ["sweep", str(config_file), *sum((["--grid", g] for g in GRID), []), "--out", str(tmp_path)])
    assert again.exit_code == 0 and "no CSV" not in again.output
    assert len(pd.read_csv(directory / "results.csv")) == 80


def test_parts_that_are_whole_windows(fake_data, config_file, tmp_path, monkeypatch):  # noqa: F811
    """The GPU's case: each part is exactly one window (read as is), the last one shorter."""
    plan = sweeps.make_plan(config_file, GRID)
    in_memory = sweeps.run_sweep(plan, out=None, jobs=1)
    monkeypatch.setattr(store, "TABLE_CHUNK", 16)
    sweeps.run_sweep(plan, out=tmp_path, jobs=1, batch_size=16)
    assert len(list((tmp_path / plan.sweep_id / "parts").iterdir())) == 5
    table = pd.read_parquet(tmp_path / plan.sweep_id / "results.parquet")
    np.testing.assert_array_equal(table[in_memory.names].to_numpy(), in_memory.stats)


def test_walk_forward_chooses_the_lowest_volatility_on_each_training_window(fake_data, config_file):  # noqa: F811
    import backtest

    grid = ["strategy.params.lookback=2,5,9", "strategy.params.tilt=0.55,0.95"]
    result = backtest.sweep(config_file, grid, metric="volatility", walk_forward="train=4y,test=2y", jobs=1)
    windows = result.guard_rails["walk_forward"]["windows"]
    assert len(windows) == 3
    for w in windows:
        alone = backtest.sweep(config_file, grid, start=w["train"][0], end=w["train"][1], jobs=1).table
        lowest = alone.loc[best_first(alone["volatility"].tolist(), lower_is_better=True)[0]]
        assert w["params"] == {key: lowest[key] for key in alone.columns[:2]}
        assert w["train_volatility"] == alone["volatility"].min()
    assert result.order()[0] == best_first(result.table["volatility"].tolist(), lower_is_better=True)[0]


def test_cli_says_the_direction_and_puts_the_lowest_first(fake_data, config_file, tmp_path):  # noqa: F811
    args = ["sweep", str(config_file), "--grid", "strategy.params.lookback=2:5", "--grid", "strategy.params.tilt=0.55,0.95",
            "--metric", "volatility", "--top", "3", "--out", str(tmp_path)]
    shown = CliRunner().invoke(main, args)
    assert shown.exit_code == 0, shown.output
    assert "Top 3 by volatility, lowest first" in shown.output
    table = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)["results"]
    lowest = min(table, key=lambda record: record["stats"]["volatility"])
    first_row = next(line for line in shown.output.splitlines() if line.startswith("│ 1 "))
    assert first_row.split("│")[1:4] == [" 1 ", f" {lowest['params']['strategy.params.lookback']:>8} ", f" {lowest['params']['strategy.params.tilt']:>4} "]
    assert f"{lowest['stats']['volatility'] * 100:,.2f} %" in first_row
    assert " ".join(shown.output.split()).count(f"winner by volatility (lookback={lowest['params']['strategy.params.lookback']}") == 1
