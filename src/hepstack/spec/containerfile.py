"""Existing Containerfiles used as layers: parse, check, and rewire FROM to the layer's parent."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from hepstack.spec.paths import PathProblem, checked_path
from hepstack.spec.reading import DEFAULT_LIMITS, FileProblem, Limits, read_text

# The instructions of the Dockerfile reference (docs.docker.com/reference/dockerfile) that podman and
# docker both accept.
INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)


class ContainerfileProblem(ValueError):
    """A Containerfile that does not parse or reads what it may not; ``line`` is 1-based within it."""

    def __init__(self, message: str, line: int | None, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.hint = hint


@dataclass(frozen=True)
class Instruction:
    name: str
    value: str
    first_line: int  # 1-based
    last_line: int


@dataclass(frozen=True)
class Containerfile:
    path: Path
    text: str
    instructions: tuple[Instruction, ...]
    sources: tuple[str, ...] = ()  # what COPY/ADD read, relative to the context, checked, globs expanded

    @property
    def context(self) -> Path:
        """The build context: the Containerfile's directory."""
        return self.path.parent

    def rewired(self, parent_ref: str) -> str:
        """The text with the base of the final stage's lineage replaced by ``parent_ref``.

        In a multi-stage file, only the stage the image is made from (the last one, or the stage it
        names in its own FROM) gets the new base; builder stages keep theirs.
        """
        stages = [i for i in self.instructions if i.name == "FROM"]
        target = _lineage_root(stages)
        words = target.value.split()
        alias = ""
        if len(words) >= 3 and words[-2].lower() == "as":
            alias = f" AS {words[-1]}"
        lines = self.text.splitlines()
        replaced = [*lines[: target.first_line - 1], f"FROM {parent_ref}{alias}", *lines[target.last_line :]]
        return "\n".join(replaced) + "\n"

    def copy_sources(self) -> list[str]:
        """Build-context paths that COPY/ADD read (not ``--from=`` stage copies, not URLs), relative to
        the context, inside it and existing (checked by :func:`parse_containerfile`)."""
        return list(self.sources)


def parse_containerfile(path: Path, limits: Limits = DEFAULT_LIMITS) -> Containerfile:
    """Read and parse ``path`` and check what its COPY/ADD instructions read (inside its directory, the
    build context, regular files and directories only). Raises :class:`ContainerfileProblem`."""
    from dockerfile_parse import DockerfileParser

    try:
        text = read_text(path, limits)
    except FileProblem as problem:
        raise ContainerfileProblem(problem.message, problem.line, problem.hint) from None
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    instructions: list[Instruction] = []
    for item in parser.structure:
        name = str(item["instruction"]).upper()
        first, last = int(item["startline"]) + 1, int(item["endline"]) + 1
        if name == "COMMENT":
            continue
        if name not in INSTRUCTIONS:
            raise ContainerfileProblem(f"unknown instruction {item['instruction']!r}", first, _REFERENCE)
        instructions.append(Instruction(name, str(item["value"]), first, last))
    first_real = next((i for i in instructions if i.name != "ARG"), None)
    if first_real is None or first_real.name != "FROM":
        line = first_real.first_line if first_real else None
        raise ContainerfileProblem("the first instruction (after ARG) must be FROM", line, _REFERENCE)
    for instruction in instructions:
        image = [word for word in instruction.value.split() if not word.startswith("--")]
        if instruction.name == "FROM" and not image:
            raise ContainerfileProblem("FROM without an image", instruction.first_line, _REFERENCE)
    sources: list[str] = []
    for instruction in instructions:
        if instruction.name in {"COPY", "ADD"}:
            sources += _checked_sources(instruction, path.parent)
    return Containerfile(path, text, tuple(instructions), tuple(dict.fromkeys(sources)))


_REFERENCE = "fix the Containerfile; known instructions are FROM, RUN, COPY, ENV, ... (Dockerfile reference)"


def _checked_sources(instruction: Instruction, context: Path) -> list[str]:
    """The context-relative files one COPY/ADD reads; globs expanded, every path checked."""
    line = instruction.first_line
    arguments = _copy_arguments(instruction)
    if arguments is None:
        return []  # --from=STAGE: copies from another stage, not from the context
    if len(arguments) < 2:
        raise ContainerfileProblem(f"{instruction.name} needs a source and a destination", line, _REFERENCE)
    found: list[str] = []
    for written in arguments[:-1]:
        if "://" in written or written.startswith(("git@", "<<")):
            continue  # a URL (ADD) or a here-document: nothing from the context
        if "$" in written:
            raise ContainerfileProblem(
                f"{instruction.name} source {written!r} uses a variable",
                line,
                hint="write the path itself: hepstack must know which files a layer reads (its key)",
            )
        relative = written.lstrip("/") or "."  # an absolute source is relative to the context (Docker)
        matches = _expand(relative, context) if any(c in relative for c in "*?[") else [relative]
        if not matches:
            raise ContainerfileProblem(
                f"{instruction.name} source {written!r} matches no file",
                line,
                hint=f"wildcards match files in the build context {context}",
            )
        for match in matches:
            try:
                checked_path(context, match, expect="file or directory")
            except PathProblem as problem:
                raise ContainerfileProblem(
                    f"{instruction.name} source {written!r} {problem.message}", line, problem.hint
                ) from None
            found.append(match)
    return found


def _copy_arguments(instruction: Instruction) -> list[str] | None:
    """Sources and destination of a COPY/ADD, shell or JSON form; None for a copy from a stage."""
    rest = instruction.value.strip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        if flag.startswith("--from"):
            return None
        rest = rest.lstrip()
    if not rest.startswith("["):
        return rest.split()
    try:
        words = json.loads(rest)
    except ValueError:
        words = None
    if not isinstance(words, list) or not all(isinstance(word, str) for word in words):
        raise ContainerfileProblem(
            f'{instruction.name} in JSON form must be a list of strings: ["src", "dst"]',
            instruction.first_line,
            hint='quote every path: COPY ["app.py", "/opt/app.py"]',
        )
    return words


def _expand(pattern: str, context: Path) -> list[str]:
    """Context-relative matches of a COPY wildcard (``*`` matches dot files too, as in Docker)."""
    import glob

    # Path.glob has no include_hidden (3.11); glob.glob's root_dir keeps the matches context-relative
    return sorted(glob.glob(pattern, root_dir=context, include_hidden=True))  # noqa: PTH207


def _lineage_root(stages: list[Instruction]) -> Instruction:
    aliases: dict[str, Instruction] = {}
    for stage in stages:
        words = stage.value.split()
        if len(words) >= 3 and words[-2].lower() == "as":
            aliases[words[-1].lower()] = stage
    current = stages[-1]
    seen: set[int] = set()
    while True:
        base = next(w for w in current.value.split() if not w.startswith("--")).lower()
        earlier = aliases.get(base)
        if earlier is None or earlier.first_line in seen or earlier is current:
            return current
        seen.add(current.first_line)
        current = earlier
