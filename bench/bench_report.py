"""Whole-process wall time of `backtest report` on a whole-history first10 run, and the sizes.

One untimed `backtest run CONFIG` writes the run directory; then `backtest report RUN_DIR`
(HTML only) and `backtest report RUN_DIR --png DIR` are timed. Prints medians of 3
(configurable), the HTML and PNG sizes, and writes bench/out/bench_report.json.

    python bench/bench_report.py [--repeat 3] [--config configs/first10.yaml]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_run import ROOT, wall  # the same timer as the run benchmark (bench/ is on sys.path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--config", default="configs/first10.yaml")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-report-"))
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(), BACKTEST_CACHE_DIR=tempfile.mkdtemp())
    cli = [sys.executable, "-m", "backtest.cli"]
    subprocess.run([*cli, "run", args.config, "--out", str(out)], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    png_dir = out / "png"
    html_only = [wall([*cli, "report", str(run_dir)], env) for _ in range(args.repeat)]
    with_png = [wall([*cli, "report", str(run_dir), "--png", str(png_dir)], env) for _ in range(args.repeat)]
    report = {
        "config": args.config,
        "repeat": args.repeat,
        "sessions": sum(1 for _ in open(run_dir / "equity.csv")) - 1,
        "html_median_s": statistics.median(html_only),
        "html_and_png_median_s": statistics.median(with_png),
        "html_bytes": (run_dir / "report.html").stat().st_size,
        "png_bytes": {p.name: p.stat().st_size for p in sorted(png_dir.glob("*.png"))},
    }
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    (ROOT / "bench" / "out" / "bench_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
