"""Loading a stack spec: YAML -> models -> whole-spec checks -> :class:`Stack`.

Every problem is collected and reported together, each with file, line, key path, the bad value and a
hint; nothing is built until the spec is clean.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from pathlib import Path

from hepstack.errors import HepstackError, LocatedErrors, SpecError, did_you_mean
from hepstack.spec.containerfile import Containerfile, ContainerfileProblem, parse_containerfile
from hepstack.spec.models import Layer, StackSpec
from hepstack.spec.paths import Expect, PathProblem, checked_path
from hepstack.spec.source_map import SourceMap, format_key_path
from hepstack.spec.validation import load_document


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
        names = [name for name in self.spec.layers if name in wanted]
        position = {name: index for index, name in enumerate(names)}
        children: dict[str, list[str]] = {}
        ready: list[int] = []
        for name in names:
            parent = self.parent(name)
            if parent is None:
                ready.append(position[name])
            else:
                children.setdefault(parent, []).append(name)
        heapq.heapify(ready)
        done: list[str] = []
        while ready:  # always the first layer in spec order whose parent is placed
            name = names[heapq.heappop(ready)]
            done.append(name)
            for child in children.get(name, []):
                heapq.heappush(ready, position[child])
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
    """Load and validate the whole spec at ``path``; raise :class:`LocatedErrors` listing every problem."""
    spec, source = load_document(path, StackSpec, subject=SUBJECT, hints=_HINTS)
    problems = _check_graph(spec, source) + _check_files(spec, path.parent, source)
    containerfiles: dict[str, Containerfile] = {}
    for name, layer in spec.layers.items():
        if layer.containerfile is not None:
            location = ("layers", name, "containerfile")
            found = _load_containerfile(path.parent, layer.containerfile, location, source)
            if isinstance(found, SpecError):
                problems.append(found)
            else:
                containerfiles[name] = found
    if problems:
        raise LocatedErrors(problems, subject=SUBJECT)
    return Stack(spec, path, containerfiles)


def _load_containerfile(
    directory: Path, text: str, location: tuple[str | int, ...], source: SourceMap
) -> Containerfile | SpecError:
    try:
        checked_path(directory, text, expect="file")
    except PathProblem as problem:
        return source.error(location, f"containerfile {problem.message}", value=text, hint=problem.hint)
    file = directory / text  # as written: its name is in the rendered header, its directory the context
    try:
        return parse_containerfile(file)
    except ContainerfileProblem as exc:
        where = f"{file}:{exc.line}" if exc.line else str(file)
        return source.error(location, f"{where}: {exc}", value=text, hint=exc.hint)


SUBJECT = "the stack spec"

# --- pydantic errors -> located, hinted spec errors ----------------------------------------------------

_HINTS = {
    "missing": "add this key (see `hepstack schema`)",
    "model_type": "write a mapping of keys (see `hepstack schema`)",
}


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
    # Cycles: each layer has at most one parent, so follow parents from each layer not yet cleared; a
    # layer met again on the same walk closes a cycle. Every layer is walked once: O(layers).
    cleared: set[str] = set()
    for start in names:
        walk: dict[str, int] = {}
        current: str | None = start
        while current is not None and current not in cleared and current not in walk:
            walk[current] = len(walk)
            parent = spec.layers[current].from_
            current = parent if parent in spec.layers else None
        if current is not None and current in walk:
            members = list(walk)[walk[current] :]
            cycle = [*members, current]
            problems.append(
                source.error(
                    ("layers", cycle[0], "from"),
                    "layers form a cycle: " + " -> ".join(cycle[::-1]),
                    value=spec.layers[cycle[0]].from_,
                    hint="a layer's parents must lead to a bootstrap or an external image",
                )
            )
        cleared.update(walk)
    return problems


def _looks_like_image_ref(text: str) -> bool:
    return any(mark in text for mark in "/:@.")


def _check_files(spec: StackSpec, directory: Path, source: SourceMap) -> list[SpecError]:
    """Every path the layers read (but Containerfiles, checked as they are loaded): inside the spec's
    directory, regular files, or directories of them where a directory may be copied."""
    problems: list[SpecError] = []

    def need(text: str, location: tuple[str | int, ...], what: str, expect: Expect) -> None:
        try:
            checked_path(directory, text, expect=expect)
        except PathProblem as problem:
            message = f"{what} {problem.message}"
            problems.append(source.error(location, message, value=text, hint=problem.hint))

    for name, layer in spec.layers.items():
        for copy_source in layer.copy_:
            need(copy_source, ("layers", name, "copy", copy_source), "copy source", "file or directory")
        if layer.profile is not None:
            need(layer.profile, ("layers", name, "profile"), "profile script", "file")
        for index, requirement in enumerate(layer.pip):
            local = local_pip_path(requirement)
            if local is not None:
                expect: Expect = "file" if requirement.startswith("-r") else "file or directory"
                need(local, ("layers", name, "pip", index), "pip path", expect)
    return problems


def local_pip_path(requirement: str) -> str | None:
    """The spec-relative path in a pip entry that names a file or directory (``-r FILE``, ``./pkg``)."""
    if requirement.startswith("-r "):
        return requirement[3:].strip()
    if requirement.startswith(("./", "../")):
        return requirement
    return None


__all__ = ["Stack", "format_key_path", "load_stack", "local_pip_path"]
