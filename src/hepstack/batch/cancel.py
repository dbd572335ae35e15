"""`hepstack cancel`: ask the scheduler (here or on the site's login host), then wait for its word."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hepstack.batch.executor import ask_scheduler, job_status
from hepstack.batch.schedulers import get_scheduler
from hepstack.batch.states import TaskStatus
from hepstack.batch.store import JobRecord, JobStore
from hepstack.batch.transport import site_transport

CANCEL_WAIT = 60.0  # seconds to wait for the scheduler's word (SLURM's default KillWait is 30 s)


@dataclass(frozen=True)
class CancelOutcome:
    """What `hepstack cancel` saw: ``finished`` if every task had ended before; otherwise whether the
    scheduler confirmed (its queue no longer runs any task) within the wait, and the tasks' states."""

    finished: bool
    confirmed: bool
    statuses: list[TaskStatus]


def cancel(record: JobRecord, store: JobStore, wait: float = CANCEL_WAIT) -> CancelOutcome:
    """Cancel, then poll the scheduler's queue until it holds no live task of the job (bounded).

    A job whose tasks are all final is not cancelled: it is reported as finished.
    """
    before = job_status(record)
    if all(status.state.final for status in before):
        return CancelOutcome(finished=True, confirmed=False, statuses=before)
    transport = site_transport(record.site)
    scheduler = get_scheduler(record.scheduler)
    scheduler.on_remote_host = transport.remote
    transport.run(
        scheduler.cancel_argv(record.native_id), timeout=60, check=True, hint=scheduler.install_hint
    )
    store.mark_cancelled(record.id)
    record = store.get(record.id)  # with cancelled_at: a task the cancel ended is CANCELLED, not FAILED
    deadline = time.monotonic() + wait
    confirmed = False
    while True:
        queue = ask_scheduler(
            scheduler, scheduler.queue_argv(record.native_id), scheduler.parse_queue, record, transport
        )
        if not any(not entry.state.final for entry in queue.values()):
            confirmed = True
            break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)  # the interval between two queries of the scheduler, not a wait in itself
    return CancelOutcome(finished=False, confirmed=confirmed, statuses=job_status(record, transport))
