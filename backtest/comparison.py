"""Several backtests side by side, and whether their Sharpe ratios differ significantly.

Each argument of `backtest compare` is one of
    a run id (or a unique prefix) from the registry in `<out>/registry.sqlite`,
    a run directory (`<out>/<run_id>/`, as `backtest run` writes it),
    a config file, or a config followed by overrides in one quoted argument:
        "configs/first10.yaml --set strategy.params.lookback=5 [--start DATE] [--end DATE]"
Config arguments go through the one pipeline (`backtest.pipeline.run_backtest`); recorded runs
are read back from their directories. Only each entry's strategy leg is compared.

Statistics are each entry's own, on its own calendar. The tests of a Sharpe difference compare
each entry with the first on the dates the two have in common: both equity curves are taken on
those dates and r_t = E_t / E_{t-1} - 1 between consecutive common dates, so both returns of a
pair always span the same interval (the first common date counts too, from the initial cash,
when both runs start on it):

  Jobson-Korkie with Memmel's (2003) correction, on per-period Sharpe ratios SR = mean/std(ddof=1)
  and the correlation rho of the two return series over T common dates:
        theta = 2 - 2 rho + 1/2 (SR_a^2 + SR_b^2 - 2 SR_a SR_b rho^2)
        z = (SR_a - SR_b) / sqrt(theta / T),   p = 2 (1 - Phi(|z|))
  (asymptotically normal under iid normal returns; exact ties give z = 0, p = 1).

  A paired stationary bootstrap (Politis & Romano 1994; mean block length `block`, default 21
  sessions, `resamples` draws, seeded): the same resampled dates for both series keep their
  correlation and short-range dependence; the p-value is that of the centred statistic
  (Ledoit & Wolf 2008): p = (1 + #{|d* - d| >= |d|}) / (resamples + 1), d = SR_a - SR_b.

Outputs go to `<out>/compare-<id>/`: stats.csv, sharpe_tests.csv, yearly.csv, equity.csv,
equity.png (growth of 1, log scale), drawdown.png, annual.png (drawn by `backtest.report`) and
compare.json (what `--format json` prints).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from backtest.data import mixed_returns_message
from backtest.errors import UserError
from backtest.io import json_safe

DEFAULT_RESAMPLES = 2000
DEFAULT_BLOCK = 21.0
DEFAULT_SEED = 0


class CompareError(UserError):
    """A compare argument is neither a run id, a run directory nor a config (with overrides)."""


# --- the two tests ------------------------------------------------------------------------------


def _sharpe(r: np.ndarray) -> float:
    std = r.std(ddof=1)
    return float(r.mean() / std) if std > 0 else math.nan


def _normal_two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def jobson_korkie_memmel(a, b) -> dict:
    """Test SR_a = SR_b on paired per-period returns (same dates); per-period Sharpe ratios."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("jobson_korkie_memmel: two 1-d arrays on the same dates")
    T = len(a)
    out = {"T": T, "sharpe_a": math.nan, "sharpe_b": math.nan, "rho": math.nan, "z": math.nan, "p_value": math.nan}
    if T < 3:
        return out
    sr_a, sr_b = _sharpe(a), _sharpe(b)
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
    out.update(z=z, p_value=_normal_two_sided_p(z))
    return out


def stationary_bootstrap_indices(rng: np.random.Generator, n: int, T: int, block: float) -> np.ndarray:
    """(n, T) row indices of n stationary-bootstrap resamples of T rows (wrapping around):
    a new block starts at each row with probability 1/block, at a uniformly drawn row."""
    p = 1.0 / block
    u = rng.random((n, T), dtype=np.float32)
    new_block = u < p
    new_block[:, 0] = True
    u[:, 0] = rng.random(n, dtype=np.float32) * np.float32(p)
    positions = np.arange(T, dtype=np.int32)
    block_start = np.where(new_block, positions, np.int32(0))
    np.maximum.accumulate(block_start, axis=1, out=block_start)
    # given u < p, u / p is uniform on [0, 1): it also draws the block's first row
    first = (np.take_along_axis(u, block_start, axis=1) * np.float32(T / p)).astype(np.int32)
    np.minimum(first, T - 1, out=first)
    idx = first + (positions - block_start)
    idx[idx >= T] -= T
    return idx


