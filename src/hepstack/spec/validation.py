"""pydantic validation errors turned into located, hinted errors (file:line, key path, value, hint).

One implementation for every YAML file hepstack reads: stack specs, study files, site profiles.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from hepstack.errors import HepstackError, SpecError
from hepstack.spec.source_map import SourceMap

Location = tuple[str | int, ...]

# Hints for pydantic's error types; callers may add or override their own.
TYPE_HINTS: Mapping[str, str] = {
    "list_type": "write a YAML list: [a, b] or one '- item' per line",
    "dict_type": "write a mapping: one 'KEY: value' per line",
    "string_type": 'write a string; quote values YAML would read as numbers or booleans, e.g. "1.0"',
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "bool_type": "write true or false",
    "model_type": "write a mapping of keys",
    "string_pattern_mismatch": "use lower-case letters, digits, '.', '_' and '-'",
    "missing": "add this key",
    "too_short": "add at least one entry",
    "greater_than_equal": "use a larger number",
    "literal_error": "use one of the allowed values",
}


def located_errors(
    exc: ValidationError,
    data: object,
    source: SourceMap,
    model_at: Callable[[Location], type[BaseModel]],
    hints: Mapping[str, str] | None = None,
) -> list[SpecError]:
    """One :class:`SpecError` per pydantic error. ``model_at(location)`` names the model whose keys are
    valid in the mapping at ``location`` (for did-you-mean on unknown keys)."""
    hints = {**TYPE_HINTS, **(hints or {})}
    items = exc.errors(include_url=False)
    misspelt = _misspelt_required(items)
    errors = []
    for item in items:
        location: Location = tuple(item["loc"])
        kind = item["type"]
        if kind == "missing" and location in misspelt:
            continue  # the unknown key's did-you-mean already says it
        if kind == "extra_forbidden":
            key = str(location[-1])
            known = field_names(model_at(location[:-1]))
            hint = did_you_mean(key, known) + f"keys here: {', '.join(known)}"
            errors.append(source.error(location, "unknown key", value=key, hint=hint))
            continue
        value = None if kind == "missing" else value_at(data, location)
        shown = value if not isinstance(value, (dict, list)) or len(repr(value)) <= 60 else None
        message = str(item["msg"]).removeprefix("Value error, ")
        own_hint = (item.get("ctx") or {}).get("hint")  # the hint of a `checked` check
        errors.append(source.error(location, message, value=shown, hint=own_hint or hints.get(kind)))
    return errors


def checked(check: Callable[..., object], *arguments: str) -> Callable[[Any], Any]:
    """A pydantic after-validator made of one of hepstack's own checks (``check(value, *arguments)``,
    which raises HepstackError): the value passes unchanged, or the check's message and hint become a
    located error. So a file and the command line are held to the one check of each kind of value.
    """

    def validate(value: Any) -> Any:
        try:
            check(value, *arguments)
        except HepstackError as exc:
            context = {"message": exc.message, "hint": exc.hint or ""}
            raise PydanticCustomError("hepstack_check", "{message}", context) from None
        return value

    return validate


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a user may write for ``model`` (aliases where they exist)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def value_at(data: object, location: Location) -> Any:
    """The value at ``location`` in plain YAML data, or None."""
    node: Any = data
    for part in location:
        if isinstance(node, dict) and part in node:  # noqa: SIM114 - mypy needs the narrowing
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _misspelt_required(items: Sequence[Any]) -> set[Location]:
    """Required keys reported missing because an unknown key beside them is their typo."""
    missing = {tuple(item["loc"]) for item in items if item["type"] == "missing"}
    found: set[Location] = set()
    for item in items:
        if item["type"] != "extra_forbidden":
            continue
        *parent, key = item["loc"]
        siblings = [str(loc[-1]) for loc in missing if list(loc[:-1]) == parent]
        close = difflib.get_close_matches(str(key), siblings, n=1, cutoff=0.6)
        if close:
            found.add((*parent, close[0]))
    return found
