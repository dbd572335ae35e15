"""The build plan: for each layer, in order, its parent image, content key, tag and status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hepstack.build.bootstrap import bootstrap_key
from hepstack.build.keys import KEY_LENGTH, external_key, layer_key
from hepstack.build.render import LockedInputs, render_containerfile
from hepstack.errors import HepstackError
from hepstack.spec import Stack, local_pip_path


def image_repository(stack: str, layer: str) -> str:
    """Engine repository of a layer; ``localhost/`` so no engine ever looks it up on a public registry."""
    return f"localhost/{stack}/{layer}"


@dataclass
class PlannedLayer:
    name: str
    parent_layer: str | None
    parent_ref: str
    key: str
    containerfile: str
    inputs: list[Path]
    rootfs_ref: str | None = None  # bootstrap layers: the imported mmdebstrap root filesystem
    needs_ca: bool = False
    locked: LockedInputs | None = None  # a locked build: the lock's versions, reproducible settings
    status: str = "build"  # build | cached
    image_id: str = ""
    size: int | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def short_key(self) -> str:
        return self.key[:KEY_LENGTH]

    def reference(self, stack: str) -> str:
        return f"{image_repository(stack, self.name)}:{self.short_key}"


def make_plan(
    stack: Stack, selected: list[str] | None = None, lock: Mapping[str, LockedInputs] | None = None
) -> list[PlannedLayer]:
    """Keys and Containerfiles for ``selected`` layers and their ancestors, parents first; with ``lock``,
    each layer installs the lock's exact versions and its lock entry is part of its key."""
    planned: dict[str, PlannedLayer] = {}
    for name in stack.order(selected):
        layer = stack.layer(name)
        parent_layer = stack.parent(name)
        locked = _locked_inputs(stack, name, lock) if lock is not None else None
        rootfs_ref = None
        if parent_layer is not None:
            parent = planned[parent_layer]
            parent_ref, parent_key = parent.reference(stack.name), parent.key
        elif layer.bootstrap is not None:
            included = list(locked.apt) if locked is not None else layer.packages
            parent_key = bootstrap_key(layer.bootstrap, included, locked.epoch if locked else None)
            rootfs_ref = f"{image_repository(stack.name, name)}-rootfs:{parent_key[:KEY_LENGTH]}"
            parent_ref = rootfs_ref
        else:
            parent_ref = stack.external_base(name) or _containerfile_base(stack, name)
            if locked is not None:
                parent_ref = locked.parent_digest or parent_ref
            parent_key = external_key(parent_ref)
        text = render_containerfile(stack, name, parent_ref, locked)
        inputs = layer_inputs(stack, name)
        planned[name] = PlannedLayer(
            name=name,
            parent_layer=parent_layer,
            parent_ref=parent_ref,
            key=layer_key(text, inputs, stack.directory, parent_key),
            containerfile=text,
            inputs=inputs,
            rootfs_ref=rootfs_ref,
            needs_ca=bool(layer.pip),
            locked=locked,
        )
    return list(planned.values())


def _locked_inputs(stack: Stack, name: str, lock: Mapping[str, LockedInputs]) -> LockedInputs:
    if name not in lock:
        raise HepstackError(
            f"the lock has no layer '{name}' of stack '{stack.name}'",
            hint=f"the spec changed since it was locked: run `hepstack lock {stack.path}` again",
        )
    return lock[name]


def layer_inputs(stack: Stack, name: str) -> list[Path]:
    """Files and directories (in the spec's directory) that building ``name`` reads."""
    layer = stack.layer(name)
    relative = list(layer.copy_)
    if layer.profile:
        relative.append(layer.profile)
    relative += [p for p in (local_pip_path(r) for r in layer.pip) if p is not None]
    containerfile = stack.containerfiles.get(name)
    if containerfile is not None:
        base = containerfile.path.parent
        return sorted({(base / source).resolve() for source in containerfile.copy_sources()})
    return sorted({(stack.directory / path).resolve() for path in relative})


def _containerfile_base(stack: Stack, name: str) -> str:
    containerfile = stack.containerfiles[name]
    first = next(i for i in containerfile.instructions if i.name == "FROM")
    return next(w for w in first.value.split() if not w.startswith("--"))
