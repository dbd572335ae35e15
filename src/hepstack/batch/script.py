"""Job scripts: a per-scheduler template around one shared task body, filled with the runtime's argv.

The script is bash only. It execs the container runtime directly (DESIGN decision 3): the argv comes
from ``Runtime.argv``, shell-quoted here, with the task's variables spliced in as ``"${NAME}"``.
"""

from __future__ import annotations

import re
import shlex
from importlib import resources
from typing import TYPE_CHECKING

from hepstack.errors import HepstackError
from hepstack.runtimes import RunRequest, Runtime

if TYPE_CHECKING:
    from hepstack.batch.schedulers.base import Scheduler
    from hepstack.batch.spec import JobSpec

_KEY = re.compile(r"\{\{(\w+)\}\}")
# Values the job itself knows only at run time; the runtime sees these markers as the env values.
TASK_VARIABLES = ("HEPSTACK_TASK_INDEX", "HEPSTACK_TASK_COUNT", "HEPSTACK_TASK_INPUT")
# Site binds may name job-time variables too ($SCRATCH, $TMPDIR): any marked name becomes "${NAME}".
_MARKER = re.compile(r"@@([A-Za-z_][A-Za-z0-9_]*)@@")


def marker(variable: str) -> str:
    return f"@@{variable}@@"


def template_text(name: str) -> str:
    return (resources.files("hepstack.batch") / "templates" / name).read_text(encoding="utf-8")


def fill(template_name: str, values: dict[str, str]) -> str:
    """Replace each ``{{key}}``; a key the template uses but hepstack does not provide is an error."""
    text = template_text(template_name)
    missing = sorted({key for key in _KEY.findall(text) if key not in values})
    if missing:
        raise HepstackError(
            f"job template {template_name} uses {', '.join('{{' + k + '}}' for k in missing)}, "
            "which hepstack does not provide",
            hint=f"keys available to this template: {', '.join(sorted(values))}",
        )
    return _KEY.sub(lambda match: values[match[1]], text)


def shell_word(argument: str) -> str:
    """One argv element, quoted for bash, with task markers turned into ``"${NAME}"``."""
    pieces = _MARKER.split(argument)
    words = []
    for position, piece in enumerate(pieces):
        if position % 2:
            words.append(f'"${{{piece}}}"')
        elif piece:
            words.append(shlex.quote(piece))
    return "".join(words) or "''"


def task_request(request: RunRequest, with_input: bool) -> RunRequest:
    """``request`` with the task variables added to the container's environment (--env semantics)."""
    from dataclasses import replace

    env = dict(request.env)
    env["HEPSTACK_TASK_INDEX"] = marker("HEPSTACK_TASK_INDEX")
    env["HEPSTACK_TASK_COUNT"] = marker("HEPSTACK_TASK_COUNT")
    if with_input:
        env["HEPSTACK_TASK_INPUT"] = marker("HEPSTACK_TASK_INPUT")
    return replace(request, env=env)


def container_command(
    runtime: Runtime, request: RunRequest, *, with_input: bool, tool: str | None = None
) -> str:
    """The runtime's argv as one shell line; ``tool`` replaces argv[0] (e.g. podman-hpc for podman)."""
    argv = runtime.argv(task_request(request, with_input))
    if tool:
        argv = [tool, *argv[1:]]
    return " ".join(shell_word(argument) for argument in argv)


def render_job_script(
    scheduler: Scheduler,
    spec: JobSpec,
    runtime: Runtime,
    request: RunRequest,
    *,
    with_input: bool = False,
    tool: str | None = None,
) -> str:
    """The complete job script for ``scheduler``: directives, runtime preamble and setup, task body."""
    jobdir = shlex.quote(str(spec.jobdir))
    input_line = (
        f'HEPSTACK_TASK_INPUT=$(sed -n "${{HEPSTACK_TASK_INDEX}}p" {jobdir}/tasks.txt)'
        if with_input
        else "# (no --task-file: HEPSTACK_TASK_INPUT is not set)"
    )
    setup = runtime.job_setup(request)
    body = fill(
        "task.tmpl",
        {
            "jobdir": jobdir,
            "tasks": str(spec.tasks),
            "task_input": input_line,
            "setup": "\n".join(setup) if setup else "# (the runtime needs no set-up in the job)",
            "command": container_command(runtime, request, with_input=with_input, tool=tool),
        },
    )
    directives = scheduler.directives(spec) + runtime.job_preamble(request, scheduler.name)
    return fill(
        scheduler.template,
        {
            "directives": "\n".join(directives),
            "name": spec.name,
            "tasks": str(spec.tasks),
            "jobdir": jobdir,
            "body": body.rstrip("\n"),
        },
    )
