"""Several backtests side by side, on the dates they share, and whether they differ significantly.

Each argument of `backtest compare` is read as an `Entry` (`backtest.comparison_entries`: a run
id, a run directory, a config with overrides, or a `RunResult`).

The comparison is made on the common window: the dates every compared run has. Each run's
equity is rebased to 1 at the window's first date (a base: no return of its own), and every
figure of the window is computed under one set of conventions, the first run's settings
resolved on the window (`backtest.pipeline.resolve_conventions`: its sessions a year, and a
risk-free rate that covers the window), with returns between consecutive common dates. Each
run's full-period figures (its own dates and conventions) are kept beside them, labelled so.

Each entry after the first is tested against the first on the window:
  - `backtest.stats.edge.significance`: active return with its Newey-West t and p, the Sharpe
    ratios with stationary-bootstrap intervals, the Sharpe difference with its interval and
    bootstrap p-value (seeded, `resamples`, mean block `block` or round(n^(1/3))), and the
    probabilistic Sharpe ratio;
  - Jobson-Korkie with Memmel's (2003) correction, on per-period Sharpe ratios of excess
    returns SR = mean/std(ddof=1) and their correlation rho over T rows:
        theta = 2 - 2 rho + 1/2 (SR_a^2 + SR_b^2 - 2 SR_a SR_b rho^2)
        z = (SR_a - SR_b) / sqrt(theta / T),   p = 2 (1 - Phi(|z|))
    (asymptotically normal under iid normal returns; exact ties give z = 0, p = 1).

Outputs go to `<out>/compare-<id>/`: stats.csv, sharpe_tests.csv, yearly.csv, equity.csv (the
rebased curves on the common window), equity.png, drawdown.png, annual.png (drawn by
`backtest.report`) and compare.json (what `--format json` prints).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.comparison_entries import CompareError, Entry, from_result, resolve, unique_labels
from backtest.data import mixed_returns_message
from backtest.io import json_safe
from backtest.stats.bootstrap import DEFAULT_RESAMPLES
from backtest.stats.significance import sharpe_ratio

DEFAULT_SEED = 0


def jobson_korkie_memmel(a, b) -> dict:
    """Test SR_a = SR_b on paired per-period excess returns (same dates); per-period Sharpe ratios."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("jobson_korkie_memmel: two 1-d arrays on the same dates")
    T = len(a)
    out = {"T": T, "sharpe_a": math.nan, "sharpe_b": math.nan, "rho": math.nan, "z": math.nan, "p_value": math.nan}
    if T < 3:
        return out
    sr_a, sr_b = sharpe_ratio(a, 1), sharpe_ratio(b, 1)
    out.update(sharpe_a=sr_a, sharpe_b=sr_b)
    if math.isnan(sr_a) or math.isnan(sr_b):
        return out
    rho = float(np.corrcoef(a, b)[0, 1])
    out["rho"] = rho
    diff = sr_a - sr_b
    theta = 2.0 - 2.0 * rho + 0.5 * (sr_a**2 + sr_b**2 - 2.0 * sr_a * sr_b * rho**2)
    if diff == 0.0 or np.array_equal(a, b):
        z = 0.0
    elif theta <= 0.0:
        z = math.copysign(math.inf, diff)
    else:
        z = diff / math.sqrt(theta / T)
    out.update(z=z, p_value=math.erfc(abs(z) / math.sqrt(2.0)))
    return out


# --- the comparison -----------------------------------------------------------------------------


@dataclass
class Comparison:
    compare_id: str
    directory: Path | None  # where `write` put it
    entries: list[Entry]
    common: pd.DatetimeIndex  # the dates every entry has
    conventions: object  # backtest.stats.conventions.Conventions of the common window
    curves: pd.DataFrame  # each entry's equity on the common dates, rebased to 1 at the first
    window_stats: list[dict]  # each entry's statistics on the common window
    tests: list[dict]  # one per entry after the first: vs the first, on the common window
    yearly: pd.DataFrame  # year x label, on the common window
    partial_years: dict  # {year: (first date, last date)} the common window covers in part
    notes: list[str] = field(default_factory=list)  # one-line notices (mixed return types, settings)

    @property
    def reference(self) -> Entry:
        return self.entries[0]


