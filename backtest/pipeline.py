"""One backtest, stage by stage: config -> data -> target weights -> engine -> statistics.

`run`, `sweep`, `compare`, `check` and `rerun` all go through `prepare` and `run_prepared`; none
of them re-implements a stage. A `RunResult` lives in memory; `RunResult.save` writes its run
directory and records it in the registry, exactly as `backtest run` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from backtest import data, stats
from backtest.config import Config, StatsSection, StrategyBlock
from backtest.engine import price_levels
from backtest.errors import ConfigError, DataError, StrategyError, UserError
from backtest.stats.conventions import AUTO, Conventions, risk_free_coverage
from backtest.stats.significance import MIN_RETURNS
from backtest.strategy import Strategy, load_strategy, strategy_from

RF_SERIES = "ff_factors:RF"  # the daily T-bill return: the cash asset of `portfolio.cash: rf`
MIN_SESSIONS = MIN_RETURNS  # the fewest sessions a period needs: n sessions give the significance tests n returns


@dataclass(frozen=True)
class Leg:
    """A strategy block resolved: the strategy and its typed parameters."""

    key: str  # "strategy" or "benchmark": the config key it came from
    strategy: Strategy
    params: SimpleNamespace

    @property
    def series(self) -> list[str]:
        """The series the leg trades."""
        return self.strategy.series(self.params)

    @property
    def reads(self) -> list[str]:
        """Every series the leg's rule reads: those it trades, then its signals."""
        return self.strategy.reads(self.params)


@dataclass(frozen=True)
class Prepared:
    """Everything loaded before any simulation: legs, aligned returns, data provenance."""

    config: Config
    legs: list[Leg]
    returns: pd.DataFrame  # aligned daily returns of every series the run needs
    dropped_rows: int  # dates dropped to align the series' calendars
    search_path: list[Path]
    catalogs: tuple[Path, ...]  # the user catalog files of config.data.catalog
    conventions: Conventions  # sessions a year and each row's risk-free return (config.stats)
    prices: np.ndarray  # (rows, columns of returns) price levels, checked (`backtest.engine.price_levels`)

    @property
    def series_read(self) -> list[str]:
        """Every series id the run's figures depend on: its returns' columns and the risk-free series."""
        risk_free = self.conventions.risk_free_source
        return list(dict.fromkeys([*self.returns.columns, *([risk_free] if isinstance(risk_free, str) else [])]))


@dataclass(frozen=True)
class LegResult:
    leg: Leg
    target_weights: pd.DataFrame
    simulation: object  # backtest.engine.Simulation
    stats: dict


def resolve_leg(block: StrategyBlock, key: str, config: Config, strategy: Any = None) -> Leg:
    """A strategy block's strategy (the given `strategy` object, or the block's name or file)
    and its parameters, typed by the strategy's declarations."""
    where = f"{config.source}: {key}"
    if strategy is not None:
        loaded = strategy_from(strategy, name=block.name, where=where)
    else:
        file = None
        if block.file:
            file = Path(block.file)
            file = file if file.is_absolute() else config.base_dir / file
        loaded = load_strategy(block.name, file, where=where)
    leg = Leg(key, loaded, loaded.resolve_params(block.params, where=f"{where}.params", catalogs=catalogs(config)))
    if not leg.series:
        raise StrategyError(f"{where}: strategy {loaded.name!r} ({loaded.source}) trades no series: a strategy must trade at "
                            "least one (declare a Param of kind series, series_list or weights, without signal=True)")
    return leg


def search_path(config: Config) -> list[Path] | None:
    return data.from_config.search_path(config.data, config.base_dir)


def catalogs(config: Config) -> tuple[Path, ...]:
    return data.from_config.catalog_files(config.data, config.base_dir, config.source)


