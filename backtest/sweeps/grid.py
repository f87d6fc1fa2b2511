"""Grid values: `a:b` (integers), `a:b:step`, `v1,v2,...`, a YAML list or any iterable -> the values of one axis."""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from backtest.config import yaml_scalar
from backtest.errors import ConfigError


def _number(text: str) -> decimal.Decimal | None:
    text = text.strip()
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() else None


def plain(value: Any) -> Any:
    """A value as plain Python: numpy scalars and arrays, pandas Index -> Python numbers and lists
    (what the config, the sweep id and YAML files take)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, pd.Index)):
        return value.tolist()
    return value


def parse_values(spec: Any, where: str = "grid") -> list:
    """Grid values from a spec: `a:b` (integers, inclusive), `a:b:step` (inclusive end within
    rounding), `v1,v2,...` (YAML scalars), any other iterable of values (a list, tuple, range,
    numpy array, pandas Index), or a single value (a mapping is one value: a weights parameter's)."""
    spec = plain(spec)
    if isinstance(spec, Iterable) and not isinstance(spec, (str, bytes, Mapping)):
        values = [plain(v) for v in spec]
    elif not isinstance(spec, str):
        values = [spec]
    else:
        text = spec.strip()
        parts = text.split(":")
        numbers = [_number(p) for p in parts]
        if "," not in text and len(parts) in (2, 3) and all(n is not None for n in numbers):
            values = _range(parts, numbers, where)
        elif "," in text:
            values = [yaml_scalar(v) for v in text.split(",")]
        else:
            values = [yaml_scalar(text)]
    if not values:
        raise ConfigError(f"{where}: no values")
    unique = []
    for value in values:
        if not any(value == u and type(value) is type(u) for u in unique):
            unique.append(value)
    return unique


def _range(parts: list[str], numbers: list[decimal.Decimal], where: str) -> list:
    start, stop = numbers[0], numbers[1]
    if len(numbers) == 2:
        if start != start.to_integral_value() or stop != stop.to_integral_value():
            raise ConfigError(f"{where}: {':'.join(parts)}: a:b takes integers; give a step (a:b:step) for decimals")
        step = decimal.Decimal(1)
    else:
        step = numbers[2]
    if step <= 0:
        raise ConfigError(f"{where}: {':'.join(parts)}: the step must be positive")
    if stop < start:
        raise ConfigError(f"{where}: {':'.join(parts)}: the end is before the start")
    count = int((stop - start) / step + decimal.Decimal("1e-9")) + 1
    if count > 10_000_000:
        raise ConfigError(f"{where}: {':'.join(parts)}: more than 10 million values")
    integral = all(n == n.to_integral_value() and "." not in p and "e" not in p.lower() for n, p in zip(numbers, parts))
    values = [start + i * step for i in range(count)]
    return [int(v) if integral else float(v) for v in values]


def parse_grid_option(text: str) -> tuple[str, list]:
    """'--grid key=spec' -> (key, values)."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--grid {text!r}: expected dotted.key=values (a:b, a:b:step or v1,v2,...)")
    return key, parse_values(spec, where=f"--grid {key}")
