"""One small hierarchy of errors.

`UserError` is anything the user can fix (a bad config key, an unknown series id, a missing
file, an empty date range): the CLI prints its message on one line and exits with code 2.
Anything else is a bug: the CLI exits with code 1. Exit code 3 is a check that ran and said no.
"""

import difflib


class UserError(Exception):
    """A problem with the user's input; the message names the file, key or date at fault."""

    exit_code = 2


class ConfigError(UserError):
    """A config file or `--set` override is invalid."""


class DataError(UserError):
    """A data file is missing, unreadable or malformed, or a series id is unknown."""


class StrategyError(UserError):
    """A strategy cannot be found, or its parameters are invalid."""


# `backtest check` found look-ahead, or `backtest rerun` did not reproduce the run: the command
# itself worked, and its answer is "no".
EXIT_CHECK_FAILED = 3


class OutputError(UserError):
    """The results directory cannot be created or written."""


def did_you_mean(word: str, choices: list[str]) -> str:
    """' (did you mean 'x'?)' naming the closest of `choices` (case and spaces ignored first), or ''."""
    folded = {c.casefold().replace(" ", ""): c for c in choices}
    match = folded.get(str(word).casefold().replace(" ", "")) or next(iter(difflib.get_close_matches(str(word), choices, 1)), None)
    return f" (did you mean {match!r}?)" if match else ""