def resolve_legs(config: Config, strategy: Any = None) -> tuple[list[Leg], list[str]]:
    """The config's legs (strategy, then benchmark if any) and every series id the run needs."""
    legs = [resolve_leg(config.strategy, "strategy", config, strategy)]
    if config.benchmark is not None:
        legs.append(resolve_leg(config.benchmark, "benchmark", config))
    for leg in legs:  # whole parameter sets (a sweep checks each swept value alone with `resolve_leg`)
        leg.strategy.check_traded_once(leg.params, f"{config.source}: {leg.key}.params")
    ids = [series for leg in legs for series in leg.reads]
    if config.portfolio.cash == "rf":
        ids.append(RF_SERIES)
    return legs, list(dict.fromkeys(ids))


def prepare(config: Config, strategy: Any = None) -> Prepared:
    """Resolve the strategy blocks (the strategy leg from `strategy` where given), load and
    align their data, and cut it to the period."""
    legs, ids = resolve_legs(config, strategy)
    path, user_catalogs = search_path(config), catalogs(config)
    start, end = config.period.start, config.period.end
    period = (pd.Timestamp(start) if start else None, pd.Timestamp(end) if end else None)
    returns, dropped = data.align_calendars(data.load_returns(ids, path, period, user_catalogs))
    if len(returns) < MIN_SESSIONS:
        span = f"{start or 'the first date'} to {end or 'the last date'}"
        count = "fewer than 2" if len(returns) < 2 else f"only {len(returns)}"
        raise ConfigError(f"{config.source}: period: {count} common trading dates of {', '.join(ids)} from {span} "
                          f"(the statistics need at least {MIN_SESSIONS})")
    for leg in legs:
        leg.strategy.check_history(returns.index, leg.params, f"{config.source}: {leg.key}")
    try:  # a level at or below zero, or overflowing, is named before any rule computes on it
        prices = price_levels(returns)
    except DataError as exc:  # with the files at fault: the series' file and the catalog saying what it holds
        series = [c for c in returns.columns if str(exc).startswith(f"series {c}:")]
        files = data.source_files(series, path, user_catalogs)
        raise DataError(f"{', '.join(files)}: {exc}" if files else str(exc)) from None
    conventions = resolve_conventions(config.stats, returns.index, path, user_catalogs, config.source)
    return Prepared(config, legs, returns, dropped, path or data.default_search_path(), user_catalogs, conventions, prices)


def resolve_conventions(settings: StatsSection, index: pd.DatetimeIndex, path=None, user_catalogs=(),
                        source: str = "config") -> Conventions:
    """The conventions of a period (`index`) under a config's `stats` settings.

    `risk_free: auto` accrues `ff_factors:RF` where it covers the whole period and is 0 otherwise,
    with a note saying why; a series id must cover it (ConfigError naming the key otherwise); a
    number is an annual rate.
    """
    setting = settings.risk_free
    if not isinstance(setting, str):
        return Conventions.resolve(index, settings.periods_per_year, setting)
    series_id = RF_SERIES if setting == AUTO else setting
    try:
        if setting != AUTO:
            data.check_series_id(series_id, user_catalogs)
        rf = data.load_returns([series_id], path, None, user_catalogs)[series_id]  # missing values: its coverage says
        reason = risk_free_coverage(rf, index, series_id)
    except UserError as exc:
        if setting != AUTO:
            raise ConfigError(f"{source}: stats.risk_free: {exc}") from None
        rf, reason = None, f"{series_id} cannot be read ({exc})"
    if reason is not None:
        if setting != AUTO:
            raise ConfigError(f"{source}: stats.risk_free: {reason}; choose another series, a rate (e.g. 0.02) or auto")
        note = f"note: risk-free rate 0 (Sharpe, Sortino and alpha over zero): {reason}"
        return Conventions.resolve(index, settings.periods_per_year, setting, note=note)
    return Conventions.resolve(index, settings.periods_per_year, setting, rf_series=rf, rf_name=series_id)


def run_leg(prepared: Prepared, leg: Leg) -> LegResult:
    """Target weights -> simulation -> statistics for one leg."""
    from backtest.engine import simulate

    portfolio = prepared.config.portfolio
    conventions = prepared.conventions
    weights = leg.strategy.target_weights(prepared.returns, leg.params)
    simulation = simulate(prepared.returns, weights, **_engine_settings(prepared.config))
    figures = stats.performance(
        simulation.equity,
        portfolio.initial_cash,
        conventions.periods_per_year,
        traded=simulation.traded,
        fees=simulation.fees,
        risk_free=conventions.risk_free,
    )
    return LegResult(leg, weights, simulation, figures)


