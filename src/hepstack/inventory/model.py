"""The inventory file: the experiment's packages and what only a person knows about them.

It sits beside the stack spec (``examples/lat/inventory.yaml``); everything else in the inventory (build
platform, images, running platforms, dates) comes from evidence (:mod:`hepstack.inventory.facts`)::

    stack: stack.yaml                       # the stack spec, relative to this file
    packages:
      digi:
        description: raw LDF chunks to digis (lat-run digi)
        files: [lat/steps/digi.py, lat/configs/digi.yaml]   # its sources, relative to the stack spec
        outputs: ["digi_*.root"]            # names of the files it writes (verify and pipeline evidence)
        steps: [digi]                       # pipeline steps that run it
        workloads: []                       # bench workloads that run it
        dependencies: [numpy, uproot]
        upgradable: "yes: pure Python"
        links: {code: "lat/steps/digi.py"}
        comments: ...

Errors name the file, line and key (like stack specs) and are all reported together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hepstack.errors import HepstackError, SpecError
from hepstack.spec.source_map import SourceMap, load_yaml
from hepstack.spec.validation import did_you_mean, located_errors

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class Package(BaseModel):
    """One package: where its sources are, what it writes, and the facts only a person knows."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    files: list[str] = Field(default_factory=list)  # relative to the stack spec's directory
    layers: list[str] | None = None  # default: the layers that copy any of `files`
    outputs: list[str] = Field(default_factory=list)  # glob patterns of output file names
    steps: list[str] = Field(default_factory=list)  # pipeline step names (the last part)
    workloads: list[str] = Field(default_factory=list)  # bench workload names
    runs_with: list[str] = Field(default_factory=list)  # packages whose runs exercise this one (data)
    dependencies: list[str] = Field(default_factory=list)
    upgradable: str = ""
    links: dict[str, str] = Field(default_factory=dict)
    comments: str = ""


class InventorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stack: str = "stack.yaml"
    packages: dict[str, Package] = Field(min_length=1)


@dataclass(frozen=True)
class InventoryFile:
    spec: InventorySpec
    path: Path

    @property
    def stack_path(self) -> Path:
        return (self.path.parent / self.spec.stack).absolute()


class InventoryErrors(HepstackError):
    """All problems found in one inventory file."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        count = len(errors)
        hints = [f"{e.key_path}: {e.hint}" for e in errors if e.hint]
        super().__init__(
            f"the inventory file has {count} problem{'s' if count != 1 else ''}:\n  "
            + "\n  ".join(str(e) for e in errors),
            hint="\n  ".join(hints) or None,
        )


def load_inventory(path: Path) -> InventoryFile:
    """Read and validate ``path`` (and that its stack spec, files, layers and package names exist)."""
    if not path.is_file():
        raise HepstackError(
            f"inventory file {path} does not exist",
            hint="e.g. hepstack inventory examples/lat/inventory.yaml",
        )
    from hepstack.errors import SpecErrors

    try:
        data, source = load_yaml(path)
    except SpecErrors as exc:
        raise InventoryErrors(exc.errors) from None
    if not isinstance(data, dict):
        raise InventoryErrors([source.error((), "an inventory file is a mapping with keys stack, packages")])
    try:
        spec = InventorySpec.model_validate(data)
    except ValidationError as exc:
        raise InventoryErrors(located_errors(exc, data, source, _model_at)) from None
    inventory = InventoryFile(spec, path.absolute())
    problems = _check_references(inventory, source)
    if problems:
        raise InventoryErrors(problems)
    return inventory


def _check_references(inventory: InventoryFile, source: SourceMap) -> list[SpecError]:
    import re

    problems = []
    stack_dir = inventory.stack_path.parent
    if not inventory.stack_path.is_file():
        problems.append(
            source.error(
                ("stack",),
                "the stack spec does not exist",
                value=inventory.spec.stack,
                hint=f"the path is relative to {inventory.path.parent}",
            )
        )
    names = list(inventory.spec.packages)
    for name, package in inventory.spec.packages.items():
        if not re.match(NAME, name):
            problems.append(source.error(("packages", name), "bad package name", value=name, hint=_NAME_HINT))
        for index, file in enumerate(package.files):
            if Path(file).is_absolute() or ".." in Path(file).parts or not (stack_dir / file).exists():
                problems.append(
                    source.error(
                        ("packages", name, "files", index),
                        "not a file or directory beside the stack spec",
                        value=file,
                        hint=f"sources are relative to {stack_dir} (no '..')",
                    )
                )
        for index, other in enumerate(package.runs_with):
            if other not in names or other == name:
                problems.append(
                    source.error(
                        ("packages", name, "runs_with", index),
                        "not another package of this inventory",
                        value=other,
                        hint=did_you_mean(other, names) + f"packages: {', '.join(names)}",
                    )
                )
    return problems


def _model_at(location: tuple[str | int, ...]) -> type[BaseModel]:
    return Package if location[:1] == ("packages",) and len(location) > 1 else InventorySpec


_NAME_HINT = "use letters, digits, '.', '_' and '-', starting with a letter or digit"
