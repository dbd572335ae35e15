"""Typed module parameters, validated before any module runs (like fhicl::Atom/Table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from lat.framework.errors import ConfigError, did_you_mean

REQUIRED: Any = object()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: Any) -> bool:
    return (isinstance(value, (int, float))) and not isinstance(value, bool)


_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": _is_float,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list[int]": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "list[float]": lambda v: isinstance(v, list) and all(_is_float(x) for x in v),
    "dict[str, str]": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in (*v, *v.values())),
    "any": lambda v: True,
}


@dataclass(frozen=True)
class Param:
    """One module parameter.

    >>> Param("float", 0.5, "threshold in MeV").kind
    'float'
    """

    kind: str
    default: Any = REQUIRED
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _CHECKS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")


@dataclass(frozen=True)
class Table:
    """A nested group of parameters (a mapping in the configuration)."""

    schema: Mapping[str, Param | Table] = field(default_factory=dict)
    doc: str = ""


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def validate_params(
    schema: Mapping[str, Param | Table],
    values: Mapping[str, Any] | None,
    file: str,
    key_path: str,
    module_type: str,
) -> dict[str, Any]:
    """Check ``values`` against ``schema``; return a dict with defaults filled in.

    Errors name the file and the dotted key path of the offending parameter.
    """
    values = dict(values or {})
    result: dict[str, Any] = {}
    for name in values:
        if name not in schema:
            raise ConfigError(
                file,
                f"{key_path}.{name}",
                f"unknown parameter '{name}' for module type '{module_type}'" + did_you_mean(name, schema),
                hint=f"known parameters: {', '.join(sorted(schema)) or '(none)'}",
            )
    for name, spec in schema.items():
        path = f"{key_path}.{name}"
        if isinstance(spec, Table):
            sub = values.get(name, {})
            if sub is None:
                sub = {}
            if not isinstance(sub, dict):
                raise ConfigError(file, path, f"expected a mapping, got {_describe(sub)}")
            result[name] = validate_params(spec.schema, sub, file, path, module_type)
            continue
        if name not in values:
            if spec.default is REQUIRED:
                raise ConfigError(
                    file, path, f"missing required parameter '{name}' ({spec.kind}) for '{module_type}'"
                )
            result[name] = spec.default
            continue
        value = values[name]
        if not _CHECKS[spec.kind](value):
            raise ConfigError(file, path, f"expected {spec.kind}, got {_describe(value)}")
        result[name] = float(value) if spec.kind == "float" else value
    return result
