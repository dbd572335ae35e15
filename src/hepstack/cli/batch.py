"""`hepstack submit | jobs | cancel | logs | sites`: containerised batch jobs on any scheduler."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from hepstack.batch.states import TaskStatus
    from hepstack.batch.store import JobRecord


@app.command()
def submit(
    image: Annotated[str, typer.Argument(help="STACK/LAYER (newest build in the catalog) or a reference.")],
    command: Annotated[list[str], typer.Argument(help="The command, after --.", show_default=False)],
    site: Annotated[str | None, typer.Option(help="Site profile (see `hepstack sites`).")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="local, slurm, sge (uge), lsf or htcondor; overrides the site's.")
    ] = None,
    runtime: Annotated[str | None, typer.Option(help="Container runtime; overrides the site's.")] = None,
    tasks: Annotated[
        int | None, typer.Option(min=1, help="Task-array size (HEPSTACK_TASK_INDEX 1..N).")
    ] = None,
    task_file: Annotated[
        Path | None, typer.Option(help="One task per line; the line is HEPSTACK_TASK_INPUT.")
    ] = None,
    cpus: Annotated[int | None, typer.Option(min=1, help="CPUs per task.")] = None,
    mem: Annotated[str | None, typer.Option(help="Memory per task, e.g. 2G.")] = None,
    time_limit: Annotated[str | None, typer.Option("--time", help="Wall time, e.g. 01:00:00.")] = None,
    queue: Annotated[str | None, typer.Option(help="Queue / partition.")] = None,
    account: Annotated[str | None, typer.Option(help="Account / project to charge.")] = None,
    bind: Annotated[list[str] | None, typer.Option("--bind", "-b", help="SRC:DST[:ro], repeatable.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="NAME=VALUE, repeatable.")] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=FILE, repeatable: FILE (yours, mode 0600) at /run/secrets/NAME in each task.",
        ),
    ] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", "-w", help="Working directory inside.")] = None,
    name: Annotated[str | None, typer.Option(help="Job name (default: hepstack-CMD).")] = None,
    stage_in: Annotated[
        list[str] | None,
        typer.Option(help="root://HOST//FILE=/node/path: copied in before the command, repeatable."),
    ] = None,
    stage_out: Annotated[
        list[str] | None,
        typer.Option(help="/node/path=root://HOST//FILE: copied out after success, repeatable."),
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the job script, submit nothing.")
    ] = False,
) -> None:
    """Submit CMD in IMAGE as a batch job (an array of --tasks): the job script execs the runtime directly.

    Example: hepstack submit --site laptop --tasks 20 lat/release -- lat-run digi.yaml
    """
    from hepstack.batch.dispatch import submit as submit_job
    from hepstack.batch.executor import render
    from hepstack.batch.plan import plan_submission
    from hepstack.batch.store import JobStore
    from hepstack.context import Context

    context = Context.from_environment()
    submission = plan_submission(
        image=image,
        command=command,
        context=context,
        site=site,
        scheduler=scheduler,
        runtime=runtime,
        tasks=tasks,
        task_file=task_file,
        binds=bind,
        env=env,
        secrets=secret,
        cpus=cpus,
        memory=mem,
        time=time_limit,
        queue=queue,
        account=account,
        workdir=workdir,
        name=name,
        stage_in=stage_in,
        stage_out=stage_out,
    )
    if print_only:
        print(render(submission, Path("JOBDIR"))[2], end="")
        return
    record = submit_job(submission, context, JobStore.open(context))
    print(f"submitted job {record.id} ({record.label}), {record.tasks} task(s); script {record.script}")


@app.command()
def jobs(
    job: Annotated[
        list[str] | None, typer.Argument(help="Jobs to show task by task (N or slurm:ID).")
    ] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="Every recorded job, not the last 20.")] = False,
    watch: Annotated[bool, typer.Option(help="Refresh until every task is final.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes with --watch.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable: jobs with every task.")] = False,
) -> None:
    """Jobs and their tasks' states, from the scheduler (re-attached from hepstack's state database).

    A site that does not answer (its login host over ssh) is said on stderr; its jobs keep their last
    known states and --watch goes on until it answers again and every task is final.
    """
    import sys

    from hepstack.batch.dispatch import job_status_kept
    from hepstack.batch.store import JobStore
    from hepstack.context import Context

    context = Context.from_environment()
    store = JobStore.open(context)
    records = [store.find(text) for text in job] if job else store.recent(None if all_jobs else 20)
    while True:
        snapshot = []
        unreachable = False
        for record in records:
            statuses, problem = job_status_kept(context, record)
            if problem is not None:
                unreachable = True
                print(
                    f"job {record.id} ({record.label}): {problem}; its tasks keep their last known states",
                    file=sys.stderr,
                    flush=True,
                )
            snapshot.append((record, statuses))
        final = all(s.state.final for _, statuses in snapshot for s in statuses)
        done = not watch or (final and not unreachable)
        if as_json and done:  # --watch --json: one JSON document, when every task is final
            print(json.dumps([_job_json(record, statuses) for record, statuses in snapshot], indent=1))
        elif not as_json:
            _print_jobs(snapshot, detailed=bool(job))
        if done:
            return
        time.sleep(interval)


@app.command()
def cancel(job: Annotated[str, typer.Argument(help="hepstack's job number or SCHEDULER:NATIVE_ID.")]) -> None:
    """Cancel every task of JOB."""
    from hepstack.batch.cancel import cancel as cancel_job
    from hepstack.batch.store import JobStore
    from hepstack.context import Context

    store = JobStore.open(Context.from_environment())
    from hepstack.errors import HepstackError

    record = store.find(job)
    outcome = cancel_job(record, store)
    counts: dict[str, int] = {}
    for status in outcome.statuses:
        counts[status.state.value] = counts.get(status.state.value, 0) + 1
    summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    if outcome.finished:
        print(f"job {record.id} ({record.label}) had already finished: {summary}; nothing cancelled")
        return
    if not outcome.confirmed:
        raise HepstackError(
            f"asked {record.scheduler} to cancel job {record.id} ({record.label}), but its queue still "
            f"runs tasks: {summary}",
            hint=f"`hepstack jobs {record.id}` says whether they end: the scheduler may still be at it",
        )
    print(f"cancelled job {record.id} ({record.label}), confirmed by {record.scheduler}: {summary}")


@app.command()
def logs(job: Annotated[str, typer.Argument(help="JOB or JOB.TASK (task 1..N).")]) -> None:
    """Print the output of one task (JOB.TASK) or of every task of JOB."""
    from hepstack.batch.dispatch import task_logs
    from hepstack.batch.store import JobStore
    from hepstack.context import Context
    from hepstack.errors import HepstackError

    number, _, task = job.rpartition(".") if "." in job else (job, "", "")
    if task and not task.isdigit():
        raise HepstackError(f"bad task in {job!r}", hint="write JOB.TASK, e.g. 3.17")
    record = JobStore.open(Context.from_environment()).find(number)
    logs = task_logs(record, int(task) if task else None)
    for path, text in logs:
        if len(logs) > 1:
            print(f"==> task {path.stem} ({path}) <==")
        if text is not None:
            print(text, end="")
        else:
            print(f"(no log yet: {path}; the task has not started, or see {record.jobdir}/scheduler-*.out)")


@app.command()
def sites() -> None:
    """The site profiles: shipped ones and your own (HEPSTACK_SITES_PATH or ~/.config/hepstack/sites)."""
    from rich.table import Table
    from rich.text import Text

    from hepstack.sites import load_sites, user_site_dirs

    table = Table("site", "scheduler", "runtime", "binds", "description", "file")
    for name, site in sorted(load_sites().items()):
        profile = site.profile
        runtime = profile.runtime + (f" ({profile.runtime_tool})" if profile.runtime_tool else "")
        cells = [name, profile.scheduler, runtime, ", ".join(profile.binds), profile.description, site.source]
        table.add_row(*(Text(cell) for cell in cells))  # text from the site files, never rich markup
    console = make_console()
    console.print(table)
    console.print(f"your own sites: {', '.join(str(d) for d in user_site_dirs())}", markup=False)


def _job_json(record: JobRecord, statuses: list[TaskStatus]) -> dict[str, object]:
    return {
        "id": record.id,
        "native_id": record.native_id,
        "scheduler": record.scheduler,
        "site": record.site,
        "runtime": record.runtime,
        "image": record.image,
        "submitted_at": record.submitted_at.isoformat(),
        "jobdir": str(record.jobdir),
        "tasks": [
            {"index": s.index, "state": s.state.value, "exit_code": s.exit_code, "detail": s.detail}
            for s in statuses
        ],
    }


def _print_jobs(snapshot: list[tuple[JobRecord, list[TaskStatus]]], *, detailed: bool) -> None:
    from collections import Counter

    from rich.table import Table

    console = make_console()
    if detailed:
        for record, statuses in snapshot:
            table = Table("task", "state", "exit code", "detail", title=f"job {record.id} ({record.label})")
            for status in statuses:
                code = "-" if status.exit_code is None else str(status.exit_code)
                table.add_row(str(status.index), status.state.value, code, status.detail)
            console.print(table)
        return
    table = Table("job", "native id", "site", "runtime", "image", "submitted", "tasks")
    for record, statuses in snapshot:
        counts = Counter(
            s.state.value + (f"({s.exit_code})" if s.exit_code not in (None, 0) else "") for s in statuses
        )
        summary = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
        table.add_row(
            str(record.id),
            record.label,
            record.site or "-",
            record.runtime,
            record.image,
            record.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
            summary,
        )
    console.print(table)
