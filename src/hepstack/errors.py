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
    """One problem in an input file (stack spec, site, study, pipeline definition), located by file, line
    and key path. ``line`` is None only for a problem with the whole file (missing, too large, not a
    regular file); its key path is then ``(file)``."""

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
        shown = f" (got {shown_value(value)})" if value is not None else ""
        super().__init__(f"{where}: {key_path}: {message}{shown}", hint=hint)


#: At most this many problems are printed; the rest are counted (``errors`` keeps them all).
SHOWN_PROBLEMS = 50


class LocatedErrors(HepstackError):
    """All problems found in one or more input files, reported together, each with file:line.

    The one aggregate for every file hepstack reads (``SpecErrors``, ``SiteErrors`` and ``StudyErrors``
    are this class). ``subject`` names what was read: ``the stack spec`` (the default, what
    ``SpecErrors(errors)`` always said) -> "the stack spec has 2 problems"; ``plural=True`` for several
    files ("the site files have ..."); ``note`` is added in parentheses.

    >>> raise LocatedErrors([error], subject="the pipeline definition")  # doctest: +SKIP
    """

    def __init__(
        self,
        errors: Sequence[SpecError],
        *,
        subject: str = "the stack spec",
        plural: bool = False,
        note: str | None = None,
    ) -> None:
        self.errors = list(errors)
        self.subject = subject
        count = len(self.errors)
        shown = self.errors[:SHOWN_PROBLEMS]
        lines = [str(e) for e in shown]
        if count > len(shown):
            lines.append(f"... and {count - len(shown)} more")
        hints = [f"{e.key_path}: {e.hint}" for e in shown if e.hint]
        verb = "have" if plural else "has"
        head = f"{subject} {verb} {count} problem{'s' if count != 1 else ''}"
        if note:
            head += f" ({note})"
        super().__init__(head + ":\n  " + "\n  ".join(lines), hint="\n  ".join(hints) or None)


#: The names the CLI and callers have always caught; one class.
SpecErrors = LocatedErrors


def shown_value(value: object, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters: a 1 MB value must not become a 1 MB message."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, (dict, list)) and len(value) > 20:
        return f"a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)} entries"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def closest_match(word: str, choices: Sequence[str]) -> str | None:
    """The choice nearest to ``word`` (difflib's ratio of at least 0.6), or None."""
    from difflib import get_close_matches

    close = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """``"did you mean 'packages'? "`` for a typo of a choice, else ``""``: the start of a hint."""
    close = closest_match(word, choices)
    return f"did you mean '{close}'? " if close is not None else ""


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
        hint = did_you_mean(name, known) + f"known {kind}s: {', '.join(sorted(known))}"
        super().__init__(f"unknown {kind} '{name}'", hint=hint)


def print_error(exc: HepstackError) -> None:
    """How every command reports a HepstackError: ``error:`` and, if there is one, ``hint:``."""
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"hint: {exc.hint}", file=sys.stderr)
