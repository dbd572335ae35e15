"""The console entry point: ``hepstack run`` on a fast path, everything else through the full CLI.

``hepstack run`` sits in front of every containerised command, so its own start-up is overhead on
each job step (docs/running.md). Importing typer (and, through it, click and pydantic) costs
~150 ms, more than the 5 % of a podman start it may add. A well-formed ``run`` line — options, one
IMAGE, ``--``, the command — is therefore parsed here with a few lines of plain Python; if the same
run was resolved before and nothing it depends on changed, its remembered command is exec'd at once
(:mod:`hepstack.run.plan`), else it goes to :func:`hepstack.run.launch.run`, the same function the typer
command calls. Anything else (``--help``, an unknown or misspelt option, no ``--``) goes to the full
CLI, which owns help text and usage errors. Only builtins are imported before the exec: no dataclasses,
re or pathlib, each 10-25 ms here.
"""

from __future__ import annotations

import os
import sys

from hepstack.run import plan as launch_plan

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


class RunArguments:
    def __init__(self, command: list[str]) -> None:
        self.image = ""
        self.command = command
        self.runtime = "podman"
        self.bind: list[str] = []
        self.env: list[str] = []
        self.workdir: str | None = None
        self.engine: str | None = None
        self.print_only = False


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
    if not arguments.print_only:
        key = launch_plan.plan_key(
            arguments.image,
            arguments.runtime,
            arguments.bind,
            arguments.env,
            arguments.workdir,
            arguments.engine,
        )
        launch_plan.exec_remembered(key, arguments.command)  # returns only if there is no valid plan
    from hepstack.errors import HepstackError, print_error
    from hepstack.run.launch import run

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
