"""What the studies share: loading and cutting data, calendar years and months, results, output.

Data comes only through `backtest.data` (`load_returns`, `align_calendars`); returns are daily
simple returns (fractions) on the data's own calendar.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.errors import UserError
from backtest.io import json_safe, write_json
from backtest.stats.conventions import YEAR_END_DAY



class StudyError(UserError):
    """A study's input is unusable: an empty period, a date outside the data, a bad option."""


def parse_date(value, what: str) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise StudyError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def load(ids: list[str], search_path=None, *, align: bool = True) -> tuple[pd.DataFrame, int]:
    """Daily returns of `ids` (columns in that order) from backtest.data; aligned if `align`.

    Returns (frame, dates dropped by the alignment). Leading/trailing rows where every series is
    missing are dropped either way.
    """
    from backtest import data

    ids = list(dict.fromkeys(ids))
    frame = data.load_returns(ids, search_path)
    frame = frame[ids]
    frame.index = pd.DatetimeIndex(frame.index)
    frame = frame.sort_index()
    dropped = 0
    if align:
        frame, dropped = data.align_calendars(frame)
    frame = frame.dropna(how="all")
    return frame, int(dropped)


def cut(frame: pd.DataFrame, start, end, *, keep_previous: bool = True, what: str = "") -> pd.DataFrame:
    """Rows from `start` to `end` (inclusive); with keep_previous also the row before `start`
    (the previous close a first period needs). Raises StudyError when nothing is left."""
    s, e = parse_date(start, "--start"), parse_date(end, "--end")
    if s is not None and e is not None and s > e:
        raise StudyError(f"--start {s.date()} is after --end {e.date()}")
    index = frame.index
    lo = 0 if s is None else int(index.searchsorted(s, side="left"))
    hi = len(index) if e is None else int(index.searchsorted(e, side="right"))
    if hi <= lo:
        span = f"{s.date() if s is not None else 'the first date'} to {e.date() if e is not None else 'the last date'}"
        first = index[0].date() if len(index) else "?"
        last = index[-1].date() if len(index) else "?"
        raise StudyError(f"no data{what} from {span} (the data covers {first} to {last})")
    if keep_previous and lo > 0:
        lo -= 1
    return frame.iloc[lo:hi]


def is_partial_year(year: int, last_date: pd.Timestamp, data_last: pd.Timestamp) -> bool:
    """The data's last year counts as partial when its last date is before Dec 20."""
    return year == data_last.year and (last_date.month, last_date.day) < YEAR_END_DAY


def monthly_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """Compounded calendar-month returns per column, each on its own dates (NaN skipped);
    a month with no value for a column is NaN. Indexed by month (Period[M])."""
    month = frame.index.to_period("M")
    growth = np.log1p(frame)
    sums = growth.groupby(month).sum(min_count=1)
    return np.expm1(sums)


def partial_last_month(frame: pd.DataFrame) -> pd.Period | None:
    """The data's last month if its last date is before the month's last weekday, else None."""
    if not len(frame):
        return None
    last = frame.index[-1]
    if last < last + pd.offsets.BMonthEnd(0):
        return last.to_period("M")
    return None


def rate_regime(rf_daily: pd.Series, months: int) -> pd.Series:
    """The T-bill regime known at the start of each month.

    The monthly average of the daily RF return in month t-1 against month t-1-m: "easing" if
    lower, "tightening" if higher, "flat" if equal, None where either month is missing.
    Indexed by month (Period[M]) over every month of `rf_daily`'s span and the one after it.
    """
    month = rf_daily.index.to_period("M")
    avg = rf_daily.groupby(month).mean()
    span = pd.period_range(avg.index.min(), avg.index.max() + 1, freq="M")
    avg = avg.reindex(span)
    prior, base = avg.shift(1), avg.shift(1 + months)
    regime = pd.Series([None] * len(span), index=span, dtype=object)
    # compare on a fixed grid so float noise of the averages never flips "flat"
    diff = np.round(prior.to_numpy(dtype=float) - base.to_numpy(dtype=float), 12)
    regime[diff < 0] = "easing"
    regime[diff > 0] = "tightening"
    regime[diff == 0] = "flat"
    return regime


def slug(*parts) -> str:
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    return re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_-")


