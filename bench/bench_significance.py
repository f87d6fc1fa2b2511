"""Speed of the significance building blocks, and what importing them costs next to the libraries.

Imports: `python -X importtime -c "import numpy, pandas; import X"`, the cumulative time of the
imports after numpy and pandas (loaded by every command), and the same after vectorbt (loaded by
`run`), for backtest's three modules and for statsmodels.api, arch.bootstrap and scipy.stats.
Functions: on 26,003 daily rows (the length of Ken French's 1926-2025 history; synthetic
returns, so no data is needed): the stationary-bootstrap Sharpe interval and paired difference
for 1,000 / 2,000 / 10,000 resamples, arch's conf_int(method="percentile") for the same, and
the Newey-West test. Prints medians of 5 (configurable) and writes bench/out/bench_significance.json.

    python bench/bench_significance.py [--repeat 5]
"""

import argparse
import json
import statistics
import subprocess
import sys

import numpy as np

from bench_run import ROOT  # bench/ is on sys.path
from bench_sweep import timed

ROWS = 26003
# what is loaded before: numpy and pandas by every command, vectorbt (and with it scipy) by `run`
BASES = {"after numpy + pandas": ("import numpy, pandas", "pandas"),
         "after vectorbt": ("import numpy, pandas, vectorbt", "vectorbt")}
MODULES = {
    "backtest significance + bootstrap + conventions": "import backtest.stats.significance, backtest.stats.bootstrap, backtest.stats.conventions",
    "statsmodels.api": "import statsmodels.api",
    "arch.bootstrap": "import arch.bootstrap",
    "scipy.stats": "import scipy.stats",
}


def imported_after(base, last, code):
    """Seconds `python -X importtime` spends on the top-level imports that follow module `last`."""
    lines = subprocess.run([sys.executable, "-X", "importtime", "-c", f"{base}; {code}"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stderr.splitlines()
    entries = [line.split("|") for line in lines if line.startswith("import time:") and "cumulative" not in line]
    top_level = [(name.strip(), int(cumulative)) for _, cumulative, name in entries if not name.startswith("  ")]
    after = [us for name, us in top_level[[name for name, _ in top_level].index(last) + 1:]]
    return sum(after) / 1e6


def import_costs(repeat):
    return {f"{name} {where}": statistics.median(imported_after(base, last, code) for _ in range(repeat))
            for where, (base, last) in BASES.items() for name, code in MODULES.items()}


def function_times(repeat):
    from arch.bootstrap import StationaryBootstrap

    from backtest.stats.bootstrap import sharpe_difference_interval, sharpe_interval
    from backtest.stats.significance import newey_west, sharpe_ratio

    rng = np.random.default_rng(0)
    x = rng.normal(0.0004, 0.01, ROWS)
    y = 0.8 * x + rng.normal(0.0001, 0.006, ROWS)
    times = {"newey_west": timed(lambda: newey_west(x - y), repeat)[0]}
    for reps in (1000, 2000, 10000):
        times[f"sharpe_interval {reps}"] = timed(lambda: sharpe_interval(x, 262.9, n_resamples=reps), repeat)[0]
        times[f"sharpe_difference_interval {reps}"] = timed(
            lambda: sharpe_difference_interval(x, y, 262.9, n_resamples=reps), repeat)[0]
        arch = StationaryBootstrap(30, x, y, seed=0)
        times[f"arch conf_int difference {reps}"] = timed(lambda: arch.conf_int(
            lambda a, b: sharpe_ratio(a, 262.9) - sharpe_ratio(b, 262.9), reps=reps, method="percentile"), repeat)[0]
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    report = {"rows": ROWS, "repeat": args.repeat, "import_s": import_costs(args.repeat),
              "call_s": function_times(args.repeat)}
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    (ROOT / "bench" / "out" / "bench_significance.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