def _common_dates(entries: list[Entry]) -> pd.DatetimeIndex:
    common = entries[0].equity.index
    for entry in entries[1:]:
        common = common.intersection(entry.equity.index)
    if len(common) < 3:
        spans = ", ".join(f"{e.label} {e.start} → {e.end}" for e in entries)
        raise CompareError(f"the runs share {len(common)} dates, too few to compare ({spans})")
    return common


def _window_conventions(entries: list[Entry], common: pd.DatetimeIndex, notes: list[str]):
    """The first entry's settings resolved on the common window (the first date is the base)."""
    from backtest.pipeline import resolve_conventions

    reference = entries[0]
    differing = [e.label for e in entries[1:] if e.settings != reference.settings]
    if differing:
        notes.append(f"note: {', '.join(differing)} set stats differently from {reference.label}; the common window "
                     f"uses {reference.label}'s (periods_per_year {reference.settings.periods_per_year}, "
                     f"risk_free {reference.settings.risk_free})")
    conventions = resolve_conventions(reference.settings, common, reference.search_path, reference.catalogs, reference.label)
    if conventions.note:
        notes.append(conventions.note.replace("note: ", "note: on the common window, ", 1))
    return conventions.on(common, base_row=True)


def significance_test(entry: Entry, reference: Entry, curves: pd.DataFrame, conventions, resamples: int,
                      block: float | None, seed: int) -> dict:
    """Both tests of entry's figures against the reference's on the common window."""
    from backtest import stats
    from backtest.stats.edge import significance

    rf = conventions.risk_free.to_numpy()
    r = stats.daily_returns(curves[entry.label], 1.0).to_numpy()
    b = stats.daily_returns(curves[reference.label], 1.0).to_numpy()
    jkm = jobson_korkie_memmel(r - rf, b - rf)
    block_figures = significance(r, b, rf, conventions.periods_per_year, name=entry.label, against=reference.label,
                                 n_resamples=resamples, seed=seed, mean_block=block)
    return {
        "label": entry.label,
        "reference": reference.label,
        "common_dates": len(curves),
        "start": curves.index[0].strftime("%Y-%m-%d"),
        "end": curves.index[-1].strftime("%Y-%m-%d"),
        "sharpe_difference": block_figures["sharpe_difference"],
        "correlation": jkm["rho"],
        "jkm_z": jkm["z"],
        "jkm_p_value": jkm["p_value"],
        "bootstrap_p_value": block_figures["sharpe_difference_p_value"],
        "active_return": block_figures["active_return"],
        "t_stat": block_figures["t_stat"],
        "p_value": block_figures["p_value"],
        "significance": block_figures,
    }


def new_compare_id(entries: list[Entry]) -> str:
    now = dt.datetime.now()
    salt = "|".join(e.source for e in entries) + now.isoformat() + str(os.getpid())
    return f"{now:%Y%m%d-%H%M%S}-{hashlib.sha256(salt.encode()).hexdigest()[:6]}"


