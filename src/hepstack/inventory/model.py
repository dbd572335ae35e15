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

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hepstack.errors import HepstackError, LocatedErrors, SpecError, did_you_mean
from hepstack.spec.paths import PathProblem, checked_path
from hepstack.spec.source_map import SourceMap
from hepstack.spec.validation import load_document

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
SUBJECT = "the inventory file"
#: The name callers catch; the one aggregate of located errors.
InventoryErrors = LocatedErrors


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


def load_inventory(path: Path) -> InventoryFile:
    """Read and validate ``path`` (and that its stack spec, files and package names exist);
    :class:`InventoryErrors` lists every problem with file:line and key."""
    if not os.path.lexists(path):
        raise HepstackError(
            f"inventory file {path} does not exist",
            hint="e.g. hepstack inventory examples/lat/inventory.yaml",
        )
    spec, source = load_document(path, InventorySpec, subject=SUBJECT)
    inventory = InventoryFile(spec, path.absolute())
    problems = _check_references(inventory, source)
    if problems:
        raise InventoryErrors(problems, subject=SUBJECT)
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
            try:  # the rules of a stack spec's copy sources: inside its directory, regular files only
                checked_path(stack_dir, file, expect="file or directory")
            except PathProblem as problem:
                problems.append(
                    source.error(
                        ("packages", name, "files", index),
                        f"a package's source {problem.message}",
                        value=file,
                        hint=problem.hint or f"sources are relative to {stack_dir}",
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


_NAME_HINT = "use letters, digits, '.', '_' and '-', starting with a letter or digit"
