"""The periods of a sweep's guard rails: `--split` and `--walk-forward` read, the walk-forward's
rolling windows on the data's own dates, and both checked long enough for the statistics
(MIN_SESSIONS) before any sweep runs."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from backtest.errors import ConfigError
from backtest.pipeline import MIN_SESSIONS


def parse_split(text: str) -> tuple[dt.date | None, dt.date]:
    """'1926-01-01:1999-12-31' (or ':1999-12-31') -> in-sample start and end dates."""
    start, sep, end = str(text).partition(":")
    if not sep or not end or not all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in filter(None, (start, end))):
        raise ConfigError(f"--split {text!r}: expected IN_SAMPLE_START:IN_SAMPLE_END, e.g. 1926-01-01:1999-12-31")
    dates = []
    for date in (start, end):
        try:
            dates.append(dt.date.fromisoformat(date) if date else None)
        except ValueError as exc:  # well formed, but no such day (1999-02-30)
            raise ConfigError(f"--split {text!r}: {date} is not a date ({exc})") from None
    return dates[0], dates[1]


def parse_walk_forward(text: str) -> tuple[pd.DateOffset, pd.DateOffset]:
    """'train=30y,test=5y' (units y or m) -> the two window lengths."""
    lengths = {}
    for part in str(text).split(","):
        match = re.fullmatch(r"\s*(train|test)\s*=\s*(\d+)\s*([ym])\s*", part)
        if not match or int(match[2]) < 1:
            raise ConfigError(f"--walk-forward {text!r}: expected train=<N>y,test=<N>y (units y or m)")
        n = int(match[2])
        lengths[match[1]] = pd.DateOffset(years=n) if match[3] == "y" else pd.DateOffset(months=n)
    if set(lengths) != {"train", "test"}:
        raise ConfigError(f"--walk-forward {text!r}: give both train= and test=")
    return lengths["train"], lengths["test"]


def windows(dates: pd.DatetimeIndex, train: pd.DateOffset, test: pd.DateOffset) -> list[tuple]:
    """Rolling (train_start, train_end, test_start, test_end) on the data's own dates.

    Training covers [t, t + train), testing [t + train, t + train + test); t steps by `test`.
    The last test window may be shorter (it ends with the data); one of fewer than MIN_SESSIONS
    sessions is too short to measure and left out (`left_out` says what).
    """
    out = []
    start, last = dates[0], dates[-1]
    while True:
        test_start = start + train
        if test_start > last:
            break
        test_end = test_start + test
        train_dates = dates[(dates >= start) & (dates < test_start)]
        test_dates = dates[(dates >= test_start) & (dates < test_end)]
        if len(train_dates) >= MIN_SESSIONS and len(test_dates) >= MIN_SESSIONS:
            out.append((train_dates[0], train_dates[-1], test_dates[0], test_dates[-1]))
        start = start + test
    return out


def left_out(dates: pd.DatetimeIndex, spans: list[tuple]) -> str | None:
    """A note on the sessions after the last test window (a last window too short to measure),
    or None when the test windows reach the data's end."""
    rest = dates[dates > spans[-1][3]]
    if not len(rest):
        return None
    return (f"note: walk-forward: {_sessions(len(rest))} after the last test window left out ({rest[0].date()}..{rest[-1].date()}): "
            f"a test window needs at least {MIN_SESSIONS} sessions for its statistics")


def _sessions(n: int) -> str:
    return f"{n} session{'' if n == 1 else 's'}"


def check_periods(config, in_sample: tuple[dt.date | None, dt.date] | None = None, walk: tuple | None = None
                  ) -> pd.DatetimeIndex:
    """Fail before any sweep runs if a split leaves fewer than MIN_SESSIONS sessions on either
    side (`in_sample`: its start and end), or no walk-forward window fits in the data. (Each
    combination's declared history is checked on the in-sample period by the sweep's set-up.)
    Returns the data's dates, for the guard rails that follow."""
    from backtest.pipeline import prepare

    dates = prepare(config).returns.index
    if in_sample is not None:
        start, end = in_sample
        after = dates[dates > pd.Timestamp(end)]
        if not len(after):
            raise ConfigError(f"--split: no data after the in-sample end {end} (the data ends {dates[-1].date()})")
        inside = dates[(dates >= pd.Timestamp(start or dates[0])) & (dates <= pd.Timestamp(end))]
        for part, count, where in (("out-of-sample", len(after), f"after the in-sample end {end} (the data ends {dates[-1].date()})"),
                                   ("in-sample", len(inside), "in-sample" + (f" ({inside[0].date()} to {inside[-1].date()})" if len(inside) else ""))):
            if count < MIN_SESSIONS:
                raise ConfigError(f"--split: only {_sessions(count)} {where}; the {part} statistics need at least {MIN_SESSIONS}")
    if walk is not None and not windows(dates, *walk):
        raise ConfigError(f"--walk-forward: the data ({dates[0].date()}..{dates[-1].date()}) is shorter than one training window "
                          f"plus a test window of at least {MIN_SESSIONS} sessions")
    return dates
