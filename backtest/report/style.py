"""What every chart of every report shares: colours (the strategy always blue, the benchmark
always grey, in HTML and PNG alike), titles and number formats."""

from __future__ import annotations

STRATEGY_COLOR = "#1f5fa8"
BENCHMARK_COLOR = "#8a8a8a"
# further lines of a comparison; the first entry takes the strategy's colour
OTHER_COLORS = ("#d9541e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
DRAWDOWN_SHADE = "#d62728"
HEATMAP_SCALE = "RdYlGn"  # monthly returns: red losses, green gains, centred at 0

TITLES = {
    "equity": "Growth of 1 (log scale)",
    "drawdown": "Drawdown from the running peak (5 worst shaded)",
    "rolling_return": "Rolling {years}-year return (annualised)",
    "rolling_sharpe": "Rolling {years}-year Sharpe ratio",
    "annual": "Calendar-year returns",
    "monthly": "Monthly returns of the strategy (%)",
    "weights": "Target weights of the strategy",
    "turnover": "One-way turnover per calendar year",
    "fees": "Fees paid per calendar year, as a share of the year's mean portfolio value",
}


def heatmap_limit(values) -> float:
    """Half the range of the monthly heatmap's colour scale, centred at 0: the 98th percentile of
    |values| (a few extreme months do not wash out the rest), or 1 where that is 0 or there is no
    finite value (all months flat: a scale needs a width)."""
    import numpy as np

    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    limit = float(np.percentile(finite, 98)) if finite.size else 0.0
    return limit if limit > 0 else 1.0


def leg_colors(n: int, benchmark: bool) -> list[str]:
    """Colours of n lines: a run's strategy and benchmark, or a comparison's entries in order."""
    palette = (STRATEGY_COLOR, BENCHMARK_COLOR) if benchmark else (STRATEGY_COLOR, *OTHER_COLORS)
    return [palette[i % len(palette)] for i in range(n)]


def asset_colors(n: int) -> list[str]:
    """Colours of the stacked target weights (a qualitative palette, cash last in grey)."""
    palette = ("#1f5fa8", "#d9541e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f3b08", "#2d004b")
    return [palette[i % len(palette)] for i in range(n)]
