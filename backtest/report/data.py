"""The data behind every chart of a report: pure functions of a run's stored outputs.

A run directory (`backtest.results.write_run`) holds everything a report shows: the equity
curves (`equity.csv`), the target weights at each rebalance (`weights.csv`), every order with
its value and fees (`orders.csv`), the statistics (`stats.json`), the resolved config and the
manifest. Every formula comes from `backtest.stats`; this module only reshapes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from backtest import stats
from backtest.errors import UserError
from backtest.stats.conventions import sessions_per_year

ROLLING_YEARS = (1, 3)


class ReportError(UserError):
    """A report's input is unusable: not a run, sweep or study directory, or a file is missing."""


@dataclass(frozen=True)
class RunData:
    """One run directory, read back."""

    run_id: str
    directory: Path
    config: dict
    summary: dict  # stats.json: run_id, start, end, conventions, strategy, benchmark, significance
    manifest: dict
    equity: pd.DataFrame  # columns: "strategy" and, with a benchmark, "benchmark"
    weights: pd.DataFrame  # the strategy's target weights at its rebalance dates
    orders: pd.DataFrame  # the strategy's filled orders
    risk_free: pd.Series | None = None  # each row's risk-free return (None: a run recorded without it, 0)

    @property
    def initial_cash(self) -> float:
        return float(self.config["portfolio"]["initial_cash"])

    @property
    def periods_per_year(self) -> float:
        """The periods a year the run's figures used (its conventions)."""
        conventions = self.summary.get("conventions")
        if conventions:
            return float(conventions["periods_per_year"])
        setting = self.config["stats"]["periods_per_year"]
        return sessions_per_year(self.equity.index) if setting == "auto" else float(setting)

    @property
    def legs(self) -> list[str]:
        return list(self.equity.columns)


def load_run(directory: Path | str) -> RunData:
    """Read a run directory; a missing or unreadable file is a ReportError naming it."""
    import yaml

    directory = Path(directory)
    path = directory
    try:
        path = directory / "config.yaml"
        config = yaml.safe_load(path.read_text())
        path = directory / "stats.json"
        summary = json.loads(path.read_text())
        path = directory / "manifest.json"
        manifest = json.loads(path.read_text())
        path = directory / "equity.csv"
        curves = pd.read_csv(path, index_col="date", parse_dates=True)
        equity = curves[[c for c in ("strategy", "benchmark") if c in curves.columns]]
        path = directory / "weights.csv"
        weights = pd.read_csv(path, index_col="date", parse_dates=True)
        path = directory / "orders.csv"
        orders = pd.read_csv(path, parse_dates=["date"])
    except (OSError, ValueError, KeyError, yaml.YAMLError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc})") from None
    if "strategy" not in equity.columns or equity.empty:
        raise ReportError(f"{directory / 'equity.csv'}: no strategy equity curve")
    orders = orders[orders["leg"] == "strategy"].drop(columns="leg")
    return RunData(summary.get("run_id") or directory.name, directory, config, summary, manifest, equity, weights, orders,
                   curves["risk_free"] if "risk_free" in curves.columns else None)


def growth(run: RunData) -> pd.DataFrame:
    """Growth of 1 per leg: equity / initial cash."""
    return run.equity / run.initial_cash


def drawdowns(run: RunData) -> pd.DataFrame:
    """Drawdown from the running peak per leg (fractions, <= 0)."""
    return pd.DataFrame({leg: stats.drawdown_series(run.equity[leg], run.initial_cash) for leg in run.legs})


def worst_drawdowns(run: RunData, leg: str = "strategy") -> list[dict]:
    """The five deepest episodes (peak, trough, recovery, depth, length_days), deepest first."""
    return stats.drawdowns(run.equity[leg], run.initial_cash)