@dataclass
class StudyResult:
    """What a study returns: its rows (one per year or month), its figures, and how it was run.

    `rows`: one row per period. `summary`: groups x statistics (count, mean with its bootstrap
    interval, median, positive share, per outcome). `tests`: one row per comparison (the claim,
    the difference, the p-value and its Holm and Benjamini-Hochberg adjustments, the verdict).
    `figures`: the same as the JSON `"summary"` object.
    """

    name: str  # "first10", "january", ...
    params: dict
    rows: pd.DataFrame  # one row per period; `row_key` names the period column
    row_key: str  # "years" or "rows" in the JSON
    figures: dict  # `backtest.study.stats.summarize`: the JSON "summary"
    notes: list[str] = field(default_factory=list)
    directory: Path | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """Groups x statistics; each interval as two columns, `<name>_ci_low` and `<name>_ci_high`."""
        table = {}
        for group, entry in self.figures.items():
            if isinstance(entry, dict) and "count" in entry:
                row = {}
                for key, value in entry.items():
                    if isinstance(value, list):
                        row[f"{key}_low"], row[f"{key}_high"] = value
                    elif key != "verdict":
                        row[key] = value
                table[group] = row
        return pd.DataFrame.from_dict(table, orient="index").rename_axis("group")

    @property
    def tests(self) -> pd.DataFrame:
        """One row per comparison the study makes: claim, outcome, groups, difference, p_value,
        p_value_holm, p_value_bh, verdict."""
        rows = [{**c, "groups": " vs ".join(g for g in c["groups"] if g is not None) if c["groups"][1] else f"{c['groups'][0]} vs 0"}
                for c in self.figures["comparisons"]]
        return pd.DataFrame(rows, columns=["claim", "outcome", "groups", "difference", "p_value", "p_value_holm", "p_value_bh", "verdict"])

    @property
    def run_id(self) -> str:
        digest = hashlib.sha1(json.dumps(json_safe(self.params), sort_keys=True).encode()).hexdigest()[:8]
        p = self.params
        return slug(f"study-{self.name}", p.get("small"), p.get("large"), p.get("universe"), digest)

    def to_json(self) -> dict:
        records = [{k: json_safe(v) for k, v in row.items()} for row in self.rows.to_dict("records")]
        out = {
            "study": self.name,
            "params": json_safe(self.params),
            self.row_key: records,
            "summary": json_safe(self.figures),
            "notes": list(self.notes),
        }
        if self.directory is not None:
            out["directory"] = str(self.directory)
        return out

    def write(self, out: Path, plot=None) -> Path:
        """Write <out>/<run_id>/: rows.csv, summary.json and the plot (plot(result, path))."""
        directory = Path(out) / self.run_id
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.rows.to_csv(directory / "rows.csv", index=False)
        write_json(directory / "study.json", self.to_json())
        if plot is not None:
            plot(self, directory / f"{self.name}.png")
        return directory