def bootstrap_sharpe_difference(
    a, b, resamples: int = DEFAULT_RESAMPLES, block: float = DEFAULT_BLOCK, seed: int = DEFAULT_SEED
) -> dict:
    """Paired stationary bootstrap of SR_a - SR_b (per period); two-sided p of the centred statistic,
    and a 95 % percentile interval of the difference."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    T = len(a)
    out = {"difference": math.nan, "p_value": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "resamples": int(resamples), "block": float(block), "seed": seed}
    if T < 3:
        return out
    d_hat = _sharpe(a) - _sharpe(b)
    out["difference"] = d_hat
    if math.isnan(d_hat):
        return out
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    chunk = max(1, min(resamples, 2_000_000 // T))
    for lo in range(0, resamples, chunk):
        n = min(chunk, resamples - lo)
        idx = stationary_bootstrap_indices(rng, n, T, block)
        with np.errstate(divide="ignore", invalid="ignore"):
            xa, xb = a[idx], b[idx]
            draws[lo : lo + n] = xa.mean(1) / xa.std(1, ddof=1) - xb.mean(1) / xb.std(1, ddof=1)
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0:
        return out
    extreme = np.count_nonzero(np.abs(finite - d_hat) >= abs(d_hat))
    out["p_value"] = float((1 + extreme) / (len(finite) + 1))
    out["ci_low"], out["ci_high"] = (float(q) for q in np.quantile(finite, [0.025, 0.975]))
    return out


# --- entries ------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One compared backtest: its strategy leg's equity curve and statistics."""

    label: str
    source: str  # the argument as given
    kind: str  # "run" (recorded) or "config" (run now through the pipeline)
    equity: pd.Series
    initial_cash: float
    periods_per_year: int
    stats: dict
    strategy: str
    run_id: str | None = None
    overrides: list[str] = field(default_factory=list)
    return_types: dict = field(default_factory=dict)  # series id -> "total" | "price" (backtest.data)

    @property
    def start(self) -> str:
        return self.equity.index[0].strftime("%Y-%m-%d")

    @property
    def end(self) -> str:
        return self.equity.index[-1].strftime("%Y-%m-%d")


