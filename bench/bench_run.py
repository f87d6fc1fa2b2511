"""Whole-process wall time of `backtest run configs/first10.yaml`, warm and cold.

warm: the numba cache and the data cache already filled (by one untimed run);
cold: both emptied before every run (fresh NUMBA_CACHE_DIR and BACKTEST_CACHE_DIR).
Also times `import vectorbt` alone, so the time spent outside that import can be reported.
Prints medians of 5 (configurable) and writes bench/out/bench_run.json.

    python bench/bench_run.py [--repeat 5] [--config configs/first10.yaml]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(cmd, env):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--config", default="configs/first10.yaml")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-results-"))
    run = [sys.executable, "-m", "backtest.cli", "run", args.config, "--out", str(out)]
    warm_env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(), BACKTEST_CACHE_DIR=tempfile.mkdtemp())
    wall(run, warm_env)  # fill both caches
    warm = [wall(run, warm_env) for _ in range(args.repeat)]
    vbt_import = [wall([sys.executable, "-c", "import vectorbt"], warm_env) for _ in range(args.repeat)]
    bare_python = [wall([sys.executable, "-c", "pass"], warm_env) for _ in range(args.repeat)]
    cold = []
    for _ in range(args.repeat):
        env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(), BACKTEST_CACHE_DIR=tempfile.mkdtemp())
        cold.append(wall(run, env))

    report = {
        "config": args.config,
        "repeat": args.repeat,
        "warm_median_s": statistics.median(warm),
        "cold_median_s": statistics.median(cold),
        "import_vectorbt_median_s": statistics.median(vbt_import),
        "python_startup_median_s": statistics.median(bare_python),
        "warm_outside_vectorbt_import_s": statistics.median(warm) - statistics.median(vbt_import),
        "warm_runs_s": warm,
        "cold_runs_s": cold,
    }
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    (ROOT / "bench" / "out" / "bench_run.json").write_text(json.dumps(report, indent=2))
    for key, value in report.items():
        if key.endswith("_s") and not isinstance(value, list):
            print(f"{key:36s} {value:8.3f}")


if __name__ == "__main__":
    main()
