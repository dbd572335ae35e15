"""Scalars of hepstack's YAML: YAML 1.2's core schema, as ruamel.yaml resolved it for hepstack's files.

``1_000``, ``0x1f``, ``0o17``, ``0b101`` are integers; ``yes`` is a string; a date stays a string;
integers must fit 64 bits and floats be finite (docs/input-limits.md).
"""

from __future__ import annotations

import math
import re
from typing import Any

from hepstack.spec.reading import FileProblem

CORE = "tag:yaml.org,2002:"
_TRUE = {"true", "True", "TRUE"}
_LONGEST_NUMBER = 40  # characters; 2**63 has 19 digits, a float's exponent makes up the rest
# The core schema's plain scalars (YAML 1.2.2 section 10.3.2), with ruamel.yaml's 1.2 extensions.
_PLAIN_TAGS = [
    ("bool", re.compile(r"true|True|TRUE|false|False|FALSE")),
    (
        "float",
        re.compile(  # (?=...): ruamel tries a resolver only on its first characters
            r"(?=[-+0-9.])(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
            r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
        ),
    ),
    ("int", re.compile(r"(?=[-+0-9])(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)")),
    ("merge", re.compile(r"<<")),
    ("null", re.compile(r"~|null|Null|NULL|")),
]


def resolve_plain(text: str) -> str:
    """The core-schema tag of a plain (unquoted, untagged) scalar: ``1`` int, ``~`` null, ``a`` str."""
    for name, pattern in _PLAIN_TAGS:
        if pattern.fullmatch(text):
            return CORE + name
    return CORE + "str"


def construct(tag: str, text: str, line: int, *, implicit: bool) -> Any:
    """The value of a scalar of core-schema ``tag``; numbers must fit 64 bits and be finite. A plain
    scalar that only looks like a number (``_``, ``0x_``) is a string."""
    name = tag.removeprefix(CORE)
    if name == "null":
        return None
    if name == "bool":
        if text not in _TRUE and text not in {"false", "False", "FALSE"}:
            raise FileProblem(f"{text!r} is not a boolean", line, hint="write true or false")
        return text in _TRUE
    if name not in {"int", "float"}:
        return text  # str, and plain scalars the core schema leaves alone (dates, '=')
    digits = text.replace("_", "")
    if len(digits) > _LONGEST_NUMBER:
        raise FileProblem(
            f"a number of {len(digits)} characters is out of range",
            line,
            hint='numbers must fit 64 bits; quote the value to make it a string, e.g. "123..."',
        )
    try:
        number: int | float = _int(digits) if name == "int" else _float(digits)
    except ValueError:
        if implicit:
            return text
        raise FileProblem(f"{text!r} is not a valid {name}", line) from None
    if isinstance(number, int) and not -(2**63) <= number < 2**63:
        raise FileProblem(f"{text} is outside the 64-bit range", line, hint="use a smaller number")
    if isinstance(number, float) and not math.isfinite(number):
        raise FileProblem(f"{text} is not a finite number", line, hint="write a finite number")
    return number


def _int(digits: str) -> int:
    sign = -1 if digits.startswith("-") else 1
    body = digits.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if body.startswith(prefix):
            return sign * int(body[2:], base)
    return sign * int(body, 10)


def _float(digits: str) -> float:
    lowered = digits.lower()
    if lowered.lstrip("+-") == ".inf":
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(digits)
