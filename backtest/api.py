"""The public Python API: what `import backtest` offers, and what the `backtest` command prints.

    backtest.run(config, set=..., start=..., end=..., strategy=..., out=...)   -> RunResult
    backtest.sweep(config, grid={...}, ..., split=..., walk_forward=..., out=...) -> SweepResult
    backtest.compare(run_or_config, run_or_config, ..., out=...)               -> Comparison
    backtest.check(config, ...)                                                -> [LegReport]
    backtest.load(series_ids, start=..., end=...)                              -> DataFrame
    backtest.study.first10(...), .january, .rates, .sectors, .ytd              -> StudyResult

`config` is a YAML file's path or a dict with the YAML's shape; `set` a dict of dotted keys to
values (`{"strategy.params.lookback": 7}`), or "key=value" texts (one, or a list) as `--set` on
the command line takes them. Every function
computes in memory and writes nothing unless `out` names a results root; there it writes and
records exactly as the command line does. Bad input raises a `backtest.errors.UserError`
(ConfigError, DataError, StrategyError, ...) whose message names the file, key or date.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from backtest import config as configs
from backtest import pipeline
from backtest.errors import ConfigError
from backtest.io import check_writable


@dataclasses.dataclass(repr=False)
class RunResult(pipeline.RunResult):
    """One backtest's results (see `backtest.pipeline.RunResult` for the figures and curves),
    which can also draw itself: `report(path)` writes the HTML tearsheet, `figure()` gives
    growth of 1 as a plotly figure, and a notebook shows its statistics table."""

    @classmethod
    def of(cls, result: pipeline.RunResult) -> "RunResult":
        return cls(**{field.name: getattr(result, field.name) for field in dataclasses.fields(result)})

    def report(self, path: Path | str | None = None, png_dir: Path | str | None = None):
        """Write the HTML tearsheet (default: report.html in the run directory; a run not saved
        needs a path) and, with `png_dir`, the PNG charts; returns a `backtest.report.Report`."""
        from backtest.report import run_report

        if self.directory is not None:
            return run_report(self.directory, out=path, png_dir=png_dir)
        if path is None:
            raise ConfigError("report: give a path for the report of a run that was not saved (or save it first)")
        import tempfile

        from backtest.store import rundir

        with tempfile.TemporaryDirectory() as tmp:  # the report reads a run directory: write one aside
            directory = rundir.write_run(self, tmp, self.run_id or f"{self.strategy.leg.strategy.name}-unsaved")
            return run_report(directory, out=path, png_dir=png_dir)

    def figure(self):
        """Growth of 1 (log scale), strategy and benchmark: a plotly Figure."""
        from backtest.report import html

        return html.equity_figure(self.equity / self.prepared.config.portfolio.initial_cash, benchmark=self.benchmark is not None)


def run(
    config: str | Path | Mapping,
    *,
    set: Mapping[str, Any] | None = None,
    start: Any = None,
    end: Any = None,
    strategy: Any = None,
    out: Path | str | None = None,
):
    """Run one backtest: the strategy (and its benchmark) over the config's period.

    `strategy`: a module, or any object with a strategy's attributes (`PARAMS`,
    `target_weights`, a docstring), used instead of the config's strategy section (`set`
    then sets its own parameters, e.g. {"strategy.params.months": 3}; a config without a
    strategy section is fine then), named by `backtest.strategy.rule_name`. With `out`, the run
    directory is written under it and recorded in its registry (`RunResult.directory`); a rule
    defined in memory (no file) is marked so in the manifest, and `rerun` refuses it.
    """
    resolved = _config(config, set, start, end, strategy)
    if out is not None:
        check_writable(out)
    result = RunResult.of(pipeline.run_backtest(resolved, strategy))
    if out is not None:
        result.save(out)
    return result


def sweep(
    config: str | Path | Mapping,
    grid: Mapping[str, Any] | None = None,
    *,
    set: Mapping[str, Any] | None = None,
    start: Any = None,
    end: Any = None,
    strategy: Any = None,
    samples: int | None = None,
    seed: int | None = None,
    metric: str | None = None,
    split: str | None = None,
    walk_forward: str | None = None,
    backend: str = "local",
    jobs: int = 0,
    address: str | None = None,
    device: int = 0,
    top: int | None = None,
    keep_equity: bool = False,
    batch_size: int | None = None,
    heatmap: tuple[str, str] | None = None,
    out: Path | str | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
):
    """Run the config over a grid of values: `grid` maps dotted keys to a list of values or a
    spec ("5:20", "0:1:0.05", "a,b,c"), merged over the config's `sweep.grid`. `strategy`: a
    module imported from a file, used instead of the config's strategy section (as `run`).

    Guard rails: every sweep computes its winner's deflated Sharpe ratio; `split="START:END"`
    chooses in-sample and reports the winners after END; `walk_forward="train=30y,test=5y"`
    re-chooses on rolling windows. They are in `SweepResult.guard_rails`. With `out`, the
    sweep is written to `<out>/<sweep_id>/` as it runs (an interrupted sweep resumes), with the
    heatmap over `heatmap` (two swept keys; default: when exactly two are swept), and recorded.
    """
    from backtest.store import registry
    from backtest.sweeps import guards, make_plan, periods, resolve_key, run_sweep
    from backtest.sweeps.run import TOP_KEPT, removed_on_user_error

    base = configs.read(config)
    if strategy is not None:
        base = base.derive({"strategy": _strategy_section(strategy, in_memory_ok=False)})
    base = base.derive(_changes(set, start, end))
    whole = base.validate()
    if out is not None:
        check_writable(out)
    split = split or (whole.sweep.split if whole.sweep else None)
    walk_forward = walk_forward or (whole.sweep.walk_forward if whole.sweep else None)
    if split and walk_forward:
        raise ConfigError("--split: give --split or --walk-forward, not both")
    sweep_base = base
    if split:
        in_sample_start, in_sample_end = periods.parse_split(split)
        sweep_base = base.derive(configs.period_changes(in_sample_start, in_sample_end))
    walk = periods.parse_walk_forward(walk_forward) if walk_forward else None
    if split or walk:
        dates = periods.check_periods(whole, (in_sample_start, in_sample_end) if split else None, walk)
    plan_notes: list[str] = []
    plan = make_plan(sweep_base, grid, samples=samples, seed=seed, metric=metric, notify=plan_notes.append)
    axes = [resolve_key(plan, key) for key in heatmap] if heatmap else plan.keys
    if heatmap and (len(axes) != 2 or axes[0] == axes[1]):
        raise ConfigError("--heatmap: give two different swept keys, e.g. lookback,tilt")
    with removed_on_user_error(out, plan.sweep_id):  # a user error stops the sweep with nothing under `out`
        result = run_sweep(plan, out, jobs=jobs, backend=backend, address=address, keep_equity=keep_equity,
                           batch_size=batch_size, device=device, notify=notify, top=top or TOP_KEPT, on_batch=on_batch)
        if out is not None and len(axes) == 2 and result.combinations:
            from backtest.report import png

            others = [k for k in plan.keys if k not in axes]
            result.heatmap_path = png.heatmap(result.heatmap(*axes), *axes, plan.metric,
                                              result.directory / f"heatmap_{plan.metric}.png", others=others)
        result.notes[:0] = plan_notes
        guard_rails = result.guard_rails
        guard_rails["deflated_sharpe"] = None
        if result.combinations:
            guard_rails.update(guards.sweep_deflated_sharpes(result))
        if split:
            guard_rails["split"] = guards.split(plan, result, in_sample_end, (whole.period.start, whole.period.end), top=5)
        if walk:

            def window_sweep(window_start, window_end):
                window = base.derive(configs.period_changes(window_start.date(), window_end.date()))
                return run_sweep(make_plan(window, grid, samples=samples, seed=seed, metric=metric), None, jobs=jobs)

            report = guards.walk_forward(plan, *walk, window_sweep, dates)
            equity = report.pop("equity")
            if report["left_out"]:
                result.notes.append(report["left_out"])
            guard_rails["walk_forward"] = report
        if out is not None:
            guards.save_guard_rails(result.directory, guard_rails, equity if walk else None)
            _record_sweep(registry, out, result)
    return result


def _record_sweep(registry, out, result) -> None:
    """Record a finished sweep (its best combination); a registry failure is a note."""
    from backtest.sweeps import base_config

    plan = result.plan
    order = result.order()
    best = result.record(int(order[0])) if len(order) else {"params": None, "stats": None}
    dates = pipeline.prepare(plan.config(best["params"] or {})).returns.index  # the period of the best combination's figures
    problem = registry.try_record(
        registry.record_sweep, out, plan.sweep_id, base_config(plan), {a.key: a.values for a in plan.axes},
        result.combinations, best["stats"], best_params=best["params"], path=result.directory,
        start=f"{dates[0]:%Y-%m-%d}", end=f"{dates[-1]:%Y-%m-%d}", extra={"metric": plan.metric},
    )
    if problem:
        result.notes.append(problem)


def compare(
    *runs_or_configs,
    labels: list[str] | tuple[str, ...] = (),
    root: Path | str = "results",
    resamples: int | None = None,
    block: float | None = None,
    seed: int | None = None,
    out: Path | str | None = None,
):
    """Compare backtests on the dates they share (each rebased to 1 there, one set of conventions)
    and test each against the first (active return, Sharpe ratios and their difference).

    Each argument is a `RunResult`, a run id (or unique prefix) in `root`'s registry, a run
    directory, a config file, or "CONFIG --set key=value [--start D] [--end D]" in one string.
    With `out`, `<out>/compare-<id>/` is written (tables and charts).
    """
    from backtest import comparison

    if out is not None:
        check_writable(out)
    options = {"resamples": resamples, "block": block, "seed": seed}
    result = comparison.compare(list(runs_or_configs), root=root, labels=labels, **{k: v for k, v in options.items() if v is not None})
    if out is not None:
        from backtest.report.build import compare_pngs

        comparison.write(result, out, draw=compare_pngs)
    return result



def check(
    config: str | Path | Mapping,
    *,
    set: Mapping[str, Any] | None = None,
    start: Any = None,
    end: Any = None,
    strategy: Any = None,
    cuts: int = 20,
    seed: int = 0,
):
    """Look for look-ahead in the config's strategy and benchmark: each is rerun at `cuts` cut
    dates on truncated and scrambled futures, and every decision up to the cut must stay the
    same. Returns one `LegReport` per leg (`.clean`, `.offences`)."""
    from backtest import lookahead

    return lookahead.check(pipeline.prepare(_config(config, set, start, end, strategy), strategy), cuts=cuts, seed=seed)


def load(
    series_ids: list[str] | str,
    start: Any = None,
    end: Any = None,
    *,
    config: str | Path | Mapping | None = None,
    path: list[str | Path] | None = None,
    catalog: str | Path | list[str | Path] | None = None,
) -> pd.DataFrame:
    """Daily simple returns (fractions) of the series ids (e.g. "ff_size:Lo 30", "etf:SPY") on
    the dates all of them share, from `start` to `end` (inclusive), exactly as a run reads them:
    a missing value inside the period is an error naming the file and date. The data is found as a run
    of `config` would find it (its `data.path` and `data.catalog`), or through `path` (data
    directories) and `catalog` (user catalog files), relative to the working directory."""
    from backtest import data
    from backtest.data import from_config

    section, base_dir, source = configs.data_section(config if config is not None else {})
    if path is not None or catalog is not None:
        section = configs.DataSection(path=[str(p) for p in path] if path is not None else section.path,
                                      catalog=[str(c) for c in ([catalog] if isinstance(catalog, (str, Path)) else catalog)]
                                      if catalog is not None else section.catalog)
    catalogs = from_config.catalog_files(section, base_dir, source)
    ids = [series_ids] if isinstance(series_ids, str) else list(series_ids)
    for series_id in ids:
        data.check_series_id(series_id, catalogs)
    period = tuple(pd.Timestamp(date) if date else None for date in configs.period_dates(start, end))
    returns, _ = data.align_calendars(data.load_returns(ids, from_config.search_path(section, base_dir), period, catalogs))
    if returns.empty:  # as a run's period with no dates says
        span = f"{start or 'the first date'} to {end or 'the last date'}"
        raise ConfigError(f"start, end: no common trading dates of {', '.join(ids)} from {span}")
    return returns


def _config(config: str | Path | Mapping, set, start, end, strategy):
    """The validated config; a `strategy` object replaces the config's strategy section (its
    name, file and parameters: `set` then sets the object's own parameters)."""
    raw = configs.read(config)
    if strategy is not None:
        raw = raw.derive({"strategy": _strategy_section(strategy)})
    return raw.derive(_changes(set, start, end)).validate()


