"""The console entry point: ``hepstack run`` on a fast path, everything else through the full CLI.

``hepstack run`` sits in front of every containerised command, so its own start-up is overhead on
each job step (issue 4, acceptance 5). Importing typer (and, through it, click and pydantic) costs
~150 ms, more than the 5 % of a podman start it may add. A well-formed ``run`` line — options, one
IMAGE, ``--``, the command — is therefore parsed here with a few lines of plain Python and handed to
:func:`hepstack.launch.run`, the same function the typer command calls. Anything else (``--help``, an
unknown or misspelt option, no ``--``) goes to the full CLI, which owns help text and usage errors.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

# option -> (field, takes a value); mirrors the typer signature in hepstack/cli/run.py, and
# tests/runtimes/test_fast_entry.py checks that both parse every option to the same command line.
_RUN_OPTIONS = {
    "--runtime": ("runtime", True),
    "-r": ("runtime", True),
    "--bind": ("bind", True),
    "-b": ("bind", True),
    "--env": ("env", True),
    "-e": ("env", True),
    "--workdir": ("workdir", True),
    "-w": ("workdir", True),
    "--engine": ("engine", True),
    "--print": ("print_only", False),
}


@dataclass
class RunArguments:
    image: str = ""
    command: list[str] = field(default_factory=list)
    runtime: str = "podman"
    bind: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    engine: str | None = None
    print_only: bool = False


def parse_run(argv: list[str]) -> RunArguments | None:
    """``run [OPTIONS] IMAGE -- COMMAND...`` -> arguments; None for anything the full CLI should see."""
    if not argv or argv[0] != "run" or "--" not in argv:
        return None
    split = argv.index("--")
    head, command = argv[1:split], argv[split + 1 :]
    if not command:
        return None
    parsed = RunArguments(command=command)
    images: list[str] = []
    position = 0
    while position < len(head):
        token = head[position]
        position += 1
        if not token.startswith("-"):
            images.append(token)
            continue
        name, has_inline, inline = token.partition("=")
        if name not in _RUN_OPTIONS or (has_inline and not name.startswith("--")):
            return None  # --help, a typo, -rpodman: let click explain
        key, takes_value = _RUN_OPTIONS[name]
        if not takes_value:
            if has_inline:
                return None
            setattr(parsed, key, True)
            continue
        if has_inline:
            value = inline
        elif position < len(head):
            value, position = head[position], position + 1
        else:
            return None
        if key in ("bind", "env"):
            getattr(parsed, key).append(value)
        else:
            setattr(parsed, key, value)
    if len(images) != 1:
        return None
    parsed.image = images[0]
    return parsed


def main() -> None:
    arguments = parse_run(sys.argv[1:])
    if arguments is None:
        from hepstack.cli import main as full_cli

        full_cli()
        return
    from hepstack.errors import HepstackError, print_error
    from hepstack.launch import run

    try:
        run(
            arguments.image,
            arguments.command,
            runtime_name=arguments.runtime,
            bind=arguments.bind,
            env=arguments.env,
            workdir=arguments.workdir,
            engine=arguments.engine,
            print_only=arguments.print_only,
        )
    except HepstackError as exc:
        if os.environ.get("HEPSTACK_DEBUG"):
            raise
        print_error(exc)
        sys.exit(2)
