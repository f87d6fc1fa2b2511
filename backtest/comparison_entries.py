"""What `backtest compare` compares: each argument read as an `Entry`.

An argument is one of
    a run id (or a unique prefix) from the registry in `<out>/registry.sqlite`,
    a run directory (`<out>/<run_id>/`, as `backtest run` writes it),
    a config file, or a config followed by overrides in one quoted argument:
        "configs/first10.yaml --set strategy.params.lookback=5 [--start DATE] [--end DATE]"
    or a `RunResult` in memory (the Python API).
Config arguments go through the one pipeline (`backtest.pipeline.run_backtest`); recorded runs
are read back from their directories. Only each entry's strategy leg is compared; an entry keeps
its full-period statistics and conventions, and the settings to compute figures on other dates.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from backtest.config import DataSection, StatsSection
from backtest.errors import UserError


class CompareError(UserError):
    """A compare argument is neither a run id, a run directory nor a config (with overrides)."""


@dataclass
class Entry:
    """One compared backtest: its strategy leg's equity curve, full-period statistics and the
    settings to compute figures on other dates with."""

    label: str
    source: str  # the argument as given
    kind: str  # "run" (recorded), "config" (run now through the pipeline) or "result" (in memory)
    equity: pd.Series
    initial_cash: float
    stats: dict  # full period, under its own conventions
    strategy: str
    settings: StatsSection  # its config's `stats` section
    conventions: dict | None = None  # its own conventions (None: recorded before they were stored)
    search_path: list[Path] | None = None  # where its data was found (for a risk-free series)
    catalogs: tuple[Path, ...] = ()
    run_id: str | None = None
    overrides: list[str] = field(default_factory=list)
    return_types: dict = field(default_factory=dict)  # series id -> "total" | "price" (backtest.data)
    notes: list[str] = field(default_factory=list)  # its run's one-line notes (a run now: a zero risk-free rate, ...)

    @property
    def start(self) -> str:
        return self.equity.index[0].strftime("%Y-%m-%d")

    @property
    def end(self) -> str:
        return self.equity.index[-1].strftime("%Y-%m-%d")


def parse_argument(text: str) -> tuple[str, list[str]]:
    """'CONFIG [--set k=v]... [--start D] [--end D]' -> (CONFIG, overrides); a plain id -> (id, [])."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise CompareError(f"{text!r}: cannot parse ({exc})") from None
    if not tokens:
        raise CompareError("an empty argument: give a run id or a config file")
    head, rest, overrides = tokens[0], tokens[1:], []
    i = 0
    while i < len(rest):
        token = rest[i]
        name, eq, value = token.partition("=")
        if name in ("--set", "--start", "--end"):
            if not eq:
                if i + 1 >= len(rest):
                    raise CompareError(f"{text!r}: {token} needs a value")
                value = rest[i + 1]
                i += 1
            overrides.append(value if name == "--set" else f"period.{name[2:]}={value}")
        else:
            raise CompareError(f"{text!r}: unexpected {token!r} (expected CONFIG [--set key=value]...)")
        i += 1
    return head, overrides


def _short_override(text: str) -> str:
    key, _, value = text.partition("=")
    return f"{key.removeprefix('strategy.params.').removeprefix('period.')}={value}"


def _from_config(path: Path, overrides: list[str], source: str) -> Entry:
    from backtest.config import load_config
    from backtest.pipeline import run_backtest

    entry = from_result(run_backtest(load_config(path, overrides)), source)
    entry.label = " ".join([path.stem, *map(_short_override, overrides)])
    entry.kind, entry.overrides = "config", overrides
    return entry


def from_result(result, source: str = "") -> Entry:
    """An Entry from a `RunResult` in memory (`backtest.compare(result, ...)`)."""
    prepared = result.prepared
    leg = result.strategy
    return Entry(
        label=result.run_id or leg.leg.strategy.name,
        source=source or result.run_id or leg.leg.strategy.name,
        kind="run" if result.run_id else "result",
        equity=leg.simulation.equity.astype(float),
        initial_cash=float(prepared.config.portfolio.initial_cash),
        stats=dict(leg.stats),
        strategy=leg.leg.strategy.name,
        settings=prepared.config.stats,
        conventions=result.conventions,
        search_path=prepared.search_path,
        catalogs=prepared.catalogs,
        run_id=result.run_id,
        return_types=result.return_types,
        notes=[note for note in result.notes if "mixes total returns" not in note],  # the mix is judged across entries
    )


def _from_run_dir(run_dir: Path, source: str, run_id: str | None = None) -> Entry:
    import yaml
    from pydantic import ValidationError

    from backtest.data import from_config

    run_id = run_id or run_dir.name
    try:
        equity = pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=True)["strategy"]
        summary = json.loads((run_dir / "stats.json").read_text())
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        manifest = json.loads((run_dir / "manifest.json").read_text()) if (run_dir / "manifest.json").is_file() else {}
        settings = StatsSection.model_validate(config.get("stats") or {})
        data = DataSection.model_validate(config.get("data") or {})
    except (OSError, ValueError, KeyError, yaml.YAMLError, ValidationError) as exc:
        raise CompareError(f"{run_dir}: not a readable run directory ({exc})") from None
    base_dir = manifest.get("config_dir") or "."
    strategy_block = config.get("strategy") or {}
    stats = {k: (math.nan if v is None else v) for k, v in (summary.get("strategy") or {}).items()}
    return Entry(
        label=run_id,
        source=source,
        kind="run",
        equity=equity.astype(float),
        initial_cash=float((config.get("portfolio") or {}).get("initial_cash", 100_000.0)),
        stats=stats,
        strategy=strategy_block.get("name") or Path(strategy_block.get("file") or "?").stem,
        settings=settings,
        conventions=summary.get("conventions"),
        search_path=from_config.search_path(data, base_dir),
        catalogs=from_config.catalog_files(data, base_dir, str(run_dir / "config.yaml")),
        run_id=run_id,
        return_types=manifest.get("return_types") or {},
    )


def resolve(text: str, root: Path | str) -> Entry:
    """One compare argument -> an Entry (see the module docstring for what it may be)."""
    from backtest.store import registry

    # a path that exists as given (even one with spaces) is never split
    head, overrides = (text, []) if Path(text).exists() else parse_argument(text)
    path = Path(head)
    if path.is_file() or overrides or path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise CompareError(f"{head}: config file not found")
        return _from_config(path, overrides, text)
    if path.is_dir():
        if (path / "equity.csv").is_file():
            return _from_run_dir(path, text)
        raise CompareError(f"{head}: a directory, but not a run directory (no equity.csv)")
    record = registry.find_run(root, head)
    if record is None:
        raise CompareError(f"{head}: not a config file, run directory or run id in {registry.db_path(root)}")
    if record.kind != "run" or not record.path or not (Path(record.path) / "equity.csv").is_file():
        where = record.path or "no directory"
        raise CompareError(f"{record.id}: a {record.kind} without an equity curve ({where})")
    return _from_run_dir(Path(record.path), text, run_id=record.id)


def unique_labels(entries: list[Entry], labels: list[str]) -> None:
    if labels and len(labels) != len(entries):  # one per entry, or none: which entry a lone label names is a guess
        times = "once" if len(labels) == 1 else f"{len(labels)} times"
        raise CompareError(f"--label given {times} for {len(entries)} entries (give one per entry, in order, or none)")
    for entry, label in zip(entries, labels):
        entry.label = label
    seen: dict[str, int] = {}
    for entry in entries:
        n = seen.get(entry.label, 0) + 1
        seen[entry.label] = n
        if n > 1:
            entry.label = f"{entry.label} #{n}"