def _strategy_section(strategy: Any, in_memory_ok: bool = True) -> dict:
    """The strategy section a `strategy` object stands for: its name (`rule_name`), and its file
    where it has one (a module), so that a rerun or a sweep loads it again. A rule defined in memory
    has no file: a sweep, whose workers load the config's strategy, refuses it (`in_memory_ok`)."""
    from backtest.errors import StrategyError
    from backtest.strategy import rule_name

    name, file = rule_name(strategy), getattr(strategy, "__file__", None)
    if file is None and not in_memory_ok:
        raise StrategyError(f"strategy: {name!r} is defined in memory (no file); a sweep runs a strategy from a file: "
                            "save the rule as a .py file and pass the imported module, or set strategy.file")
    return {"name": name, "file": str(Path(file).resolve())} if file else {"name": name}


def _changes(set, start, end) -> list:
    """`set` (a mapping of dotted keys to values, one "key=value" text, or a list of texts or
    pairs) and the period, as changes for `RawConfig.derive`."""
    from backtest.sweeps.grid import plain

    if isinstance(set, str):
        set = [set]
    elif isinstance(set, Mapping):
        set = {key: plain(value) for key, value in set.items()}
    elif set is not None and not isinstance(set, (list, tuple)):
        raise ConfigError(f"set: expected a mapping of dotted keys to values, a 'key=value' text or a list of them, "
                          f"got {type(set).__name__}")
    return configs.overrides(set, start, end)
