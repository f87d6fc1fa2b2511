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


def summary_figures(equity, initial_cash, dates, periods_per_year="auto", risk_free=None):
    """Headline statistics with plain numpy, from the formulas in the README: CAGR over calendar
    years (days / 365.25), "auto" periods a year = (rows - 1) / calendar years, Sharpe of the
    excess returns r - risk_free, where row 0 (the purchase, at its close) earns no risk-free return."""
    equity = np.asarray(equity, dtype=float)
    years = (dates[-1] - dates[0]).days / 365.25
    ppy = (len(equity) - 1) / years if periods_per_year == "auto" else periods_per_year
    previous = np.r_[initial_cash, equity[:-1]]
    r = equity / previous - 1
    rf = np.zeros(len(r)) if risk_free is None else np.array(risk_free, dtype=float)
    rf[0] = 0.0
    x = r - rf
    peak = np.maximum.accumulate(np.r_[initial_cash, equity])[1:]
    return {
        "final_value": equity[-1],
        "total_return": equity[-1] / initial_cash - 1,
        "cagr": (equity[-1] / initial_cash) ** (1 / years) - 1,
        "volatility": r.std(ddof=1) * np.sqrt(ppy),
        "sharpe": x.mean() / x.std(ddof=1) * np.sqrt(ppy),
        "max_drawdown": (equity / peak - 1).min(),
    }


# ---- strategy library (tests/test_strategies_library.py): each rule as its docstring states it,
# ---- one session at a time, with plain Python lists and products instead of cumulative arrays.


def _growth(column, first, last):
    """prod(1 + r) over rows first..last inclusive (1.0 when first > last)."""
    g = 1.0
    for s in range(first, last + 1):
        g *= 1.0 + column[s]
    return g


def _first_sessions(dates):
    """{(year, month): row of its first session in the data}, in order."""
    firsts = {}
    for i, d in enumerate(dates):
        firsts.setdefault((d.year, d.month), i)
    return firsts


def _months_back(year, month, k):
    for _ in range(k):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return year, month


def first10_hold_signals(dates, small_returns, large_returns, lookback, tilt, hold):
    """first10 with a hold horizon: back to 50/50 `hold` sessions after each signal's rebalance,
    unless the next signal comes first or on that session."""
    rows = first10_signals(dates, small_returns, large_returns, lookback, tilt)
    position = {d: i for i, d in enumerate(dates)}
    signal_rows = [position[d] for d, _, _ in rows[1:]]
    out = list(rows)
    if hold > 0:
        for j, row in enumerate(signal_rows):
            exit_row = row + hold
            limit = signal_rows[j + 1] if j + 1 < len(signal_rows) else len(dates)
            if exit_row < limit:
                out.append((dates[exit_row], 0.5, 0.5))
    return sorted(out, key=lambda r: r[0])


def january_effect_signals(dates, start_month, end_month, tilt):
    """(date, w_small, w_large) at each change of the position held over the next session."""
    window = [start_month]
    while window[-1] != end_month:
        window.append(window[-1] % 12 + 1)
    rows, current = [], None
    for t in range(len(dates)):
        if t + 1 < len(dates):
            w = tilt if dates[t + 1].month in window else 0.5
        elif t == 0:
            w = 0.5
        else:
            break
        if w != current:
            rows.append((dates[t], w, 1 - w))
            current = w
    return rows


def size_momentum_signals(dates, small_returns, large_returns, months, tilt):
    firsts = _first_sessions(dates)
    rows = []
    for (y, m), row in firsts.items():
        before = firsts.get(_months_back(y, m, months))
        if before is None:
            w = 0.5
        else:
            s = _growth(small_returns, before + 1, row)
            l = _growth(large_returns, before + 1, row)
            w = tilt if s > l else 1 - tilt
        rows.append((dates[row], w, 1 - w))
    return rows


