"""The key charts of a report as PNG files (matplotlib, headless Agg backend).

Every function takes the data `backtest.report.data` computes, draws one chart and returns the
file's path; colours and titles come from `backtest.report.style`, so a PNG and the HTML show
the same thing the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from backtest.io import atomic_file
from backtest.report import style

DPI = 110
WIDE = (11, 4.8)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _date_axis(ax) -> None:
    """Readable dates from a few months to a century: decades or years, never overlapping."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.margins(x=0.01)


def _percent_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _on_top(i: int) -> float:
    """z-order of the i-th line: the first (the strategy) above the others, not hidden by them."""
    return 3.0 - 0.01 * i


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    _pyplot().close(fig)
    return path


def equity(curves: pd.DataFrame, path: Path, benchmark: bool = True) -> Path:
    """Growth of 1 per column on a log scale, with plain-number ticks (1, 10, 100, 1,000)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, ax = _pyplot().subplots(figsize=(11, 5.5))
    for i, ((label, curve), color) in enumerate(zip(curves.items(), style.leg_colors(curves.shape[1], benchmark))):
        curve = curve.dropna()  # compared runs on different calendars: NaN where one has no row
        ax.plot(curve.index, curve.to_numpy(), label=label, color=color, linewidth=1.0, zorder=_on_top(i))
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:,.10g}"))
    ax.set_ylabel("growth of 1 (log scale)")
    ax.set_title(style.TITLES["equity"])
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.1)
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize="small")
    return _save(fig, path)


def drawdown(curves: pd.DataFrame, path: Path, spans=(), benchmark: bool = True) -> Path:
    """Drawdown per column (%), the worst episodes' peak-to-recovery spans shaded and numbered."""
    fig, ax = _pyplot().subplots(figsize=WIDE)
    for rank, (start, end) in enumerate(spans, start=1):
        ax.axvspan(start, end, color=style.DRAWDOWN_SHADE, alpha=0.12, linewidth=0)
        ax.annotate(str(rank), (start, 0), xytext=(2, -10), textcoords="offset points", fontsize=8, color=style.DRAWDOWN_SHADE)
    for i, ((label, curve), color) in enumerate(zip(curves.items(), style.leg_colors(curves.shape[1], benchmark))):
        curve = curve.dropna()
        if i == 0:
            ax.fill_between(curve.index, curve.to_numpy(), 0, color=color, alpha=0.15, linewidth=0)
        ax.plot(curve.index, curve.to_numpy(), label=label, color=color, linewidth=0.8, zorder=_on_top(i))
    _percent_axis(ax)
    ax.set_ylabel("drawdown")
    ax.set_title(style.TITLES["drawdown"] if len(spans) else "Drawdown from the running peak")
    ax.grid(True, alpha=0.3)
    _date_axis(ax)
    ax.legend(loc="lower left", fontsize="small")
    return _save(fig, path)


