"""january: the January effect, and does January's small-minus-large return tell the rest of the year?

For every year: small-minus-large over January's sessions (previous year's last close to January's
last close), then the market's rest-of-year (February to December) and full-year return,
small-minus-large over the rest of the year and the market's max drawdown within the year.
The January effect itself: small minus large in January over the complete years, its mean with a
bootstrap interval, a sign-flip test against 0 and the share of positive years (summary key
`january_effect`). The barometer: years where small caps won January against the others (complete
years only). `--start/--end` set periods side by side (e.g. 1927-1999 and 2000-2025).
"""

from __future__ import annotations

from pathlib import Path

from backtest.study import first_sessions
from backtest.study.common import StudyResult
from backtest.study.stats import DEFAULT_RESAMPLES

DEFAULTS = {k: v for k, v in first_sessions.DEFAULTS.items() if k != "lookback"}


def january_sessions(dates) -> int:
    return int((dates.month == 1).sum())


def run(
    small: str = DEFAULTS["small"],
    large: str = DEFAULTS["large"],
    market: str = DEFAULTS["market"],
    start=None,
    end=None,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    search_path=None,
    frame=None,
) -> StudyResult:
    """The January study (`frame`: daily returns to use instead of loading them)."""
    return first_sessions._run_yearly(
        "january", small, large, market, january_sessions, "in January", {}, start, end, seed, resamples, search_path, frame,
        effect=("january_effect", "small caps beat large caps in January (the January effect)"),
    )


def plot(result: StudyResult, path: Path) -> None:
    first_sessions.plot(result, path)


COLUMNS, OUTCOMES, MAX_ROWS = first_sessions.COLUMNS, first_sessions.OUTCOMES, None
