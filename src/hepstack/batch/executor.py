"""The one place batch I/O happens: write the job directory, submit, ask the queue, cancel, read logs.

Job directory (``<data dir>/jobs/<stamp>-<hex>/``): ``job.sh``, ``<task>.log``, ``<task>.exitcode`` (written
by the job script itself), ``scheduler-*.out`` (what the scheduler caught before the task's own log).
It must be on a file system the compute nodes share with the submit host, as on every farm.
"""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hepstack import private, proc
from hepstack.batch.remote import observe
from hepstack.batch.schedulers import WHOLE_JOB, Scheduler, get_scheduler
from hepstack.batch.script import render_job_script
from hepstack.batch.spec import JobSpec, Resources
from hepstack.batch.staging import Transfer
from hepstack.batch.states import QueueEntry, TaskState, TaskStatus, final_from_exit_code
from hepstack.batch.store import JobRecord, JobStore
from hepstack.batch.transport import LocalTransport, Transport, site_transport
from hepstack.context import Context
from hepstack.errors import HepstackError, ProcessError
from hepstack.identity import invoking_user
from hepstack.registry.cache import JobNodeCache, cache_limit
from hepstack.runtimes import Bind, RunRequest, get_runtime
from hepstack.runtimes.secret_files import Secret


@dataclass(frozen=True)
class Submission:
    """One `hepstack submit`: what to run, where, and with what."""

    scheduler: str
    runtime: str
    image: str
    command: list[str]
    tasks: int = 1
    task_lines: list[str] | None = None  # --task-file: line i is HEPSTACK_TASK_INPUT of task i
    binds: list[Bind] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)  # checked files; the job script names their paths
    env: dict[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    directives: list[str] = field(default_factory=list)
    workdir: str | None = None
    site: str | None = None
    runtime_tool: str | None = None  # replaces the runtime's argv[0] in the job (podman-hpc)
    image_id: str | None = None
    name: str = "hepstack"
    engine: str = "podman"  # the engine store that holds `image` (its job-time conversion reads it)
    node_cache: JobNodeCache | None = None  # where the job puts converted images; None: this environment's
    stage_in: tuple[Transfer, ...] = ()  # xrootd files in before the command (batch/staging.py)
    stage_out: tuple[Transfer, ...] = ()  # and out after it succeeded


def new_jobdir(context: Context) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return context.data_dir / "jobs" / f"{stamp}-{secrets.token_hex(3)}"


def render(submission: Submission, jobdir: Path) -> tuple[Scheduler, JobSpec, str]:
    """The scheduler, job spec and job script text; raises before anything touches the disk."""
    scheduler = get_scheduler(submission.scheduler)
    runtime = get_runtime(submission.runtime)
    submission.resources.check()
    tasks = len(submission.task_lines) if submission.task_lines is not None else submission.tasks
    if tasks < 1:
        raise HepstackError("the task file has no tasks", hint="one line per task; empty lines are skipped")
    spec = JobSpec(
        name=submission.name,
        tasks=tasks,
        jobdir=jobdir,
        resources=submission.resources,
        directives=submission.directives,
        stage_in=submission.stage_in,
        stage_out=submission.stage_out,
    )
    request = RunRequest(
        image=submission.image,
        command=submission.command,
        user=invoking_user(),
        binds=submission.binds,
        secrets=submission.secrets,
        env=submission.env,
        workdir=submission.workdir,
        image_id=submission.image_id,
        engine=submission.engine,
    )
    script = render_job_script(
        scheduler,
        spec,
        runtime,
        request,
        with_input=submission.task_lines is not None,
        tool=submission.runtime_tool,
        node_cache=submission.node_cache or job_node_cache(Context.from_environment()),
    )
    return scheduler, spec, script


def job_node_cache(context: Context) -> JobNodeCache:
    """The node cache of ``context`` (HEPSTACK_NODE_CACHE or the cache dir, HEPSTACK_CACHE_OWNER,
    HEPSTACK_CACHE_MAX) as a job uses it; no I/O: the job makes or checks the directories on the node."""
    owner = context.cache_owner
    root, uid = str(context.node_cache), os.geteuid() if owner is None else owner
    return JobNodeCache(root, uid, owner is not None, cache_limit())


def check_accepted(scheduler: Scheduler) -> None:
    """Refuse before writing anything what the scheduler's own configuration would refuse."""
    refusal = scheduler.refuses(os.geteuid(), os.getegid())
    if refusal is not None:
        raise HepstackError(
            refusal,
            hint="submit as a user the scheduler accepts (e.g. `sudo -u USER hepstack submit ...`), "
            "or have the site change it (SGE: min_uid/min_gid in `qconf -mconf global`)",
        )


def submit(submission: Submission, context: Context, store: JobStore) -> JobRecord:
    """Render, check the scheduler command is here, write the job directory, submit, record.

    Here only: batch/dispatch.py submits through a site's login host."""
    if site_transport(submission.site).remote:
        raise HepstackError(
            f"site {submission.site} is reached through its login host, which this way of submitting "
            "does not use",
            hint="submit it with `hepstack submit --site`, or use a site without login_host",
        )
    jobdir = new_jobdir(context)
    scheduler, spec, script = render(submission, jobdir)
    scheduler.binary()  # ToolMissing with the install hint, before anything is written or submitted
    check_accepted(scheduler)
    script_path = write_jobdir(submission, context, jobdir, scheduler, spec, script)
    argv = scheduler.submit_argv(script_path, spec)
    result = proc.run(
        argv,
        cwd=jobdir,
        input_text=scheduler.submit_input(script_path),
        timeout=120,
        hint=f"the job script is {script_path}; try: {shlex.join(argv)}",
    )
    native_id = scheduler.parse_submit(result.stdout)
    return record_submission(store, submission, scheduler, spec, native_id, script_path)


def record_submission(
    store: JobStore, submission: Submission, scheduler: Scheduler, spec: JobSpec, native_id: str, script: Path
) -> JobRecord:
    return store.add(
        native_id=native_id,
        scheduler=scheduler.name,
        site=submission.site,
        runtime=submission.runtime,
        image=submission.image,
        image_id=submission.image_id,
        tasks=spec.tasks,
        jobdir=spec.jobdir,
        script=script,
        command=submission.command,
        user=invoking_user().name,
    )


def write_jobdir(
    submission: Submission, context: Context, jobdir: Path, scheduler: Scheduler, spec: JobSpec, script: str
) -> Path:
    """The job directory, private (0700, a new one: mkdir fails on anything already there), with the
    job script (0700) and its other files (0600); returns the script's path."""
    context.data_path("jobs")  # DATA_DIR and jobs/: private, or refused
    jobdir.mkdir(mode=0o700)
    script_path = jobdir / "job.sh"
    private.write_atomically(str(script_path), script.encode(), 0o700)
    if submission.task_lines is not None:
        lines = "".join(f"{line}\n" for line in submission.task_lines)
        private.write_atomically(str(jobdir / "tasks.txt"), lines.encode())
    for name, text in scheduler.extra_files(spec, script_path).items():
        private.write_atomically(str(jobdir / name), text.encode())
    return script_path


def read_exit_codes(jobdir: Path, tasks: int) -> dict[int, int]:
    codes: dict[int, int] = {}
    for index in range(1, tasks + 1):
        path = jobdir / f"{index}.exitcode"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if text.lstrip("-").isdigit():
            codes[index] = int(text)
    return codes


def job_status(record: JobRecord, transport: Transport | None = None) -> list[TaskStatus]:
    """Every task's state: the exit-code files first, then the queue, then scheduler accounting.

    Raises :class:`SiteUnreachable` when the site's login host does not answer (see job_status_kept)."""
    transport = transport or site_transport(record.site)
    scheduler = get_scheduler(record.scheduler)
    if transport.remote:
        scheduler.on_remote_host = True
        seen = observe(transport, scheduler.queue_argv(record.native_id), record.jobdir)
        queue = _parsed(scheduler, seen.queue, scheduler.parse_queue, record)
        codes, started = seen.codes, seen.started
    else:
        queue = ask_scheduler(
            scheduler, scheduler.queue_argv(record.native_id), scheduler.parse_queue, record
        )
        codes = read_exit_codes(record.jobdir, record.tasks)
        started = {i for i in range(1, record.tasks + 1) if (record.jobdir / f"{i}.log").exists()}
    accounting: dict[int, QueueEntry] | None = None
    statuses = []
    for index in range(1, record.tasks + 1):
        if index in codes:
            statuses.append(_from_exit_code(record, index, codes[index], "exit code file"))
            continue
        entry = queue.get(index)
        if entry is not None and not (entry.state.final and entry.exit_code is None):
            statuses.append(_from_entry(record, index, entry))
            continue
        if entry is None and WHOLE_JOB in queue:
            state = TaskState.RUNNING if index in started else TaskState.QUEUED
            statuses.append(TaskStatus(index, state, detail=queue[WHOLE_JOB].native_state))
            continue
        if accounting is None:
            argv = scheduler.accounting_argv(record.native_id)
            accounting = (
                {}
                if argv is None
                else ask_scheduler(scheduler, argv, scheduler.parse_accounting, record, transport)
            )
        known = accounting.get(index)
        if known is not None and (known.exit_code is not None or known.state is TaskState.CANCELLED):
            statuses.append(_from_entry(record, index, known))
        elif entry is not None and entry.state is TaskState.CANCELLED:
            statuses.append(TaskStatus(index, TaskState.CANCELLED, detail=entry.native_state))
        elif record.cancelled_at is not None:
            statuses.append(
                TaskStatus(index, TaskState.CANCELLED, detail="cancelled before it wrote an exit code")
            )
        else:
            said = f"{record.scheduler} says {entry.native_state}, but " if entry else ""
            statuses.append(
                TaskStatus(
                    index,
                    TaskState.UNKNOWN,
                    detail=f"{said}left the queue without an exit code "
                    f"(no {index}.exitcode in the job directory, no accounting record)",
                )
            )
    return statuses


def _from_exit_code(record: JobRecord, index: int, code: int, source: str) -> TaskStatus:
    if code != 0 and record.cancelled_at is not None:
        return TaskStatus(index, TaskState.CANCELLED, code, f"cancelled; {source}")
    return TaskStatus(index, final_from_exit_code(code), code, source)


def _from_entry(record: JobRecord, index: int, entry: QueueEntry) -> TaskStatus:
    if entry.exit_code is not None and entry.state.final:
        return _from_exit_code(record, index, entry.exit_code, f"{record.scheduler}: {entry.native_state}")
    return TaskStatus(index, entry.state, entry.exit_code, entry.native_state)


def ask_scheduler(
    scheduler: Scheduler,
    argv: list[str],
    parse: Callable[[proc.Completed, str], dict[int, QueueEntry]],
    record: JobRecord,
    transport: Transport | None = None,
) -> dict[int, QueueEntry]:
    try:
        result = (transport or LocalTransport()).run(argv, check=False, timeout=60)
    except ProcessError as exc:
        raise HepstackError(
            f"cannot ask {scheduler.name} about job {record.id} ({record.label}): {exc.message}",
            hint=scheduler.install_hint,
        ) from None
    return _parsed(scheduler, result, parse, record)


def _parsed(
    scheduler: Scheduler,
    result: proc.Completed,
    parse: Callable[[proc.Completed, str], dict[int, QueueEntry]],
    record: JobRecord,
) -> dict[int, QueueEntry]:
    if result.returncode == 127:  # the shell's "command not found": say which, not a parse error
        raise HepstackError(
            f"cannot ask {scheduler.name} about job {record.id} ({record.label}): {result.argv[0]} not found",
            hint=scheduler.install_hint,
        )
    return parse(result, record.native_id)


def log_paths(record: JobRecord, task: int | None) -> list[Path]:
    """The task logs to show: one task's, or every task's that exists."""
    if task is not None:
        if not 1 <= task <= record.tasks:
            raise HepstackError(
                f"job {record.id} has tasks 1..{record.tasks}, not {task}", hint=f"e.g. {record.id}.1"
            )
        return [record.jobdir / f"{task}.log"]
    return [record.jobdir / f"{index}.log" for index in range(1, record.tasks + 1)]
