"""Sweep speed and memory on the real data (1926-2025), against one `backtest run` and vectorbt.

Every figure is a median of --repeat runs, warm (numba and data caches filled by an untimed run
of each command first), on every CPU (--jobs 0), with the 1-minute load average before each
run. Sections (all by default; --only picks some):

- run: the baseline, `backtest run configs/first10.yaml` in a fresh process (wall time);
- rules: `backtest sweep` of first10 over lookback 1:60 x tilt 0:1:0.01 x hold 0:75:5 (96,960
  distinct rules), fresh process, wall time and peak RSS, and its ratio to the run;
- strategies: a grid of about 10^5 combinations over each shipped strategy's rule (costs added
  where the rule has few values), fresh process: combinations per second and peak RSS;
- costs: first10 over lookback 1:21 x fees 47 values x slippage 101 values (99,687
  combinations, 4,747 cost pairs, a benchmark curve each): wall time and peak RSS;
- million: first10 over lookback 1:60 x tilt 0:1:0.01 x hold 0:164 (999,900 distinct rules);
- vectorbt: the kernel alone in this process (first10's rule in its kernel form, simulation and
  every statistic) on a 10,200-combination grid, and `vbt.Portfolio.from_orders` on a
  100-combination slice of it (one call, cash sharing, target percent; the weights given, from
  `target_weights`) with its metrics; final values compared;
- ray: the same first10 grids of 1,010, 10,100, 96,960 and 999,900 combinations through the
  local backend and through Ray (a local Ray started by the sweep), fresh processes;
- compile: the cost of compiling a strategy's kernel form (first10's), once per strategy file:
  a small sweep with every other kernel cached, in a numba cache of its own, with the rule's
  kernel not yet cached and then cached.

Peak RSS is the largest process of the sweep (getrusage RUSAGE_CHILDREN of a clean parent; Ray's
workers are not counted). Prints a summary and writes bench/out/bench_sweep.json.

    python bench/bench_sweep.py [--repeat 3] [--only rules costs ...] [--ray-sizes 999900]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
BACKTEST = [sys.executable, "-m", "backtest.cli"]
FIRST10 = str(CONFIGS / "first10.yaml")
RULES = ["strategy.params.lookback=1:60", "strategy.params.tilt=0:1:0.01", "strategy.params.hold=0:75:5"]
MILLION = ["strategy.params.lookback=1:60", "strategy.params.tilt=0:1:0.01", "strategy.params.hold=0:164"]
COSTS = ["strategy.params.lookback=1:21", "portfolio.fees=0:0.0046:0.0001", "portfolio.slippage=0:0.001:0.00001"]
# about 10^5 combinations over each strategy's rule; (config, grid, assets traded)
STRATEGIES = {
    "first10": ("first10.yaml", RULES, 2),
    "january_effect": ("january_effect.yaml", ["strategy.params.start_month=1:12", "strategy.params.end_month=1:12",
                                               "strategy.params.tilt=0:1:0.01", "portfolio.fees=0:0.0006:0.0001"], 2),
    "size_momentum": ("size_momentum.yaml", ["strategy.params.months=1:36", "strategy.params.tilt=0:1:0.01",
                                             "portfolio.fees=0:0.0026:0.0001"], 2),
    "trend_filter": ("trend_filter.yaml", ["strategy.params.window=2:756", "portfolio.fees=0:0.0009:0.0001",
                                           "portfolio.slippage=0:0.0012:0.0001"], 1),
    "rate_regime": ("rate_regime.yaml", ["strategy.params.months=1:36", "strategy.params.window=5:250:5",
                                         "strategy.params.tilt=0.5:1.0:0.1", "strategy.params.min_change_bp=0,10,25,50,100,200,300,400,500"], 2),
    "sector_rotation": ("sector_rotation.yaml", ["strategy.params.lookback=1:756", "strategy.params.top=1:10",
                                                 "portfolio.fees=0:0.0012:0.0001"], 10),
    "cyclical_tilt": ("cyclical_tilt.yaml", ["strategy.params.lookback=1:500", "strategy.params.tilt=0:1:0.005"], 6),
}
RAY_GRIDS = {
    1010: ["strategy.params.lookback=1:10", "strategy.params.tilt=0:1:0.01"],
    10100: ["strategy.params.lookback=1:10", "strategy.params.tilt=0:1:0.01", "strategy.params.hold=0:9"],
    96960: RULES,
    999900: MILLION,
}
VBT_GRID = ["strategy.params.lookback=1:40", "strategy.params.tilt=0.5:1.0:0.01", "portfolio.fees=0,0.0005,0.001,0.0015,0.002"]

_PROBE = """
import json, resource, subprocess, sys
subprocess.run(json.loads(sys.argv[1]), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def command(args: list[str], repeat: int, combinations: int | None = None) -> dict:
    """`backtest ARGS --out TMP` in a fresh process, once untimed (warm caches), then `repeat`
    times: median wall time, each run's, the peak RSS and the load before each run."""
    def once():
        out = tempfile.mkdtemp(prefix="bench-sweep-")
        before = load()
        start = time.perf_counter()
        probe = subprocess.run([sys.executable, "-c", _PROBE, json.dumps([*BACKTEST, *args, "--out", out])],
                               cwd=ROOT, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - start
        shutil.rmtree(out, ignore_errors=True)
        return wall, int(probe.stdout.split()[-1]) / 1024, before

    once()
    runs = [once() for _ in range(repeat)]
    walls = [r[0] for r in runs]
    figures = {"args": args, "wall_median_s": statistics.median(walls), "walls_s": walls,
               "peak_rss_mib": max(r[1] for r in runs), "load_1min_before": [r[2] for r in runs]}
    if combinations:
        figures["combinations"] = combinations
        figures["combos_per_s"] = combinations / figures["wall_median_s"]
    return figures


def sweep_args(config: str, grid: list[str], *extra: str) -> list[str]:
    return ["sweep", config, *(f"--grid={g}" for g in grid), "--jobs", "0", "--top", "3", *extra]


def size(config: str, grid: list[str]) -> int:
    from backtest import sweeps

    return len(sweeps.make_plan(config, grid).combos)


def bench_vectorbt(repeat: int) -> dict:
    """The kernel alone on VBT_GRID (first10's kernel form), and vectorbt on a 100-combination slice."""
    import numba
    import pandas as pd
    import vectorbt as vbt

    from backtest import sweeps
    from backtest.sweeps.evaluate import Evaluator

    plan = sweeps.make_plan(FIRST10, VBT_GRID)
    combos = len(plan.combos)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    evaluator = Evaluator(plan, jobs=1)
    every = np.arange(combos)
    evaluator.run_batch(every[:100])
    loads = [load()]
    kernel, kernel_runs = timed(lambda: evaluator.run_batch(every), repeat)
    # vectorbt needs the weights: the strategy's own target_weights, per combination of the slice
    context = evaluator.contexts[0]
    returns = context.prepared.returns
    ids = np.linspace(0, combos - 1, 100).astype(int)
    closes, sizes, fees, groups = [], [], [], []
    from backtest.sweeps.contexts import weight_set

    for g, c in enumerate(ids):
        leg = evaluator.point_leg[int(evaluator.point_of_combo[c])]
        ws = weight_set(context, leg.strategy.target_weights(returns, leg.params))
        size_ = np.full((len(returns), len(ws.cols)), np.nan)
        size_[ws.rows] = ws.weights
        closes.append(context.prices[:, ws.cols])
        sizes.append(size_)
        fees.append(np.full(len(ws.cols), evaluator.kernel_scalars(np.array([c]))[0][0]))
        groups += [g] * len(ws.cols)
    close = pd.DataFrame(np.hstack(closes), index=returns.index)

    def run():
        pf = vbt.Portfolio.from_orders(
            close, size=np.hstack(sizes), size_type="targetpercent", direction="longonly", fees=np.concatenate(fees)[None, :],
            slippage=0.0, init_cash=100_000.0, cash_sharing=True, group_by=np.array(groups), call_seq="auto", freq="1D",
        )
        for metric in (pf.value, pf.total_return, pf.annualized_return, pf.sharpe_ratio, pf.sortino_ratio, pf.max_drawdown):
            metric()
        return pf

    pf = run()  # compiles vectorbt's functions
    loads.append(load())
    vbt_median, vbt_runs = timed(run, repeat)
    stats, _ = evaluator.run_batch(ids)
    ours = stats[:, evaluator.names.index("final_value")]
    return {
        "grid": VBT_GRID, "combinations": combos, "threads": numba.get_num_threads(),
        "kernel_median_s": kernel, "kernel_runs_s": kernel_runs, "kernel_combos_per_s": combos / kernel,
        "vectorbt_combinations": len(ids), "vectorbt_median_s": vbt_median, "vectorbt_runs_s": vbt_runs,
        "vectorbt_combos_per_s": len(ids) / vbt_median, "kernel_vs_vectorbt": (combos / kernel) / (len(ids) / vbt_median),
        "max_rel_diff_final_value": float(np.max(np.abs(ours / pf.value().to_numpy()[-1] - 1))), "load_1min_before": loads,
    }


HOST_FIRST10 = '"""first10 without its kernel form."""\nfrom strategies.first10 import PARAMS, target_weights\n'


def bench_compile(repeat: int) -> dict:
    """A 2-combination first10 sweep in fresh processes and a numba cache of their own, where every
    kernel but first10's kernel form is cached (by a sweep of first10 without it): the first
    compiles the rule's kernel, the next load it."""
    cold, warm, loads = [], [], []
    for _ in range(repeat):
        cache = tempfile.mkdtemp(prefix="bench-numba-")
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        host = Path(cache) / "first10_host.py"
        host.write_text(HOST_FIRST10)
        config = Path(cache) / "host.yaml"
        config.write_text((CONFIGS / "first10.yaml").read_text().replace("name: first10", f"file: {host}"))

        def sweep(config):
            out = tempfile.mkdtemp(prefix="bench-sweep-")
            start = time.perf_counter()
            subprocess.run([*BACKTEST, *sweep_args(str(config), ["strategy.params.lookback=3:4"]), "--out", out], cwd=ROOT, env=env,
                           check=True, capture_output=True)
            shutil.rmtree(out, ignore_errors=True)
            return time.perf_counter() - start

        sweep(config)  # every shared kernel compiled and cached
        loads.append(load())
        cold.append(sweep(FIRST10))
        warm.append(sweep(FIRST10))
        shutil.rmtree(cache, ignore_errors=True)
    return {"first_sweep_median_s": statistics.median(cold), "first_sweeps_s": cold, "next_sweep_median_s": statistics.median(warm),
            "next_sweeps_s": warm, "compile_s": statistics.median(cold) - statistics.median(warm), "load_1min_before": loads}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    sections = ["run", "rules", "strategies", "costs", "million", "vectorbt", "ray", "compile"]
    parser.add_argument("--only", nargs="+", choices=sections, default=sections)
    parser.add_argument("--ray-sizes", nargs="+", type=int, choices=sorted(RAY_GRIDS), default=sorted(RAY_GRIDS),
                        help="the grids of the ray section to run (the others keep their last figures)")
    args = parser.parse_args()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "bench_sweep.json"
    report = json.loads(path.read_text()) if path.exists() else {}  # sections not rerun keep their last figures
    report["cpus"] = os.cpu_count()

    def save():
        path.write_text(json.dumps(report, indent=2))

    if "run" in args.only:
        report["run"] = command(["run", FIRST10], args.repeat)
        save()
    if "rules" in args.only:
        report["rules"] = command(sweep_args(FIRST10, RULES), args.repeat, size(FIRST10, RULES))
        save()
    if "strategies" in args.only:
        report["strategies"] = {}
        for name, (config, grid, assets) in STRATEGIES.items():
            config = str(CONFIGS / config)
            report["strategies"][name] = {**command(sweep_args(config, grid), args.repeat, size(config, grid)), "assets": assets}
            save()
    if "costs" in args.only:
        report["costs"] = command(sweep_args(FIRST10, COSTS), args.repeat, size(FIRST10, COSTS))
        save()
    if "million" in args.only:
        report["million"] = command(sweep_args(FIRST10, MILLION), args.repeat, size(FIRST10, MILLION))
        save()
    if "vectorbt" in args.only:
        report["vectorbt"] = bench_vectorbt(args.repeat)
        save()
    if "ray" in args.only:
        report.setdefault("ray", {})
        for combinations in args.ray_sizes:
            grid = RAY_GRIDS[combinations]
            report["ray"][str(combinations)] = {
                "local": command(sweep_args(FIRST10, grid), args.repeat, combinations),
                "ray": command(sweep_args(FIRST10, grid, "--backend", "ray"), args.repeat, combinations),
            }
            save()
    if "compile" in args.only:
        report["compile"] = bench_compile(args.repeat)
        save()
    summary(report)
    print(f"written: {path}")


def summary(report: dict) -> None:
    def line(label, f):
        rate = f" {f['combos_per_s']:>9,.0f} combos/s" if "combos_per_s" in f else " " * 19
        print(f"  {label:<34} {f['wall_median_s']:7.2f} s{rate}  peak RSS {f['peak_rss_mib']:6,.0f} MiB  "
              f"(load {', '.join(f'{x:.2f}' for x in f['load_1min_before'])})")

    print(f"{report['cpus']} CPUs; medians; wall time of a fresh process")
    if "run" in report:
        line("backtest run first10", report["run"])
    if "rules" in report:
        line(f"first10 rules ({report['rules']['combinations']:,})", report["rules"])
        if "run" in report:
            print(f"  {'':<34} {report['rules']['wall_median_s'] / report['run']['wall_median_s']:.2f}x one run")
    for name, f in report.get("strategies", {}).items():
        line(f"{name} ({f['combinations']:,}, {f['assets']} assets)", f)
    if "costs" in report:
        line(f"first10 costs ({report['costs']['combinations']:,})", report["costs"])
    if "million" in report:
        line(f"first10 rules ({report['million']['combinations']:,})", report["million"])
    if "vectorbt" in report:
        v = report["vectorbt"]
        print(f"  kernel alone, {v['combinations']:,} combinations: {v['kernel_combos_per_s']:,.0f} combos/s; vectorbt from_orders "
              f"on {v['vectorbt_combinations']}: {v['vectorbt_combos_per_s']:,.1f} combos/s ({v['kernel_vs_vectorbt']:,.0f}x; final "
              f"values max rel diff {v['max_rel_diff_final_value']:.1e}; load {v['load_1min_before']})")
    if "compile" in report:
        c = report["compile"]
        print(f"  first10's kernel form: a 2-combination sweep {c['first_sweep_median_s']:.2f} s compiling it, {c['next_sweep_median_s']:.2f} s "
              f"with it cached: {c['compile_s']:.1f} s to compile (load {c['load_1min_before']})")
    for combinations, pair in sorted(report.get("ray", {}).items(), key=lambda item: int(item[0])):
        line(f"local, {int(combinations):,}", pair["local"])
        line(f"ray,   {int(combinations):,}", pair["ray"])


if __name__ == "__main__":
    main()
