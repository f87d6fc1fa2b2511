"""ytd: year-to-date returns as of a date, to check headlines such as "Russell 2000 up x % YTD".

For each series on its own calendar: from the previous year's last close to the close on the last
session on or before the as-of date (the date used is reported). If the year has no session yet
on that date, the return is 0 from that close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtest.study.common import StudyError, StudyResult, load, parse_date

# the rows table: (key, label, kind) as the other studies' COLUMNS
COLUMNS = [("id", "Series", "str"), ("ytd", "Year to date", "pct"), ("base_date", "From close", "str"),
           ("date_used", "To close", "str"), ("sessions", "Sessions", "int"), ("data_last", "Data ends", "str")]


def run(ids: list[str], as_of, search_path=None, frame=None) -> StudyResult:
    """A StudyResult whose rows hold, per series: id, ytd, base_date (the previous year's last
    close), date_used (the last close on or before `as_of`), sessions, data_last. A ytd has no
    groups and no comparisons: `summary` and `tests` are empty."""
    if not ids:
        raise StudyError("give at least one series id")
    when = parse_date(as_of, "--as-of")
    if when is None:
        raise StudyError("--as-of: a date (YYYY-MM-DD) is required")
    ids = list(dict.fromkeys(ids))
    if frame is None:
        frame, _ = load(ids, search_path, align=False)
    rows = []
    for sid in ids:
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
        rows.append(
            {
                "id": sid,
                "ytd": ytd,
                "base_date": str(before.index[-1].date()),
                "date_used": str(upto.index[-1].date()),
                "sessions": int(len(this_year)),
                "data_last": str(s.index[-1].date()),
            }
        )
    return StudyResult("ytd", {"ids": ids, "as_of": str(when.date())}, pd.DataFrame(rows, columns=[c for c, _, _ in COLUMNS]),
                       "series", {"comparisons": []})


def lines(result: StudyResult) -> list[str]:
    """One line per series: its return and the closes it runs between."""
    as_of = result.params["as_of"]
    text = []
    for r in result.rows.to_dict("records"):
        note = "" if r["date_used"] == as_of else f" (last close on or before {as_of})"
        text.append(
            f"{r['id']}: {r['ytd'] * 100:+.2f} % year to date, {r['base_date']} close → {r['date_used']} close{note}, {r['sessions']} sessions"
        )
    return text
