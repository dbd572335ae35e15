"""Job configuration: YAML loading, command-line overrides and whole-file validation.

A configuration looks like art's FHiCL job description::

    process_name: DIGI
    services:
      TimeTracker: {printSummary: true, dbOutput: {filename: timing.db}}
      RandomNumberGenerator: {seed: 1}
    source: {module_type: LdfInput, fileNames: [raw.ldf]}
    physics:
      producers:
        digi: {module_type: Digitize}
      paths: {p1: [digi]}
      end_paths: {e1: [out]}
    outputs:
      out: {module_type: RootOutput, fileName: digi.root}

Everything is validated (module types, parameters, path labels, input files) before the first
module is constructed, and every error names the file and the dotted key path.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lat.framework.errors import ConfigError, did_you_mean
from lat.framework.params import Param, Table, validate_params
from lat.framework.registry import check_module_type, load_module_class

TOP_LEVEL_KEYS = ("process_name", "services", "source", "physics", "outputs")
PHYSICS_KEYS = ("producers", "filters", "analyzers", "paths", "end_paths")
MODULE_GROUPS = {"producers": "producer", "filters": "filter", "analyzers": "analyzer"}
SERVICES: dict[str, Table] = {
    "TimeTracker": Table(
        {
            "printSummary": Param("bool", True),
            "dbOutput": Table({"filename": Param("str", ""), "overwrite": Param("bool", True)}),
        }
    ),
    "RandomNumberGenerator": Table({"seed": Param("int", 1)}),
    # Strings every ROOT output of the job carries as TObjString keys (lat-run --metadata KEY=VALUE)
    "Metadata": Table({"entries": Param("dict[str, str]", {}, "key -> text, e.g. seed: '5'")}),
}


@dataclass
class ModuleSpec:
    label: str
    module_type: str
    kind: str
    key_path: str
    cls: Any
    params: dict[str, Any]


@dataclass
class JobConfig:
    file: str
    process_name: str
    services: dict[str, dict[str, Any]]
    source: ModuleSpec
    modules: dict[str, ModuleSpec]
    trigger_paths: list[tuple[str, list[str]]]
    end_path: list[str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def load_yaml(path: Path, display: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(display, "", f"cannot read configuration: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise ConfigError(display, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(display, "", "the configuration must be a YAML mapping")
    return data


def set_key(config: dict[str, Any], dotted: str, value: Any, file: str) -> None:
    """Apply one ``--set a.b.c=value`` override, creating intermediate mappings."""
    parts = dotted.split(".")
    node = config
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(file, ".".join(parts[: i + 1]), "cannot set a key below a non-mapping")
        node = child
    node[parts[-1]] = value


def _mapping(value: Any, file: str, key_path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(file, key_path, f"expected a mapping, got {type(value).__name__}")
    return value


def _module_spec(label: str, body: Any, kind: str, file: str, key_path: str) -> ModuleSpec:
    body = _mapping(body, file, key_path)
    if "module_type" not in body:
        raise ConfigError(file, f"{key_path}.module_type", "missing module_type")
    module_type = body["module_type"]
    check_module_type(module_type, kind, file, f"{key_path}.module_type")
    cls = load_module_class(module_type)
    values = {k: v for k, v in body.items() if k != "module_type"}
    params = validate_params(cls.parameters, values, file, key_path, module_type)
    return ModuleSpec(label, module_type, kind, key_path, cls, params)


def _path_labels(value: Any, file: str, key_path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(file, key_path, "a path must be a list of module labels")
    return list(value)


TRIGGER_KINDS = ("producer", "filter")  # what a trigger path may hold
END_KINDS = ("analyzer", "output")  # what an end path may hold


def _path_modules(
    value: Any,
    file: str,
    key_path: str,
    modules: dict[str, ModuleSpec],
    kinds: tuple[str, ...],
    elsewhere: str,
) -> list[str]:
    """The labels of one path, each a known module of one of ``kinds`` (else: put it on ``elsewhere``)."""
    labels = _path_labels(value, file, key_path)
    for i, label in enumerate(labels):
        spec = modules.get(label)
        where = f"{key_path}[{i}]"
        if spec is None:
            raise ConfigError(file, where, f"unknown module label '{label}'" + did_you_mean(label, modules))
        if spec.kind not in kinds:
            raise ConfigError(file, where, f"'{label}' is a {spec.kind}; put it on {elsewhere}")
    return labels


def build_job_config(raw: dict[str, Any], file: str) -> JobConfig:
    """Validate a loaded configuration (after overrides) and resolve its module classes."""
    raw = copy.deepcopy(raw)
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(file, key, f"unknown top-level key '{key}'" + did_you_mean(key, TOP_LEVEL_KEYS))
    process_name = raw.get("process_name")
    if not isinstance(process_name, str) or not process_name.isalnum():
        raise ConfigError(file, "process_name", "process_name must be an alphanumeric string")

    services_raw = _mapping(raw.get("services"), file, "services")
    services: dict[str, dict[str, Any]] = {}
    for name, body in services_raw.items():
        if name not in SERVICES:
            raise ConfigError(
                file, f"services.{name}", f"unknown service '{name}'" + did_you_mean(name, SERVICES)
            )
        services[name] = validate_params(
            SERVICES[name].schema, _mapping(body, file, f"services.{name}"), file, f"services.{name}", name
        )

    if "source" not in raw:
        raise ConfigError(file, "source", "missing source")
    source = _module_spec("source", raw["source"], "source", file, "source")

    physics = _mapping(raw.get("physics"), file, "physics")
    for key in physics:
        if key not in PHYSICS_KEYS:
            raise ConfigError(
                file, f"physics.{key}", f"unknown key '{key}'" + did_you_mean(key, PHYSICS_KEYS)
            )
    modules: dict[str, ModuleSpec] = {}
    for group, kind in MODULE_GROUPS.items():
        for label, body in _mapping(physics.get(group), file, f"physics.{group}").items():
            modules[label] = _module_spec(label, body, kind, file, f"physics.{group}.{label}")
    for label, body in _mapping(raw.get("outputs"), file, "outputs").items():
        if label in modules:
            raise ConfigError(file, f"outputs.{label}", f"label '{label}' is used twice")
        modules[label] = _module_spec(label, body, "output", file, f"outputs.{label}")

    trigger_paths = []
    for name, value in _mapping(physics.get("paths"), file, "physics.paths").items():
        labels = _path_modules(value, file, f"physics.paths.{name}", modules, TRIGGER_KINDS, "an end path")
        trigger_paths.append((name, labels))

    if "end_paths" in physics:
        end_path: list[str] = []
        for name, value in _mapping(physics["end_paths"], file, "physics.end_paths").items():
            key = f"physics.end_paths.{name}"
            for label in _path_modules(value, file, key, modules, END_KINDS, "a trigger path"):
                if label not in end_path:
                    end_path.append(label)
    else:  # like art: without end_paths every analyzer and output module runs
        end_path = [label for label, spec in modules.items() if spec.kind in END_KINDS]

    path_names = {name for name, _ in trigger_paths}
    for label in end_path:
        spec = modules[label]
        for i, path in enumerate(spec.params.get("SelectEvents", []) or []):
            if path not in path_names:
                raise ConfigError(
                    file,
                    f"{spec.key_path}.SelectEvents[{i}]",
                    f"unknown path '{path}'" + did_you_mean(path, path_names),
                )
    return JobConfig(file, process_name, services, source, modules, trigger_paths, end_path, raw)
