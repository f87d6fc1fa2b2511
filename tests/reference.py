"""Independent plain-Python reference implementations used by the tests.

Written from the written contracts (README / module docstrings), not from the code under test.
"""

import numpy as np


def rebalance_loop(prices, weights, initial_cash, fees=0.0, slippage=0.0):
    """Target-weight rebalancing with shared cash, the contract of backtest.engine.

    prices: (n, k) price levels; weights: (n, k) targets with NaN meaning "no order".
    At a row with any target: value the portfolio at the close, sell what is above target,
    then buy what is below (smallest order value first), each buy cut to what the cash covers.
    Returns (equity per row, total fees).
    """
    n, k = prices.shape
    cash = float(initial_cash)
    position = np.zeros(k)
    equity = np.empty(n)
    fees_paid = 0.0
    for t in range(n):
        p = prices[t]
        if not np.all(np.isnan(weights[t])):
            value = cash + float(np.sum(position * p))
            deltas = []
            for a in range(k):
                if np.isnan(weights[t, a]):
                    continue
                deltas.append((weights[t, a] * value / p[a] - position[a], a))
            deltas.sort(key=lambda d: d[0] * p[d[1]])  # sells (negative value) first
            for delta, a in deltas:
                if delta < 0:
                    price = p[a] * (1 - slippage)
                    proceeds = -delta * price
                    cash += proceeds * (1 - fees)
                    fees_paid += proceeds * fees
                    position[a] += delta
                elif delta > 0:
                    price = p[a] * (1 + slippage)
                    if delta * price * (1 + fees) > cash:
                        delta = cash / (price * (1 + fees))
                    cost = delta * price
                    cash -= cost * (1 + fees)
                    fees_paid += cost * fees
                    position[a] += delta
        equity[t] = cash + float(np.sum(position * p))
    return equity, fees_paid


def first10_signals(dates, small_returns, large_returns, lookback, tilt):
    """The first10 rule as written in its issue: list of (date, w_small, w_large)."""
    p_small = np.cumprod(1 + np.asarray(small_returns))
    p_large = np.cumprod(1 + np.asarray(large_returns))
    rows = [(dates[0], 0.5, 0.5)]
    years = [d.year for d in dates]
    by_year = {}
    for i, y in enumerate(years):
        by_year.setdefault(y, []).append(i)
    for y in sorted(by_year):
        sessions = by_year[y]
        first = sessions[0]
        if first == 0 or len(sessions) < lookback + 1:
            continue
        prev = first - 1
        nth = sessions[lookback - 1]
        small_ret = p_small[nth] / p_small[prev] - 1
        large_ret = p_large[nth] / p_large[prev] - 1
        w = tilt if small_ret > large_ret else 1 - tilt
        rows.append((dates[sessions[lookback]], w, 1 - w))
    return rows


def read_french_csv(path, columns):
    """Dates and returns (fractions) of `columns` from a cleaned Ken French CSV, with the csv module.

    Rows where any requested column is missing (-99.99 / -999) are skipped.
    """
    import csv
    import datetime as dt

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header = [h.strip() for h in rows[0]]
    positions = [header.index(c) for c in columns]
    dates, values = [], []
    for row in rows[1:]:
        if not row or not row[0].strip().isdigit():
            continue
        picked = [float(row[i]) for i in positions]
        if any(v in (-99.99, -999.0) for v in picked):
            continue
        dates.append(dt.datetime.strptime(row[0].strip(), "%Y%m%d"))
        values.append([v / 100 for v in picked])
    return dates, np.array(values)


def summary_figures(equity, initial_cash, periods_per_year=252):
    """Headline statistics with plain numpy, from the formulas in the README."""
    equity = np.asarray(equity, dtype=float)
    previous = np.r_[initial_cash, equity[:-1]]
    r = equity / previous - 1
    peak = np.maximum.accumulate(np.r_[initial_cash, equity])[1:]
    return {
        "final_value": equity[-1],
        "total_return": equity[-1] / initial_cash - 1,
        "cagr": (equity[-1] / initial_cash) ** (periods_per_year / len(equity)) - 1,
        "volatility": r.std(ddof=1) * np.sqrt(periods_per_year),
        "sharpe": r.mean() / r.std(ddof=1) * np.sqrt(periods_per_year),
        "max_drawdown": (equity / peak - 1).min(),
    }
