"""`backtest data validate`: what is wrong, or odd, in the data files, as a list of findings.

Each check is a pure function of a file's rows in file order (`kenfrench.rows`, `yahoo.rows`,
`returns_csv.rows`):

    duplicate   a date listed more than once (outside Ken French files, a row   error
                repeated whole is read once by runs: a warning)
    unsorted    a date that turns back against the file's direction            error
    parse       the file cannot be read at all (bad zip, malformed date...)    error
    gap         more than MAX_GAP_DAYS calendar days between two sessions,
                outside a known market closure (KNOWN_CLOSURES)               warning
    move        a daily return beyond +-MAX_MOVE (50 %)                        warning
    sentinel    missing values (-99.99 / -999 / empty) in a column             warning
    calendar    series used together whose sessions differ on their common
                span (dates one has and another lacks)                         warning

Errors make `backtest run` fail on the file; warnings are facts a user should know (a run fails
on a sentinel only inside its period; a calendar mismatch costs the dropped dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data import kenfrench, returns_csv, table, yahoo
from backtest.data.catalog import Catalogs, Source, all_sources, catalog, locate, resolve_id
from backtest.data.paths import resolve_search_path
from backtest.errors import DataError, did_you_mean

MAX_GAP_DAYS = 10
MAX_MOVE = 0.5
# Market closures longer than MAX_GAP_DAYS calendar days (shorter ones, such as 9/11 2001 with
# 6 days from the 10th to the 17th and Hurricane Sandy 2012 with 5, are never flagged). Checked
# on the shipped data: the only gap over 10 days in any file is the 1933 bank holiday.
KNOWN_CLOSURES = (
    (dt.date(1914, 7, 31), dt.date(1914, 12, 11), "NYSE closed at the outbreak of World War I"),
    (dt.date(1933, 3, 4), dt.date(1933, 3, 14), "1933 bank holiday"),
)


@dataclass(frozen=True)
class Finding:
    source: str  # "ff_size", "etf:IWM", or "a + b" for a calendar finding
    file: str
    check: str  # duplicate | unsorted | parse | gap | move | sentinel | calendar
    severity: str  # error | warning
    date: str | None  # the first date concerned (ISO)
    column: str | None
    count: int  # how many rows (or dates) the finding covers
    detail: str

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(date) -> str:
    return pd.Timestamp(date).date().isoformat()


def duplicates(dates: pd.DatetimeIndex) -> tuple[int, pd.Timestamp | None]:
    """(number of repeated rows, the first date repeated)."""
    repeated = dates.duplicated(keep="first")
    return int(repeated.sum()), (dates[int(np.argmax(repeated))] if repeated.any() else None)


def gaps(dates: pd.DatetimeIndex, max_days: int = MAX_GAP_DAYS) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """(session before, session after, calendar days) of every gap over `max_days` between the
    sorted distinct sessions that no known closure explains (a closure lying inside the gap)."""
    unique = dates.unique().sort_values()
    days = np.diff(unique.to_numpy()).astype("timedelta64[D]").astype(np.int64)
    out = []
    for k in np.flatnonzero(days > max_days):
        before, after = unique[k], unique[k + 1]
        if any(before.date() < start and end < after.date() for start, end, _ in KNOWN_CLOSURES):
            continue
        out.append((before, after, int(days[k])))
    return out


def big_moves(returns: pd.DataFrame, limit: float = MAX_MOVE) -> dict[str, pd.Series]:
    """Column -> the returns beyond +-limit (NaN never counts)."""
    out = {}
    for column in returns.columns:
        series = returns[column]
        hit = series[series.abs() > limit]
        if len(hit):
            out[column] = hit
    return out


def calendar_mismatch(calendars: dict[str, pd.DatetimeIndex]) -> dict[str, pd.DatetimeIndex]:
    """Name -> the dates, within the span all calendars share, that the others have and it lacks."""
    if len(calendars) < 2:
        return {}
    first = max(c.min() for c in calendars.values())
    last = min(c.max() for c in calendars.values())
    if first > last:
        return {}
    spans = {name: c[(c >= first) & (c <= last)].unique() for name, c in calendars.items()}
    union = pd.DatetimeIndex(sorted(set().union(*(set(s) for s in spans.values()))))
    out = {}
    for name, span in spans.items():
        lacking = union.difference(span)
        if len(lacking):
            out[name] = lacking
    return out


def _rows(source: Source, path: Path) -> tuple[pd.DataFrame, list[int], list[tuple[str, ...]] | None]:
    """(rows, their line numbers, every field as written: None for Ken French files, where any
    repeated date is an error)."""
    data = path.read_bytes()
    if source.kind == "kenfrench":
        return (*kenfrench.rows(data, str(path), source.block), None)
    if source.kind == "returns":
        return returns_csv.rows(data, str(path), source.unit, source.date, source.missing)
    return yahoo.rows(data, str(path), source.date, source.column)


def _returns(source: Source, frame: pd.DataFrame) -> pd.DataFrame:
    """Daily returns on the sorted distinct sessions (prices: from the prices)."""
    frame = frame[~frame.index.duplicated(keep="first")].sort_index()
    if source.kind != "prices":
        return frame
    return frame.pct_change(fill_method=None).rename(columns={frame.columns[0]: source.name.split(":", 1)[1]})


def check_source(source: Source, path: Path, columns: Sequence[str] | None = None) -> tuple[list[Finding], pd.DatetimeIndex | None]:
    """Every finding for one file, and its sorted distinct sessions (None if unreadable).

    `columns`: report sentinels and big moves of these columns only (default: all)."""
    file = str(path)

    def finding(check, severity, date, column, count, detail):
        return Finding(source.name, file, check, severity, None if date is None else _iso(date), column, count, detail)

    try:
        frame, lines, fields = _rows(source, path)
    except DataError as exc:
        return [finding("parse", "error", None, None, 1, str(exc).removeprefix(f"{file}: "))], None
    findings = []
    dates = frame.index
    count, first = duplicates(dates)
    if count:
        # as the readers do: a Ken French file may not repeat a date; in other files a row repeated
        # whole is read once (`table.ascending`), and a date with two different rows is an error
        differing = table.conflicting_dates(dates, fields) if fields is not None else []
        if differing:
            line = lines[int(np.flatnonzero((dates == differing[0]) & dates.duplicated(keep="first"))[0])]
            findings.append(finding("duplicate", "error", differing[0], None, len(differing),
                                    f"{len(differing)} date(s) listed twice with different values, first {_iso(differing[0])} on line {line}"))
        else:
            line = lines[int(np.argmax(dates.duplicated(keep="first")))]
            severity, read = ("error", "") if source.kind == "kenfrench" else ("warning", " (each read once)")
            findings.append(finding("duplicate", severity, first, None, count, f"{count} repeated date(s){read}, first {_iso(first)} on line {line}"))
    if source.kind != "kenfrench":  # oldest or newest first (Yahoo's web export, other vendors)
        wrong, newest_first = table.out_of_order(dates)
    else:  # Ken French files run oldest first
        wrong, newest_first = np.flatnonzero(np.diff(dates.asi8) < 0) + 1, False
    if len(wrong):
        k = int(wrong[0])
        order = "newest first" if newest_first else "oldest first"
        findings.append(finding("unsorted", "error", dates[k], None, len(wrong),
                                f"{len(wrong)} date(s) out of order (the file runs {order}); first {_iso(dates[k])} "
                                f"after {_iso(dates[k - 1])} on line {lines[k]}"))
    sessions = dates.unique().sort_values()
    for before, after, days in gaps(sessions):
        findings.append(finding("gap", "warning", before, None, 1, f"{days} calendar days from {_iso(before)} to {_iso(after)}"))
    values = frame[~dates.duplicated(keep="first")]
    returns = _returns(source, frame)
    if columns is not None:
        needed = [p for c in columns for p in source.derived.get(c, (c,))]
        values = values[[c for c in values.columns if c in needed]] if source.kind != "prices" else values
        returns = returns[[c for c in returns.columns if c in needed]]
    for column in values.columns:
        missing = values[column].isna()
        if missing.any():
            where = values.index[missing.to_numpy()]
            findings.append(finding("sentinel", "warning", where.min(), column, int(missing.sum()),
                                    f"{int(missing.sum())} missing value(s) from {_iso(where.min())} to {_iso(where.max())}"
                                    + (" (the whole column)" if missing.all() else "")))
    for column, hits in big_moves(returns).items():
        worst = hits.abs().idxmax()
        findings.append(finding("move", "warning", hits.index[0], column, len(hits),
                                f"{len(hits)} daily return(s) beyond ±{MAX_MOVE:.0%}; largest {hits[worst]:+.1%} on {_iso(worst)}"))
    return findings, sessions


def sources_for(names: Sequence[str], catalogs: Catalogs = ()) -> dict[str, tuple[Source, list[str] | None]]:
    """Source name -> (source, the columns asked for or None for all), from dataset names
    ('ff_size', 'etf' = all its symbols), sources ('etf:IWM') or series ids ('ff_size:Lo 30');
    DataError naming an unknown one."""
    out: dict[str, tuple[Source, list[str] | None]] = {}
    datasets = catalog(catalogs)
    for name in names:
        if name in datasets:
            dataset = datasets[name]
            for source in [*dataset.sources.values(), *filter(None, [dataset.open_source])]:
                out[source.name] = (source, None)
        elif ":" in name:
            source, column = resolve_id(name, catalogs)
            _, columns = out.get(source.name, (source, []))
            out[source.name] = (source, None if columns is None else [*columns, column])
        else:
            raise DataError(f"unknown dataset {name!r}{did_you_mean(name, list(datasets))} (datasets: {', '.join(datasets)})")
    return out


def validate(names: Sequence[str] = (), search_path: Sequence[Path] | None = None,
             together: bool | None = None, catalogs: Catalogs = ()) -> list[Finding]:
    """Findings for the named datasets / sources / series ids (all found files if none), of the
    built-in catalog and the user catalog files `catalogs`.

    `together`: compare the calendars of the sources (default: when two or more are named).
    A source whose file is absent is skipped when none were named, an error finding otherwise.
    """
    directories = resolve_search_path(search_path)
    sources = sources_for(names, catalogs) if names else {s.name: (s, None) for s in all_sources(catalogs)}
    findings: list[Finding] = []
    calendars: dict[str, tuple[str, pd.DatetimeIndex]] = {}
    for source, columns in sources.values():
        try:
            path = locate(source, directories)
        except DataError as exc:
            if names:
                findings.append(Finding(source.name, "", "parse", "error", None, None, 1, str(exc)))
            continue
        found, sessions = check_source(source, path, columns)
        findings.extend(found)
        if sessions is not None:
            calendars[source.name] = (str(path), sessions)
    if together is None:
        together = len(names) >= 2
    if together:
        lacking = calendar_mismatch({name: sessions for name, (_, sessions) in calendars.items()})
        for name, dates in lacking.items():
            others = ", ".join(n for n in calendars if n != name)
            findings.append(Finding(name, calendars[name][0], "calendar", "warning", _iso(dates[0]), None, len(dates),
                                    f"lacks {len(dates)} session(s) that {others} have on their common span "
                                    f"(first {_iso(dates[0])}); a run on them drops those dates"))
    return findings
