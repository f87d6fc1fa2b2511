"""Sweep throughput on first10 (real data, 1926-2025), next to vectorbt's one-call broadcast.

Measures (medians of --repeat runs, all warm: numba cache and data cache filled beforehand):

1. grid: lookback 1:40 x tilt 0.5:1.0:0.01 x fees 5 values = 10,200 combinations
   - sweep_end_to_end: `backtest.sweep.run_sweep` in this process (plan -> strategy calls ->
     kernel -> statistics), no files;
   - kernel: the compiled batch alone (simulation + every statistic), weight sets precomputed;
2. vectorbt: `vbt.Portfolio.from_orders` on a wide frame holding a 100-combination slice of the
   same grid (100 column groups, cash sharing, target percent, per-column fees) plus its
   metrics (total return, annualised return, Sharpe, Sortino, max drawdown), weights precomputed;
3. 10^5: the `backtest sweep` command in a fresh process on lookback 1:40 x tilt 0.5:1.0:0.02 x
   fees 10 values x slippage 10 values (104,000 combinations), wall time including start-up
   and writing the table, and its peak RSS (resource.getrusage of the child).

Prints a summary and writes bench/out/bench_sweep.json. The speed targets live here only.

    python bench/bench_sweep.py [--repeat 3] [--jobs 0] [--skip-100k]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "first10.yaml"
GRID = ["strategy.params.lookback=1:40", "strategy.params.tilt=0.5:1.0:0.01", "portfolio.fees=0,0.0005,0.001,0.0015,0.002"]
GRID_100K = [
    "strategy.params.lookback=1:40",
    "strategy.params.tilt=0.5:1.0:0.02",
    "portfolio.fees=0:0.0009:0.0001",
    "portfolio.slippage=0:0.00045:0.00005",
]


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def bench_sweep(repeat, jobs):
    from backtest import sweeps
    from backtest.sweeps.evaluate import Evaluator

    plan = sweeps.make_plan(CONFIG, GRID)
    combos = len(plan.combos)
    sweeps.run_sweep(plan, out=None, jobs=jobs)  # warm: compile / load caches
    end_to_end, e2e_runs = timed(lambda: sweeps.run_sweep(plan, out=None, jobs=jobs), repeat)

    import numba

    numba.set_num_threads(max(1, min(jobs or os.cpu_count(), numba.config.NUMBA_NUM_THREADS)))
    evaluator = Evaluator(plan, jobs=1)
    every = np.arange(combos)
    start = time.perf_counter()
    evaluator._ensure_sets(np.unique(evaluator.point_set))
    weights_s = time.perf_counter() - start
    evaluator.run_batch(every[:100])
    kernel, kernel_runs = timed(lambda: evaluator.run_batch(every), repeat)
    return {
        "grid": GRID,
        "combinations": combos,
        "distinct_strategy_calls": len(evaluator.set_points),
        "rows": int(evaluator.contexts[0].prices.shape[0]),
        "threads": numba.get_num_threads(),
        "end_to_end_median_s": end_to_end,
        "end_to_end_combos_per_s": combos / end_to_end,
        "end_to_end_runs_s": e2e_runs,
        "strategy_calls_s_one_process": weights_s,
        "kernel_median_s": kernel,
        "kernel_combos_per_s": combos / kernel,
        "kernel_runs_s": kernel_runs,
    }, plan, evaluator


def bench_vectorbt(plan, evaluator, repeat, width=100):
    import pandas as pd
    import vectorbt as vbt

    context = evaluator.contexts[0]
    returns = context.prepared.returns
    ids = np.linspace(0, len(plan.combos) - 1, width).astype(int)  # a spread-out slice
    closes, sizes, fees, groups = [], [], [], []
    for g, c in enumerate(ids):
        ws = evaluator.sets[int(evaluator.point_set[evaluator.point_of_combo[c]])]
        size = np.full((len(returns), len(ws.cols)), np.nan)
        size[ws.rows] = ws.weights
        closes.append(context.prices[:, ws.cols])
        sizes.append(size)
        fees.append(np.full(len(ws.cols), evaluator.kernel_scalars(np.array([c]))[0][0]))
        groups += [g] * len(ws.cols)
    close = pd.DataFrame(np.hstack(closes), index=returns.index)
    size = np.hstack(sizes)
    fee = np.concatenate(fees)[None, :]

    def run():
        pf = vbt.Portfolio.from_orders(
            close, size=size, size_type="targetpercent", direction="longonly", fees=fee, slippage=0.0,
            init_cash=100_000.0, cash_sharing=True, group_by=np.array(groups), call_seq="auto", freq="1D",
        )
        pf.value()
        pf.total_return()
        pf.annualized_return()
        pf.sharpe_ratio()
        pf.sortino_ratio()
        pf.max_drawdown()
        return pf

    pf = run()  # warm (compiles vectorbt's functions)
    median, runs = timed(run, repeat)
    # sanity: vectorbt's final values equal the kernel's on the same combinations
    stats, _ = evaluator.run_batch(ids)
    ours = stats[:, evaluator.names.index("final_value")]
    theirs = pf.value().to_numpy()[-1]
    return {
        "combinations": width,
        "median_s": median,
        "runs_s": runs,
        "combos_per_s": width / median,
        "max_rel_diff_final_value_vs_kernel": float(np.max(np.abs(ours / theirs - 1))),
    }


_PROBE = """
import json, resource, subprocess, sys
subprocess.run(json.loads(sys.argv[1]), check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def bench_100k(repeat, jobs):
    cmd = [sys.executable, "-m", "backtest.cli", "sweep", str(CONFIG)]
    for g in GRID_100K:
        cmd += ["--grid", g]
    cmd += ["--jobs", str(jobs), "--top", "5"]
    warm_out = tempfile.mkdtemp(prefix="bench-sweep-")
    subprocess.run(cmd[:5] + ["--grid", "strategy.params.lookback=3:4", "--out", warm_out], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    walls, rss = [], []
    for _ in range(repeat):
        out = tempfile.mkdtemp(prefix="bench-sweep-")  # fresh: no resume
        start = time.perf_counter()
        # a clean parent: its RUSAGE_CHILDREN peak is the sweep's (and its workers') alone
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE, json.dumps(cmd + ["--out", out])],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        walls.append(time.perf_counter() - start)
        rss.append(int(probe.stdout.split()[-1]) / 1024)
    from backtest import sweeps

    combos = len(sweeps.make_plan(CONFIG, GRID_100K).combos)
    return {
        "grid": GRID_100K,
        "combinations": combos,
        "wall_median_s": statistics.median(walls),
        "wall_runs_s": walls,
        "combos_per_s": combos / statistics.median(walls),
        "peak_rss_mib": max(rss),
        "note": "peak RSS: the largest process of the sweep (getrusage RUSAGE_CHILDREN ru_maxrss of a clean parent)",
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="0: every CPU")
    parser.add_argument("--skip-100k", action="store_true")
    args = parser.parse_args()

    report = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    report["sweep"], plan, evaluator = bench_sweep(args.repeat, args.jobs)
    report["vectorbt"] = bench_vectorbt(plan, evaluator, args.repeat)
    report["kernel_vs_vectorbt"] = report["sweep"]["kernel_combos_per_s"] / report["vectorbt"]["combos_per_s"]
    report["end_to_end_vs_vectorbt"] = report["sweep"]["end_to_end_combos_per_s"] / report["vectorbt"]["combos_per_s"]
    if not args.skip_100k:
        report["sweep_100k"] = bench_100k(args.repeat, args.jobs)
    report["load_average_after"] = os.getloadavg()

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_sweep.json").write_text(json.dumps(report, indent=2))
    s, v = report["sweep"], report["vectorbt"]
    print(f"first10, {s['rows']:,} rows, {report['cpus']} CPUs, numba threads {s['threads']} (load {report['load_average_before'][0]:.1f})")
    print(f"grid {s['combinations']:,} combinations, {s['distinct_strategy_calls']:,} strategy calls")
    print(f"  kernel (simulation + all statistics): {s['kernel_combos_per_s']:,.0f} combos/s  ({s['kernel_median_s']:.3f} s)")
    print(f"  sweep end to end, in process:         {s['end_to_end_combos_per_s']:,.0f} combos/s  ({s['end_to_end_median_s']:.3f} s)")
    print(f"  strategy calls alone, one process:    {s['strategy_calls_s_one_process']:.3f} s")
    print(f"vectorbt from_orders, 100-combination broadcast + metrics: {v['combos_per_s']:,.1f} combos/s ({v['median_s']:.3f} s; final values vs kernel max rel diff {v['max_rel_diff_final_value_vs_kernel']:.1e})")
    print(f"  ratio kernel / vectorbt: {report['kernel_vs_vectorbt']:,.0f}x; end to end / vectorbt: {report['end_to_end_vs_vectorbt']:,.0f}x")
    if "sweep_100k" in report:
        h = report["sweep_100k"]
        print(f"backtest sweep, {h['combinations']:,} combinations: {h['wall_median_s']:.2f} s wall incl. start-up ({h['combos_per_s']:,.0f} combos/s), peak RSS {h['peak_rss_mib']:,.0f} MiB")
    print(f"written: {out / 'bench_sweep.json'}")


if __name__ == "__main__":
    main()
