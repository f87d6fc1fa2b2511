"""A study's report, from its directory: its parameters, the tables and lines `backtest study`
prints, its tests and its plot."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from backtest.display import format_value
from backtest.io import atomic_file
from backtest.report.data import ReportError
from backtest.report.document import Report, cell, write_html


def study_report(study_dir: Path, out: Path | str | None = None, png_dir: Path | str | None = None) -> Report:
    """A study: its parameters, the tables and lines `backtest study` prints (returns as percents),
    its tests, and its plot (the PNG it wrote, embedded); with png_dir, that PNG copied there."""
    from backtest.report import html

    try:
        saved = json.loads((study_dir / "study.json").read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{study_dir / 'study.json'}: cannot read it ({exc})") from None
    result = _study_result(saved)
    summary = result.figures
    body = [html.section("Question", html.table(["", ""], [[k, json.dumps(v)] for k, v in result.params.items()], "meta"))]
    if result.name == "ytd":  # no groups, no tests: one line per series, as the command prints
        from backtest.study.year_to_date import lines

        body[0] += "\n" + "\n".join(html.text(line) for line in [*result.notes, *lines(result)])
        periods, tables = None, []
    else:
        from backtest.study import module
        from backtest.study.common import report as study_tables

        study = module(result.name)
        (periods, *tables), lines = study_tables(result, study.COLUMNS, study.OUTCOMES)
        body[0] += "\n" + "\n".join(html.text(line) for line in lines)
    for title, header, rows in tables:
        body.append(html.section("Summary", html.text(title), html.table(header, rows)))
    scalars = [[k, cell(v)] for k, v in summary.items() if not isinstance(v, (dict, list))]
    tests = [[c["claim"], format_value(c["difference"], "pct"), cell(c["p_value"]), cell(c.get("p_value_holm")), cell(c.get("p_value_bh")),
              c["verdict"]] for c in summary.get("comparisons", [])]
    if tests or scalars:
        body.append(html.section("Tests", html.table(["claim", "difference", "p", "p (Holm)", "p (Benjamini-Hochberg)", "verdict"], tests),
                                 html.table(["", ""], scalars, "meta")))
    pictures = sorted(study_dir.glob("*.png"))
    for picture in pictures:
        encoded = base64.b64encode(picture.read_bytes()).decode()
        body.append(html.section(picture.stem, f'<img alt="{picture.stem}" style="max-width:100%" src="data:image/png;base64,{encoded}">'))
    if periods is not None:
        title, header, rows = periods
        body.append(html.section("Per period", html.text(title), html.table(header, rows)))
    document = html.page(f"Study {result.name}", study_dir.name, body)
    report = Report(write_html(document, Path(out) if out else study_dir / "report.html"))
    if png_dir is not None:
        Path(png_dir).mkdir(parents=True, exist_ok=True)
        report.pngs = [atomic_file(Path(png_dir) / picture.name, lambda tmp, source=picture: shutil.copyfile(source, tmp))
                       for picture in pictures]
    return report


def _study_result(saved: dict):
    """The `StudyResult` a study.json was written from (`StudyResult.to_json`), so the report
    formats it as the command line does."""
    import pandas as pd

    from backtest.study.common import StudyResult

    # the rows are under the study's own key ("years", "rows", "series"): the one to_json adds
    row_key = next(k for k in saved if k not in ("study", "params", "summary", "notes", "directory"))
    return StudyResult(saved["study"], saved["params"], pd.DataFrame(saved[row_key]), row_key, saved["summary"], saved.get("notes", []))