def drawdown_spans(episodes: list[dict], last_date) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The shaded spans of the drawdown chart: peak to recovery (or the last date if unrecovered)."""
    last = pd.Timestamp(last_date)
    return [(pd.Timestamp(e["peak"]), pd.Timestamp(e["recovery"]) if e["recovery"] else last) for e in episodes]


def rolling_window(run: RunData, years: int) -> int:
    """Rows in `years` years: years * periods_per_year, rounded."""
    return int(round(years * run.periods_per_year))


def rolling(run: RunData, years: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(annualised return, Sharpe ratio of excess returns) per leg over rolling windows of
    `rolling_window` rows, annualised with the run's periods a year."""
    window = rolling_window(run, years)
    ppy, init = run.periods_per_year, run.initial_cash
    returns = pd.DataFrame({leg: stats.rolling_return(run.equity[leg], init, window, ppy) for leg in run.legs})
    sharpe = pd.DataFrame({leg: stats.rolling_sharpe(run.equity[leg], init, window, ppy, run.risk_free) for leg in run.legs})
    return returns, sharpe


def annual_returns(run: RunData) -> pd.DataFrame:
    """Calendar-year returns, year x leg (the first year from the initial cash, the last partial)."""
    return pd.DataFrame({leg: stats.yearly_returns(run.equity[leg], run.initial_cash) for leg in run.legs})


def monthly_table(equity: pd.Series, initial_cash: float) -> pd.DataFrame:
    """Calendar-month returns as a year x month (1..12) table; NaN where the data has no month."""
    monthly = stats.monthly_returns(equity, initial_cash)
    table = pd.DataFrame({"year": monthly.index.year, "month": monthly.index.month, "r": monthly.to_numpy()})
    table = table.pivot(index="year", columns="month", values="r")
    return table.reindex(columns=range(1, 13))


def target_weights(run: RunData) -> pd.DataFrame:
    """Target weights held from each rebalance date until the next (a NaN cell: that asset's
    target did not change), with the uninvested rest as "cash"; one row per rebalance date plus
    the last date (and the first, all cash, when the first rebalance comes later), to draw as
    steps."""
    held = run.weights.ffill().fillna(0.0)
    first, last = run.equity.index[0], run.equity.index[-1]
    if held.empty or held.index[0] > first:  # all cash until the first rebalance
        held = pd.concat([pd.DataFrame(0.0, index=[first], columns=held.columns), held])
    held["cash"] = (1.0 - held.sum(axis=1)).clip(lower=0.0).round(12)
    if held.index[-1] < last:
        held.loc[last] = held.iloc[-1]
    if not (held["cash"] > 0).any():
        held = held.drop(columns="cash")
    return held


def activity(run: RunData) -> pd.DataFrame:
    """Per calendar year: one-way turnover (sum of traded value / portfolio value, halved), fees
    paid by the strategy, and fee_drag (fees / the year's mean portfolio value). The whole-run
    `turnover` statistic is the turnover summed and divided by the run's length in years."""
    equity = run.equity["strategy"]
    per_day = run.orders.groupby("date")[["value", "fees"]].sum()
    traded = per_day["value"].reindex(equity.index, fill_value=0.0)
    fees = per_day["fees"].reindex(equity.index, fill_value=0.0)
    year = equity.index.year
    frame = pd.DataFrame({"turnover": (traded / equity / 2.0).groupby(year).sum(), "fees": fees.groupby(year).sum()})
    frame["fee_drag"] = frame["fees"] / equity.groupby(year).mean()
    return frame.rename_axis("year")


def compare_curves(comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(growth of 1, drawdown) of a comparison (`backtest.comparison.Comparison`) on its common
    window: each run rebased to 1 at the window's first date, one column each."""
    curves = comparison.curves
    drawdown = pd.DataFrame({label: stats.drawdown_series(curves[label], 1.0) for label in curves.columns})
    return curves, drawdown


def coverage(run: RunData) -> dict:
    """What the run covered: first and last date, sessions, series, dates dropped to align."""
    calendar = run.manifest.get("calendar", {})
    index = run.equity.index
    return {
        "start": index[0].strftime("%Y-%m-%d"),
        "end": index[-1].strftime("%Y-%m-%d"),
        "sessions": len(index),
        "calendar_years": round((index[-1] - index[0]).days / 365.25, 1),
        "series": calendar.get("series", []),
        "dropped_to_align": calendar.get("dropped_to_align", 0),
    }
