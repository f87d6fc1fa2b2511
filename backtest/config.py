"""YAML config -> validated, typed config; `--set dotted.key=value` overrides.

The key paths are a contract (`--set`, sweeps and the run registry use them):

    strategy:  {name: first10, params: {...}}           # or {file: path/to/rule.py, params: {...}}
    benchmark: {name: buy_and_hold, params: {...}}      # or null for none
    portfolio: {initial_cash: 100000, fees: 0.0005, slippage: 0.0, cash: none}   # cash: none | rf
    period:    {start: null, end: null}
    data:      {path: null, catalog: null}               # data directories; user catalog file(s)
    stats:     {periods_per_year: auto, risk_free: auto}    # or a number; a series id or an annual rate

Strategy parameters are typed by the strategy's own declarations (see `backtest.strategy`);
everything else by the models below. Every error is a ConfigError naming the file and key.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backtest import io
from backtest.errors import ConfigError, did_you_mean


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyBlock(_Section):
    name: str | None = None
    file: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _name_or_file(self):
        if not self.name and not self.file:
            raise ValueError("give a strategy name or file")
        return self


class PortfolioSection(_Section):
    # at least 1: orders of a few 1e-12 units fall under the engine's tolerances (vectorbt's too)
    initial_cash: float = Field(100_000.0, ge=1, allow_inf_nan=False)
    fees: float = Field(0.0005, ge=0, lt=1, allow_inf_nan=False)
    slippage: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    cash: Literal["none", "rf"] = "none"


class PeriodSection(_Section):
    start: dt.date | None = None
    end: dt.date | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _calendar_date(cls, value):
        # pydantic also reads numbers (and digit strings) as Unix timestamps: 0 would be 1970-01-01
        if value is None or isinstance(value, dt.date):
            return value
        if not (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())):
            raise ValueError("expected a date as YYYY-MM-DD")
        return value.strip()

    @model_validator(mode="after")
    def _ordered(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class DataSection(_Section):
    path: list[str] | None = None

    @field_validator("path", mode="before")
    @classmethod
    def _one_directory(cls, value):
        return [value] if isinstance(value, str) else value  # `path: ../mydata` as `path: [../mydata]`
    catalog: str | list[str] | None = None  # user catalog file(s), see backtest.data.datasets


class StatsSection(_Section):
    """The statistics' conventions (`backtest.stats.conventions`): `periods_per_year` "auto" (the
    period's own sessions per calendar year) or a number; `risk_free` "auto" (ff_factors:RF where
    it covers the period, else 0), a series id, or an annual rate (0.02)."""

    periods_per_year: int | float | Literal["auto"] = "auto"
    risk_free: float | str = "auto"

    @field_validator("periods_per_year", mode="before")
    @classmethod
    def _auto_or_positive(cls, value):
        if value != "auto" and not (_is_number(value) and value > 0):
            raise ValueError("expected auto or a positive number of periods a year, e.g. 252")
        return value

    @field_validator("risk_free", mode="before")
    @classmethod
    def _rate_or_series(cls, value):
        if isinstance(value, str) and (value == "auto" or ":" in value):
            return value
        if not (_is_number(value) and -1 < value < 1):
            raise ValueError("expected auto, a series id (dataset:column) or an annual rate such as 0.02")
        return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class SweepSection(_Section):
    """`backtest sweep` defaults: grid {dotted key: "a:b" | "a:b:step" | "v1,v2" | [values]}."""

    grid: dict[str, Any] = Field(default_factory=dict)
    samples: int | None = Field(None, gt=0)
    seed: int = 0
    metric: str = "sharpe"
    split: str | None = None  # "IN_SAMPLE_START:IN_SAMPLE_END", as --split
    walk_forward: str | None = None  # "train=30y,test=5y", as --walk-forward


class Config(_Section):
    strategy: StrategyBlock
    benchmark: StrategyBlock | None = None
    portfolio: PortfolioSection = Field(default_factory=PortfolioSection)
    period: PeriodSection = Field(default_factory=PeriodSection)
    data: DataSection = Field(default_factory=DataSection)
    stats: StatsSection = Field(default_factory=StatsSection)
    sweep: SweepSection | None = None  # read by `backtest sweep` only
    # where the config came from: relative strategy files and data paths resolve against it;
    # `source` (the file, or "config") starts every error message about one of its keys
    base_dir: Path = Field(default=Path("."), exclude=True)
    source: str = Field(default="config", exclude=True)

    def to_dict(self) -> dict:
        """The resolved config as plain YAML-ready values."""
        return self.model_dump(mode="json")


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: a date stays text until its key's model parses it, so
    a date that does not exist (2020-02-30) is an error naming the key, not a crash in the parser."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_scalar(text: str) -> Any:
    """A value as YAML reads it ('7' -> 7, '0.5' -> 0.5, 'null' -> None, 'ff_size:Lo 10' -> that
    text); text YAML cannot read stays text."""
    text = text.strip()
    if not text:
        return ""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text


def read_yaml(path: str | Path) -> dict:
    """Parse a YAML config file into a dict; ConfigError naming the file on failure."""
    path = Path(path)
    raw = io.read_yaml(path, "config", ConfigError, _Loader)
    if raw is None:
        raise ConfigError(f"{path}: empty config (expected a YAML mapping with a 'strategy' key)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping with a 'strategy' key, not a {type(raw).__name__}")
    return raw


def parse_assignment(text: str) -> tuple[str, Any]:
    """'a.b.c=value' -> ('a.b.c', value), the value read as a YAML scalar (7, 0.001, null, ...)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected dotted.key=value")
    return key, yaml_scalar(value) if value.strip() else ""


