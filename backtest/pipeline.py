"""One backtest, stage by stage: config -> data -> target weights -> engine -> statistics.

`run`, `sweep`, `compare` and `study` all go through `prepare` and `run_backtest`; none of them
re-implements a stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from backtest import data, stats
from backtest.config import Config, StrategyBlock
from backtest.errors import ConfigError
from backtest.strategy import Strategy, load_strategy

RF_SERIES = "ff_factors:RF"


@dataclass(frozen=True)
class Leg:
    """A strategy block resolved: the strategy and its typed parameters."""

    key: str  # "strategy" or "benchmark": the config key it came from
    strategy: Strategy
    params: SimpleNamespace

    @property
    def series(self) -> list[str]:
        return self.strategy.series(self.params)


@dataclass(frozen=True)
class Prepared:
    """Everything loaded before any simulation: legs, aligned returns, data provenance."""

    config: Config
    legs: list[Leg]
    returns: pd.DataFrame  # aligned daily returns of every series the run needs
    dropped_rows: int  # dates dropped to align the series' calendars
    search_path: list[Path]
    catalogs: tuple[Path, ...] = ()  # the user catalog files of config.data.catalog


@dataclass(frozen=True)
class LegResult:
    leg: Leg
    target_weights: pd.DataFrame
    simulation: object  # backtest.engine.Simulation
    stats: dict


@dataclass(frozen=True)
class RunResult:
    prepared: Prepared
    strategy: LegResult
    benchmark: LegResult | None

    @property
    def start(self) -> str:
        return self.prepared.returns.index[0].strftime("%Y-%m-%d")

    @property
    def end(self) -> str:
        return self.prepared.returns.index[-1].strftime("%Y-%m-%d")


def resolve_leg(block: StrategyBlock, key: str, config: Config) -> Leg:
    file = None
    if block.file:
        file = Path(block.file)
        file = file if file.is_absolute() else config.base_dir / file
    where = f"{config.source}: {key}"
    strategy = load_strategy(block.name, file, where=where)
    return Leg(key, strategy, strategy.resolve_params(block.params, where=f"{where}.params", catalogs=catalogs(config)))


def search_path(config: Config) -> list[Path] | None:
    return data.from_config.search_path(config.data, config.base_dir)


def catalogs(config: Config) -> tuple[Path, ...]:
    return data.from_config.catalog_files(config.data, config.base_dir, config.source)


def resolve_legs(config: Config) -> tuple[list[Leg], list[str]]:
    """The config's legs (strategy, then benchmark if any) and every series id the run needs."""
    legs = [resolve_leg(config.strategy, "strategy", config)]
    if config.benchmark is not None:
        legs.append(resolve_leg(config.benchmark, "benchmark", config))
    ids = [series for leg in legs for series in leg.series]
    if config.portfolio.cash == "rf":
        ids.append(RF_SERIES)
    return legs, list(dict.fromkeys(ids))


def prepare(config: Config) -> Prepared:
    """Resolve the strategy blocks, load and align their data, and cut it to the period."""
    legs, ids = resolve_legs(config)
    path = search_path(config)
    start, end = config.period.start, config.period.end
    period = (pd.Timestamp(start) if start else None, pd.Timestamp(end) if end else None)
    returns, dropped = data.align_calendars(data.load_returns(ids, path, period, catalogs(config)))
    if len(returns) < 2:
        span = f"{start or 'the first date'} to {end or 'the last date'}"
        raise ConfigError(f"{config.source}: period: fewer than 2 common trading dates of {', '.join(ids)} from {span}")
    for leg in legs:
        leg.strategy.check_history(returns.index, leg.params, f"{config.source}: {leg.key}")
    return Prepared(config, legs, returns, dropped, path or data.default_search_path(), catalogs(config))


def run_leg(prepared: Prepared, leg: Leg) -> LegResult:
    """Target weights -> simulation -> statistics for one leg."""
    from backtest.engine import simulate

    portfolio = prepared.config.portfolio
    weights = leg.strategy.target_weights(prepared.returns, leg.params)
    simulation = simulate(
        prepared.returns,
        weights,
        initial_cash=portfolio.initial_cash,
        fees=portfolio.fees,
        slippage=portfolio.slippage,
        cash_asset=RF_SERIES if portfolio.cash == "rf" else None,
    )
    figures = stats.performance(
        simulation.equity,
        portfolio.initial_cash,
        prepared.config.stats.periods_per_year,
        traded=simulation.traded,
        fees=simulation.fees,
    )
    return LegResult(leg, weights, simulation, figures)


def run_backtest(config: Config) -> RunResult:
    return run_prepared(prepare(config))


def run_prepared(prepared: Prepared) -> RunResult:
    """Every leg of a prepared run, and the strategy's figures relative to the benchmark."""
    config = prepared.config
    strategy = run_leg(prepared, prepared.legs[0])
    benchmark = run_leg(prepared, prepared.legs[1]) if len(prepared.legs) > 1 else None
    if benchmark is not None:
        strategy.stats.update(
            stats.relative(
                strategy.simulation.equity,
                config.portfolio.initial_cash,
                benchmark.simulation.equity,
                config.portfolio.initial_cash,
                config.stats.periods_per_year,
            )
        )
    return RunResult(prepared, strategy, benchmark)
