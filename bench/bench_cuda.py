"""GPU sweep throughput: `backtest sweep --backend cuda` on first10 (real data, 1926-2025).

Needs an NVIDIA GPU with a CUDA driver (it stops with a message without one). Measures:

1. kernel: `Evaluator.run_batch` on the GPU for 10^6 combinations in one batch (first10's rule
   per thread, simulation and every statistic of STAT_NAMES, fp64), after a warm-up batch that
   compiles the kernel: seconds and combinations/s (median of --repeat); and the largest
   relative difference of any statistic from the CPU kernel on 2,000 of those combinations;
2. end to end: the `backtest sweep --backend cuda --top 5` command in a fresh process for 10^6
   and 10^7 combinations (start-up, data, strategy calls, kernel launches, transfers, Parquet
   parts, results.parquet/csv): wall seconds, combinations/s and peak RSS of the process.

Grid: lookback 1:10 x tilt 0.5:0.99:0.01 x fees 0:0.0019:0.0001 x slippage 0:0.00099:0.00001
(10^6; 500 distinct strategy parameter sets), times 10 initial cash values for 10^7; and a grid
of 99,000 distinct strategy parameter sets (lookback 1:60 x tilt x hold 0:32), where the host's
set-up per parameter set (validating and keying each one) is what the GPU's threads cannot do. No benchmark (`--set benchmark=null`): every distinct (fees, slippage, cash)
needs its own benchmark curve, 10^4 of them here.

On the device image `python3` has numba-cuda, pandas and pyarrow but not the project's other
dependencies: carry wheels of them (pip download on a machine with the registry) and install
them there first; with numpy 2.5 numba-cuda needs `np.row_stack`, which
`backtest.engine.cuda` restores.

Prints a summary and writes bench/out/bench_cuda.json.

    python bench/bench_cuda.py [--repeat 3] [--device 0] [--skip-10m]

`--host-only` needs no GPU: it runs the same `backtest sweep --backend cuda` commands with the
kernel launch replaced by a stub that fills the statistics with random numbers (and no device
selected), so it measures everything the host does in a GPU sweep: set-up, per-thread rule
tables, batches, Parquet parts, the streamed results table, ranking and guard rails; wall
seconds and peak RSS (the issue's bound: < 4 GiB for 10^7 combinations). It writes
bench/out/bench_cuda_host.json.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sweep import _PROBE, timed  # noqa: E402  (the same timing and peak-RSS probe)

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "first10.yaml"
OVERRIDES = ["benchmark=null"]
GRID_1M = [
    "strategy.params.lookback=1:10",
    "strategy.params.tilt=0.5:0.99:0.01",
    "portfolio.fees=0:0.0019:0.0001",
    "portfolio.slippage=0:0.00099:0.00001",
]
GRID_10M = [*GRID_1M, "portfolio.initial_cash=10000:100000:10000"]
GRID_DISTINCT = ["strategy.params.lookback=1:60", "strategy.params.tilt=0.5:0.99:0.01", "strategy.params.hold=0:32"]
# 9,969,960 distinct strategy parameter sets: every GPU thread its own rule, nothing shared
GRID_DISTINCT_10M = ["strategy.params.lookback=1:60", "strategy.params.tilt=0:1:0.001", "strategy.params.hold=0:165"]
HOST_ONLY = """
import sys
import numpy as np
from backtest.engine import cuda
from backtest.sweeps import backends
rng = np.random.default_rng(0)
def kernel_stub(*args):  # the launch's statistics out (its last argument): random numbers
    args[-1][:] = rng.standard_normal(args[-1].shape)
