"""Research questions answered from the data: `backtest study first10|january|rates|sectors|ytd`.

Each study returns a `StudyResult` (rows, summary with bootstrap intervals, permutation p-values
and a plain-words verdict); `ytd` returns a small dict. Shared pieces: `common` (data, calendars,
output), `stats` (bootstrap CI, permutation test, verdicts), `yearly` (years split into a head and
the rest).
"""

from backtest.study.common import StudyError, StudyResult

STUDIES = ("first10", "january", "rates", "sectors")


def module(name: str):
    """The module of a study by name (imported lazily)."""
    import importlib

    if name not in STUDIES:
        raise StudyError(f"unknown study {name!r}: choose one of {', '.join(STUDIES)}")
    return importlib.import_module(f"backtest.study.{name}")


__all__ = ["STUDIES", "StudyError", "StudyResult", "module"]
