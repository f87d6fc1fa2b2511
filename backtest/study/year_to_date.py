"""ytd: year-to-date returns as of a date, to check headlines such as "Russell 2000 up x % YTD".

For each series on its own calendar: from the previous year's last close to the close on the last
session on or before the as-of date (the date used is reported). If the year has no session yet
on that date, the return is 0 from that close.
"""

from __future__ import annotations

import numpy as np

from backtest.study.common import StudyError, load, parse_date


def run(ids: list[str], as_of, search_path=None, frame=None) -> dict:
    """{"as_of", "series": [{"id", "date_used", "base_date", "ytd", "sessions", "data_last"}]}."""
    if not ids:
        raise StudyError("give at least one series id")
    when = parse_date(as_of, "--as-of")
    if when is None:
        raise StudyError("--as-of: a date (YYYY-MM-DD) is required")
    if frame is None:
        frame, _ = load(list(ids), search_path, align=False)
    out = []
    for sid in dict.fromkeys(ids):
        s = frame[sid].dropna()
        if not len(s):
            raise StudyError(f"{sid}: no data")
        upto = s.loc[:when]
        if not len(upto) or upto.index[-1].year < when.year and s.index[-1] <= when:
            first, last = s.index[0].date(), s.index[-1].date()
            if not len(upto):
                raise StudyError(f"--as-of {when.date()} is before {sid}'s first date {first}")
            raise StudyError(f"--as-of {when.date()}: {sid} has no data in {when.year} (its data ends {last})")
        this_year = upto[upto.index.year == when.year]
        before = upto[upto.index.year < when.year]
        if not len(before):
            raise StudyError(f"--as-of {when.date()}: {sid} has no close before {when.year} (its data starts {s.index[0].date()})")
        ytd = float(np.expm1(np.log1p(this_year.to_numpy()).sum())) if len(this_year) else 0.0
        out.append(
            {
                "id": sid,
                "base_date": str(before.index[-1].date()),
                "date_used": str(upto.index[-1].date()),
                "ytd": ytd,
                "sessions": int(len(this_year)),
                "data_last": str(s.index[-1].date()),
            }
        )
    return {"as_of": str(when.date()), "series": out}


def lines(result: dict) -> list[str]:
    text = []
    for r in result["series"]:
        note = "" if r["date_used"] == result["as_of"] else f" (last close on or before {result['as_of']})"
        text.append(
            f"{r['id']}: {r['ytd'] * 100:+.2f} % year to date, {r['base_date']} close → {r['date_used']} close{note}, {r['sessions']} sessions"
        )
    return text
