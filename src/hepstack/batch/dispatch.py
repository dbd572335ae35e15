"""Submit, watch and read logs wherever a job's site is: here (batch/executor.py) or on its login host
over ssh (batch/remote.py, batch/transport.py). The CLI calls these."""

from __future__ import annotations

from pathlib import Path

from hepstack.batch.executor import (
    Submission,
    job_status,
    log_paths,
    record_submission,
    render,
)
from hepstack.batch.executor import submit as submit_here
from hepstack.batch.remote import (
    last_known,
    read_remote_log,
    remember,
    remote_jobdir,
    saved_states,
    write_remote_jobdir,
)
from hepstack.batch.states import TaskStatus
from hepstack.batch.store import JobRecord, JobStore
from hepstack.batch.transport import SiteUnreachable, Transport, site_transport
from hepstack.context import Context


def submit(submission: Submission, context: Context, store: JobStore) -> JobRecord:
    """:func:`hepstack.batch.executor.submit`, or through the site's login host when it has one."""
    transport = site_transport(submission.site)
    if transport.remote:
        return submit_remote(submission, store, transport)
    return submit_here(submission, context, store)


def submit_remote(submission: Submission, store: JobStore, transport: Transport) -> JobRecord:
    """The job directory made on the login host, the script (rendered here for that path) copied
    there, the scheduler's submit command run there in it."""
    jobdir = remote_jobdir(transport)
    scheduler, spec, script = render(submission, jobdir)
    scheduler.on_remote_host = True  # its commands by name: the login host's PATH, not this one's
    script_path = jobdir / "job.sh"
    files = {"job.sh": (script, "700")}
    if submission.task_lines is not None:
        files["tasks.txt"] = ("".join(f"{line}\n" for line in submission.task_lines), "600")
    files.update({name: (text, "600") for name, text in scheduler.extra_files(spec, script_path).items()})
    write_remote_jobdir(transport, jobdir, files)
    argv = scheduler.submit_argv(script_path, spec)
    result = transport.run(
        argv,
        cwd=jobdir,
        input_text=scheduler.submit_input(script_path),
        check=True,
        hint=f"the job script is {script_path} on {submission.site}'s login host",
    )
    native_id = scheduler.parse_submit(result.stdout)
    return record_submission(store, submission, scheduler, spec, native_id, script_path)


def task_logs(record: JobRecord, task: int | None) -> list[tuple[Path, str | None]]:
    """Each log to show with its text (None: not written yet), read on the login host if need be."""
    transport = site_transport(record.site)
    if transport.remote:
        return [(path, read_remote_log(transport, path)) for path in log_paths(record, task)]
    return [
        (path, path.read_text(encoding="utf-8", errors="replace") if path.exists() else None)
        for path in log_paths(record, task)
    ]


def job_status_kept(context: Context, record: JobRecord) -> tuple[list[TaskStatus], str | None]:
    """:func:`job_status`, remembered; when the site does not answer, the last states seen (each
    marked "site unreachable") and the reason: a dropped connection never ends or fails a task."""
    if record.site is not None and record.cancelled_at is None:
        saved = saved_states(context, record.id)
        if len(saved) == record.tasks and all(s.state.final for s in saved.values()):
            return [saved[i] for i in range(1, record.tasks + 1)], None  # final: nothing to ask again
    try:
        statuses = job_status(record)
    except SiteUnreachable as exc:
        return last_known(context, record.id, record.tasks, "site unreachable"), exc.message
    if record.site is not None:
        remember(context, record.id, statuses)
    return statuses, None
