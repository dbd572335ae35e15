"""Loading a stack spec: YAML -> models -> whole-spec checks -> :class:`Stack`.

Every problem is collected and reported together, each with file, line, key path, the bad value and a
hint; nothing is built until the spec is clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hepstack.errors import HepstackError, SpecError, SpecErrors

if TYPE_CHECKING:
    from pydantic import BaseModel
from hepstack.spec.containerfile import Containerfile, ContainerfileProblem, parse_containerfile
from hepstack.spec.models import Bootstrap, Layer, SizeBudget, StackSpec
from hepstack.spec.source_map import SourceMap, format_key_path, load_yaml
from hepstack.spec.validation import did_you_mean, located_errors


@dataclass(frozen=True)
class Stack:
    """A validated stack spec and where it lives.

    >>> stack = load_stack(Path("examples/lat/stack.yaml"))  # doctest: +SKIP
    >>> stack.order()[:2]                                      # doctest: +SKIP
    ['base', 'framework']
    """

    spec: StackSpec
    path: Path
    containerfiles: dict[str, Containerfile] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.stack

    @property
    def directory(self) -> Path:
        return self.path.parent

    def layer(self, name: str) -> Layer:
        return self.spec.layers[name]

    def parent(self, name: str) -> str | None:
        """The parent *layer* of ``name`` in this stack (None for bootstrap or external bases)."""
        origin = self.spec.layers[name].from_
        return origin if origin in self.spec.layers else None

    def external_base(self, name: str) -> str | None:
        """The external image ``name`` is built on, if its parent is not a layer of this stack."""
        layer = self.spec.layers[name]
        if layer.from_ is not None and layer.from_ not in self.spec.layers:
            return layer.from_
        return None

    def chain(self, name: str) -> list[str]:
        """``name`` and its ancestors, base first."""
        lineage = [name]
        while (parent := self.parent(lineage[-1])) is not None:
            lineage.append(parent)
        return lineage[::-1]

    def order(self, selected: list[str] | None = None) -> list[str]:
        """Layers in build order (parents first, then spec order); ``selected`` adds their ancestors."""
        wanted = set(self.spec.layers)
        if selected:
            self.check_names(selected)
            wanted = {ancestor for name in selected for ancestor in self.chain(name)}
        done: list[str] = []
        placed: set[str] = set()
        pending = [n for n in self.spec.layers if n in wanted]
        while pending:
            for name in pending:
                parent = self.parent(name)
                if parent is None or parent in placed:
                    done.append(name)
                    placed.add(name)
                    pending.remove(name)
                    break
        return done

    def descendants(self, name: str) -> set[str]:
        return {other for other in self.spec.layers if other != name and name in self.chain(other)}

    def check_names(self, names: list[str]) -> None:
        for name in names:
            if name not in self.spec.layers:
                raise HepstackError(
                    f"stack '{self.name}' ({self.path}) has no layer '{name}'",
                    hint=did_you_mean(name, list(self.spec.layers))
                    + f"layers: {', '.join(self.spec.layers)}",
                )


def load_stack(path: Path) -> Stack:
    """Load and validate the whole spec at ``path``; raise :class:`SpecErrors` listing every problem."""
    data, source = load_yaml(path)
    if not isinstance(data, dict):
        raise SpecErrors(
            [
                source.error(
                    (),
                    "a stack spec is a mapping with keys stack, release, layers",
                    value=type(data).__name__,
                    hint="see `hepstack schema`",
                )
            ]
        )
    from pydantic import ValidationError

    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors(located_errors(exc, data, source, _model_at, _HINTS)) from None
    problems = _check_graph(spec, source) + _check_files(spec, path.parent, source)
    containerfiles: dict[str, Containerfile] = {}
    for name, layer in spec.layers.items():
        if layer.containerfile is None:
            continue
        file = path.parent / layer.containerfile
        if not file.is_file():
            continue  # reported by _check_files
        try:
            containerfiles[name] = parse_containerfile(file)
        except ContainerfileProblem as exc:
            where = f"{file}:{exc.line}" if exc.line else str(file)
            problems.append(
                source.error(
                    ("layers", name, "containerfile"),
                    f"{where}: {exc}",
                    value=layer.containerfile,
                    hint="fix the Containerfile; known instructions are FROM, RUN, "
                    "COPY, ENV, ... (Dockerfile reference)",
                )
            )
    if problems:
        raise SpecErrors(problems)
    return Stack(spec, path, containerfiles)


# --- pydantic errors -> located, hinted spec errors ----------------------------------------------------

_HINTS = {
    "missing": "add this key (see `hepstack schema`)",
    "model_type": "write a mapping of keys (see `hepstack schema`)",
}


def _model_at(location: tuple[str | int, ...]) -> type[BaseModel]:
    """The model whose keys are valid at ``location`` (a mapping inside the spec)."""
    tail = [part for part in location if isinstance(part, str)]
    if not tail:
        return StackSpec
    if tail[-1] == "bootstrap":
        return Bootstrap
    if tail[-1] == "size_budget":
        return SizeBudget
    if tail[0] == "layers" and len(location) == 2:
        return Layer
    return StackSpec


# --- whole-spec checks ---------------------------------------------------------------------------------


def _check_graph(spec: StackSpec, source: SourceMap) -> list[SpecError]:
    problems: list[SpecError] = []
    names = list(spec.layers)
    for name, layer in spec.layers.items():
        origin = layer.from_
        if origin is None or origin in spec.layers or _looks_like_image_ref(origin):
            continue
        problems.append(
            source.error(
                ("layers", name, "from"),
                "unknown parent layer",
                value=origin,
                hint=did_you_mean(origin, names) + "name a layer of this stack, or an "
                "image reference such as docker.io/library/debian:bookworm",
            )
        )
    # Cycles: follow parents from each layer; a revisit of the starting layer is a cycle.
    reported: set[frozenset[str]] = set()
    for start in names:
        path = [start]
        while (parent := spec.layers[path[-1]].from_) in spec.layers:
            assert parent is not None
            if parent in path:
                cycle = [*path[path.index(parent) :], parent]
                members = frozenset(cycle)
                if members not in reported:
                    reported.add(members)
                    problems.append(
                        source.error(
                            ("layers", cycle[0], "from"),
                            "layers form a cycle: " + " -> ".join(cycle[::-1]),
                            value=spec.layers[cycle[0]].from_,
                            hint="a layer's parents must lead to a bootstrap or an external image",
                        )
                    )
                break
            path.append(parent)
    return problems


def _looks_like_image_ref(text: str) -> bool:
    return any(mark in text for mark in "/:@.")


def _check_files(spec: StackSpec, directory: Path, source: SourceMap) -> list[SpecError]:
    problems: list[SpecError] = []

    def need(path_text: str, location: tuple[str | int, ...], what: str, directory_ok: bool = True) -> None:
        candidate = (directory / path_text).resolve()
        inside = candidate == directory.resolve() or directory.resolve() in candidate.parents
        if not inside:
            problems.append(
                source.error(
                    location,
                    f"{what} must be inside the spec's directory {directory}",
                    value=path_text,
                    hint="move the file next to the spec",
                )
            )
        elif not candidate.exists() or (not directory_ok and not candidate.is_file()):
            problems.append(
                source.error(
                    location,
                    f"{what} not found: {candidate}",
                    value=path_text,
                    hint=f"paths are relative to {directory}",
                )
            )

    for name, layer in spec.layers.items():
        for copy_source in layer.copy_:
            need(copy_source, ("layers", name, "copy", copy_source), "copy source")
        if layer.profile:
            need(layer.profile, ("layers", name, "profile"), "profile script", directory_ok=False)
        if layer.containerfile:
            need(layer.containerfile, ("layers", name, "containerfile"), "containerfile", directory_ok=False)
        for index, requirement in enumerate(layer.pip):
            local = local_pip_path(requirement)
            if local is not None:
                need(local, ("layers", name, "pip", index), "pip path")
    return problems


def local_pip_path(requirement: str) -> str | None:
    """The spec-relative path in a pip entry that names a file or directory (``-r FILE``, ``./pkg``)."""
    if requirement.startswith("-r "):
        return requirement[3:].strip()
    if requirement.startswith(("./", "../")):
        return requirement
    return None


__all__ = ["Stack", "format_key_path", "load_stack", "local_pip_path"]
