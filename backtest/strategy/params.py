"""Declared strategy parameters: their kinds, bounds, and coercion of user values.

A parameter is declared once, in the strategy's `PARAMS`; configs, `--set`, sweeps and
`backtest strategies` all read the declaration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from backtest.errors import StrategyError

KINDS = ("int", "float", "bool", "str", "choice", "series", "series_list", "weights")
SERIES_KINDS = ("series", "series_list", "weights")  # kinds that name series (traded, or read as signals)
HISTORY_UNITS = ("sessions", "months")


@dataclass(frozen=True)
class Param:
    """One declared strategy parameter.

    kind: "int", "float", "bool", "str", "choice" (one of `choices`), "series" (a series id such as
    "ff_size:Lo 30"), "series_list" (a non-empty list of distinct series ids) or "weights" (a
    mapping of series id to weight).
    min/max bound numeric kinds (inclusive) and are the natural range of a sweep.
    history: "sessions" or "months" on an int parameter: the rule needs that much history before
    its first decision, so a run's period must be longer (an error names the parameter).
    signal: on a series or series_list parameter: series the rule reads but never trades (a
    T-bill rate, say); they are loaded for the rule but are no column of its weights.
    """

    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    help: str = ""
    history: str | None = None
    signal: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.history is not None and (self.kind != "int" or self.history not in HISTORY_UNITS):
            raise ValueError(f"parameter {self.name!r}: history is for int parameters, one of {HISTORY_UNITS}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"parameter {self.name!r}: min {self.min} is above max {self.max}")
        if self.signal and self.kind not in ("series", "series_list"):
            raise ValueError(f"parameter {self.name!r}: signal is for series and series_list parameters")

    def coerce(self, value: Any, where: str, catalogs: Sequence = ()) -> Any:
        """Return `value` as this parameter's type, or raise StrategyError naming `where`."""

        def fail(expected: str):
            raise StrategyError(f"{where}: expected {expected}, got {value!r}")

        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                fail("an integer")
            try:
                number = float(value)
            except ValueError:
                fail("an integer")
            if not number.is_integer():
                fail("an integer")
            value = int(number)
        elif self.kind == "float":
            if isinstance(value, bool):
                fail("a number")
            try:
                value = float(value)
            except (TypeError, ValueError):
                fail("a number")
            if not math.isfinite(value):
                fail("a finite number")
        elif self.kind == "bool":
            if not isinstance(value, bool):
                fail("true or false")
        elif self.kind in ("str", "series"):
            if not isinstance(value, str) or not value:
                fail("a series id such as 'ff_size:Lo 30'" if self.kind == "series" else "a string")
            if self.kind == "series":
                _check_series(value, where, catalogs)
        elif self.kind == "series_list":
            if not isinstance(value, (list, tuple)) or not value:
                fail("a list of series ids such as ['ff_industry10:Manuf', 'ff_industry10:Hlth']")
            for i, series_id in enumerate(value):
                if not isinstance(series_id, str) or not series_id:
                    raise StrategyError(f"{where}[{i}]: expected a series id, got {series_id!r}")
                _check_series(series_id, f"{where}[{i}]", catalogs)
            if len(set(value)) < len(value):
                fail("distinct series ids")
            value = list(value)
        elif self.kind == "choice":
            if value not in self.choices:
                fail("one of " + ", ".join(map(str, self.choices)))
        elif self.kind == "weights":
            if not isinstance(value, dict) or not value:
                fail("a mapping of series id to weight")
            coerced = {}
            for series_id, weight in value.items():
                _check_series(str(series_id), f"{where}.{series_id}", catalogs)
                if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                    raise StrategyError(f"{where}.{series_id}: expected a weight >= 0, got {weight!r}")
                coerced[str(series_id)] = float(weight)
            if sum(coerced.values()) > 1 + 1e-9:
                raise StrategyError(f"{where}: weights sum to {sum(coerced.values()):g}, more than 1 (no leverage)")
            value = coerced
        if self.kind in ("int", "float"):
            if self.min is not None and value < self.min or self.max is not None and value > self.max:
                fail(f"a value in [{self.min}, {self.max}]")
        return value


def _check_series(series_id: str, where: str, catalogs: Sequence = ()) -> None:
    """Check a series id against the data catalogs (built-in and `catalogs`, the user's catalog
    files), naming the config key on failure."""
    from backtest.data import check_series_id
    from backtest.errors import DataError

    try:
        check_series_id(series_id, catalogs)
    except DataError as exc:
        raise StrategyError(f"{where}: {exc}") from exc


def parameter_column(values: list) -> np.ndarray:
    """One parameter's values as an array: numbers as numbers, anything else as objects."""
    if all(isinstance(v, (bool, int, float)) for v in values):
        return np.asarray(values)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def parameter_columns(params_list: list[SimpleNamespace]) -> SimpleNamespace:
    """Parameter sets as columns: one array per parameter, one value per set (`kernel_tables`)."""
    return SimpleNamespace(**{name: parameter_column([getattr(p, name) for p in params_list]) for name in vars(params_list[0])})


def distinct_values(column: np.ndarray) -> tuple[list, np.ndarray]:
    """The distinct values of one parameter column and each set's index among them (for
    `kernel_tables`: one table per distinct lookback, say). Numbers come sorted; other values (lists,
    mappings, choices) in order of first appearance, compared once per distinct object."""
    if column.dtype != object:
        values, index = np.unique(column, return_inverse=True)
        return values.tolist(), index.ravel()
    if column.strides == (0,):  # a parameter the grid does not sweep: one value broadcast
        return [column[0]], np.zeros(len(column), dtype=np.int64)
    _, first, by_object = np.unique(np.fromiter(map(id, column), np.int64, len(column)), return_index=True, return_inverse=True)
    values: list = []
    position: dict[str, int] = {}  # a value's repr -> its index: equal values held by different objects are one
    of_object = np.empty(len(first), dtype=np.int64)
    for o in np.argsort(first):
        value = column[first[o]]
        of_object[o] = position.setdefault(repr(value), len(values))
        if of_object[o] == len(values):
            values.append(value)
    return values, of_object[by_object.ravel()]
