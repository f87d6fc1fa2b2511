"""How statistics are shown to people: labels and number formats, one place for every table."""

from __future__ import annotations

import math

# statistic -> (label, format); formats: pct (fraction shown as %), ratio, money, int, days
STAT_FORMATS: dict[str, tuple[str, str]] = {
    "final_value": ("Final value", "money"),
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "volatility": ("Volatility (ann.)", "pct"),
    "sharpe": ("Sharpe", "ratio"),
    "sortino": ("Sortino", "ratio"),
    "calmar": ("Calmar", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_days": ("Max drawdown length (days)", "int"),
    "best_year": ("Best year", "pct"),
    "worst_year": ("Worst year", "pct"),
    "pct_positive_years": ("Positive years", "pct"),
    "rebalances": ("Rebalances", "int"),
    "turnover": ("Turnover (ann., one-way)", "pct"),
    "fees_paid": ("Fees paid", "money"),
    "excess_cagr": ("Excess CAGR vs benchmark", "pct"),
    "tracking_error": ("Tracking error", "pct"),
    "information_ratio": ("Information ratio", "ratio"),
    "beta": ("Beta", "ratio"),
    "alpha": ("Alpha (ann.)", "pct"),
}


# statistics where less is better: risk taken, time under water, trading and its costs
LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown_days", "rebalances", "turnover", "fees_paid", "tracking_error", "beta"})


def lowest_first(metric: str) -> bool:
    """Whether a ranking by `metric` puts its lowest value first (every other statistic: highest
    first; drawdowns are negative, so the shallowest `max_drawdown` is the highest)."""
    return metric in LOWER_IS_BETTER


def ranked_by(metric: str) -> str:
    """"volatility, lowest first": how a ranking by `metric` is ordered, for headings."""
    return f"{metric}, {'lowest' if lowest_first(metric) else 'highest'} first"


def format_value(value, kind: str) -> str:
    if value is None or isinstance(value, float) and math.isnan(value):
        return "–"
    if kind == "pct":
        return f"{value * 100:,.2f} %"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,d}"
    return f"{value:,.3f}"


def stat_rows(columns: dict[str, dict | None]) -> list[list[str]]:
    """Rows of [label, value per column] for every known statistic present in any column."""
    rows = []
    for name, (label, kind) in STAT_FORMATS.items():
        if not any(col and name in col for col in columns.values()):
            continue
        rows.append([label, *(format_value((col or {}).get(name), kind) for col in columns.values())])
    return rows


def drawdown_rows(drawdowns: list[dict]) -> list[list[str]]:
    return [
        [
            d["peak"],
            d["trough"],
            d["recovery"] or "not recovered",
            format_value(d["depth"], "pct"),
            format_value(d["length_days"], "int"),
        ]
        for d in drawdowns
    ]


def format_params(params: dict | None) -> str:
    """Swept values for people: "lookback=20, tilt=1.0" (the last part of each dotted key)."""
    if not params:
        return "–"
    return ", ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in params.items())


def conventions_line(conventions: dict) -> str:
    """The `"conventions"` object (`backtest.stats.conventions.Conventions.to_json`) in one line."""
    ppy = conventions["periods_per_year"]
    if conventions["periods_per_year_setting"] == "auto":
        sessions = f"{ppy:.1f} sessions a year ({conventions['sessions']:,} over {conventions['years']:.2f} calendar years)"
    else:
        sessions = f"{ppy:g} periods a year (fixed)"
    source = conventions["risk_free"]
    risk_free = f"{source} accrued per row" if isinstance(source, str) else f"{source:g} a year" if source else "0"
    return (f"Conventions: {sessions}; CAGR over calendar years; risk-free {risk_free} (Sharpe, Sortino, alpha "
            f"on excess returns); alpha and beta: OLS on excess returns, alpha x {ppy:.1f} a year")


def edge_lines(summary: dict, with_note: bool = False) -> list[str]:
    """The lines under a run's statistics table, from its summary (`--json`, stats.json): the
    conventions, with `with_note` the reason for its risk-free rate (the CLI prints it on stderr),
    and the significance of the edge where there is a benchmark."""
    conventions, significance = summary.get("conventions"), summary.get("significance")
    lines = [conventions_line(conventions)] if conventions else []
    if with_note and conventions and conventions.get("risk_free_note"):
        lines.append(conventions["risk_free_note"])
    return lines + (significance_lines(significance) if significance else [])


def significance_lines(block: dict) -> list[str]:
    """The `"significance"` object (`backtest.stats.edge.significance`): its verdict, then its figures
    ("–" where a figure is missing: NaN in memory, null once saved)."""
    def number(key: str, spec: str, index: int | None = None) -> str:
        value = block[key] if index is None else block[key][index]
        return "–" if value is None or not math.isfinite(value) else format(value, spec)

    boot = block["bootstrap"]
    return [
        f"Significance: {block['verdict']}",
        f"  Sharpe {number('sharpe', '.3f')} (95 % {number('sharpe_ci', '.3f', 0)} … {number('sharpe_ci', '.3f', 1)}) vs "
        f"{number('benchmark_sharpe', '.3f')}; difference {number('sharpe_difference', '+.3f')} (95 % "
        f"{number('sharpe_difference_ci', '+.3f', 0)} … {number('sharpe_difference_ci', '+.3f', 1)}); P(true Sharpe > the "
        f"other's observed) = {number('probabilistic_sharpe', '.2f')}; Newey-West t with {block['lags']} lags; stationary "
        f"bootstrap {boot['resamples']:,} resamples, mean block {boot['mean_block']:g}, seed {boot['seed']}",
    ]
