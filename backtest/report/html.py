"""Reports as one self-contained HTML file: plotly figures with plotly.js embedded inline (no
CDN, so the file opens with no network), tables in plain HTML.

Figures are built from what `backtest.report.data` computes; colours and titles come from
`backtest.report.style`, the same as the PNGs.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd

from backtest.report import style

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=40), hovermode="x unified",
               legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#222}
h1{font-size:1.6em;margin:0.2em 0}h2{font-size:1.2em;margin:1.6em 0 0.4em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:0.9em;margin:0.4em 0;display:block;overflow-x:auto;max-width:100%}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f5f5f5}.meta td{text-align:left}
.plot{width:100%}.note{color:#666;font-size:0.85em}pre{font-size:0.8em;background:#f7f7f7;padding:8px;overflow-x:auto}
.legs span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
"""


# --- figures ------------------------------------------------------------------------------------


def _x(index: pd.Index):
    """Dates as "YYYY-MM-DD" text: a third of plotly's default ISO timestamps."""
    return index.strftime("%Y-%m-%d").tolist() if isinstance(index, pd.DatetimeIndex) else list(index)


def _y(values) -> np.ndarray:
    """Values as float32 (7 significant digits, more than a chart shows): plotly sends numpy
    arrays as base64 typed arrays, half the size of float64."""
    return np.asarray(values, dtype=np.float32)


def _lines(frame: pd.DataFrame, benchmark: bool):
    """(rank, label, series, colour) per column, last column first: plotly draws later traces on
    top, so the strategy (the first column) is never hidden; the legend keeps column order.
    Compared runs on different calendars leave NaN where one has no row: lines connect over them."""
    colors = style.leg_colors(frame.shape[1], benchmark)
    items = [(rank, str(label), series, color) for rank, ((label, series), color) in enumerate(zip(frame.items(), colors))]
    return reversed(items)


def _translucent(color: str, alpha: float) -> str:
    """"#rrggbb" -> "rgba(r, g, b, alpha)"."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _figure(title: str, height: int = 420, **layout):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=dict(text=title, x=0.01), height=height, **{**_LAYOUT, **layout})
    return fig


def equity_figure(curves: pd.DataFrame, benchmark: bool = True):
    """Growth of 1 per column, log scale."""
    import plotly.graph_objects as go

    fig = _figure(style.TITLES["equity"], height=480)
    x = _x(curves.index)
    for rank, label, curve, color in _lines(curves, benchmark):
        fig.add_trace(go.Scatter(x=x, y=_y(curve), name=label, legendrank=rank, line=dict(color=color, width=1.2),
                                 connectgaps=True, hovertemplate="%{y:,.2f}"))
    # ",.2~r": 0.2, 0.5, 1, 2, 50,000 (",.0f" would print the ticks below 1 as 0)
    fig.update_yaxes(type="log", tickformat=",.2~r", title_text="growth of 1 (log scale)")
    return fig


def drawdown_figure(curves: pd.DataFrame, spans=(), benchmark: bool = True):
    """Drawdown per column, the worst episodes' peak-to-recovery spans shaded and numbered."""
    import plotly.graph_objects as go

    fig = _figure(style.TITLES["drawdown"] if len(spans) else "Drawdown from the running peak", height=380)
    x = _x(curves.index)
    for rank, label, curve, color in _lines(curves, benchmark):
        # a light fill, so the benchmark's line stays visible through the strategy's area
        fig.add_trace(go.Scatter(x=x, y=_y(curve), name=label, legendrank=rank, fill="tozeroy" if rank == 0 else None,
                                 fillcolor=_translucent(color, 0.2), line=dict(color=color, width=0.9), connectgaps=True,
                                 hovertemplate="%{y:.1%}"))
    for rank, (start, end) in enumerate(spans, start=1):
        fig.add_vrect(x0=start.strftime("%Y-%m-%d"), x1=end.strftime("%Y-%m-%d"), fillcolor=style.DRAWDOWN_SHADE,
                      opacity=0.12, line_width=0, annotation_text=str(rank), annotation_position="bottom left")
    fig.update_yaxes(tickformat=".0%", title_text="drawdown")
    return fig


