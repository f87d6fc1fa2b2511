"""Calendar years split into a head (first sessions) and the rest, shared by `first10` and `january`.

For each year with a previous close and more sessions than its head:
- head returns run from the previous year's last close to the close of the head's last session,
- rest returns from that close to the year's last close, full-year from the previous close,
- returns compound daily simple returns; small-minus-large is the difference of compounded returns,
- max_drawdown is the market's deepest fall within the year, the running peak starting at the
  previous year's last close (so a year that only falls from its first day counts in full).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from backtest.study.common import is_partial_year
from backtest.study.stats import Claim

COLUMNS = [
    ("year", "Year", "int"),
    ("signal_date", "Signal date", "str"),
    ("spread", "Small − large (head)", "pct"),
    ("small_led", "Small led", "bool"),
    ("market_rest", "Market rest", "pct"),
    ("market_full", "Market year", "pct"),
    ("small_minus_large_rest", "Small − large rest", "pct"),
    ("max_drawdown", "Max drawdown", "pct"),
]
OUTCOMES = ["market_rest", "small_minus_large_rest", "market_full"]


def _window(cum: np.ndarray, first: int, last: int) -> float:
    """Compounded return over rows first..last (inclusive), from log-growth cumulative sums."""
    return float(np.expm1(cum[last + 1] - cum[first]))


def _max_drawdown(market: np.ndarray) -> float:
    from backtest.stats import drawdown_series

    equity = np.cumprod(1.0 + market)
    return float(drawdown_series(pd.Series(equity), 1.0).min())


def split_years(
    frame: pd.DataFrame,
    small: str,
    large: str,
    market: str,
    head: Callable[[pd.DatetimeIndex], int],
    data_last: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per countable year of `frame` (aligned daily returns; the first row may be the
    previous close of the first year). `head(dates of the year)` -> number of head sessions.
    `data_last`: the data's last date (decides the partial year; default the frame's last date)."""
    dates = pd.DatetimeIndex(frame.index)
    data_last = dates[-1] if data_last is None else data_last
    cums = {}
    for name in (small, large, market):
        values = frame[name].to_numpy(dtype=np.float64)
        cums[name] = np.concatenate([[0.0], np.cumsum(np.log1p(values))])
    market_values = frame[market].to_numpy(dtype=np.float64)
    years = dates.year.to_numpy()
    starts = np.flatnonzero(np.r_[True, years[1:] != years[:-1]])
    ends = np.r_[starts[1:] - 1, len(years) - 1]
    rows = []
    for first, last in zip(starts, ends):
        if first == 0:
            continue  # no previous close
        n_head = int(head(dates[first : last + 1]))
        sessions = last - first + 1
        if n_head < 1 or sessions <= n_head:
            continue
        nth = first + n_head - 1
        r = {name: (_window(c, first, nth), _window(c, nth + 1, last)) for name, c in cums.items()}
        spread = r[small][0] - r[large][0]
        year = int(years[first])
        rows.append(
            {
                "year": year,
                "small_led": bool(spread > 0),
                "spread": spread,
                "small_head": r[small][0],
                "large_head": r[large][0],
                "market_head": r[market][0],
                "market_rest": r[market][1],
                "market_full": _window(cums[market], first, last),
                "small_minus_large_rest": r[small][1] - r[large][1],
                "max_drawdown": _max_drawdown(market_values[first : last + 1]),
                "sessions": int(sessions),
                "head_sessions": n_head,
                "previous_close": str(dates[first - 1].date()),
                "signal_date": str(dates[nth].date()),
                "end": str(dates[last].date()),
                "partial": is_partial_year(year, dates[last], data_last),
            }
        )
    return pd.DataFrame(rows, columns=None if rows else [c for c, _, _ in COLUMNS] + ["partial"])


def groups(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Complete years only: small led (spread > 0) vs not."""
    if not len(rows):
        return {"led": np.zeros(0, bool), "not_led": np.zeros(0, bool)}
    full = ~rows["partial"].to_numpy(dtype=bool)
    led = rows["small_led"].to_numpy(dtype=bool)
    return {"led": full & led, "not_led": full & ~led}


def claims(head_words: str) -> list[Claim]:
    return [
        Claim("market_rest", "led", "not_led", f"the market does better over the rest of the year when small caps led {head_words}"),
        Claim("small_minus_large_rest", "led", "not_led", f"small caps keep beating large caps over the rest of the year when they led {head_words}"),
        Claim("market_full", "led", "not_led", f"the market's full-year return is higher when small caps led {head_words}"),
    ]
