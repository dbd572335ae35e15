"""Running rendered job scripts of the injection corpus (tests/batch/injection.py) with bash.

:func:`execute` runs each task as its own ``bash job.sh INDEX``, all of one test from one driver script
(a process start costs ~9 ms on these machines). Every runtime binary is a recording stand-in first on
PATH (never the real runtime): it writes its argv, NUL-separated, into the current directory, which the
driver sets per task. The native runtime runs for real (env -i, /bin/sh -l, the login wrapper) with a
recording command, which also writes its environment.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hepstack.batch.executor import Submission
from hepstack.batch.script import container_argv
from hepstack.runtimes import RunRequest, get_runtime
from hepstack.runtimes.base import WRAPPER_NAME
from tests.batch.injection import ALICE, Harness, Rendered

# A stand-in records the container's start only: the job's watcher stops the (named) container afterwards.
# Calls that are not a run (image inspection, stop/rm at cancel) leave no argv file: planning calls them in
# the test process's directory.
STAND_IN = (
    '#!/bin/sh\ncase "$1" in stop|rm|image|images|inspect|save|load|create|info) exit 0 ;; esac\n'
    'printf "%s\\0" "$0" "$@" >"${0##*/}.argv"\n'
)
RECORDER = '#!/bin/sh\nprintf "%s\\0" "$0" "$@" >command.argv\nenv -0 >command.env\n'
STAND_INS = ("podman", "podman-hpc", "docker", "ch-run", "apptainer", "shifter", "shifterimg")
TASK_INDEX = {"slurm": "SLURM_ARRAY_TASK_ID", "sge": "SGE_TASK_ID", "lsf": "LSB_JOBINDEX"}
JOB_ENVIRONMENT = {"SCRATCH": "/node/scratch", "TMPDIR": "/node/tmp"}  # a compute node's own variables
_CONTAINER_NAME = re.compile(r"hepstack-[A-Za-z0-9_.-]+-[0-9]+-[0-9]+")
_JOB_VARIABLE = re.compile("\x00([A-Za-z_][A-Za-z0-9_]*)\x00")


def install_stand_ins(harness: Harness) -> None:
    harness.stand_ins.mkdir(parents=True)
    (harness.root / "markers").mkdir()
    (harness.root / "data").mkdir()
    for name, text in [*((name, STAND_IN) for name in STAND_INS), ("record-command", RECORDER)]:
        path = harness.stand_ins / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)


@dataclass(frozen=True)
class Task:
    where: str
    field_name: str
    rendered: Rendered
    index: int


@dataclass(frozen=True)
class TaskRun:
    task: Task
    received: list[str] | None  # the runtime's argv as its stand-in (or the native command) got it
    intended: list[str]
    log: str


def execute(harness: Harness, tasks: list[Task]) -> list[TaskRun]:
    """Write each job directory as hepstack submit does, run every task from one driver, collect."""
    lines = ["#!/bin/bash"]
    for number, task in enumerate(tasks):
        rendered = task.rendered
        rendered.jobdir.mkdir(parents=True, exist_ok=True)
        script = rendered.jobdir / "job.sh"
        if not script.exists():
            script.write_text(rendered.script, encoding="utf-8")
            lines_file = rendered.submission.task_lines
            if lines_file is not None:
                (rendered.jobdir / "tasks.txt").write_text("".join(f"{line}\n" for line in lines_file))
        record = harness.root / "records" / str(number)
        record.mkdir(parents=True)
        # HTCondor passes $(Process), 0-based; the other templates read their scheduler's 1-based index.
        argument = task.index - 1 if harness.scheduler == "htcondor" else task.index
        index = f"{TASK_INDEX[harness.scheduler]}={task.index} " if harness.scheduler in TASK_INDEX else ""
        lines.append(
            f"(cd {shlex.quote(str(record))} && {index}exec bash {shlex.quote(str(script))} {argument})"
        )
    driver = harness.root / "driver.sh"
    driver.write_text("\n".join(lines) + "\n", encoding="utf-8")
    environment = {"PATH": f"{harness.stand_ins}:/usr/bin:/bin", "HOME": str(harness.root), **JOB_ENVIRONMENT}
    subprocess.run(["bash", str(driver)], env=environment, capture_output=True, timeout=600, check=False)
    return [_collect(harness, task, harness.root / "records" / str(n)) for n, task in enumerate(tasks)]


def _collect(harness: Harness, task: Task, record: Path) -> TaskRun:
    submission = task.rendered.submission
    lines = submission.task_lines
    variables = {
        **JOB_ENVIRONMENT,
        "HEPSTACK_TASK_INDEX": str(task.index),
        "HEPSTACK_TASK_COUNT": str(len(lines) if lines is not None else submission.tasks),
        "HEPSTACK_TASK_INPUT": lines[task.index - 1] if lines else "",
    }
    argv = _argv(submission)
    intended = [_JOB_VARIABLE.sub(lambda m: variables.get(m[1], ""), word) for word in argv]
    received = _received(harness, record, intended, submission.command)
    if received is not None and "--name" in intended and len(received) == len(intended):
        # the job names its container after itself ($$): the name it chose must have hepstack's form
        given = received[intended.index("--name") + 1]
        variables["HEPSTACK_CONTAINER"] = given if _CONTAINER_NAME.fullmatch(given) else "(not a name)"
        intended = [_JOB_VARIABLE.sub(lambda m: variables.get(m[1], ""), word) for word in argv]
    log_path = task.rendered.jobdir / f"{task.index}.log"
    log = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
    return TaskRun(task, received, intended, log)


def _argv(submission: Submission) -> list[str]:
    request = RunRequest(
        image=submission.image,
        command=submission.command,
        user=ALICE,
        binds=submission.binds,
        env=submission.env,
        workdir=submission.workdir,
    )
    runtime = get_runtime(submission.runtime)
    with_input = submission.task_lines is not None
    return container_argv(runtime, request, with_input=with_input, tool=submission.runtime_tool)


def _received(harness: Harness, record: Path, intended: list[str], command: list[str]) -> list[str] | None:
    """The argv the stand-in got. For native, env -i, the login shell and the wrapper ran for real:
    the intended argv up to the wrapper's name, then the assignments as the command found them in
    its environment, then the argv the command got."""
    if harness.runtime == "native":
        argv_file = record / "command.argv"
        if not argv_file.exists():
            return None
        words = _words(argv_file)
        found = dict(item.partition("=")[::2] for item in _words(record / "command.env"))
        wrapper = intended.index(WRAPPER_NAME)
        names = [item.partition("=")[0] for item in intended[wrapper + 1 : len(intended) - len(command)]]
        assignments = [f"{name}={found[name]}" if name in found else f"{name} unset" for name in names]
        return [*intended[: wrapper + 1], *assignments, *words]
    name = Path(intended[0]).name
    path = record / f"{name}.argv"
    if not path.exists():
        return None
    words = _words(path)
    return [intended[0] if Path(words[0]).name == name else words[0], *words[1:]]


def _words(path: Path) -> list[str]:
    return path.read_bytes().decode().split("\0")[:-1]
