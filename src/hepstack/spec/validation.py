"""Load YAML -> validate with a pydantic model -> located, hinted errors (file:line, key path, value, hint).

The one path for every YAML file hepstack reads: stack specs, site profiles, study files, pipeline
definitions. A caller names its model; the keys valid at each place (for did-you-mean on a typo) are
read from the model itself.

>>> study, source = load_document(Path("study.yaml"), StudySpec, subject="the study file")  # doctest: +SKIP
>>> problems = [source.error(("arms", 0, "name"), "name used twice")]                    # doctest: +SKIP
>>> raise LocatedErrors(problems, subject="the study file")                             # doctest: +SKIP
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from hepstack.errors import HepstackError, LocatedErrors, SpecError, closest_match, did_you_mean
from hepstack.spec.reading import DEFAULT_LIMITS, Limits
from hepstack.spec.source_map import SourceMap, load_yaml

Location = tuple[str | int, ...]
_LONGEST_MESSAGE = 400
Model = TypeVar("Model", bound=BaseModel)

# Hints for pydantic's error types; callers may add or override their own.
TYPE_HINTS: Mapping[str, str] = {
    "list_type": "write a YAML list: [a, b] or one '- item' per line",
    "dict_type": "write a mapping: one 'KEY: value' per line",
    "string_type": 'write a string; quote values YAML would read as numbers or booleans, e.g. "1.0"',
    "int_type": "write a whole number",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_type": "write a number",
    "float_parsing": "write a number",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "model_type": "write a mapping of keys",
    "model_attributes_type": "write a mapping of keys",
    "string_pattern_mismatch": "use lower-case letters, digits, '.', '_' and '-'",
    "missing": "add this key",
    "too_short": "add at least one entry",
    "too_long": "remove entries",
    "greater_than": "use a larger number",
    "greater_than_equal": "use a larger number",
    "less_than": "use a smaller number",
    "less_than_equal": "use a smaller number",
    "literal_error": "use one of the allowed values",
}


def load_document(
    path: Path,
    model: type[Model],
    *,
    subject: str,
    hints: Mapping[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Model, SourceMap]:
    """Read ``path`` (within ``limits``), parse its YAML and validate it as ``model``.

    Returns the model and the :class:`SourceMap` for the caller's own checks. Raises
    :class:`~hepstack.errors.LocatedErrors` (``subject`` names the file in its message, e.g. "the stack
    spec") listing every problem with file:line, key path, value and hint.
    """
    try:
        data, source = load_yaml(path, limits)
    except LocatedErrors as exc:
        raise LocatedErrors(exc.errors, subject=subject) from None
    if not isinstance(data, dict):
        keys = ", ".join(required_field_names(model))
        not_a_mapping = source.error(
            (),
            f"{subject} must be a mapping of keys",
            value=type(data).__name__,
            hint=f"write one 'KEY: value' per line; required keys: {keys}",
        )
        raise LocatedErrors([not_a_mapping], subject=subject)
    try:
        return model.model_validate(data), source
    except ValidationError as exc:
        raise LocatedErrors(located_errors(exc, data, source, model, hints), subject=subject) from None


def located_errors(
    exc: ValidationError,
    data: object,
    source: SourceMap,
    model: type[BaseModel] | Callable[[Location], type[BaseModel]],
    hints: Mapping[str, str] | None = None,
) -> list[SpecError]:
    """One :class:`SpecError` per pydantic error of validating ``data`` as ``model``. The keys valid at
    each place (for did-you-mean) come from ``model``'s fields, or from ``model(location)`` when a
    function is given (as before :func:`model_at` read them from the model)."""
    hints = {**TYPE_HINTS, **(hints or {})}
    models: Callable[[Location], type[BaseModel]] = (
        functools.partial(model_at, model) if isinstance(model, type) else model
    )
    items = exc.errors(include_url=False, include_input=False)  # context: the hint of a `checked` check
    misspelt = _misspelt_required(items)
    errors = []
    for item in items:
        location: Location = tuple(item["loc"])
        kind = item["type"]
        if kind == "missing" and location in misspelt:
            continue  # the unknown key's did-you-mean already says it
        if kind == "extra_forbidden":
            key = str(location[-1])
            known = field_names(models(location[:-1]))
            hint = did_you_mean(key, known) + f"keys here: {', '.join(known)}"
            errors.append(source.error(location, "unknown key", value=key, hint=hint))
            continue
        value = None if kind == "missing" else value_at(data, location)
        shown = value if not isinstance(value, (dict, list)) or len(value) <= 8 else None
        message = str(item["msg"]).removeprefix("Value error, ")
        if len(message) > _LONGEST_MESSAGE:  # a validator that quotes a 60 kB value
            message = message[:_LONGEST_MESSAGE] + "..."
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


def model_at(model: type[BaseModel], location: Location) -> type[BaseModel]:
    """The model whose keys are valid in the mapping at ``location``, found by following the fields'
    annotations (``layers.base`` of a StackSpec is a Layer; ``workloads[0]`` of a StudySpec a Workload).
    pydantic's locations name union members (``str``, ``function-after[...]``); those are skipped."""
    found, annotation = model, typing.cast(Any, model)
    for part in location:
        inner = _step(annotation, part)
        if inner is None:
            continue
        annotation = inner
        models = [option for option in _options(annotation) if _is_model(option)]
        if models:
            found = models[0]
    return found


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one step into ``annotation`` at ``part``, or None if ``part`` is not a step."""
    for option in _options(annotation):
        if _is_model(option) and isinstance(part, str):
            for name, info in option.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
        origin, arguments = typing.get_origin(option), typing.get_args(option)
        if origin in (list, tuple, Sequence) and isinstance(part, int) and arguments:
            return arguments[0]
        if origin in (dict, Mapping) and len(arguments) == 2:
            return arguments[1]
    return None


def _options(annotation: Any) -> list[Any]:
    """``X | None`` -> [X, None]; ``Annotated[X, ...]`` -> [X]; anything else -> [it]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _options(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [option for argument in typing.get_args(annotation) for option in _options(argument)]
    return [annotation]


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a user may write for ``model`` (aliases where they exist)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def required_field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items() if info.is_required()]


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
        close = closest_match(str(key), siblings)
        if close is not None:
            found.add((*parent, close))
    return found


__all__ = [
    "TYPE_HINTS",
    "did_you_mean",
    "field_names",
    "load_document",
    "located_errors",
    "model_at",
    "value_at",
]
