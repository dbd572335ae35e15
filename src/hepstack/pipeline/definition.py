"""Load a pipeline file, check all of it, and compile it into the graph the orchestrator walks.

Every problem is reported at once, located (file:line, key path, the bad value, a hint): unknown keys with
a did-you-mean, a dependency on an unknown step, a dependency cycle (including one through the step that
creates the substreams a merge waits for), a sub-pipeline nobody creates, a variable a step uses but nothing
declares, a list variable inside a string, an unknown site, scheduler or runtime, a bad retry policy.
Images are resolved against the catalog by :func:`hepstack.pipeline.images.pin_images`, when a stream is
created (they may not be built yet when the file is written).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from hepstack.errors import LocatedErrors, SpecError
from hepstack.pipeline.model import NAME_PATTERN, Dependency, Node, PipelineSpec, Step
from hepstack.pipeline.services import check_services
from hepstack.pipeline.template import references, unknown_references, whole_reference
from hepstack.spec.reading import FileProblem, read_text
from hepstack.spec.source_map import SourceMap, file_error, parse_yaml
from hepstack.spec.validation import did_you_mean, located_errors

# Set by the orchestrator for every instance; a pipeline may use them but not declare them.
BUILTIN_VARIABLES = ("PIPELINE", "STREAM", "STREAM_ID", "STEP", "EXECUTION")
_HINTS = {
    "missing": "add this key (docs/pipelines.md lists every key)",
    "string_pattern_mismatch": "names start with a letter; then letters, digits, '_' or '-' (48 at most)",
}


@dataclass(frozen=True)
class CompiledDependency:
    target: str  # qualified step, e.g. "run.chunk.crumb.merit"
    below: tuple[str, ...]  # sub-pipelines from the dependent's node down to the target's ("" = same stream)
    when: str  # "success" | "done"
    as_: str | None

    @property
    def over_substreams(self) -> bool:
        return bool(self.below)

    def list_names(self, outputs: list[str]) -> list[str]:
        """The list variables this dependency gives the dependent step."""
        if self.as_ is None:
            return []
        return [self.as_, f"{self.as_}_SUCCEEDED", f"{self.as_}_MISSING"] + [
            f"{self.as_}_{name.upper()}" for name in outputs
        ]


@dataclass(frozen=True)
class CompiledStep:
    path: str  # qualified: "findRuns", "run.chunk.digi"
    node: str  # its (sub-)pipeline: "", "run", "run.chunk"
    name: str
    spec: Step
    needs: tuple[CompiledDependency, ...]

    @property
    def is_script(self) -> bool:
        return self.spec.script is not None


@dataclass
class Pipeline:
    """A checked pipeline: its nodes and steps by qualified name, and who creates which substreams."""

    spec: PipelineSpec
    source_text: str
    path: str
    nodes: dict[str, Node] = field(default_factory=dict)
    steps: dict[str, CompiledStep] = field(default_factory=dict)
    creators: dict[str, list[str]] = field(default_factory=dict)  # node -> steps creating its streams

    @property
    def name(self) -> str:
        return self.spec.pipeline

    @property
    def version(self) -> int:
        return self.spec.version

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source_text.encode()).hexdigest()

    def steps_of(self, node: str) -> list[CompiledStep]:
        return [step for step in self.steps.values() if step.node == node]

    def declared_variables(self, node: str) -> dict[str, str | None]:
        """Variables a stream of ``node`` has (its own and its ancestors'), with their defaults."""
        declared: dict[str, str | None] = {}
        for ancestor in _ancestors(node):
            for name, variable in self.nodes[ancestor].variables.items():
                declared[name] = variable.default
        return declared

    def images(self) -> list[str]:
        return sorted({step.spec.image for step in self.steps.values() if step.spec.image})


SUBJECT = "the pipeline file"


def load_pipeline(path: Path) -> Pipeline:
    """Read, parse and check ``path``; :class:`LocatedErrors` lists every problem, located."""
    try:
        text = read_text(path)
    except FileProblem as problem:
        raise LocatedErrors([file_error(str(path), problem)], subject=SUBJECT) from None
    return compile_text(text, str(path.resolve()), shown=str(path))


def compile_text(
    text: str, path: str, *, shown: str | None = None, check_environment: bool = True
) -> Pipeline:
    """A pipeline from its text. ``check_environment`` also checks sites, schedulers and runtimes against
    this host; a definition recorded in the state DB is compiled again without (it was checked when it
    was recorded, and a site removed since must not stop its streams from being reported)."""
    shown = shown or path
    try:
        data, source = parse_yaml(text, shown)
    except FileProblem as problem:
        raise LocatedErrors([file_error(shown, problem)], subject=SUBJECT) from None
    if not isinstance(data, dict):
        error = source.error((), "a pipeline file is a mapping", hint="start with `pipeline: NAME`")
        raise LocatedErrors([error], subject=SUBJECT)
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise LocatedErrors(
            located_errors(exc, data, source, PipelineSpec, _HINTS), subject=SUBJECT
        ) from None
    pipeline = Pipeline(spec=spec, source_text=text, path=path)
    errors = _compile(pipeline, source, check_environment)
    if errors:
        unique = list({str(error): error for error in errors}.values())
        raise LocatedErrors(unique, subject=SUBJECT)
    return pipeline


# --- compiling and checking -----------------------------------------------------------------------------


Location = tuple[str | int, ...]


def _walk(node: Node, path: str, location: Location) -> Iterator[tuple[str, Node, Location]]:
    yield path, node, location
    for name, child in node.subpipelines.items():
        yield from _walk(child, f"{path}.{name}" if path else name, (*location, "subpipelines", name))


def _ancestors(node: str) -> list[str]:
    """``run.chunk`` -> ["", "run", "run.chunk"]."""
    parts = node.split(".") if node else []
    return [""] + [".".join(parts[: i + 1]) for i in range(len(parts))]


def _compile(pipeline: Pipeline, source: SourceMap, check_environment: bool) -> list[SpecError]:
    errors: list[SpecError] = []
    locations: dict[str, tuple[str | int, ...]] = {}
    for node_path, node, location in _walk(pipeline.spec, "", ()):
        pipeline.nodes[node_path] = node
        for kind, names in (("steps", node.steps), ("subpipelines", node.subpipelines)):
            for name in names:
                if not re.match(NAME_PATTERN, name):
                    errors.append(
                        source.error(
                            (*location, kind, name),
                            "not a name",
                            hint="start with a letter; then letters, digits, '_' or '-' (48 at most)",
                        )
                    )
        for name, step in node.steps.items():
            qualified = f"{node_path}.{name}" if node_path else name
            locations[qualified] = (*location, "steps", name)
            needs = []
            for index, dependency in enumerate(step.needs):
                resolved = _resolve_dependency(pipeline.spec, node_path, node, dependency)
                if isinstance(resolved, str):
                    errors.append(
                        source.error(
                            (*location, "steps", name, "needs", index, "step"),
                            "unknown step",
                            value=dependency.step,
                            hint=resolved,
                        )
                    )
                    continue
                needs.append(resolved)
            pipeline.steps[qualified] = CompiledStep(qualified, node_path, name, step, tuple(needs))
            for index, created in enumerate(step.creates):
                if created not in node.subpipelines:
                    known = list(node.subpipelines)
                    errors.append(
                        source.error(
                            (*location, "steps", name, "creates", index),
                            "not a sub-pipeline of this pipeline",
                            value=created,
                            hint=did_you_mean(created, known)
                            + (f"sub-pipelines here: {', '.join(known)}" if known else "add `subpipelines:`"),
                        )
                    )
                    continue
                child = f"{node_path}.{created}" if node_path else created
                pipeline.creators.setdefault(child, []).append(qualified)
        for child_name in node.subpipelines:
            child = f"{node_path}.{child_name}" if node_path else child_name
            if child not in pipeline.creators:
                errors.append(
                    source.error(
                        (*location, "subpipelines", child_name),
                        "no step creates streams of this sub-pipeline",
                        hint=f"add `creates: [{child_name}]` to the step whose summary lists them",
                    )
                )
    if errors:
        return errors
    errors += _check_cycles(pipeline, source, locations)
    for compiled in pipeline.steps.values():
        errors += _check_variables(pipeline, compiled, source, locations[compiled.path])
        if check_environment:
            errors += _check_step(pipeline, compiled, source, locations[compiled.path])
    errors += _check_variable_patterns(pipeline, source)
    return errors


def _resolve_dependency(
    spec: PipelineSpec, node_path: str, node: Node, dependency: Dependency
) -> CompiledDependency | str:
    """The dependency compiled, or a hint saying why its step is unknown."""
    *below, step_name = dependency.step.split(".")
    current = node
    for depth, name in enumerate(below):
        if name not in current.subpipelines:
            known = list(current.subpipelines)
            where = ".".join(below[:depth]) or "this pipeline"
            return did_you_mean(name, known) + (
                f"sub-pipelines of {where}: {', '.join(known)}" if known else f"{where} has no sub-pipelines"
            )
        current = current.subpipelines[name]
    if step_name not in current.steps:
        known = list(current.steps)
        return did_you_mean(step_name, known) + f"steps there: {', '.join(known)}"
    target_node = ".".join(filter(None, [node_path, *below]))
    target = f"{target_node}.{step_name}" if target_node else step_name
    return CompiledDependency(target, tuple(below), dependency.when, dependency.as_)


def _check_cycles(
    pipeline: Pipeline, source: SourceMap, locations: dict[str, tuple[str | int, ...]]
) -> list[SpecError]:
    """Within each node: edges to same-stream steps, and to the creators of a sub-pipeline waited on."""
    edges: dict[str, set[str]] = {}
    for step in pipeline.steps.values():
        targets = edges.setdefault(step.path, set())
        for dependency in step.needs:
            if not dependency.below:
                targets.add(dependency.target)
            else:
                child = f"{step.node}.{dependency.below[0]}" if step.node else dependency.below[0]
                targets.update(pipeline.creators.get(child, []))
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    errors: list[SpecError] = []

    def visit(path: str, trail: list[str]) -> None:
        state[path] = 1
        for target in sorted(edges.get(path, ())):
            if state.get(target) == 1:
                cycle = [*trail[trail.index(target) :], target] if target in trail else [path, target]
                errors.append(
                    source.error(
                        (*locations[path], "needs"),
                        "dependency cycle: " + " -> ".join(cycle),
                        hint="a step cannot wait, directly or through the substreams it creates, for itself",
                    )
                )
            elif target not in state:
                visit(target, [*trail, target])
        state[path] = 2

    for path in pipeline.steps:
        if path not in state:
            visit(path, [path])
    return errors[:1]  # one report per cycle is enough; the rest repeat it


def _outputs_of(pipeline: Pipeline, step_path: str) -> list[str]:
    return list(pipeline.steps[step_path].spec.outputs)


def _check_variables(
    pipeline: Pipeline, step: CompiledStep, source: SourceMap, location: tuple[str | int, ...]
) -> list[SpecError]:
    spec = step.spec
    defaults = pipeline.spec.defaults
    scalars = set(BUILTIN_VARIABLES) | set(pipeline.declared_variables(step.node))
    lists: set[str] = set()
    for dependency in step.needs:
        lists.update(dependency.list_names(_outputs_of(pipeline, dependency.target)))
    errors = []
    argv_field = "script" if spec.script is not None else "command"
    for index, argument in enumerate(spec.script or spec.command or []):
        whole = whole_reference(argument)
        if whole is not None and whole in lists:
            continue
        for name in references(argument):
            if name in lists:
                errors.append(
                    source.error(
                        (*location, argv_field, index),
                        f"the list {name} must be a whole argument",
                        value=argument,
                        hint=f'write "${{{name}}}" alone; it fills one argument per item',
                    )
                )
    texts: dict[tuple[str | int, ...], str] = {}
    for index, argument in enumerate(spec.script or spec.command or []):
        if whole_reference(argument) not in lists:
            texts[(*location, argv_field, index)] = argument
    for name, text in spec.outputs.items():
        texts[(*location, "outputs", name)] = text
    for index, text in enumerate(spec.binds if spec.binds is not None else defaults.binds):
        texts[(*location, "binds", index)] = text
    for name, text in (spec.env if spec.env is not None else defaults.env).items():
        texts[(*location, "env", name)] = text
    for key in ("stage_in", "stage_out"):
        own = getattr(spec, key)
        for index, text in enumerate(own if own is not None else getattr(defaults, key)):
            texts[(*location, key, index)] = text
    for name, text in (spec.secrets if spec.secrets is not None else defaults.secrets).items():
        texts[(*location, "secrets", name)] = text
    for key in ("site", "workdir"):
        value = getattr(spec, key) or (getattr(defaults, key, None) if key == "site" else None)
        if value:
            texts[(*location, key)] = value
    for where, text in texts.items():
        for name in unknown_references([text], scalars):
            if name in lists:
                errors.append(
                    source.error(where, f"the list {name} can only be a whole argument of the command")
                )
                continue
            known = sorted(scalars)
            errors.append(
                source.error(
                    where,
                    f"uses the variable {name}, which nothing declares",
                    value=text,
                    hint=did_you_mean(name, known)
                    + "declare it under `variables:` of this (sub-)pipeline or above; "
                    f"known here: {', '.join(known)}",
                )
            )
    return errors


def _check_step(
    pipeline: Pipeline, step: CompiledStep, source: SourceMap, location: tuple[str | int, ...]
) -> list[SpecError]:
    from hepstack.batch.schedulers import get_scheduler
    from hepstack.errors import HepstackError
    from hepstack.runtimes import get_runtime

    spec, defaults = step.spec, pipeline.spec.defaults
    errors: list[SpecError] = []
    retry = spec.retry or defaults.retry
    if retry.on_exit_codes and "FAILED" not in retry.on_states:
        where = (*location, "retry") if spec.retry else ("defaults", "retry")
        errors.append(
            source.error(
                (*where, "on_exit_codes"),
                "exit codes only select FAILED attempts, and on_states leaves FAILED out",
                hint="add FAILED to on_states, or drop on_exit_codes",
            )
        )
    if step.is_script:
        return errors
    errors += check_services(spec, defaults, source, location)
    site = spec.site or defaults.site
    if site and not references(site):
        errors += _check_site(site, source, (*location, "site") if spec.site else ("defaults", "site"))
    for key, lookup in (("scheduler", get_scheduler), ("runtime", get_runtime)):
        value = getattr(spec, key) or getattr(defaults, key)
        if value:
            try:
                lookup(value)
            except HepstackError as exc:
                where = (*location, key) if getattr(spec, key) else ("defaults", key)
                errors.append(source.error(where, exc.message, hint=exc.hint))
        elif not site:
            errors.append(
                source.error(
                    location,
                    f"no site and no {key} for this job step",
                    hint=f"give `site:` or `{key}:` here or under `defaults:`",
                )
            )
    return errors


def _check_site(name: str, source: SourceMap, where: tuple[str | int, ...]) -> list[SpecError]:
    from hepstack.errors import HepstackError
    from hepstack.sites import get_site

    try:
        get_site(name)
    except HepstackError as exc:
        return [source.error(where, exc.message, value=name, hint=exc.hint)]
    return []


def _check_variable_patterns(pipeline: Pipeline, source: SourceMap) -> list[SpecError]:
    errors = []
    for _node_path, node, location in _walk(pipeline.spec, "", ()):
        for name, variable in node.variables.items():
            if variable.pattern is None:
                continue
            try:
                re.compile(variable.pattern)
            except re.error as exc:
                errors.append(
                    source.error(
                        (*location, "variables", name, "pattern"),
                        f"not a regular expression: {exc}",
                        value=variable.pattern,
                    )
                )
            else:
                if variable.default is not None and not re.fullmatch(variable.pattern, variable.default):
                    errors.append(
                        source.error(
                            (*location, "variables", name, "default"),
                            "the default does not match the variable's pattern",
                            value=variable.default,
                        )
                    )
    return errors
