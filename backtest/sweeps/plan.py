"""The plan of a sweep: the base config, its axes, every combination (as value indices) and the
sweep id. Plain data, picklable for remote workers; nothing here loads market data."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from backtest.config import Config, RawConfig, read
from backtest.errors import ConfigError
from backtest.sweeps.grid import parse_grid_option, parse_values

KERNEL_KEYS = ("portfolio.fees", "portfolio.slippage", "portfolio.initial_cash")  # per-combination scalars of the kernel
DEFAULT_METRIC = "sharpe"
MAX_COMBINATIONS = 10_000_000  # a full grid beyond this needs --samples (the plan is held in memory)


@dataclass(frozen=True)
class Axis:
    key: str
    values: list


@dataclass
class Plan:
    """Everything that defines a sweep (and its id); plain data, picklable for remote workers."""

    base: RawConfig  # the base config (overrides applied, without `sweep`)
    axes: list[Axis]
    combos: np.ndarray  # (C, A) int32, column-major: value index of each axis, in combination order
    metric: str
    samples: int | None
    seed: int
    sweep_id: str = ""
    strategy_name: str = "sweep"

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    def params(self, c: int) -> dict:
        """The swept values of combination c, by dotted key."""
        return {a.key: a.values[int(i)] for a, i in zip(self.axes, self.combos[c])}

    def config(self, params: Mapping[str, Any] = {}, period: tuple | None = None) -> Config:
        """The base config with these swept values (and a new (start, end) period), validated."""
        changes = dict(params)
        if period is not None:
            for key, date in zip(("period.start", "period.end"), period):
                changes[key] = None if date is None else str(pd.Timestamp(date).date())
        return self.base.derive(changes, where="--grid").validate()


def make_plan(
    config: str | Path | Mapping | RawConfig,
    grid: Mapping[str, Any] | Iterable[str] | None = None,
    set: Mapping[str, Any] | Iterable | None = None,
    samples: int | None = None,
    seed: int | None = None,
    metric: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> Plan:
    """Read the config, apply the `set` overrides, merge the `sweep:` section with `grid` ({dotted
    key: values or a spec such as "5:20"}, or "key=spec" texts as `--grid` takes them; a key
    replaces the same key of the section), expand and validate the grid. `samples` at least the
    grid's size is the whole grid, the same plan (and sweep id) as no sampling, said through
    `notify(line)`."""
    base = read(config).derive(set or ())
    whole = base.validate()
    section = whole.sweep
    axes: dict[str, list] = {}
    if section is not None:
        for key, spec in section.grid.items():
            axes[key] = parse_values(spec, where=f"{base.source}: sweep.grid.{key}")
    if grid is not None and not isinstance(grid, Mapping):
        options = [parse_grid_option(option) for option in grid]
        grid = dict(options)
        if len(grid) < len(options):  # a dict would keep the last of a key given twice, silently
            twice = next(key for k, (key, _) in enumerate(options) if key in [other for other, _ in options[:k]])
            raise ConfigError(f"--grid {twice}: given twice; give all its values in one --grid (e.g. {twice}=1,2,3)")
    for key, spec in (grid or {}).items():
        axes[key] = parse_values(spec, where=f"--grid {key}")
    if not axes:
        raise ConfigError(f"{base.source}: nothing to sweep (give --grid key=values or a sweep.grid section)")
    where = "--samples"
    if samples is None and section is not None:
        samples, where = section.samples, f"{base.source}: sweep.samples"
    if seed is None:
        seed = section.seed if section is not None else 0
    if metric is None:
        metric = section.metric if section is not None else DEFAULT_METRIC
    base = RawConfig({k: v for k, v in base.raw.items() if k != "sweep"}, base.source, base.base_dir)
    axis_list = [Axis(k, v) for k, v in axes.items()]
    sizes = [len(a.values) for a in axis_list]
    total = math.prod(sizes)
    if samples is not None and samples < 1:
        raise ConfigError(f"{where}: must be at least 1")
    if samples is not None and samples >= total:
        if notify is not None:
            notify(f"note: {where} {samples:,} is not fewer than the grid's {total:,} combinations: the whole grid runs "
                   "(the same sweep as without sampling)")
        samples = None
    if samples is not None:
        rng = np.random.default_rng(seed)
        flat = np.sort(rng.choice(total, size=samples, replace=False))
    else:
        if total > MAX_COMBINATIONS:
            raise ConfigError(f"grid: {total:,} combinations; use --samples to draw a subset")
        flat = np.arange(total)
    # int32 value indices (an axis has at most 10^7 values): a 10^7-combination plan of 4 axes is
    # 160 MB; column-major, so an axis's column (what the sweep reads) is contiguous
    combos = np.empty((len(flat), len(sizes)), dtype=np.int32, order="F")
    if len(flat) == total:  # the whole grid: each column is a value index repeated in blocks
        for i, size in enumerate(sizes):
            combos[:, i].reshape(math.prod(sizes[:i]), size, -1)[:] = np.arange(size, dtype=np.int32)[None, :, None]
    else:
        for i, column in enumerate(np.unravel_index(flat, sizes)):
            combos[:, i] = column
    plan = Plan(
        base=base,
        axes=axis_list,
        combos=combos,
        metric=metric,
        samples=samples,
        seed=int(seed),
        strategy_name=whole.strategy.name or Path(whole.strategy.file or "strategy").stem,
    )
    _check_axes(plan)
    plan.sweep_id = sweep_id(plan)
    return plan


def _check_axes(plan: Plan) -> None:
    """Validate every value of every axis on the base config, like `backtest run --set key=value`."""
    from backtest.pipeline import resolve_leg

    for axis in plan.axes:
        for value in axis.values:
            config = plan.config({axis.key: value})
            if axis.key.startswith(("strategy.", "benchmark.")):
                resolve_leg(config.strategy, "strategy", config)
                if config.benchmark is not None:
                    resolve_leg(config.benchmark, "benchmark", config)


def base_config(plan: Plan) -> dict:
    """The resolved base config (defaults filled in, overrides applied, no `sweep` section)."""
    base = plan.config().to_dict()
    base.pop("sweep", None)
    return base


def sweep_id(plan: Plan) -> str:
    """Deterministic: the same base config, grid and sampling give the same id."""
    payload = {
        "config": base_config(plan),
        "base_dir": str(Path(plan.base.base_dir).resolve()),
        "grid": [[a.key, a.values] for a in plan.axes],
        "samples": plan.samples,
        "seed": plan.seed if plan.samples is not None else None,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{plan.strategy_name}-sweep-{digest[:12]}"


def cost_variants(plan: Plan, combos: np.ndarray) -> np.ndarray:
    """Each combination's cost variant: the number of its swept (fees, slippage, initial cash)
    values among all of theirs (0 for every combination when none of them is swept)."""
    axes = [i for i, a in enumerate(plan.axes) if a.key in KERNEL_KEYS]
    if not axes:
        return np.zeros(len(combos), dtype=np.int64)
    picked = plan.combos[np.asarray(combos, dtype=np.int64)]
    return np.ravel_multi_index(tuple(picked[:, i] for i in axes), [len(plan.axes[i].values) for i in axes]).astype(np.int64)


def stat_names(with_relative: bool) -> list[str]:
    from backtest.stats.nb import RELATIVE_STAT_NAMES, STAT_NAMES

    return list(STAT_NAMES) + (list(RELATIVE_STAT_NAMES) if with_relative else [])


def check_metric(plan: Plan) -> None:
    names = stat_names(has_benchmark(plan))
    if plan.metric not in names:
        raise ConfigError(f"--metric {plan.metric}: unknown statistic (known: {', '.join(names)})")


def resolve_key(plan: Plan, name: str) -> str:
    """A swept key by its dotted name or a unique last part ("tilt" for strategy.params.tilt)."""
    name = name.strip()
    if name in plan.keys:
        return name
    matches = [k for k in plan.keys if k.endswith("." + name)]
    if len(matches) != 1:
        problem = "ambiguous" if matches else "not a swept key"
        raise ConfigError(f"--heatmap {name}: {problem} (swept: {', '.join(plan.keys)})")
    return matches[0]


def has_benchmark(plan: Plan) -> bool:
    """Whether any combination has a benchmark (without loading any data)."""
    point_axes = [i for i, a in enumerate(plan.axes) if a.key not in KERNEL_KEYS]
    if not any(plan.axes[i].key.startswith("benchmark") for i in point_axes):
        return plan.base.raw.get("benchmark") is not None
    values = [plan.axes[i].values for i in point_axes]
    for combo in itertools.product(*values):
        changes = [(plan.axes[i].key, v) for i, v in zip(point_axes, combo)]
        if plan.base.derive(changes, where="--grid").raw.get("benchmark") is not None:
            return True
    return False
