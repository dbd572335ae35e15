"""The one exception tree of hepstack.

Library code raises these; only the CLI catches them and prints ``error:`` and ``hint:``.
A user mistake never surfaces as a traceback (``--debug`` shows one).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing and collections.abc: imports the fast path of `hepstack run` avoids
if TYPE_CHECKING:
    from collections.abc import Sequence


class HepstackError(Exception):
    """An error a user can act on: what went wrong, and a hint how to fix it.

    >>> raise HepstackError("unknown runtime 'dokcer'", hint="known runtimes: docker, native, podman")
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class SpecError(HepstackError):
    """One problem in a stack spec, located by file, line and key path."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None,
        key_path: str,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.value = value
        where = f"{file}:{line}" if line is not None else file
        shown = f" (got {value!r})" if value is not None else ""
        super().__init__(f"{where}: {key_path}: {message}{shown}", hint=hint)


class SpecErrors(HepstackError):
    """All problems found in one spec; validation reports them together, not one per run."""

    def __init__(self, errors: Sequence[SpecError]) -> None:
        self.errors = list(errors)
        lines = [str(e) for e in self.errors]
        hints = [f"{e.key_path}: {e.hint}" for e in self.errors if e.hint]
        count = len(self.errors)
        head = f"the stack spec has {count} problem{'s' if count != 1 else ''}"
        super().__init__(head + ":\n  " + "\n  ".join(lines), hint="\n  ".join(hints) or None)


class ProcessError(HepstackError):
    """A tool hepstack ran exited non-zero: shows the argv, the exit code and the tail of stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str, hint: str | None = None) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        message = f"command failed with exit code {returncode}: {' '.join(self.argv)}"
        if tail:
            message += "\n" + "\n".join("  | " + line for line in tail.splitlines())
        super().__init__(message, hint=hint)


class ToolMissing(HepstackError):
    """A backend was chosen whose command-line tool is not installed here."""

    def __init__(self, tool: str, purpose: str, install_hint: str) -> None:
        super().__init__(f"{purpose} needs '{tool}', which is not on PATH", hint=install_hint)


class UnknownName(HepstackError):
    """A backend name that is not registered; lists the known ones and the nearest match."""

    def __init__(self, kind: str, name: str, known: Sequence[str]) -> None:
        from difflib import get_close_matches

        close = get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        hint += f"known {kind}s: {', '.join(sorted(known))}"
        super().__init__(f"unknown {kind} '{name}'", hint=hint)


def print_error(exc: HepstackError) -> None:
    """How every command reports a HepstackError: ``error:`` and, if there is one, ``hint:``."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
