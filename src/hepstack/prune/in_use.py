"""What must never be pruned because something uses it now: images of unfinished batch jobs and of
active pipeline streams and steps, read from the state database (``HEPSTACK_STATE_DB``)."""

from __future__ import annotations

from hepstack.context import Context
from hepstack.errors import HepstackError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hepstack.batch.store import JobRecord


def job_states(context: Context) -> list[tuple[JobRecord, str]]:
    """Every recorded batch job with ``""`` when all its tasks are final, else what is not (QUEUED,
    RUNNING, UNKNOWN...). A job whose scheduler cannot be asked counts as unfinished: not knowing is
    no licence to remove its image or its directory."""
    from hepstack.batch.executor import job_status, read_exit_codes
    from hepstack.batch.store import JobStore

    store = JobStore.open(context)
    try:
        records = store.recent(None)
    finally:
        store.close()
    found = []
    for record in records:
        if len(read_exit_codes(record.jobdir, record.tasks)) == record.tasks:
            found.append((record, ""))  # every task wrote its exit code: final, no scheduler to ask
            continue
        try:
            states = {status.state for status in job_status(record)}
            state = ",".join(sorted(s.value for s in states if not s.final))
        except HepstackError:
            state = "of unknown state (its scheduler cannot be asked)"
        found.append((record, state))
    return found


def images_in_use(context: Context, jobs: list[tuple[JobRecord, str]]) -> dict[str, str]:
    """image id -> why it is in use (the first user found): unfinished ``jobs``, active pipelines."""
    used: dict[str, str] = {}
    for record, state in jobs:
        if state and record.image_id:
            used.setdefault(record.image_id, f"job {record.id} ({record.label}) is {state}")
    for image_id, reason in _pipeline_images(context):
        used.setdefault(image_id, reason)
    return used


def _pipeline_images(context: Context) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from hepstack.batch.store import state_url
    from hepstack.pipeline import db
    from hepstack.pipeline.graph import FINAL_STATES, STREAM_FINAL
    from hepstack.pipeline.images import pins_from_json

    state = db.StateDB(state_url(context))
    found = []
    try:
        with state.read() as connection:
            streams = connection.execute(
                select(db.streams.c.pipeline, db.streams.c.address, db.streams.c.images).where(
                    db.streams.c.state.not_in(sorted(STREAM_FINAL))
                )
            ).all()
            steps = connection.execute(
                select(db.instances.c.pipeline, db.instances.c.step, db.instances.c.image_id).where(
                    db.instances.c.is_current, db.instances.c.state.not_in(sorted(FINAL_STATES))
                )
            ).all()
    finally:
        state.close()
    for pipeline, address, images in streams:
        for pinned in pins_from_json(images).values():
            if pinned.image_id:
                found.append((pinned.image_id, f"pipeline {pipeline} stream {address} is active"))
    for pipeline, step, image_id in steps:
        if image_id:
            found.append((image_id, f"pipeline {pipeline} step {step} is active"))
    return found
