"""Research questions answered from the data (`backtest study ...`, or these functions).

    first10(...)   small minus large over the first N sessions vs the market's rest of the year
    january(...)   the same with January as the head of the year
    rates(...)     monthly small minus large after easing vs tightening T-bill regimes
    sectors(...)   monthly cyclicals minus defensives by rate regime and last month's small-cap lead
    ytd(ids, as_of)  year-to-date returns as of a date

Each of the first four returns a `StudyResult`: `.rows` (one row per year or month), `.summary`
(groups x statistics, with bootstrap intervals), `.tests` (each comparison: permutation p-value,
Holm and Benjamini-Hochberg adjusted, a plain-words verdict), `.figures` (the JSON "summary"
object); with `out=` it also writes
`<out>/study-<name>-<...>/`. Shared pieces: `common` (data, calendars, output), `stats`
(bootstrap CI, permutation test, verdicts), `yearly` (years split into a head and the rest).
"""

import importlib

from backtest.io import check_writable
from backtest.study.common import StudyError, StudyResult

# study name -> its module
MODULES = {"first10": "first_sessions", "january": "januaries", "rates": "rate_regimes", "sectors": "cyclicals"}
STUDIES = tuple(MODULES)


def module(name: str):
    """The module of a study by name (imported lazily)."""
    if name not in MODULES:
        raise StudyError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}")
    return importlib.import_module(f"backtest.study.{MODULES[name]}")


def run(name: str, out=None, **params) -> StudyResult:
    """Study `name` with its parameters; with `out`, also written under that results root."""
    if out is not None:
        check_writable(out)
    study = module(name)
    result = study.run(**params)
    if out is not None:
        result.write(out, study.plot)
    return result


def first10(*, out=None, **params) -> StudyResult:
    """Small minus large over the first `lookback` sessions vs the market's rest of the year.
    Parameters: small, large, market (series ids), lookback, start, end, seed, resamples."""
    return run("first10", out, **params)


def january(*, out=None, **params) -> StudyResult:
    """Small minus large in January vs the market's rest of the year.
    Parameters: small, large, market, start, end, seed, resamples."""
    return run("january", out, **params)


def rates(*, out=None, **params) -> StudyResult:
    """Monthly small minus large after easing vs tightening T-bill regimes.
    Parameters: small, large, market, rf, months, start, end, seed, resamples."""
    return run("rates", out, **params)


def sectors(*, out=None, **params) -> StudyResult:
    """Monthly cyclicals minus defensives by rate regime and by last month's small-cap lead.
    Parameters: universe ("ff" or "sectors"), small, large, rf, months, start, end, seed, resamples."""
    return run("sectors", out, **params)


def ytd(ids, as_of) -> dict:
    """Year-to-date return of each series id from the previous year's last close to the last
    close on or before `as_of`."""
    from backtest.study import year_to_date

    return year_to_date.run(list(ids), as_of)


__all__ = ["STUDIES", "StudyError", "StudyResult", "first10", "january", "module", "rates", "run", "sectors", "ytd"]
