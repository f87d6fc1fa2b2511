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
