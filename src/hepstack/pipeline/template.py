"""``${NAME}`` in a step's command, outputs, binds, env and site: checked when the file is loaded,
filled when an instance is submitted.

A scalar variable may stand anywhere in a string; a list variable (``<AS>`` of a ``when: done``
dependency) must be a whole argument, and fills as many arguments as it has items. ``$$`` is a literal
``$``; any other ``$`` is kept as it is. Values are plain strings: quoting for bash happens where the job
script is written, never here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from hepstack.errors import HepstackError

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def references(text: str) -> list[str]:
    """The variable names ``text`` uses, in order."""
    return [match[1] for match in _REFERENCE.finditer(text) if match[1]]


def whole_reference(text: str) -> str | None:
    """``NAME`` when ``text`` is exactly ``${NAME}``."""
    match = _WHOLE.match(text)
    return match[1] if match else None


def fill(text: str, scalars: Mapping[str, str]) -> str:
    """``text`` with every ``${NAME}`` replaced; an unknown name is an error (checked at load, so a bug)."""

    def replace(match: re.Match[str]) -> str:
        if match[1] is None:
            return "$"
        try:
            return scalars[match[1]]
        except KeyError:
            raise HepstackError(
                f"variable {match[1]} has no value here",
                hint="declare it in the pipeline's `variables` or give it with --var",
            ) from None

    return _REFERENCE.sub(replace, text)


def fill_arguments(
    arguments: Sequence[str], scalars: Mapping[str, str], lists: Mapping[str, Sequence[str]]
) -> list[str]:
    """An argv template filled: ``${LIST}`` as a whole argument expands to its items."""
    filled: list[str] = []
    for argument in arguments:
        name = whole_reference(argument)
        if name is not None and name in lists:
            filled.extend(lists[name])
        else:
            filled.append(fill(argument, scalars))
    return filled


def unknown_references(texts: Iterable[str], known: Iterable[str]) -> list[str]:
    """Names used in ``texts`` that are not in ``known``, each once, in order of use."""
    allowed = set(known)
    seen: list[str] = []
    for text in texts:
        for name in references(text):
            if name not in allowed and name not in seen:
                seen.append(name)
    return seen
