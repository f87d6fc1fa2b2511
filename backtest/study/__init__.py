"""Research questions answered from the data (`backtest study ...`, or these functions).

    first10(...)   small minus large over the first N sessions vs the market's rest of the year
    january(...)   the same with January as the head of the year
    rates(...)     monthly small minus large after easing vs tightening T-bill regimes
    sectors(...)   monthly cyclicals minus defensives by rate regime and last month's small-cap lead
    ytd(ids, as_of)  year-to-date returns as of a date

Each returns a `StudyResult`: `.rows` (one row per year, month, or for ytd series), `.summary`
(groups x statistics, with bootstrap intervals), `.tests` (each comparison: permutation p-value,
Holm and Benjamini-Hochberg adjusted, a plain-words verdict; ytd has no groups and no tests, so
both are empty), `.figures` (the JSON "summary" object); with `out=` it also writes
`<out>/study-<name>-<...>/`. Shared pieces: `common` (data, calendars, output), `stats`
(bootstrap CI, permutation test, verdicts), `yearly` (years split into a head and the rest).
"""

import importlib
import inspect
import numbers

from backtest.errors import did_you_mean
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


# the least value of the integer parameters every study takes (as the command line's options)
LEAST = {"seed": 0, "resamples": 100}


def run(name: str, out=None, **params) -> StudyResult:
    """Study `name` with its parameters; with `out`, also written under that results root."""
    if out is not None:
        check_writable(out)
    study = module(name)
    known = list(inspect.signature(study.run).parameters)
    for key in params:
        if key not in known:
            raise StudyError(f"{name}: unknown parameter {key!r}{did_you_mean(key, known)} (known: {', '.join(known)})")
    for key, least in LEAST.items():
        value = params.get(key, least)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
            raise StudyError(f"{name}: {key}: expected an integer of at least {least}, got {value!r}")
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


def ytd(ids, as_of, *, out=None) -> StudyResult:
    """Year-to-date return of each series id (one id, or a list) from the previous year's last
    close to the last close on or before `as_of`: one row per series (no groups, no tests)."""
    from backtest.study import year_to_date

    if out is not None:
        check_writable(out)
    result = year_to_date.run([ids] if isinstance(ids, str) else list(ids), as_of)
    if out is not None:
        result.write(out)
    return result


__all__ = ["STUDIES", "StudyError", "StudyResult", "first10", "january", "module", "rates", "run", "sectors", "ytd"]
