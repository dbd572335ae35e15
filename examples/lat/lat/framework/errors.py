"""Error tree: every error a user can cause is a LatError; the CLI prints it and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LatError(Exception):
    """An error the user can fix (configuration, input files); printed without traceback.

    >>> str(LatError("input file 'x.ldf' does not exist", hint="check -s"))
    "input file 'x.ldf' does not exist"
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(LatError):
    """A configuration error located by file and dotted key path.

    >>> str(ConfigError("l1/digi.yaml", "physics.producers.calib.module_type", "unknown module"))
    'l1/digi.yaml: physics.producers.calib.module_type: unknown module'
    """

    def __init__(self, file: str, key_path: str, message: str, hint: str | None = None) -> None:
        location = f"{file}: {key_path}: " if key_path else f"{file}: "
        super().__init__(location + message, hint)
        self.file = file
        self.key_path = key_path


class InputError(LatError):
    """A missing or unreadable input file."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'X'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
