"""Reports: a self-contained HTML tearsheet (plotly) and PNG charts (matplotlib Agg).

`data` computes what every chart shows from a run's stored outputs (through `backtest.stats`),
`html` and `png` draw it with the colours and titles of `style`, and `build` puts a run, a
comparison, a sweep or a study together. Plotting libraries are imported only when drawing.
"""

from backtest.report.build import Report, compare_report, report, run_report

__all__ = ["Report", "compare_report", "report", "run_report"]
