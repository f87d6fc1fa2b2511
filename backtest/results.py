"""Run directories: everything a run produced, written atomically, plus a manifest.

    <out>/<run_id>/
        config.yaml     the resolved config (defaults filled in, overrides applied)
        stats.json      the same object `backtest run --json` prints
        equity.csv      date, strategy and benchmark value, and their drawdowns
        weights.csv     the strategy's target weights (rebalance dates only)
        orders.csv      every filled order of the strategy (and benchmark, marked by `leg`)
        manifest.json   package versions, data file hashes, git commit, command line
        report.html, png/   with `backtest run --report`: written afterwards by `backtest.report`

The directory is built under a temporary name and renamed into place, so a crash never leaves
a half-written run behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from backtest import data, stats

PACKAGES = ("backtest", "vectorbt", "numba", "numpy", "pandas", "pydantic", "click")


def json_safe(value):
    """Replace NaN and infinities by None, recursively, so the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def config_hash(config_dict: dict) -> str:
    text = json.dumps(config_dict, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def new_run_id(strategy_name: str, config_dict: dict) -> str:
    now = dt.datetime.now()
    salt = f"{config_hash(config_dict)}{now.isoformat()}{os.getpid()}"
    return f"{strategy_name}-{now:%Y%m%d-%H%M%S}-{hashlib.sha256(salt.encode()).hexdigest()[:6]}"


def summary(result, run_id: str) -> dict:
    """The run's statistics as one JSON-ready object (what `--json` prints)."""
    return json_safe(
        {
            "run_id": run_id,
            "start": result.start,
            "end": result.end,
            "strategy": result.strategy.stats,
            "benchmark": result.benchmark.stats if result.benchmark else None,
        }
    )


def _git_commit() -> str | None:
    repo = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def manifest(result) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    prepared = result.prepared
    return {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": sys.argv,
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": _git_commit(),
        "data_files": data.source_files(list(prepared.returns.columns), prepared.search_path),
        "calendar": {
            "rows": len(prepared.returns),
            "dropped_to_align": prepared.dropped_rows,
            "series": list(prepared.returns.columns),
        },
    }


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A DataFrame as CSV with ISO dates, through pyarrow (ten times faster than pandas here)."""
    import pyarrow as pa
    import pyarrow.csv

    columns = {}
    for name, column in frame.items():
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.dt.strftime("%Y-%m-%d")
        columns[str(name)] = column
    pyarrow.csv.write_csv(pa.table(columns), path, pyarrow.csv.WriteOptions(quoting_style="needed"))


def write_run(result, out_root: Path | str, run_id: str) -> Path:
    """Write the run directory atomically; return its path."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / run_id
    tmp = out_root / f".{run_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        init = result.prepared.config.portfolio.initial_cash
        legs = [leg for leg in (result.strategy, result.benchmark) if leg is not None]
        (tmp / "config.yaml").write_text(yaml.safe_dump(result.prepared.config.to_dict(), sort_keys=False))
        (tmp / "stats.json").write_text(json.dumps(summary(result, run_id), indent=2))
        curves = {}
        for leg in legs:
            curves[leg.leg.key] = leg.simulation.equity
            curves[f"{leg.leg.key}_drawdown"] = stats.drawdown_series(leg.simulation.equity, init)
        write_csv(pd.DataFrame(curves).rename_axis("date").reset_index(), tmp / "equity.csv")
        write_csv(result.strategy.target_weights.rename_axis("date").reset_index(), tmp / "weights.csv")
        orders = pd.concat([leg.simulation.orders.assign(leg=leg.leg.key) for leg in legs], ignore_index=True)
        write_csv(orders, tmp / "orders.csv")
        (tmp / "manifest.json").write_text(json.dumps(manifest(result), indent=2))
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