def _engine_settings(config: Config) -> dict:
    portfolio = config.portfolio
    return {"initial_cash": portfolio.initial_cash, "fees": portfolio.fees, "slippage": portfolio.slippage,
            "cash_asset": RF_SERIES if portfolio.cash == "rf" else None}


def run_backtest(config: Config, strategy: Any = None) -> "RunResult":
    return run_prepared(prepare(config, strategy))


def run_prepared(prepared: Prepared) -> "RunResult":
    """Every leg of a prepared run, the strategy's figures relative to the benchmark, and the
    significance of its edge over it."""
    initial = prepared.config.portfolio.initial_cash
    conventions = prepared.conventions
    strategy = run_leg(prepared, prepared.legs[0])
    benchmark = run_leg(prepared, prepared.legs[1]) if len(prepared.legs) > 1 else None
    significance = None
    if benchmark is not None:
        strategy.stats.update(
            stats.relative(strategy.simulation.equity, initial, benchmark.simulation.equity, initial,
                           conventions.periods_per_year, risk_free=conventions.risk_free)
        )
        significance = edge_significance(strategy.simulation.equity, benchmark.simulation.equity, initial, initial,
                                         conventions, name=prepared.legs[0].strategy.name)
    result = RunResult(prepared, strategy, benchmark, significance=significance)
    if conventions.note:
        result.notes.append(conventions.note)
    mixed = data.mixed_returns_message(result.return_types)
    if mixed:
        result.notes.append(f"note: {mixed}")
    return result


def edge_significance(equity: pd.Series, benchmark_equity: pd.Series, initial: float, benchmark_initial: float,
                      conventions: Conventions, name: str, against: str = "its benchmark") -> dict:
    """`backtest.stats.edge.significance` of two equity curves on the same dates (each measured from its
    initial value) under the period's conventions."""
    from backtest.stats.edge import significance

    return significance(stats.daily_returns(equity, initial), stats.daily_returns(benchmark_equity, benchmark_initial),
                        conventions.risk_free.to_numpy(), conventions.periods_per_year, name=name, against=against)