def pyplot():
    """matplotlib's pyplot on the Agg backend, imported only when a plot is drawn."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def scatter_by_signal(result: StudyResult, path: Path, x: str, y: str, signal: str, labels: dict, xlabel: str, ylabel: str, title: str):
    """Per-row x vs y, coloured by the boolean `signal` column; partial rows left out."""
    plt = pyplot()
    rows = result.rows
    if "partial" in rows:
        rows = rows[~rows["partial"].astype(bool)]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for value, colour in ((True, "tab:green"), (False, "tab:red")):
        part = rows[rows[signal] == value]
        ax.scatter(part[x] * 100, part[y] * 100, s=22, c=colour, alpha=0.8, label=f"{labels[value]} ({len(part)})")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(xlabel + " (%)")
    ax.set_ylabel(ylabel + " (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def group_bars(result: StudyResult, path: Path, outcome: str, title: str):
    """Mean of `outcome` per summary group with its bootstrap 95 % interval."""
    plt = pyplot()
    names = [g for g, v in result.figures.items() if isinstance(v, dict) and f"{outcome}_mean" in v]
    means = np.array([result.figures[g][f"{outcome}_mean"] for g in names], dtype=float) * 100
    cis = np.array([result.figures[g][f"{outcome}_mean_ci"] for g in names], dtype=float) * 100
    err = np.abs(np.vstack([means - cis[:, 0], cis[:, 1] - means])) if len(names) else None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.bar(names, means, yerr=err, capsize=5, color=["tab:blue", "tab:orange", "tab:green", "tab:red"][: len(names)])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel(f"mean monthly {outcome} (%)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def monthly_data(ids: list[str], outcome_ids: list[str], rf: str, months: int, start, end, search_path=None, frame=None):
    """Monthly returns of `ids` over [start, end], the rate regime of each month and the partial month.

    Each series keeps its own calendar (no alignment: months compound each series' own sessions).
    The regime uses the whole RF history, so the first months of a cut period have one.
    Returns (monthly returns indexed by Period[M], regime Series, partial month or None).
    """
    if months < 1:
        raise StudyError(f"--months {months}: must be at least 1")
    ids = list(dict.fromkeys(ids))  # the market may be one of the pair (e.g. --large etf:SPY --market etf:SPY)
    if frame is None:
        frame, _ = load([*ids, rf], search_path, align=False)
    regime = rate_regime(frame[rf].dropna(), months)
    daily = cut(frame[ids], start, end, keep_previous=False, what=f" for {', '.join(ids)}")
    outcome = daily[outcome_ids].dropna(how="any")
    if not len(outcome):
        raise StudyError(f"no common dates of {', '.join(outcome_ids)} from {start or 'the first date'} to {end or 'the last date'}")
    monthly = monthly_returns(daily)
    monthly = monthly.loc[outcome.index[0].to_period("M") : outcome.index[-1].to_period("M")]
    regime = regime.reindex(monthly.index).astype(object)
    regime[regime.isna()] = None
    return monthly, regime, partial_last_month(outcome)


def _cell(value, kind: str) -> str:
    from backtest.display import format_value

    if value is None or isinstance(value, float) and math.isnan(value):
        return "–"
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("str", "int"):
        return str(value)
    return format_value(value, kind)


def report(result: StudyResult, columns, outcomes, max_rows: int | None = None):
    """Tables for people: [(title, header, rows)], then lines of notes and verdicts.

    The rows table shows every row (or the last `max_rows`); the summary shows, per group and
    outcome, count, mean [95 % CI], median and positive share.
    """
    rows = result.rows
    shown = rows if max_rows is None else rows.tail(max_rows)
    header = [label for _, label, _ in columns] + (["Partial"] if rows["partial"].any() else [])
    body = []
    for record in shown.to_dict("records"):
        cells = [_cell(record.get(key), kind) for key, _, kind in columns]
        if rows["partial"].any():
            cells.append(f"to {record['end']}" if "end" in record and record["partial"] else ("yes" if record["partial"] else ""))
        body.append(cells)
    title = f"{result.name}: {len(rows)} {result.row_key if result.row_key == 'years' else 'months'}"
    if len(shown) < len(rows):
        title += f" (last {len(shown)} shown; all in rows.csv)"
    tables = [(title, header, body)]
    sheader = ["group", "outcome", "count", "mean", "mean 95 % CI", "median", "positive"]
    srows = []
    for group, entry in result.figures.items():
        if not isinstance(entry, dict):
            continue
        own = [key.removesuffix("_mean") for key in entry if key.endswith("_mean")]  # e.g. the January effect's spread
        for outcome in dict.fromkeys([*outcomes, *own]):
            if f"{outcome}_mean" not in entry:
                continue
            lo, hi = entry[f"{outcome}_mean_ci"]
            srows.append([
                group, outcome, str(entry["count"]), _cell(entry[f"{outcome}_mean"], "pct"),
                f"{_cell(lo, 'pct')} … {_cell(hi, 'pct')}", _cell(entry[f"{outcome}_median"], "pct"),
                _cell(entry[f"{outcome}_positive_share"], "pct"),
            ])
    tables.append(("Summary (complete periods; bootstrap 95 % percentile intervals)", sheader, srows))
    p = result.params
    lines = list(result.notes)
    lines.append(f"permutation tests: two-sided, difference in means (against 0: random sign flips), {p['resamples']:,} "
                 f"permutations, seed {p['seed']}; verdicts on Holm's adjusted p across the study's comparisons")
    for c in result.figures["comparisons"]:
        lines.append(f"{c['claim']}: {c['verdict']}")
    return tables, lines