def compare(
    arguments,
    root: Path | str = "results",
    labels: list[str] | tuple[str, ...] = (),
    resamples: int = DEFAULT_RESAMPLES,
    block: float | None = None,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Resolve every argument (text as `backtest compare` takes it, or a `RunResult`), put them on
    their common dates and test each against the first. Nothing is written (see `write`)."""
    from backtest import stats
    from backtest.stats.conventions import partial_years

    if len(arguments) < 2:
        raise CompareError("compare needs at least two run ids or configs")
    if resamples < 1:
        raise CompareError(f"--resamples: must be positive, got {resamples}")
    if block is not None and block < 1:
        raise CompareError(f"--block: must be at least 1, got {block}")
    entries = [resolve(item, root) if isinstance(item, (str, Path)) else from_result(item) for item in arguments]
    unique_labels(entries, list(labels))
    notes = [note.replace("note: ", f"note: {e.label} (full period): ", 1) for e in entries for note in e.notes]
    common = _common_dates(entries)
    conventions = _window_conventions(entries, common, notes)
    curves = pd.DataFrame({e.label: e.equity.loc[common] / e.equity.loc[common[0]] for e in entries}).rename_axis("date")
    window_stats = [stats.performance(curves[e.label], 1.0, conventions.periods_per_year, risk_free=conventions.risk_free)
                    for e in entries]
    tests = [significance_test(other, entries[0], curves, conventions, resamples, block, seed) for other in entries[1:]]
    yearly = pd.concat([stats.yearly_returns(curves[e.label], 1.0).rename(e.label) for e in entries], axis=1)
    mixed = mixed_returns_message({sid: kind for e in entries for sid, kind in e.return_types.items()})
    if mixed:
        notes.append(f"note: {mixed}")
    return Comparison(new_compare_id(entries), None, entries, common, conventions, curves, window_stats, tests, yearly,
                      partial_years(common), notes)


# --- tables -------------------------------------------------------------------------------------

# rows of the common window beside its statistics: key -> (label, format)
_TEST_ROWS = {
    "active_return": ("Active return vs the first (ann.)", "pct"),
    "p_value": ("  p (Newey–West)", "p"),
    "sharpe_difference": ("Sharpe diff vs the first", "ratio"),
    "jkm_p_value": ("  p (Jobson–Korkie–Memmel)", "p"),
    "bootstrap_p_value": ("  p (stationary bootstrap)", "p"),
}
_FULL_ROWS = {"start": ("Start", "str"), "end": ("End", "str"), "sessions": ("Sessions", "int"),
              "periods_per_year": ("Periods a year", "ratio"), "risk_free": ("Risk-free", "str")}
# figures that need the trades, which a window of a recorded curve does not have
_NOT_IN_WINDOW = ("rebalances", "turnover", "fees_paid")


def format_cell(value, kind: str) -> str:
    from backtest.display import format_value

    if kind == "str":
        return "–" if value is None else str(value)
    if kind == "p":
        if value is None or isinstance(value, float) and math.isnan(value):
            return "–"
        return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"
    return format_value(value, kind)


def _full_period_value(entry: Entry, key: str):
    if key in ("start", "end"):
        return getattr(entry, key)
    if key == "sessions":
        return len(entry.equity)
    conventions = entry.conventions or {}
    if key == "periods_per_year":
        return conventions.get("periods_per_year")
    return conventions.get("risk_free")


def common_rows(comparison: Comparison) -> list[tuple[str, str, str, list]]:
    """Rows (key, label, format, [raw value per entry]) of the common window's table: statistics,
    then the tests against the first entry."""
    from backtest.display import STAT_FORMATS

    rows = []
    for key, (label, kind) in STAT_FORMATS.items():
        if key not in _NOT_IN_WINDOW and any(key in figures for figures in comparison.window_stats):
            rows.append((key, label, kind, [figures.get(key) for figures in comparison.window_stats]))
    for key, (label, kind) in _TEST_ROWS.items():
        rows.append((key, label, kind, [None, *(t[key] for t in comparison.tests)]))
    return rows


def full_rows(comparison: Comparison) -> list[tuple[str, str, str, list]]:
    """Rows of each entry's full-period table (its own dates and conventions)."""
    from backtest.display import STAT_FORMATS

    entries = comparison.entries
    rows = [(key, label, kind, [_full_period_value(e, key) for e in entries]) for key, (label, kind) in _FULL_ROWS.items()]
    for key, (label, kind) in STAT_FORMATS.items():
        if any(key in e.stats for e in entries):
            rows.append((key, label, kind, [e.stats.get(key) for e in entries]))
    return rows


def _formatted(rows) -> list[list[str]]:
    return [[label, *(format_cell(v, kind) for v in values)] for _, label, kind, values in rows]


def formatted_rows(comparison: Comparison) -> tuple[list[str], list[list[str]], list[list[str]]]:
    """(header, common-window rows, full-period rows), formatted for people."""
    header = ["", *(e.label for e in comparison.entries)]
    return header, _formatted(common_rows(comparison)), _formatted(full_rows(comparison))


def common_heading(comparison: Comparison) -> str:
    common = comparison.common
    return f"Common window {common[0]:%Y-%m-%d} → {common[-1]:%Y-%m-%d} ({len(common):,} dates, rebased to 1 at the first)"


FULL_HEADING = "Full period (each run's own dates and conventions)"


def to_csv(comparison: Comparison) -> str:
    """Both tables, raw values: one row per figure (`common.<key>` on the common window,
    `full.<key>` over each run's own period), one column per entry."""
    rows = [(f"common.{key}", values) for key, _, _, values in common_rows(comparison)]
    rows += [(f"full.{key}", values) for key, _, _, values in full_rows(comparison)]
    frame = pd.DataFrame({e.label: [json_safe(values[i]) for _, values in rows] for i, e in enumerate(comparison.entries)},
                         index=pd.Index([key for key, _ in rows], name="statistic"))
    buffer = io.StringIO()
    frame.to_csv(buffer)
    return buffer.getvalue()


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "|".join(["---", *["---:"] * (len(header) - 1)]) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(comparison: Comparison) -> str:
    from backtest.display import conventions_line

    header, common, full = formatted_rows(comparison)
    return "\n\n".join([f"**{common_heading(comparison)}**", conventions_line(comparison.conventions.to_json()),
                        _markdown_table(header, common), f"**{FULL_HEADING}**", _markdown_table(header, full)])


def yearly_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Calendar-year returns on the common window; a year it covers in part is marked '*'."""
    header = ["Year", *comparison.yearly.columns]
    rows = []
    for year, row in comparison.yearly.iterrows():
        span = comparison.partial_years.get(int(year))
        label = f"{year}*  ({span[0][5:]} → {span[1][5:]})" if span else str(year)
        rows.append([label, *(format_cell(v, "pct") for v in row)])
    return header, rows


def to_json(comparison: Comparison) -> dict:
    common = comparison.common
    return json_safe(
        {
            "compare_id": comparison.compare_id,
            "directory": str(comparison.directory) if comparison.directory else None,
            "common": {"start": common[0], "end": common[-1], "dates": len(common),
                       "conventions": comparison.conventions.to_json()},
            "entries": [
                {
                    "label": e.label,
                    "source": e.source,
                    "kind": e.kind,
                    "run_id": e.run_id,
                    "strategy": e.strategy,
                    "common_stats": window,
                    "start": e.start,
                    "end": e.end,
                    "sessions": len(e.equity),
                    "conventions": e.conventions,
                    "stats": e.stats,
                }
                for e, window in zip(comparison.entries, comparison.window_stats)
            ],
            "sharpe_tests": comparison.tests,
            "yearly": {
                label: {str(year): json_safe(v) for year, v in column.items()}
                for label, column in comparison.yearly.items()
            },
            "partial_years": {str(year): list(span) for year, span in comparison.partial_years.items()},
            "notes": comparison.notes,
        }
    )


# --- files --------------------------------------------------------------------------------------


def write(comparison: Comparison, root: Path | str, draw=None) -> Path:
    """Write `<root>/compare-<id>/` atomically (built under a temporary name, then renamed):
    the tables, and whatever `draw(comparison, directory)` adds (the charts)."""
    from backtest.io import atomic_dir

    final = Path(root) / f"compare-{comparison.compare_id}"
    final.parent.mkdir(parents=True, exist_ok=True)

    def build(tmp: Path) -> None:
        (tmp / "stats.csv").write_text(to_csv(comparison))
        tests = [{k: v for k, v in t.items() if k != "significance"} for t in comparison.tests]
        pd.DataFrame(tests).to_csv(tmp / "sharpe_tests.csv", index=False)
        comparison.yearly.to_csv(tmp / "yearly.csv")
        comparison.curves.to_csv(tmp / "equity.csv", date_format="%Y-%m-%d")
        if draw is not None:
            draw(comparison, tmp)
        (tmp / "compare.json").write_text(json.dumps(to_json(comparison), indent=2))

    comparison.directory = final  # compare.json names it
    try:
        return atomic_dir(final, build)
    except BaseException:
        comparison.directory = None
        raise
