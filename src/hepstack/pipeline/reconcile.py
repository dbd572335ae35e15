"""After a crash: what became of submissions whose intent was recorded but whose job id was not.

For each such submission, first wait for a submit command still in flight (its lock on the job
directory), then look for the job: in the scheduler's queue by its name, then in the job directory
(a task that started wrote its job id; the local launcher writes it before it returns). Found, it is
adopted, never submitted again. Not found anywhere, it never reached the scheduler: the submission is
withdrawn and its instances are READY again, to go out in the next array.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from hepstack.batch.schedulers import QueuedJob
from hepstack.pipeline import db
from hepstack.pipeline.jobs import submission_lock
from hepstack.pipeline.poll import started_info, user_queues

log = logging.getLogger("hepstack.pipeline")


@dataclass(frozen=True)
class Intent:
    id: int
    scheduler: str
    job_name: str
    jobdir: Path
    tasks: int


def pending_intents(connection: Connection, pipelines: list[str]) -> list[Intent]:
    s = db.submissions
    rows = connection.execute(
        select(s.c.id, s.c.scheduler, s.c.job_name, s.c.jobdir, s.c.tasks).where(
            s.c.pipeline.in_(pipelines), s.c.state == "INTENT"
        )
    ).all()
    return [Intent(row.id, row.scheduler, row.job_name, Path(row.jobdir), row.tasks) for row in rows]


def find_job(intent: Intent, queues: dict[str, dict[str, QueuedJob]]) -> tuple[bool, str | None]:
    """(was it submitted?, its native id if known). The queues must have been read after
    :func:`wait_for_submits`."""
    for native_id, job in queues.get(intent.scheduler, {}).items():
        if job.name == intent.job_name:
            return True, native_id
    native_file = intent.jobdir / "native.id"
    if native_file.is_file():
        text = native_file.read_text(encoding="utf-8").strip()
        if text.isdigit():
            return True, text
    for index in range(1, intent.tasks + 1):
        _host, started, job_id = started_info(intent.jobdir, index)
        if started is not None or (intent.jobdir / f"{index}.claim").exists():
            return True, job_id if job_id and job_id.isdigit() else None
    return False, None


def wait_for_submits(intent: Intent) -> None:
    """Block while a submit command of a dead predecessor still runs (it holds the job directory's lock)."""
    if intent.jobdir.is_dir():
        os.close(submission_lock(intent.jobdir))


def reconcile(database: db.StateDB, pipelines: list[str]) -> list[str]:
    """Settle every pending intent of ``pipelines``; what was done, one line each (for the log)."""
    with database.read() as connection:
        intents = pending_intents(connection, pipelines)
    if not intents:
        return []
    for intent in intents:
        wait_for_submits(intent)
    queues = user_queues(intent.scheduler for intent in intents)
    said = []
    for intent in intents:
        submitted, native_id = find_job(intent, queues)
        with database.write() as connection:
            if submitted:
                connection.execute(
                    update(db.submissions)
                    .where(db.submissions.c.id == intent.id)
                    .values(state="SUBMITTED", native_id=native_id, submitted_at=db.now())
                )
                said.append(f"adopted {intent.job_name} ({intent.scheduler} job {native_id or 'id unknown'})")
            else:
                _withdraw(connection, intent)
                said.append(f"withdrew {intent.job_name}: it never reached {intent.scheduler}")
        if not submitted:
            shutil.rmtree(intent.jobdir, ignore_errors=True)
    for line in said:
        log.info("reconcile: %s", line)
    return said


def _withdraw(connection: Connection, intent: Intent) -> None:
    i, a = db.instances, db.attempts
    rows = connection.execute(select(i.c.id, i.c.attempt).where(i.c.submission_id == intent.id)).all()
    for row in rows:
        connection.execute(delete(a).where(a.c.instance_id == row.id, a.c.attempt == row.attempt))
        connection.execute(
            update(i)
            .where(i.c.id == row.id)
            .values(state="READY", attempt=row.attempt - 1, submission_id=None, task_index=None)
        )
    connection.execute(delete(db.submissions).where(db.submissions.c.id == intent.id))
