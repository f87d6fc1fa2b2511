"""The `backtest` command: a thin printer over the Python API (`backtest.api`): parse the
arguments, call, print. One module per command group; heavy imports happen inside commands.

User errors (bad config, unknown series, missing files) print one line and exit 2; bugs print
one line and exit 1 (set BACKTEST_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys

import click

from backtest.errors import UserError


class _Group(click.Group):
    """Maps exceptions to one-line messages and exit codes."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:  # one line, not click's usage block
            where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
            help_hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {where}{_one_line(exc.format_message())}{help_hint}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:
            if os.environ.get("BACKTEST_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {_one_line(exc)} (BACKTEST_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)


def _one_line(exc: BaseException) -> str:
    """An error message on one line: a strategy's own exception text may span several."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backtest")
def main():
    """Config-driven historical backtests on real data."""


def _register() -> None:
    from backtest.cli import compare, data, report, run, runs, strategies, study, sweep

    for command in (run.run, run.check, run.rerun, sweep.sweep, compare.compare, report.report,
                    strategies.strategies, data.data, runs.runs, study.study):
        main.add_command(command)


_register()

__all__ = ["main"]