def parse_argument(text: str) -> tuple[str, list[str]]:
    """'CONFIG [--set k=v]... [--start D] [--end D]' -> (CONFIG, overrides); a plain id -> (id, [])."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise CompareError(f"{text!r}: cannot parse ({exc})") from None
    if not tokens:
        raise CompareError("an empty argument: give a run id or a config file")
    head, rest, overrides = tokens[0], tokens[1:], []
    i = 0
    while i < len(rest):
        token = rest[i]
        name, eq, value = token.partition("=")
        if name in ("--set", "--start", "--end"):
            if not eq:
                if i + 1 >= len(rest):
                    raise CompareError(f"{text!r}: {token} needs a value")
                value = rest[i + 1]
                i += 1
            overrides.append(value if name == "--set" else f"period.{name[2:]}={value}")
        else:
            raise CompareError(f"{text!r}: unexpected {token!r} (expected CONFIG [--set key=value]...)")
        i += 1
    return head, overrides


def _short_override(text: str) -> str:
    key, _, value = text.partition("=")
    return f"{key.removeprefix('strategy.params.').removeprefix('period.')}={value}"


def _from_config(path: Path, overrides: list[str], source: str) -> Entry:
    from backtest.config import load_config
    from backtest.pipeline import run_backtest

    entry = from_result(run_backtest(load_config(path, overrides)), source)
    entry.label = " ".join([path.stem, *map(_short_override, overrides)])
    entry.kind, entry.overrides = "config", overrides
    return entry


def from_result(result, source: str = "") -> Entry:
    """An Entry from a `RunResult` in memory (`backtest.compare(result, ...)`)."""
    config = result.prepared.config
    leg = result.strategy
    return Entry(
        label=result.run_id or leg.leg.strategy.name,
        source=source or result.run_id or leg.leg.strategy.name,
        kind="run" if result.run_id else "result",
        equity=leg.simulation.equity.astype(float),
        initial_cash=float(config.portfolio.initial_cash),
        periods_per_year=int(config.stats.periods_per_year),
        stats=dict(leg.stats),
        strategy=leg.leg.strategy.name,
        run_id=result.run_id,
        return_types=result.return_types,
    )


def _from_run_dir(run_dir: Path, source: str, run_id: str | None = None) -> Entry:
    import yaml

    run_id = run_id or run_dir.name
    try:
        equity = pd.read_csv(run_dir / "equity.csv", index_col="date", parse_dates=True)["strategy"]
        summary = json.loads((run_dir / "stats.json").read_text())
        config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        manifest = json.loads((run_dir / "manifest.json").read_text()) if (run_dir / "manifest.json").is_file() else {}
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
        raise CompareError(f"{run_dir}: not a readable run directory ({exc})") from None
    strategy_block = config.get("strategy") or {}
    stats = {k: (math.nan if v is None else v) for k, v in (summary.get("strategy") or {}).items()}
    return Entry(
        label=run_id,
        source=source,
        kind="run",
        equity=equity.astype(float),
        initial_cash=float((config.get("portfolio") or {}).get("initial_cash", 100_000.0)),
        periods_per_year=int((config.get("stats") or {}).get("periods_per_year", 252)),
        stats=stats,
        strategy=strategy_block.get("name") or Path(strategy_block.get("file") or "?").stem,
        run_id=run_id,
        return_types=manifest.get("return_types") or {},
    )


def resolve(text: str, root: Path | str) -> Entry:
    """One compare argument -> an Entry (see the module docstring for what it may be)."""
    from backtest.store import registry

    # a path that exists as given (even one with spaces) is never split
    head, overrides = (text, []) if Path(text).exists() else parse_argument(text)
    path = Path(head)
    if path.is_file() or overrides or path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise CompareError(f"{head}: config file not found")
        return _from_config(path, overrides, text)
    if path.is_dir():
        if (path / "equity.csv").is_file():
            return _from_run_dir(path, text)
        raise CompareError(f"{head}: a directory, but not a run directory (no equity.csv)")
    record = registry.find_run(root, head)
    if record is None:
        raise CompareError(f"{head}: not a config file, run directory or run id in {registry.db_path(root)}")
    if record.kind != "run" or not record.path or not (Path(record.path) / "equity.csv").is_file():
        where = record.path or "no directory"
        raise CompareError(f"{record.id}: a {record.kind} without an equity curve ({where})")
    return _from_run_dir(Path(record.path), text, run_id=record.id)


def _unique_labels(entries: list[Entry], labels: list[str]) -> None:
    if len(labels) > len(entries):
        raise CompareError(f"--label given {len(labels)} times for {len(entries)} entries")
    for entry, label in zip(entries, labels):
        entry.label = label
    seen: dict[str, int] = {}
    for entry in entries:
        n = seen.get(entry.label, 0) + 1
        seen[entry.label] = n
        if n > 1:
            entry.label = f"{entry.label} #{n}"


# --- the comparison -----------------------------------------------------------------------------


@dataclass
class Comparison:
    compare_id: str
    directory: Path | None  # where `write` put it
    entries: list[Entry]
    tests: list[dict]  # one per entry after the first: vs the first, on common dates
    yearly: pd.DataFrame  # year x label
    notes: list[str] = field(default_factory=list)  # one-line notices (mixed return types)

    @property
    def reference(self) -> Entry:
        return self.entries[0]


def sharpe_tests(reference: Entry, other: Entry, resamples: int, block: float, seed: int) -> dict:
    """Both tests of other's Sharpe vs the reference's on the dates they share."""
    equity = pd.concat([other.equity.rename("a"), reference.equity.rename("b")], axis=1, join="inner", sort=True).dropna()
    previous = equity.shift(1)
    if len(equity) and other.equity.index[0] == reference.equity.index[0] == equity.index[0]:
        previous.iloc[0] = [other.initial_cash, reference.initial_cash]
    joined = equity.loc[previous.notna().all(axis=1)]
    returns = (equity / previous - 1.0).dropna()
    a, b = returns["a"].to_numpy(), returns["b"].to_numpy()
    jkm = jobson_korkie_memmel(a, b)
    boot = bootstrap_sharpe_difference(a, b, resamples, block, seed)
    ann = math.sqrt(reference.periods_per_year)
    return {
        "label": other.label,
        "reference": reference.label,
        "common_dates": len(equity),
        "returns": len(returns),  # the T of both tests
        "start": joined.index[0].strftime("%Y-%m-%d") if len(joined) else None,
        "end": joined.index[-1].strftime("%Y-%m-%d") if len(joined) else None,
        "sharpe": jkm["sharpe_a"] * ann,  # annualised, on the common dates
        "sharpe_reference": jkm["sharpe_b"] * ann,
        "sharpe_difference": (jkm["sharpe_a"] - jkm["sharpe_b"]) * ann,
        "correlation": jkm["rho"],
        "jkm_z": jkm["z"],
        "jkm_p_value": jkm["p_value"],
        "bootstrap_p_value": boot["p_value"],
        "bootstrap_ci_low": boot["ci_low"] * ann,
        "bootstrap_ci_high": boot["ci_high"] * ann,
        "resamples": resamples,
        "block": block,
        "seed": seed,
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
    block: float = DEFAULT_BLOCK,
    seed: int = DEFAULT_SEED,
) -> Comparison:
    """Resolve every argument (text as `backtest compare` takes it, or a `RunResult`), and test
    each Sharpe ratio against the first's. Nothing is written (see `write`)."""
    from backtest import stats

    if len(arguments) < 2:
        raise CompareError("compare needs at least two run ids or configs")
    if resamples < 1:
        raise CompareError(f"--resamples: must be positive, got {resamples}")
    if block < 1:
        raise CompareError(f"--block: must be at least 1, got {block}")
    entries = [resolve(item, root) if isinstance(item, (str, Path)) else from_result(item) for item in arguments]
    _unique_labels(entries, list(labels))
    tests = [sharpe_tests(entries[0], other, resamples, block, seed) for other in entries[1:]]
    yearly = pd.concat(
        [stats.yearly_returns(e.equity, e.initial_cash).rename(e.label) for e in entries], axis=1
    ).sort_index()
    comparison = Comparison(new_compare_id(entries), None, entries, tests, yearly)
    mixed = mixed_returns_message({sid: kind for e in entries for sid, kind in e.return_types.items()})
    if mixed:
        comparison.notes.append(f"note: {mixed}")
    return comparison