def rolling(panels: dict[int, tuple[pd.DataFrame, pd.DataFrame]], path: Path, benchmark: bool = True) -> Path:
    """One row per window length: rolling annualised return (left) and Sharpe ratio (right)."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 2, figsize=(12, 3.2 * len(panels)), squeeze=False, sharex=True)
    for row, (years, (returns, sharpe)) in zip(axes, panels.items()):
        for ax, frame, key in ((row[0], returns, "rolling_return"), (row[1], sharpe, "rolling_sharpe")):
            for i, ((label, curve), color) in enumerate(zip(frame.items(), style.leg_colors(frame.shape[1], benchmark))):
                ax.plot(curve.index, curve.to_numpy(), label=label, color=color, linewidth=0.7, zorder=_on_top(i))
            ax.axhline(0, color="black", linewidth=0.6)
            ax.set_title(style.TITLES[key].format(years=years), fontsize=10)
            ax.grid(True, alpha=0.3)
            _date_axis(ax)
        _percent_axis(row[0])
    axes[0][0].legend(loc="upper left", fontsize="small")
    return _save(fig, path)


def annual(returns: pd.DataFrame, path: Path, benchmark: bool = True) -> Path:
    """Calendar-year returns as bars side by side, one group per year."""
    n_years, n_legs = returns.shape
    fig, ax = _pyplot().subplots(figsize=(min(16, max(11, 0.1 * n_years * n_legs)), 4.8))
    width = 0.8 / n_legs
    positions = np.arange(n_years)
    for i, ((label, column), color) in enumerate(zip(returns.items(), style.leg_colors(n_legs, benchmark))):
        ax.bar(positions + (i - (n_legs - 1) / 2) * width, column.to_numpy(), width, label=label, color=color)
    step = max(1, int(np.ceil(n_years / 25)))  # at most ~25 year labels
    shown = positions[::step]
    ax.set_xticks(shown, [str(returns.index[i]) for i in shown], rotation=90 if step == 1 and n_years > 12 else 0)
    ax.axhline(0, color="black", linewidth=0.6)
    _percent_axis(ax)
    ax.set_xlim(-0.7, n_years - 0.3)
    ax.set_title(style.TITLES["annual"])
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    return _save(fig, path)


def monthly(table: pd.DataFrame, path: Path) -> Path:
    """Year x month heatmap of the strategy's monthly returns, centred at 0; values printed
    in the cells when they fit (up to 40 years)."""
    import matplotlib.colors as mcolors

    plt = _pyplot()
    n_years = len(table)
    values = table.to_numpy(dtype=float) * 100
    limit = style.heatmap_limit(values)
    fig, ax = plt.subplots(figsize=(9, min(30, 1.6 + 0.19 * n_years)))
    image = ax.imshow(values, aspect="auto", cmap=style.HEATMAP_SCALE, norm=mcolors.TwoSlopeNorm(0, -limit, limit), interpolation="nearest")
    fig.colorbar(image, ax=ax, label="monthly return (%)", fraction=0.04, pad=0.02)
    ax.set_xticks(range(12), ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
    ax.xaxis.tick_top()
    step = max(1, int(np.ceil(n_years / 50)))
    ax.set_yticks(range(0, n_years, step), [str(y) for y in table.index[::step]], fontsize=7 if n_years > 40 else 9)
    if n_years <= 40:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7)
    ax.set_title(style.TITLES["monthly"], pad=24)
    return _save(fig, path)


def weights(held: pd.DataFrame, path: Path) -> Path:
    """The strategy's target weights as a stacked area, held as steps between rebalances."""
    fig, ax = _pyplot().subplots(figsize=WIDE)
    ax.stackplot(held.index, held.T.to_numpy(), labels=list(held.columns), colors=style.asset_colors(held.shape[1]), step="post", alpha=0.85)
    _percent_axis(ax)
    ax.set_ylim(0, max(1.0, float(held.sum(axis=1).max())))
    ax.set_title(style.TITLES["weights"])
    _date_axis(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return _save(fig, path)


def activity(frame: pd.DataFrame, path: Path) -> Path:
    """One-way turnover and fees (as a share of the year's mean portfolio value) per calendar year."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    years = frame.index.to_numpy()
    top.bar(years, frame["turnover"].to_numpy(), color=style.STRATEGY_COLOR, width=0.8)
    _percent_axis(top)
    top.set_title(style.TITLES["turnover"], fontsize=10)
    bottom.bar(years, frame["fee_drag"].to_numpy(), color=style.STRATEGY_COLOR, width=0.8)
    bottom.set_title(style.TITLES["fees"], fontsize=10)
    bottom.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v * 100:.2f}%"))
    for ax in (top, bottom):
        ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def heatmap(grid, x: str, y: str, metric: str, path: Path, others=()) -> Path:
    """PNG of a sweep's metric over two swept keys (`SweepResult.heatmap`); `others`: the other
    swept keys, whose best value each cell shows."""
    plt = _pyplot()
    xs, ys = list(grid.columns), list(grid.index)
    fig, ax = plt.subplots(figsize=(min(16, 2 + 0.35 * len(xs)), min(12, 1.5 + 0.3 * len(ys))))
    image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=ax, label=metric)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for axis_set, labels in ((ax.set_xticks, xs), (ax.set_yticks, ys)):
        step = max(1, len(labels) // 20)
        positions = list(range(0, len(labels), step))
        axis_set(positions, [_label(labels[i]) for i in positions])
    ax.tick_params(axis="x", labelrotation=90)
    title = f"{metric} over {x} × {y}" + (f" (best over {', '.join(others)})" if others else "")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