def set_dotted(raw: dict, key: str, value: Any, where: str = "--set") -> None:
    """Assign `value` at the dotted `key` of a nested dict, creating sections as needed."""
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{where} {key}: {'.'.join(parts[: i + 1])} is not a section")
        node = child
    node[parts[-1]] = value


@dataclass(frozen=True)
class RawConfig:
    """A config before validation: the YAML mapping, where it came from (`source`, the start of
    every error message about it) and the directory its relative paths resolve against."""

    raw: dict
    source: str = "config"
    base_dir: Path = field(default_factory=lambda: Path("."))

    def derive(self, changes: Mapping[str, Any] | Iterable = (), where: str = "--set") -> "RawConfig":
        """A copy with dotted keys set: the one way to derive a config from another (`--set`,
        a sweep's combinations, a guard rail's period). `changes`: {dotted key: value}, or
        (key, value) pairs, or "key=value" texts as `--set` takes them."""
        raw = copy.deepcopy(self.raw)
        try:
            for key, value in as_changes(changes):
                set_dotted(raw, key, value, where)
        except ConfigError as exc:
            raise ConfigError(f"{self.source}: {exc}") from None
        return RawConfig(raw, self.source, self.base_dir)

    def validate(self) -> "Config":
        return validate(copy.deepcopy(self.raw), source=self.source, base_dir=self.base_dir)


def as_changes(changes: Mapping[str, Any] | Iterable) -> list[tuple[str, Any]]:
    """Dotted changes as (key, value) pairs, from a mapping, pairs, or "key=value" texts."""
    if isinstance(changes, Mapping):
        return list(changes.items())
    return [parse_assignment(item) if isinstance(item, str) else tuple(item) for item in changes]


def read(config: "str | Path | Mapping | RawConfig") -> RawConfig:
    """A config file's path, or a mapping with the YAML's shape (relative paths against the
    working directory), as a RawConfig."""
    if isinstance(config, RawConfig):
        return config
    if isinstance(config, Mapping):
        return RawConfig(copy.deepcopy(dict(config)), "config", Path("."))
    path = Path(config)
    return RawConfig(read_yaml(path), str(path), path.parent)


def period_changes(start: Any = None, end: Any = None) -> dict:
    """`--start` / `--end` as dotted changes (only those given)."""
    return {key: str(value) for key, value in (("period.start", start), ("period.end", end)) if value is not None}


def overrides(set: Mapping[str, Any] | Iterable | None = None, start: Any = None, end: Any = None) -> list:
    """`set` (a mapping, pairs or "key=value" texts) and a period, as one list of changes for
    `RawConfig.derive`."""
    changes = list(set.items()) if isinstance(set, Mapping) else list(set or ())
    return changes + list(period_changes(start, end).items())


_INTERNAL_KEYS = ("base_dir", "source")


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The section model holding the key at `loc` (None below a free-form mapping such as params)."""
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not candidates:
            return None
        model = candidates[0]
    return model


def _unknown_key_message(loc: tuple) -> str:
    """'unknown key', with the closest valid key of the same section when one is close."""
    model = _model_at(loc)
    if model is None:
        return "unknown key"
    valid = [name for name in model.model_fields if name not in _INTERNAL_KEYS]
    return f"unknown key{did_you_mean(str(loc[-1]), valid)} (valid keys: {', '.join(valid)})"


def validate(raw: dict, source: str = "config", base_dir: Path | str = ".") -> Config:
    """Validate a raw config dict; ConfigError naming `source` and the first bad key."""
    for key in _INTERNAL_KEYS:
        if key in raw:
            raise ConfigError(f"{source}: {key}: {_unknown_key_message((key,))}")
    try:
        return Config.model_validate({**raw, "base_dir": Path(base_dir), "source": source})
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc)}") from None


def data_section(config: "str | Path | Mapping | RawConfig") -> tuple[DataSection, Path, str]:
    """A config's `data` section alone, validated (ConfigError naming the key), with the
    directory its paths are relative to and the config's name."""
    raw = read(config)
    try:
        return DataSection.model_validate(raw.raw.get("data") or {}), raw.base_dir, raw.source
    except ValidationError as exc:
        raise ConfigError(f"{raw.source}: {_first_error(exc, ('data',))}") from None


def period_dates(start: Any = None, end: Any = None) -> tuple[dt.date | None, dt.date | None]:
    """`start` and `end` checked as a config's period (YYYY-MM-DD, start not after end), for
    functions that take them as arguments; ConfigError naming the argument."""
    try:
        period = PeriodSection.model_validate({"start": start, "end": end})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if not error["loc"]:  # the section's own check: start after end
            raise ConfigError(message) from None
        raise ConfigError(f"{error['loc'][0]}: {error['input']!r} is not a date (YYYY-MM-DD): {message}") from None
    return period.start, period.end


def _first_error(exc: ValidationError, prefix: tuple = ()) -> str:
    """'key: message' of a validation error: a misspelt key first (before the key it misses)."""
    errors = exc.errors()
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = (*prefix, *error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: {_unknown_key_message(loc)}"
    message = error["msg"].removeprefix("Value error, ")
    if "input" in error and error["type"] not in ("missing",) and not isinstance(error["input"], dict):
        message += f" (got {error['input']!r})"
    return f"{key}: {message}"


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a config file, apply `--set key=value` overrides, validate."""
    return read(path).derive(list(overrides)).validate()
