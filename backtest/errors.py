"""One small hierarchy of errors.

`UserError` is anything the user can fix (a bad config key, an unknown series id, a missing
file, an empty date range): the CLI prints its message on one line and exits with code 2.
Anything else is a bug: the CLI exits with code 1.
"""


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
