"""Run directories: everything a run produced, written atomically, plus a manifest.

    <out>/<run_id>/
        config.yaml     the resolved config (defaults filled in, overrides applied)
        stats.json      the same object `backtest run --json` prints
        equity.csv      date, strategy and benchmark value, their drawdowns, each row's risk-free return
        weights.csv     the strategy's target weights (rebalance dates only)
        orders.csv      every filled order of the strategy (and benchmark, marked by `leg`)
        manifest.json   package versions, data file hashes, git commit, command line, config dir
        report.html, png/   with `backtest run --report`: written afterwards by `backtest.report`

The directory is built under a temporary name (`.<run_id>.<host>-<pid>.tmp`, hidden) and renamed
into place, so a crash never leaves a half-written run behind; the next run on the same host
removes the temporary directories whose process is gone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from backtest import data, stats
from backtest.data import cache
from backtest.errors import OutputError
from backtest.io import atomic_dir, remove_stale_temps, unwritable

PACKAGES = ("backtest", "vectorbt", "numba", "numpy", "pandas", "pydantic", "click")


def config_hash(config_dict: dict) -> str:
    text = json.dumps(config_dict, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def new_run_id(strategy_name: str, config_dict: dict) -> str:
    now = dt.datetime.now()
    salt = f"{config_hash(config_dict)}{now.isoformat()}{os.getpid()}"
    return f"{strategy_name}-{now:%Y%m%d-%H%M%S}-{hashlib.sha256(salt.encode()).hexdigest()[:6]}"


def _git_commit() -> str | None:
    repo = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str | None]:
    """The installed versions of the packages a run's numbers depend on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment() -> dict:
    """The software a run used: Python, package versions, git commit (what `rerun` compares)."""
    return {"python": platform.python_version(), "packages": package_versions(), "git_commit": _git_commit()}


def strategy_files(legs) -> dict[str, str]:
    """{path: sha256} of the files the legs' rules come from (built-in ones too: an edited
    strategy file is an input that changed, even where the git commit did not)."""
    files = {}
    for leg in legs:
        path = Path(leg.strategy.source)  # (a rule defined in memory has no file: "<...>")
        if path.is_file():
            files[str(path.resolve())] = cache.file_sha256(path)
    return files


def manifest(result) -> dict:
    prepared = result.prepared
    return {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": sys.argv,
        **environment(),
        # relative strategy files and data paths in config.yaml resolve against it (rerun)
        "config_dir": str(prepared.config.base_dir.resolve()),
        # a rule passed as an object with no file (`backtest.run(..., strategy=rule)`): no rerun
        "strategy_in_memory": result.strategy.leg.strategy.in_memory,
        "data_files": data.source_files(prepared.series_read, prepared.search_path, prepared.catalogs),
        "strategy_files": strategy_files(prepared.legs),
        "return_types": result.return_types,
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
    try:
        out_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(out_root, exc) from None
    remove_stale_temps(out_root)
    final = out_root / run_id

    def build(tmp: Path) -> None:
        init = result.prepared.config.portfolio.initial_cash
        legs = [leg for leg in (result.strategy, result.benchmark) if leg is not None]
        (tmp / "config.yaml").write_text(yaml.safe_dump(result.prepared.config.to_dict(), sort_keys=False))
        (tmp / "stats.json").write_text(json.dumps({**result.summary(), "run_id": run_id}, indent=2))
        curves = {}
        for leg in legs:
            curves[leg.leg.key] = leg.simulation.equity
            curves[f"{leg.leg.key}_drawdown"] = stats.drawdown_series(leg.simulation.equity, init)
        curves["risk_free"] = result.prepared.conventions.risk_free  # each row's, behind the excess-return figures
        write_csv(pd.DataFrame(curves).rename_axis("date").reset_index(), tmp / "equity.csv")
        write_csv(result.strategy.target_weights.rename_axis("date").reset_index(), tmp / "weights.csv")
        orders = pd.concat([leg.simulation.orders.assign(leg=leg.leg.key) for leg in legs], ignore_index=True)
        write_csv(orders, tmp / "orders.csv")
        (tmp / "manifest.json").write_text(json.dumps(manifest(result), indent=2))

    try:
        return atomic_dir(final, build)
    except OSError as exc:  # a full disk, a directory gone: the user's to fix
        raise OutputError(f"{final}: cannot write the run ({exc.strerror or exc}); nothing was kept") from exc
