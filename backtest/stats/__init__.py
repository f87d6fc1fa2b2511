"""Every statistic once: numba kernels on plain arrays (`nb`, shared with the sweep kernels)
and their pandas wrappers (`performance`)."""

from backtest.stats.performance import (
    COUNT_STATS,
    RELATIVE_STAT_NAMES,
    STAT_NAMES,
    TOP_DRAWDOWNS,
    daily_returns,
    drawdown_series,
    drawdowns,
    monthly_returns,
    performance,
    relative,
    rolling_return,
    rolling_sharpe,
    yearly_returns,
)

__all__ = [
    "COUNT_STATS", "RELATIVE_STAT_NAMES", "STAT_NAMES", "TOP_DRAWDOWNS", "daily_returns", "drawdown_series",
    "drawdowns", "monthly_returns", "performance", "relative", "rolling_return", "rolling_sharpe", "yearly_returns",
]
