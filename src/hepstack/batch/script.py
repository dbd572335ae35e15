"""Job scripts: a per-scheduler template around one shared task body, filled with the runtime's argv.

The script is bash only. It execs the container runtime directly (DESIGN decision 3): the argv comes
from ``Runtime.argv``, each element quoted by :func:`hepstack.quoting.bash_word`, with the job-time
variables (task index, a site's $SCRATCH) spliced in as ``"${NAME}"``. Directives come from the
scheduler, each value quoted by that scheduler's own function (hepstack.quoting).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from importlib import resources
from typing import TYPE_CHECKING

from hepstack.errors import HepstackError
from hepstack.quoting import bash_word, job_variable, job_variables_in
from hepstack.runtimes import RunRequest, Runtime

if TYPE_CHECKING:
    from hepstack.batch.schedulers.base import Scheduler
    from hepstack.batch.spec import JobSpec
    from hepstack.registry.cache import JobNodeCache

_KEY = re.compile(r"\{\{(\w+)\}\}")
# Values the job itself knows only at run time; the runtime sees these as the env values.
TASK_VARIABLES = ("HEPSTACK_TASK_INDEX", "HEPSTACK_TASK_COUNT", "HEPSTACK_TASK_INPUT", "HEPSTACK_CONTAINER")


@functools.cache
def template_text(name: str) -> str:
    """A template of the installed package (read once per process: it cannot change under it)."""
    return (resources.files("hepstack.batch") / "templates" / name).read_text(encoding="utf-8")


def fill(template_name: str, values: dict[str, str]) -> str:
    """Replace each ``{{key}}``; a key the template uses but hepstack does not provide is an error.

    One pass: a ``{{key}}`` inside a value is not replaced again.
    """
    text = template_text(template_name)
    missing = sorted({key for key in _KEY.findall(text) if key not in values})
    if missing:
        raise HepstackError(
            f"job template {template_name} uses {', '.join('{{' + k + '}}' for k in missing)}, "
            "which hepstack does not provide",
            hint=f"keys available to this template: {', '.join(sorted(values))}",
        )
    return _KEY.sub(lambda match: values[match[1]], text)


def task_request(request: RunRequest, with_input: bool) -> RunRequest:
    """``request`` with the task variables added to the container's environment (--env semantics)."""
    env = dict(request.env)
    env["HEPSTACK_TASK_INDEX"] = job_variable("HEPSTACK_TASK_INDEX")
    env["HEPSTACK_TASK_COUNT"] = job_variable("HEPSTACK_TASK_COUNT")
    if with_input:
        env["HEPSTACK_TASK_INPUT"] = job_variable("HEPSTACK_TASK_INPUT")
    return replace(request, env=env, container_name=job_variable("HEPSTACK_CONTAINER"))


def container_argv(
    runtime: Runtime, request: RunRequest, *, with_input: bool, tool: str | None = None
) -> list[str]:
    """The runtime's argv for a task; ``tool`` replaces argv[0] (e.g. podman-hpc for podman)."""
    argv = runtime.argv(task_request(request, with_input))
    return [tool, *argv[1:]] if tool else argv


def stop_lines(runtime: Runtime, argv: list[str]) -> dict[str, str]:
    """The task body's ``{{stop}}`` (run by the signal trap) and ``{{watcher}}`` (a process in its own
    session that stops the container once the job shell is gone, even after a SIGKILL of the job's
    process group): docs/cancel.md says which signal reaches what."""
    stop = runtime.job_stop(argv[0])
    if not stop:
        return {
            "stop": "# (the payload is a child of this shell: the signal reaches it)",
            "watcher": "# (no watcher: a kill of the job's process group kills the payload too)",
        }
    body = "; ".join(stop)
    watcher = f'tail --pid="$1" -f /dev/null; HEPSTACK_CONTAINER=$2; {body}'
    return {
        "stop": "\n    ".join(stop),
        "watcher": f"setsid bash -c {bash_word(watcher)} hepstack-watcher $$ "
        '"$HEPSTACK_CONTAINER" </dev/null >/dev/null 2>&1 &',
    }


