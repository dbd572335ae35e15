"""Existing Containerfiles used as layers: parse, check, and rewire FROM to the layer's parent."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

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
    """A Containerfile that does not parse; ``line`` is 1-based within that file."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


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
        """Build-context paths that COPY/ADD read (not ``--from=`` stage copies, not URLs)."""
        sources: list[str] = []
        for instruction in self.instructions:
            if instruction.name not in {"COPY", "ADD"}:
                continue
            words = instruction.value.split()
            if any(w.startswith("--from") for w in words):
                continue
            args = [w for w in words if not w.startswith("--")]
            sources.extend(a for a in args[:-1] if "://" not in a)
        return sources


def parse_containerfile(path: Path) -> Containerfile:
    """Parse ``path``; raise :class:`ContainerfileProblem` for unknown instructions or a missing FROM."""
    from dockerfile_parse import DockerfileParser

    text = path.read_text(encoding="utf-8")
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    instructions: list[Instruction] = []
    for item in parser.structure:
        name = str(item["instruction"]).upper()
        first, last = int(item["startline"]) + 1, int(item["endline"]) + 1
        if name == "COMMENT":
            continue
        if name not in INSTRUCTIONS:
            raise ContainerfileProblem(f"unknown instruction {item['instruction']!r}", first)
        instructions.append(Instruction(name, str(item["value"]), first, last))
    first_real = next((i for i in instructions if i.name != "ARG"), None)
    if first_real is None or first_real.name != "FROM":
        line = first_real.first_line if first_real else None
        raise ContainerfileProblem("the first instruction (after ARG) must be FROM", line)
    for instruction in instructions:
        if instruction.name == "FROM" and not instruction.value.strip():
            raise ContainerfileProblem("FROM without an image", instruction.first_line)
    return Containerfile(path, text, tuple(instructions))


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
