"""Errors a user can fix, shown as one line instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the input or configuration: the message names it and says the fix."""


class DataError(UserError):
    """Bad review data: the message names the file and row."""


class ConfigError(UserError):
    """Bad parameters, profile or model choice."""


def _one_line(shell, etype, value, tb, tb_offset=None):
    """IPython handler: show a UserError as `Name: message`, still failing the cell."""
    short = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, short)  # IPython ignores a handler's return value; this publishes it
    return short


def install_short_errors() -> None:
    """In IPython (notebooks, papermill), show UserErrors as one line; elsewhere do nothing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((UserError,), _one_line)
