"""`backtest strategies`: every shipped strategy (or a strategy file) and its parameters."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import click


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def strategies(file):
    """List the strategies in strategies/ (or the strategy in FILE) with their parameters."""
    from backtest.strategy import load_strategy, strategy_names

    loaded = [load_strategy(file=file, where=str(file))] if file else [load_strategy(name) for name in strategy_names()]
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    for i, strategy in enumerate(loaded):
        if i:
            click.echo()
        click.echo(click.style(strategy.name, bold=True) + (f" ({strategy.source})" if file else ""))
        summary = strategy.doc.split("\n\n")[0].replace("\n", " ") if strategy.doc else ""
        click.echo(textwrap.fill(summary, width, initial_indent="  ", subsequent_indent="  "))
        for line in parameter_lines(strategy.params, width):
            click.echo(line)


def parameter_lines(params, width: int) -> list[str]:
    """Each parameter on its own lines: name, type, default, range (and whether it declares
    history or is a signal) on the first; its help below, indented and wrapped to `width`
    (readable at 80 columns)."""
    lines = []
    for p in params:
        bounds = f"[{_number(p.min)}, {_number(p.max)}]" if p.min is not None or p.max is not None else " | ".join(map(str, p.choices))
        notes = [f"history in {p.history}"] * bool(p.history) + ["signal: read, not traded"] * p.signal
        head = f"  {p.name}: {p.kind} = {json.dumps(p.default)}" + (f"  {bounds}" if bounds else "") + (f"  ({'; '.join(notes)})" if notes else "")
        lines.append(head if len(head) <= width else head[: width - 1] + "…")
        if p.help:
            lines.extend(textwrap.wrap(p.help, width, initial_indent="      ", subsequent_indent="      "))
    return lines


def _number(value) -> str:
    return "" if value is None else f"{value:g}"