def task_command(argv: list[str]) -> str:
    """The argv as one shell line; if it binds a site variable ($SCRATCH), guarded by a check of that
    variable's value, which is known only on the compute node: a value no bind syntax can carry
    (``,`` ``:`` ``;`` ``"`` or a line break) stops the task with exit code 2 instead."""
    line = " ".join(bash_word(argument) for argument in argv)
    names = sorted({name for word in argv for name in job_variables_in(word)} - set(TASK_VARIABLES))
    if not names:
        return line
    values = "".join(f"${{{name}-}}" for name in names)
    shown = " ".join(f"${name}" for name in names)
    return (
        f'case "{values}" in  # site variables in binds, known only here\n'
        f"  *[,:\\;\\\"]* | *$'\\n'*) echo 'hepstack: {shown}: a bind cannot hold , : ; \" or a line break'"
        " >&2; (exit 2) ;;\n"
        f"  *) {line} ;;\n"
        "esac"
    )


def image_block(commands: list[str]) -> str:
    """The task body's ``{{image}}``: the node-cache functions (batch/templates/node_cache.sh) and the
    runtime's commands that make the image ready on the node; a failing one ends the task with its
    exit code (written like the payload's, so `hepstack jobs` shows it)."""
    if not commands:
        return "# (the image needs no preparation on the node)"
    calls = "\n".join(f'{command} || hepstack_finish "$?"' for command in commands)
    return f"{template_text('node_cache.sh').rstrip()}\n{calls}"


def staging_lines(spec: JobSpec, jobdir: str) -> dict[str, str]:
    """The task body's ``{{stage_in}}`` and ``{{stage_out}}`` (batch/staging.py, staging.tmpl)."""
    from hepstack.batch.staging import STAGING_EXIT_CODE, staging_blocks

    functions = ""
    if spec.stage_in or spec.stage_out:
        functions = fill(
            "staging.tmpl",
            {
                "jobdir": jobdir,
                "staging_code": str(STAGING_EXIT_CODE),
                "xrootd_client": '"$@"',
                "xrootd_client_where": "on the node (the host's xrdcp, xrdfs, xrdadler32)",
            },
        )
    return staging_blocks(spec.stage_in, spec.stage_out, functions)


def secret_checks(request: RunRequest) -> list[str]:
    """Per --secret, the check made at submission made again on the node before the task runs (the file
    may have changed since): a regular file of the job's user, no access for group or others. Paths only:
    the job script never holds a secret's content (docs/site-services.md)."""
    lines = []
    for secret in request.secrets:
        path = bash_word(secret.source)
        refusal = bash_word(f"error: the secret file {secret.source} must be yours with mode 0600")
        hint = bash_word(f"hint: chmod 600 {secret.source}")
        lines.append(
            f"[ -f {path} ] && [ -O {path} ] && [ $(( 0$(stat -L -c %a {path}) & 077 )) -eq 0 ] "
            f"|| {{ echo {refusal} >&2; echo {hint} >&2; exit 2; }}"
        )
    return lines


def render_job_script(
    scheduler: Scheduler,
    spec: JobSpec,
    runtime: Runtime,
    request: RunRequest,
    *,
    with_input: bool = False,
    tool: str | None = None,
    node_cache: JobNodeCache | None = None,
) -> str:
    """The complete job script for ``scheduler``: directives, runtime preamble and setup, task body.

    ``node_cache`` is where the job finds (or makes) its image when the runtime runs files
    (Charliecloud, Apptainer); without it the image is used as given.
    """
    image_commands: list[str] = []
    if node_cache is not None:
        request, image_commands = runtime.job_image(request, node_cache, tool)
    jobdir = bash_word(str(spec.jobdir))
    input_line = (
        f'HEPSTACK_TASK_INPUT=$(sed -n "${{HEPSTACK_TASK_INDEX}}p" {jobdir}/tasks.txt)'
        if with_input
        else "# (no --task-file: HEPSTACK_TASK_INPUT is not set)"
    )
    argv = container_argv(runtime, request, with_input=with_input, tool=tool)
    setup = runtime.job_setup(request) + secret_checks(request)
    body = fill(
        "task.tmpl",
        {
            "jobdir": jobdir,
            "tasks": str(spec.tasks),
            "task_input": input_line,
            "setup": "\n".join(setup) if setup else "# (the runtime needs no set-up in the job)",
            "image": image_block(image_commands),
            "command": task_command(argv),
            **stop_lines(runtime, argv),
            **staging_lines(spec, jobdir),
        },
    )
    runtime_directives = runtime.job_directives(request, scheduler.name)
    directives = scheduler.directives(spec) + [scheduler.directive(*pair) for pair in runtime_directives]
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
