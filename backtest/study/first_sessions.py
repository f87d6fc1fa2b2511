"""first10: do small caps leading over the year's first N sessions tell the rest of the year?

For every year: the small-minus-large spread over the first N sessions (previous year's last close
to the N-th session's close), then the market's rest-of-year and full-year return, small-minus-large
over the rest of the year and the market's max drawdown within the year. Years where small led
(spread > 0) are compared with the others (complete years only).
"""

from __future__ import annotations

from pathlib import Path

from backtest.study import yearly
from backtest.study.common import StudyError, StudyResult, cut, load, scatter_by_signal
from backtest.study.stats import DEFAULT_RESAMPLES, Claim, summarize

DEFAULTS = {"small": "ff_size:Lo 30", "large": "ff_size:Hi 30", "market": "ff_factors:Mkt", "lookback": 10}


def run(
    small: str = DEFAULTS["small"],
    large: str = DEFAULTS["large"],
    market: str = DEFAULTS["market"],
    lookback: int = DEFAULTS["lookback"],
    start=None,
    end=None,
    seed: int = 0,
    resamples: int = DEFAULT_RESAMPLES,
    search_path=None,
    frame=None,
) -> StudyResult:
    """The first10 study (`frame`: daily returns to use instead of loading them)."""
    if lookback < 1:
        raise StudyError(f"--lookback {lookback}: must be at least 1")
    return _run_yearly(
        "first10", small, large, market, lambda dates: lookback, f"over the first {lookback} sessions",
        {"lookback": lookback}, start, end, seed, resamples, search_path, frame,
    )


def _run_yearly(name, small, large, market, head, head_words, extra, start, end, seed, resamples, search_path, frame,
                effect: tuple[str, str] | None = None):
    """The yearly study of a head of the year. `effect` = (key, claim in words) also tests the
    head's own small-minus-large spread against 0 over the complete years (summary[key])."""
    notes = []
    if frame is None:
        frame, dropped = load([small, large, market], search_path)
        if dropped:
            notes.append(f"{dropped:,} dates dropped to align the series' calendars")
    frame = cut(frame, start, end, what=f" for {', '.join(dict.fromkeys([small, large, market]))}")
    rows = yearly.split_years(frame, small, large, market, head)
    if not len(rows):
        raise StudyError(f"no year from {frame.index[0].date()} to {frame.index[-1].date()} has a previous close and enough sessions")
    partial = rows[rows["partial"]]
    for _, r in partial.iterrows():
        notes.append(f"{r['year']} is partial (data ends {r['end']}): listed, left out of the summary")
    groups, claims, described = yearly.groups(rows), yearly.claims(head_words), {}
    if effect is not None:
        key, words = effect
        groups[key] = groups["led"] | groups["not_led"]  # every complete year
        claims.append(Claim("spread", key, None, words))
        described[key] = ["spread"]
    summary = summarize(rows, groups, claims, outcomes=yearly.OUTCOMES, seed=seed, resamples=resamples, group_outcomes=described)
    if effect is not None:  # the effect's test beside its figures
        test = summary["comparisons"][-1]
        summary[effect[0]].update({k: test[k] for k in ("p_value", "p_value_holm", "p_value_bh", "verdict")})
    params = {"small": small, "large": large, "market": market, **extra, "start": start, "end": end, "seed": seed, "resamples": resamples}
    return StudyResult(name, params, rows, "years", summary, notes)


def plot(result: StudyResult, path: Path) -> None:
    p = result.params
    what = f"first {p['lookback']} sessions" if "lookback" in p else "January"
    scatter_by_signal(
        result, path, "spread", "market_rest", "small_led", {True: "small led", False: "small did not lead"},
        f"{p['small']} − {p['large']}, {what}", f"{p['market']} rest of year",
        f"{result.name}: {what} spread vs rest-of-year market return, p = {result.figures['p_value']:.3f} "
        f"(Holm {result.figures['p_value_holm']:.3f})",
    )


COLUMNS, OUTCOMES = yearly.COLUMNS, yearly.OUTCOMES
MAX_ROWS = None