def rolling_figure(panels: dict, benchmark: bool = True):
    """Rows: window lengths; columns: rolling annualised return and rolling Sharpe ratio."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = [style.TITLES[k].format(years=y) for y in panels for k in ("rolling_return", "rolling_sharpe")]
    fig = make_subplots(rows=len(panels), cols=2, subplot_titles=titles, shared_xaxes=True, vertical_spacing=0.1)
    for row, (returns, sharpe) in enumerate(panels.values(), start=1):
        for col, frame in ((1, returns), (2, sharpe)):
            for rank, label, curve, color in _lines(frame, benchmark):
                valid = curve.dropna()
                fig.add_trace(go.Scatter(x=_x(valid.index), y=_y(valid), name=label, legendgroup=label, legendrank=rank,
                                         showlegend=row == 1 and col == 1, line=dict(color=color, width=0.8),
                                         hovertemplate="%{y:.1%}" if col == 1 else "%{y:.2f}"), row=row, col=col)
        fig.update_yaxes(tickformat=".0%", row=row, col=1)
    fig.update_layout(height=300 * len(panels) + 110, **_LAYOUT)
    # the legend above the subplot titles, not over them
    fig.update_layout(title=dict(text="Rolling return and Sharpe ratio", x=0.01), margin=dict(t=100), legend=dict(y=1.08))
    return fig


def annual_figure(returns: pd.DataFrame, benchmark: bool = True):
    """Calendar-year returns side by side."""
    import plotly.graph_objects as go

    fig = _figure(style.TITLES["annual"], height=400, barmode="group", bargap=0.15)
    years = [str(y) for y in returns.index]
    for (label, column), color in zip(returns.items(), style.leg_colors(returns.shape[1], benchmark)):
        fig.add_trace(go.Bar(x=years, y=_y(column), name=str(label), marker_color=color, hovertemplate="%{y:.1%}"))
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category", nticks=25)
    return fig


def monthly_figure(table: pd.DataFrame):
    """Year x month heatmap of monthly returns (%), centred at 0, values in the cells."""
    import plotly.graph_objects as go

    z = table.to_numpy(dtype=float) * 100
    limit = style.heatmap_limit(z)
    fig = _figure(style.TITLES["monthly"], height=max(300, 15 * len(table) + 120), hovermode="closest")
    fig.add_trace(go.Heatmap(z=np.round(z, 2), x=MONTHS, y=[str(y) for y in table.index], colorscale=style.HEATMAP_SCALE,
                             zmid=0, zmin=-limit, zmax=limit, texttemplate="%{z:.1f}", textfont=dict(size=8), xgap=1, ygap=1,
                             hovertemplate="%{y} %{x}: %{z:.2f} %<extra></extra>", colorbar=dict(title="%")))
    fig.update_yaxes(autorange="reversed", type="category", nticks=50)
    fig.update_xaxes(side="top")
    return fig


def weights_figure(held: pd.DataFrame):
    """Target weights, stacked, held as steps between rebalance dates."""
    import plotly.graph_objects as go

    fig = _figure(style.TITLES["weights"], height=360)
    x = _x(held.index)
    for (asset, column), color in zip(held.items(), style.asset_colors(held.shape[1])):
        fig.add_trace(go.Scatter(x=x, y=_y(column), name=str(asset), stackgroup="weights", line=dict(shape="hv", width=0.5, color=color),
                                 hovertemplate="%{y:.1%}"))
    fig.update_yaxes(tickformat=".0%", range=[0, max(1.0, float(held.sum(axis=1).max()))])
    return fig


def activity_figure(frame: pd.DataFrame):
    """One-way turnover and fees per calendar year."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=[style.TITLES["turnover"], style.TITLES["fees"]])
    years = [str(y) for y in frame.index]
    fig.add_trace(go.Bar(x=years, y=_y(frame["turnover"]), name="turnover", marker_color=style.STRATEGY_COLOR,
                         hovertemplate="%{y:.1%}", showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=years, y=_y(frame["fee_drag"]), name="fees", marker_color=style.STRATEGY_COLOR,
                         customdata=_y(frame["fees"]), hovertemplate="%{y:.3%} (%{customdata:,.2f})", showlegend=False), row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".2%", row=2, col=1)
    fig.update_xaxes(type="category", nticks=25)
    fig.update_layout(height=460, **_LAYOUT)
    fig.update_layout(title=dict(text="Turnover and fees", x=0.01))
    return fig


def metric_heatmap_figure(grid: pd.DataFrame, metric: str, x: str, y: str):
    """A sweep's metric over two swept keys (rows: y values, columns: x values)."""
    import plotly.graph_objects as go

    fig = _figure(f"{metric} over {x} × {y}", height=max(360, 22 * len(grid) + 140), hovermode="closest")
    fig.add_trace(go.Heatmap(z=grid.to_numpy(dtype=float), x=[str(v) for v in grid.columns], y=[str(v) for v in grid.index],
                             colorscale="Viridis", colorbar=dict(title=metric),
                             hovertemplate=f"{x}=%{{x}}, {y}=%{{y}}: %{{z:.4g}}<extra></extra>"))
    fig.update_xaxes(type="category", title_text=x)
    fig.update_yaxes(type="category", title_text=y)
    return fig


# --- page ---------------------------------------------------------------------------------------


def table(header: list[str], rows: list[list], cls: str = "") -> str:
    """A plain HTML table; every cell escaped."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    head = f"<thead><tr>{head}</tr></thead>" if any(str(h) for h in header) else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{head}<tbody>{body}</tbody></table>'


def section(title: str, *parts: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n" + "\n".join(parts)


def text(value: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{html.escape(value)}</p>'


def code(value) -> str:
    return "<pre>" + html.escape(value if isinstance(value, str) else json.dumps(value, indent=2, default=str)) + "</pre>"


def plot(fig, div_id: str) -> str:
    """A figure's div and the script drawing it (plotly.js itself is in the page head once)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, default_width="100%",
                       config={"displaylogo": False, "responsive": True}).replace("<div>", '<div class="plot">', 1)


def page(title: str, subtitle: str, body: list[str]) -> str:
    """The whole document: plotly.js inline in the head, then the sections."""
    from plotly.offline import get_plotlyjs

    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>{text(subtitle)}\n" + "\n".join(body) + "\n</body></html>\n"
    )
