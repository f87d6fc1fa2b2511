"""What every report writes: the `Report` (its HTML file and PNGs), the HTML written whole,
and a plain cell for values the tables have no format for."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backtest.io import write_text


@dataclass
class Report:
    html: Path
    pngs: list[Path] = field(default_factory=list)


def write_html(document: str, path: Path) -> Path:
    """Write atomically: a reader never sees half a report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, document)


def cell(value) -> str:
    """A value as a table cell: floats to 4 significant digits, None as "–"."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value)
    return "–" if value is None else str(value)