# --- tables -------------------------------------------------------------------------------------

# extra rows of the side-by-side table: key -> (label, format)
_HEAD_ROWS = {"start": ("Start", "str"), "end": ("End", "str"), "sessions": ("Sessions", "int")}
_TEST_ROWS = {
    "common_dates": ("Common dates with the first", "int"),
    "sharpe_difference": ("Sharpe diff vs the first (common dates)", "ratio"),
    "jkm_p_value": ("Sharpe test p (Jobson–Korkie–Memmel)", "p"),
    "bootstrap_p_value": ("Sharpe test p (stationary bootstrap)", "p"),
}


def format_cell(value, kind: str) -> str:
    from backtest.display import format_value

    if kind == "str":
        return "–" if value is None else str(value)
    if kind == "p":
        if value is None or isinstance(value, float) and math.isnan(value):
            return "–"
        return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"
    return format_value(value, kind)


def side_by_side(comparison: Comparison) -> list[tuple[str, str, str, list]]:
    """Rows (key, label, format, [raw value per entry]) of the side-by-side table."""
    from backtest.display import STAT_FORMATS

    entries = comparison.entries
    rows = []
    for key, (label, kind) in _HEAD_ROWS.items():
        values = [e.start if key == "start" else e.end if key == "end" else len(e.equity) for e in entries]
        rows.append((key, label, kind, values))
    for key, (label, kind) in STAT_FORMATS.items():
        if any(key in e.stats for e in entries):
            rows.append((key, label, kind, [e.stats.get(key) for e in entries]))
    for key, (label, kind) in _TEST_ROWS.items():
        rows.append((key, label, kind, [None, *(t[key] for t in comparison.tests)]))
    return rows


def formatted_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["", *(e.label for e in comparison.entries)]
    rows = [[label, *(format_cell(v, kind) for v in values)] for _, label, kind, values in side_by_side(comparison)]
    return header, rows


def to_csv(comparison: Comparison) -> str:
    """The side-by-side table, raw values: one row per statistic (key), one column per entry."""
    frame = pd.DataFrame(
        {e.label: [json_safe(v[i]) for *_, v in side_by_side(comparison)] for i, e in enumerate(comparison.entries)},
        index=pd.Index([key for key, *_ in side_by_side(comparison)], name="statistic"),
    )
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
    header, rows = formatted_rows(comparison)
    return _markdown_table(header, rows)


def yearly_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    header = ["Year", *comparison.yearly.columns]
    rows = [[str(year), *(format_cell(v, "pct") for v in row)] for year, row in comparison.yearly.iterrows()]
    return header, rows


def to_json(comparison: Comparison) -> dict:
    return json_safe(
        {
            "compare_id": comparison.compare_id,
            "directory": str(comparison.directory) if comparison.directory else None,
            "entries": [
                {
                    "label": e.label,
                    "source": e.source,
                    "kind": e.kind,
                    "run_id": e.run_id,
                    "strategy": e.strategy,
                    "start": e.start,
                    "end": e.end,
                    "sessions": len(e.equity),
                    "stats": e.stats,
                }
                for e in comparison.entries
            ],
            "sharpe_tests": comparison.tests,
            "yearly": {
                label: {str(year): json_safe(v) for year, v in column.items()}
                for label, column in comparison.yearly.items()
            },
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
        pd.DataFrame(comparison.tests).to_csv(tmp / "sharpe_tests.csv", index=False)
        comparison.yearly.to_csv(tmp / "yearly.csv")
        equity = pd.concat([e.equity.rename(e.label) for e in comparison.entries], axis=1, sort=True)
        equity.rename_axis("date").to_csv(tmp / "equity.csv", date_format="%Y-%m-%d")
        if draw is not None:
            draw(comparison, tmp)
        (tmp / "compare.json").write_text(json.dumps(to_json(comparison), indent=2))

    comparison.directory = final  # compare.json names it
    try:
        return atomic_dir(final, build)
    except BaseException:
        comparison.directory = None
        raise