backends.gpu_problem = lambda device=0: None
cuda.select = lambda device: None
cuda.release = lambda: None
cuda.sweep_cuda = kernel_stub
from backtest.cli import main
main(sys.argv[1:])
"""


def bench_kernel(repeat, device):
    from backtest import sweeps
    from backtest.sweeps.evaluate import Evaluator

    plan = sweeps.make_plan(CONFIG, GRID_1M, set=OVERRIDES)
    combos = len(plan.combos)
    evaluator = Evaluator(plan, jobs=os.cpu_count() or 1)
    start = time.perf_counter()
    evaluator._ensure_sets(np.unique(evaluator.point_set))
    weights_s = time.perf_counter() - start
    every = np.arange(combos)
    sample = np.unique(np.linspace(0, combos - 1, min(2000, combos)).astype(np.int64))
    cpu, _ = evaluator.run_batch(sample)
    evaluator.use_gpu(device)
    start = time.perf_counter()
    evaluator.run_batch(every[:1000])  # compiles (or loads the cached kernel)
    warm_s = time.perf_counter() - start
    median, runs = timed(lambda: evaluator.run_batch(every), repeat)
    gpu, _ = evaluator.run_batch(sample)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(gpu - cpu) / np.maximum(np.abs(cpu), 1e-300)
    both_nan = np.isnan(gpu) & np.isnan(cpu)
    return {
        "grid": GRID_1M,
        "combinations": combos,
        "rows": int(evaluator.contexts[0].prices.shape[0]),
        "strategy_parameter_sets": len(evaluator.set_points),
        "strategy_calls_s (for the CPU kernel's comparison)": weights_s,
        "first_batch_s (compile or cache load)": warm_s,
        "median_s": median,
        "runs_s": runs,
        "combos_per_s": combos / median,
        "max_rel_diff_vs_cpu_kernel": float(np.max(np.where(both_nan, 0.0, rel))),
        "nan_mismatches_vs_cpu_kernel": int((np.isnan(gpu) != np.isnan(cpu)).sum()),
    }


def bench_command(grid, repeat, device, host_only=False):
    launcher = ["-c", HOST_ONLY] if host_only else ["-m", "backtest.cli"]
    cmd = [sys.executable, *launcher, "sweep", str(CONFIG), "--backend", "cuda", "--device", str(device), "--top", "5"]
    for o in OVERRIDES:
        cmd += ["--set", o]
    for g in grid:
        cmd += ["--grid", g]
    walls, rss = [], []
    for _ in range(repeat):
        out = tempfile.mkdtemp(prefix="bench-cuda-")  # fresh: no resume
        start = time.perf_counter()
        probe = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(cmd + ["--out", out])], cwd=ROOT, check=True, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        rss.append(int(probe.stdout.split()[-1]) / 1024)
    from backtest import sweeps

    combos = len(sweeps.make_plan(CONFIG, grid, set=OVERRIDES).combos)
    wall = statistics.median(walls)
    return {"grid": grid, "combinations": combos, "wall_median_s": wall, "wall_runs_s": walls, "combos_per_s": combos / wall, "peak_rss_mib": max(rss)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--skip-10m", action="store_true")
    parser.add_argument("--host-only", action="store_true", help="no GPU: the kernel replaced by a stub (see the docstring)")
    args = parser.parse_args()
    from backtest.sweeps import backends

    if args.host_only:
        return host_only(args)

    problem = backends.gpu_problem(args.device)
    if problem is not None:
        sys.exit(f"bench_cuda: {problem}")
    from numba import cuda

    name = cuda.get_current_device().name
    report = {"gpu": name.decode() if isinstance(name, bytes) else str(name)}
    report["kernel_1m"] = bench_kernel(args.repeat, args.device)
    report["command_1m"] = bench_command(GRID_1M, args.repeat, args.device)
    report["command_distinct"] = bench_command(GRID_DISTINCT, 1, args.device)
    if not args.skip_10m:
        report["command_10m"] = bench_command(GRID_10M, 1, args.device)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_cuda.json").write_text(json.dumps(report, indent=2))
    k = report["kernel_1m"]
    print(f"{report['gpu']}: first10, {k['rows']:,} rows, every statistic, fp64")
    print(f"  kernel, 10^6 combinations: {k['median_s']:.3f} s = {k['combos_per_s']:,.0f} combos/s; max rel diff vs CPU {k['max_rel_diff_vs_cpu_kernel']:.1e}")
    for key in ("command_1m", "command_distinct", "command_10m"):
        if key in report:
            c = report[key]
            print(f"  backtest sweep --backend cuda, {c['combinations']:,} combinations: {c['wall_median_s']:.1f} s end to end = {c['combos_per_s']:,.0f} combos/s, peak RSS {c['peak_rss_mib']:,.0f} MiB")


def host_only(args):
    report = {"kernel": "stub (random statistics): host work only"}
    report["command_1m"] = bench_command(GRID_1M, args.repeat, args.device, host_only=True)
    if not args.skip_10m:
        report["command_10m"] = bench_command(GRID_10M, 1, args.device, host_only=True)
        report["command_distinct_10m"] = bench_command(GRID_DISTINCT_10M, 1, args.device, host_only=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_cuda_host.json").write_text(json.dumps(report, indent=2))
    print("host side of `backtest sweep --backend cuda` (kernel stubbed), first10 1926-2025, no benchmark")
    for key in ("command_1m", "command_10m", "command_distinct_10m"):
        if key in report:
            c = report[key]
            print(f"  {c['combinations']:,} combinations ({' '.join(c['grid'])}): {c['wall_median_s']:.1f} s, peak RSS {c['peak_rss_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
