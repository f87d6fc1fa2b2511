"""How the command line prints: rich tables at their natural width, notes on stderr, options
shared by several commands."""

from __future__ import annotations

from pathlib import Path

import click


def options(*decorators):
    """One decorator applying several click options, listed in the order they show in --help."""

    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


def console():
    from rich.console import Console

    return Console(highlight=False)


def table(title: str, header: list[str], rows: list[list[str]]):
    from rich.table import Table

    out = Table(title=title, title_justify="left")
    for i, name in enumerate(header):
        out.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        out.add_row(*row)
    return out


def print_wide(*tables) -> None:
    """Print tables at their natural width even on a narrow terminal (ids must never be cut)."""
    from rich.measure import Measurement

    out = console()
    need = max(Measurement.get(out, out.options.update_width(10_000), t).maximum for t in tables)
    if need > out.width:
        out.width = need
    for t in tables:
        out.print(t)


def wrap_items(head: str, items: list[str], width: int) -> list[str]:
    """"  head a, b, c" wrapped to `width`, breaking only between items (names may hold spaces)."""
    lines, line = [], f"  {head}"
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(line) + 1 + len(piece) > width and line.strip() != head:
            lines.append(line)
            line = "    " + piece
        else:
            line = f"{line} {piece}"
    return [*lines, line]


def notes(lines) -> None:
    """One-line notices (dropped dates, a registry that could not be written, ...) on stderr:
    stdout may carry --json."""
    for line in lines:
        click.echo(line, err=True)


RESULTS_ROOT = click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("results"), show_default=True,
    help="Results root: where outputs are written and registry.sqlite is kept.",
)

# CONFIG and the options that change it (run, check, sweep)
CONFIG_ARGUMENTS = (
    click.argument("config", type=click.Path(dir_okay=False, path_type=Path)),
    click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key, e.g. strategy.params.lookback=7 (repeatable)."),
    click.option("--start", metavar="DATE", help="First date (YYYY-MM-DD); overrides period.start."),
    click.option("--end", metavar="DATE", help="Last date (YYYY-MM-DD); overrides period.end."),
)