def sector_rotation_signals(dates, columns, lookback, top):
    """columns: list of return lists (one per series). Returns (date, [weights])."""
    k = min(top, len(columns))
    rows = []
    for row in _first_sessions(dates).values():
        if row < lookback:
            weights = [1 / len(columns)] * len(columns)
        else:
            trailing = [_growth(c, row - lookback + 1, row) - 1 for c in columns]
            order = sorted(range(len(columns)), key=lambda a: (-trailing[a], a))
            weights = [1 / k if a in order[:k] else 0.0 for a in range(len(columns))]
        rows.append((dates[row], weights))
    return rows


def cyclical_tilt_signals(dates, cyclical_columns, defensive_columns, lookback, tilt):
    rows = []
    nc, nd = len(cyclical_columns), len(defensive_columns)
    for row in _first_sessions(dates).values():
        if row < lookback:
            share = 0.5
        else:
            c = sum(_growth(x, row - lookback + 1, row) - 1 for x in cyclical_columns) / nc
            d = sum(_growth(x, row - lookback + 1, row) - 1 for x in defensive_columns) / nd
            share = tilt if c > d else 1 - tilt
        rows.append((dates[row], [share / nc] * nc + [(1 - share) / nd] * nd))
    return rows


def rate_regime_signals(dates, rate, months, window, min_change_bp, tilt):
    """(date, w_small, w_large): the rate is read, never traded."""
    def level(row):
        if row < window - 1:
            return None
        return sum(rate[row - window + 1 : row + 1]) / window

    firsts = _first_sessions(dates)
    rows = []
    for (y, m), row in firsts.items():
        before = firsts.get(_months_back(y, m, months))
        w = 0.5
        if before is not None and level(row) is not None and level(before) is not None:
            change = (level(row) - level(before)) * 252 * 10_000
            if change < -min_change_bp - 1e-9:
                w = tilt
            elif change > min_change_bp + 1e-9:
                w = 1 - tilt
        rows.append((dates[row], w, 1 - w))
    return rows


def trend_filter_signals(dates, asset_returns, window):
    prices, level = [], 1.0
    for r in asset_returns:
        level *= 1 + r
        prices.append(level)
    rows, state = [], None
    for t in range(window - 1, len(prices)):
        average = sum(prices[t - window + 1 : t + 1]) / window
        new = 1.0 if prices[t] > average else 0.0
        if new != state:
            rows.append((dates[t], new))
            state = new
    return rows


def deflated_sharpe(excess, trial_ratios, periods_per_year):
    """Bailey & López de Prado (2014), eqs. for SR0 and DSR, written out independently with scipy:
    (DSR, SR0 annualised). excess: per-period excess returns; trial_ratios: the trials' annualised
    Sharpe ratios."""
    from scipy import stats as sps

    r = np.asarray(excess, dtype=float)
    sr = np.mean(r) / np.std(r, ddof=1)
    per_period = np.asarray(trial_ratios, dtype=float) / np.sqrt(periods_per_year)
    n = len(per_period)
    gamma = 0.5772156649015329
    sr0 = np.std(per_period, ddof=1) * ((1 - gamma) * sps.norm.ppf(1 - 1 / n) + gamma * sps.norm.ppf(1 - 1 / (n * np.e)))
    g3 = sps.skew(r)
    g4 = sps.kurtosis(r) + 3
    dsr = sps.norm.cdf((sr - sr0) * np.sqrt(len(r) - 1) / np.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    return dsr, sr0 * np.sqrt(periods_per_year)


def correlated_pair(seed, n, mean_a, mean_b, corr=0.5, vol=0.01):
    """Two series of n normal returns with means mean_a, mean_b, volatility vol and correlation corr."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0, vol, n)
    a = mean_a + np.sqrt(corr) * common + np.sqrt(1 - corr) * rng.normal(0, vol, n)
    b = mean_b + np.sqrt(corr) * common + np.sqrt(1 - corr) * rng.normal(0, vol, n)
    return a, b
