"""Calendar and risk-free conventions: how many sessions make a year, and what cash earns.

Every annualised figure rests on two conventions, stated here once:

- Time is calendar time. A run's length in years is (last date - first date) in days / 365.25,
  and its sessions per year are the n - 1 gaps between its n dates over those years (data with
  Saturday sessions before 1952 has ~263 a year, not 252). CAGR uses the calendar years directly.
- Excess returns are over the risk-free rate of each row: the daily T-bill return compounded over
  the risk-free series' own sessions since the previous row (its calendar may differ from the
  run's), or a fixed annual rate spread geometrically over the sessions of a year.

`Conventions` holds a run's resolved conventions (sessions per year, each row's risk-free return
and where it came from) and states them in words and JSON.

Everything takes plain pandas/numpy values and returns plain values; nothing here knows where a
series came from. Misuse (unsorted dates, too few rows) raises ValueError naming the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DAYS_PER_YEAR",
    "YEAR_END_DAY",
    "YEAR_START_DAY",
    "Conventions",
    "accrued_risk_free",
    "annual_to_daily",
    "cagr_calendar",
    "calendar_years",
    "partial_years",
    "risk_free_coverage",
    "sessions_per_year",
]

DAYS_PER_YEAR = 365.25  # the Julian year: leap years included on average
# a period starting after Jan 7 misses its first year's first sessions, and one ending before
# Dec 20 its last year's last sessions: those years are partial
YEAR_START_DAY = (1, 7)
YEAR_END_DAY = (12, 20)


def _checked_dates(index: pd.Index, what: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(f"{what}: expected a DatetimeIndex, got {type(index).__name__}")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError(f"{what}: dates must be unique and ascending")
    return index


def calendar_years(index: pd.DatetimeIndex) -> float:
    """Length of the period in years: (last date - first date) in days / 365.25.

    ValueError with fewer than two dates (a single date spans no time).
    """
    index = _checked_dates(index, "calendar_years")
    if len(index) < 2:
        raise ValueError(f"calendar_years: need at least two dates, got {len(index)}")
    return float((index[-1] - index[0]) / pd.Timedelta(days=1)) / DAYS_PER_YEAR


def sessions_per_year(index: pd.DatetimeIndex) -> float:
    """The period's own sessions per calendar year: (n - 1) / calendar_years(index).

    n - 1 because n dates bound n - 1 gaps; this is `periods_per_year: auto`.
    """
    return (len(index) - 1) / calendar_years(index)


def cagr_calendar(final_value: float, initial: float, index: pd.DatetimeIndex) -> float:
    """Compound annual growth over calendar time: (final_value / initial)^(1 / years) - 1.

    years = calendar_years(index), whatever periods_per_year says. A final value <= 0 (ruin)
    gives -1.
    """
    if initial <= 0:
        raise ValueError(f"cagr_calendar: initial must be positive, got {initial}")
    growth = final_value / initial
    if growth <= 0:
        return -1.0
    return float(growth ** (1.0 / calendar_years(index)) - 1.0)


def partial_years(index: pd.DatetimeIndex) -> dict[int, tuple[str, str]]:
    """The calendar years a period covers only in part, {year: (its first date, its last date)
    in the period}: the first year when the period starts after Jan 7, the last when it ends
    before Dec 20."""
    index = _checked_dates(index, "partial_years")
    first, last = index[0], index[-1]
    years = [year for year, cut_short in ((first.year, (first.month, first.day) > YEAR_START_DAY),
                                          (last.year, (last.month, last.day) < YEAR_END_DAY)) if cut_short]
    return {year: (_day(index[index.year == year][0]), _day(index[index.year == year][-1])) for year in years}


def annual_to_daily(rate: float, periods_per_year: float) -> float:
    """A fixed annual rate as a per-session return, geometrically: (1 + rate)^(1 / ppy) - 1.

    Compounded over ppy sessions it gives back exactly `rate` (0.02 a year with 252 sessions is
    7.86e-5 a session, not 0.02 / 252 = 7.94e-5).
    """
    if periods_per_year <= 0:
        raise ValueError(f"annual_to_daily: periods_per_year must be positive, got {periods_per_year}")
    if rate <= -1:
        raise ValueError(f"annual_to_daily: an annual rate must be above -100 %, got {rate}")
    return float(np.expm1(np.log1p(rate) / periods_per_year))


def _day(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d")


def risk_free_coverage(rf: pd.Series, index: pd.DatetimeIndex, name: str = "the risk-free series") -> str | None:
    """None if `rf` can give every row of `index` its risk-free return; else why not, in words.

    `rf` covers the run when its first date is on or before the run's first date, its last date
    on or after the run's last date, and it has a value on each of its sessions in between. The
    reason names the series (`name`) and the date at fault, e.g. "ff_factors:RF ends on
    2025-05-30, before the run's last date 2026-09-25", for the caller's one line on falling
    back to a zero rate.
    """
    index = _checked_dates(index, "index")
    dates = _checked_dates(rf.index, name)
    if len(index) == 0:
        raise ValueError("risk_free_coverage: the run has no dates")
    if len(rf) == 0:
        return f"{name} is empty"
    if dates[0] > index[0]:
        return f"{name} starts on {_day(dates[0])}, after the run's first date {_day(index[0])}"
    if dates[-1] < index[-1]:
        return f"{name} ends on {_day(dates[-1])}, before the run's last date {_day(index[-1])}"
    inside = rf.loc[index[0]:index[-1]]
    missing = inside.index[~np.isfinite(inside.to_numpy(dtype=np.float64))]
    if len(missing):
        return f"{name} has no value on {_day(missing[0])}"
    return None


def accrued_risk_free(rf: pd.Series, index: pd.DatetimeIndex, name: str = "the risk-free series") -> pd.Series:
    """Each row's risk-free return on the run's calendar `index`, from a daily series `rf`.

    rf: per-session T-bill returns (fractions) on rf's own calendar. Row i gets the compound
    return of rf over rf's sessions in (index[i-1], index[i]]:
        rf_acc_i = prod_{s in (index[i-1], index[i]]} (1 + rf_s) - 1,
    0 where no rf session falls in the interval (a session rf does not have). Row 0 gets rf's
    return on index[0] if that date is one of rf's sessions, else 0 (a run's conventions then set
    it to 0: `Conventions.resolve`, the money is invested at that close).
    On identical calendars this is rf itself. Compounding adds log1p's and takes expm1, so a
    single session's value comes back to within an ulp or two.

    ValueError (with risk_free_coverage's reason) when rf does not cover the run: check first
    and fall back to a zero rate with that reason.
    """
    reason = risk_free_coverage(rf, index, name)
    if reason is not None:
        raise ValueError(reason)
    # rf sessions up to row i: [0, through[i]); row i's sessions: [through[i-1], through[i])
    through = rf.index.searchsorted(index, side="right")
    first = rf.index.searchsorted(index[:1], side="left")
    lo = np.concatenate([first, through[:-1]])
    # a trailing 0 keeps every start inside the array, so each sum ends where the next begins
    log_growth = np.append(np.log1p(rf.to_numpy(dtype=np.float64)[: through[-1]]), 0.0)
    # reduceat sums log_growth[lo[i]:lo[i+1]] (the last to the end), exactly row i's sessions;
    # an empty interval (lo[i] == lo[i+1]) gives one element back instead, so it is set to 0
    accrued = np.where(lo == through, 0.0, np.expm1(np.add.reduceat(log_growth, lo)))
    return pd.Series(accrued, index=index, name="risk_free")


AUTO = "auto"


@dataclass(frozen=True)
class Conventions:
    """How a period's figures are computed: sessions per year and each row's risk-free return.

    periods_per_year_setting: "auto" (the period's own sessions per calendar year) or a number;
    periods_per_year: the value used. risk_free: each row's risk-free return on the period's
    dates. risk_free_source: the series id it was accrued from, or the annual rate (0: none).
    note: why a `risk_free: auto` setting found no usable series (the rate is then 0).
    """

    periods_per_year_setting: str | float
    periods_per_year: float
    risk_free: pd.Series
    risk_free_source: str | float
    risk_free_setting: str | float = AUTO
    note: str | None = None

    @classmethod
    def resolve(cls, index: pd.DatetimeIndex, periods_per_year: str | float = AUTO, risk_free: str | float = AUTO,
                rf_series: pd.Series | None = None, rf_name: str | None = None, note: str | None = None) -> Conventions:
        """The conventions of a period `index` from its settings.

        periods_per_year: "auto" or a number. risk_free: the setting ("auto", a series id or an
        annual rate). For a series (auto or an id) pass the daily series `rf_series` named
        `rf_name`, already checked with `risk_free_coverage` (None with `note`: auto found none,
        the rate is 0). An annual rate r gives every row (1 + r)^(1 / ppy) - 1. Row 0 gets 0: the
        money arrives and is invested at its close, so nothing accrues before it (its return is
        only the purchase's costs), as at a comparison's base date (`on(..., base_row=True)`).
        """
        ppy = sessions_per_year(index) if periods_per_year == AUTO else float(periods_per_year)
        if rf_series is not None:
            rates, source = accrued_risk_free(rf_series, index, rf_name or "the risk-free series"), rf_name
        else:
            rate = 0.0 if isinstance(risk_free, str) else float(risk_free)
            source = 0 if rate == 0 else rate
            rates = pd.Series(annual_to_daily(rate, ppy) if rate else 0.0, index=index, name="risk_free")
        rates = rates.astype(np.float64)
        rates.iloc[:1] = 0.0
        return cls(periods_per_year, ppy, rates, source, risk_free, note)

    def on(self, index: pd.DatetimeIndex, base_row: bool = False) -> Conventions:
        """The same settings on `index`, dates of this period (a window, or the dates several runs
        share): "auto" sessions per year are those of `index`, and each row's risk-free return
        compounds this period's over the rows since the previous date of `index`. With
        `base_row`, the first date is a base with no return, so its risk-free return is 0."""
        ppy = sessions_per_year(index) if self.periods_per_year_setting == AUTO else self.periods_per_year
        rates = accrued_risk_free(self.risk_free, index, "the risk-free returns")
        if base_row:
            rates.iloc[0] = 0.0
        return Conventions(self.periods_per_year_setting, ppy, rates, self.risk_free_source, self.risk_free_setting, self.note)

    @property
    def years(self) -> float:
        return calendar_years(self.risk_free.index)

    @property
    def sessions(self) -> int:
        return len(self.risk_free)

    def to_json(self) -> dict:
        """The `"conventions"` object of --json and stats.json."""
        return {
            "periods_per_year": self.periods_per_year,
            "periods_per_year_setting": self.periods_per_year_setting,
            "sessions": self.sessions,
            "years": self.years,
            "cagr": "calendar years: (final / initial)^(1 / years) - 1, years = days / 365.25",
            "risk_free": self.risk_free_source,
            "risk_free_setting": self.risk_free_setting,
            "risk_free_note": self.note,
            "excess_returns": "sharpe, sortino, alpha, beta and the deflated Sharpe use r - rf",
            "alpha": "OLS of r - rf on b - rf; alpha per period x periods_per_year (arithmetic)",
        }
