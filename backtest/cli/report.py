"""`backtest report`: the HTML report (and PNG charts) of a recorded run, sweep or study."""

from __future__ import annotations

from pathlib import Path

import click

from backtest.cli.output import RESULTS_ROOT


@click.command()
@click.argument("target", metavar="RUN_ID")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write (default: report.html in the run's directory).")
@click.option("--png", "png_dir", type=click.Path(file_okay=False, path_type=Path), help="Also write the key charts as PNG files into this directory.")
@RESULTS_ROOT
def report(target, html_file, png_dir, out):
    """Write the HTML report of a run or sweep (RUN_ID, a unique prefix, or its directory) or a study directory."""
    from backtest.report import report as write_report

    result = write_report(target, root=out, out=html_file, png_dir=png_dir)
    click.echo(f"Report: {result.html}")
    for path in result.pngs:
        click.echo(f"Chart: {path}")