@dataclass(repr=False)
class RunResult:
    """One backtest's results, in memory (`backtest.run`).

    `stats` and `benchmark_stats` hold the figures of `backtest run --json` (see the README's
    Statistics section for their definitions and conventions); `conventions` how they were
    computed (sessions a year, risk-free rate); `significance` whether the strategy's edge over
    its benchmark is more than luck (None without a benchmark); `equity`, `drawdown`,
    `weights` and `orders` the curves and trades behind them. `save(out)` writes the run
    directory and records it; `to_vectorbt()` gives vectorbt's own Portfolio of the strategy leg.
    (`backtest.run` returns `backtest.api.RunResult`, which also draws: `report`, `figure`.)
    """

    prepared: Prepared
    strategy: LegResult
    benchmark: LegResult | None
    significance: dict | None = None  # `backtest.stats.edge.significance` vs the benchmark
    run_id: str | None = None  # set by `save`
    directory: Path | None = None  # the run directory, once saved
    notes: list[str] = field(default_factory=list)  # one-line warnings about the run (mixed return types, ...)

    def __repr__(self) -> str:
        legs = " vs ".join(leg.leg.strategy.name for leg in self.legs)
        return f"<RunResult {legs}, {self.start} → {self.end}, sharpe {self.strategy.stats['sharpe']:.3f}>"

    @property
    def config(self) -> dict:
        """The resolved config (defaults filled in, overrides applied), as YAML-ready values."""
        return self.prepared.config.to_dict()

    @property
    def start(self) -> str:
        return self.prepared.returns.index[0].strftime("%Y-%m-%d")

    @property
    def end(self) -> str:
        return self.prepared.returns.index[-1].strftime("%Y-%m-%d")

    @property
    def stats(self) -> pd.Series:
        """The strategy's statistics (relative ones against the benchmark included)."""
        return pd.Series(self.strategy.stats, name=self.strategy.leg.strategy.name, dtype=object)

    @property
    def benchmark_stats(self) -> pd.Series | None:
        if self.benchmark is None:
            return None
        return pd.Series(self.benchmark.stats, name=self.benchmark.leg.strategy.name, dtype=object)

    @property
    def conventions(self) -> dict:
        """How the figures are computed: sessions a year, calendar CAGR, the risk-free rate (the
        `"conventions"` object of --json)."""
        return self.prepared.conventions.to_json()

    @property
    def return_types(self) -> dict[str, str]:
        """{series id: "total" | "price"} of every series the run read, as the catalogs declare."""
        return data.return_types(list(self.prepared.returns.columns), self.prepared.catalogs)

    @property
    def equity(self) -> pd.DataFrame:
        """Portfolio value at each close: `strategy` and, where there is one, `benchmark`."""
        return pd.DataFrame({leg.leg.key: leg.simulation.equity for leg in self.legs}).rename_axis("date")

    @property
    def drawdown(self) -> pd.DataFrame:
        """Each leg's fall from its running peak (the peak starts at the initial cash)."""
        initial = self.prepared.config.portfolio.initial_cash
        return pd.DataFrame({leg.leg.key: stats.drawdown_series(leg.simulation.equity, initial) for leg in self.legs}).rename_axis("date")

    @property
    def weights(self) -> pd.DataFrame:
        """The strategy's target weights on its rebalance dates (columns: series ids)."""
        return self.strategy.target_weights

    @property
    def orders(self) -> pd.DataFrame:
        """Every filled order of both legs (`leg` says whose)."""
        return pd.concat([leg.simulation.orders.assign(leg=leg.leg.key) for leg in self.legs], ignore_index=True)

    @property
    def legs(self) -> list[LegResult]:
        """The strategy leg, and the benchmark leg where there is one."""
        return [leg for leg in (self.strategy, self.benchmark) if leg is not None]

    def summary(self) -> dict:
        """The statistics as one JSON-ready object (what `backtest run --json` prints)."""
        from backtest.io import json_safe

        return json_safe({
            "run_id": self.run_id,
            "start": self.start,
            "end": self.end,
            "conventions": self.conventions,
            "strategy": self.strategy.stats,
            "benchmark": self.benchmark.stats if self.benchmark else None,
            "significance": self.significance,
        })

    def save(self, out: Path | str = "results") -> Path:
        """Write the run directory under `out` (atomically) and record it in `out`'s registry; a
        registry failure only adds a note (the run directory is already whole)."""
        from backtest.store import registry, rundir

        self.run_id = rundir.new_run_id(self.strategy.leg.strategy.name, self.config)
        self.directory = rundir.write_run(self, out, self.run_id)
        problem = registry.try_record(registry.record_run, out, self.run_id, self.config, self.summary(), run_dir=self.directory)
        if problem:
            self.notes.append(problem)
        return self.directory

    def to_vectorbt(self):
        """The strategy leg as vectorbt's own `Portfolio` (same prices, orders and settings),
        for vectorbt's analytics."""
        from backtest.engine.vectorbt import portfolio

        return portfolio(self.prepared.returns, self.strategy.target_weights, **_engine_settings(self.prepared.config))

    def _repr_html_(self) -> str:
        from html import escape

        from backtest.display import edge_lines, stat_rows

        columns = {"Strategy": self.strategy.stats}
        if self.benchmark is not None:
            columns["Benchmark"] = self.benchmark.stats
        legs = " vs ".join(f"{leg.leg.strategy.name}({', '.join(leg.leg.series)})" for leg in self.legs)
        head = "".join(f"<th>{escape(h)}</th>" for h in ["", *columns])
        body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in stat_rows(columns))
        lines = edge_lines({"conventions": self.conventions, "significance": self.significance}, with_note=True)
        return (f"<p><b>{escape(legs)}</b> {self.start} → {self.end}, {len(self.prepared.returns):,} sessions</p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                + "".join(f"<p>{escape(line)}</p>" for line in lines))
