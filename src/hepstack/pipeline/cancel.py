"""`pipeline cancel`: mark everything unfinished of a stream (or of chosen instances) CANCELED, then stop
its jobs through their schedulers and its scripts, and wait for the schedulers to confirm.

The DB is written first: an orchestrator running meanwhile then sees the instances final and never records
a cancelled job's end as a failure to retry.
"""

from __future__ import annotations

import fnmatch
import time
from collections import defaultdict

from sqlalchemy import select

from hepstack import proc
from hepstack.batch.schedulers import WHOLE_JOB, get_scheduler
from hepstack.context import Context
from hepstack.pipeline import db, scripts
from hepstack.pipeline.address import Address
from hepstack.pipeline.graph import ACTIVE_STATES, DefinitionCache
from hepstack.pipeline.poll import user_queues
from hepstack.pipeline.rollback import cancel_states, graph_of, matching

CONFIRM_SECONDS = 60.0


def cancel(database: db.StateDB, address: Address, context: Context | None = None) -> str:
    context = context or Context.from_environment()
    with database.write() as connection:
        graph = graph_of(connection, address, DefinitionCache())
        instances = matching(graph, address)
        streams = []
        if address.step is None:
            pattern = address.stream or "*"
            streams = [
                s
                for s in graph.streams.values()
                if fnmatch.fnmatchcase(s.address, pattern) or fnmatch.fnmatchcase(s.address, pattern + "/*")
            ]
        active = [x for x in instances if x.state in ACTIVE_STATES]
        ids = sorted({x.submission_id for x in active if x.submission_id is not None})
        rows = {
            row.id: row
            for row in connection.execute(
                select(db.submissions.c.id, db.submissions.c.scheduler, db.submissions.c.native_id).where(
                    db.submissions.c.id.in_(ids)
                )
            )
        }
        cancelled = cancel_states(connection, instances, streams)
    tasks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for instance in active:
        if instance.step.is_script:
            scripts.stop(scripts.look(scripts.attempt_dir(context, instance, instance.attempt)))
            continue
        row = rows.get(instance.submission_id or -1)
        if row is not None and row.native_id and instance.task_index is not None:
            tasks[row.scheduler, row.native_id].append(instance.task_index)
    for (scheduler_name, native_id), indices in tasks.items():
        scheduler = get_scheduler(scheduler_name)
        for index in indices:
            proc.run(scheduler.cancel_task_argv(native_id, index), check=False, timeout=60)
    confirmed = _confirm(tasks)
    return (
        f"{cancelled} instance(s) and {len(streams)} stream(s) cancelled; "
        f"{sum(len(v) for v in tasks.values())} job task(s) stopped"
        + ("" if confirmed else f" (the scheduler still lists some after {CONFIRM_SECONDS:.0f} s)")
    )


def _confirm(tasks: dict[tuple[str, str], list[int]]) -> bool:
    """Wait until no cancelled task is in its scheduler's queue any more."""
    deadline = time.monotonic() + CONFIRM_SECONDS
    while tasks:
        queues = user_queues(scheduler for scheduler, _ in tasks)
        still = [
            key
            for key, indices in tasks.items()
            if key[1] in queues.get(key[0], {})
            and any(
                index in queues[key[0]][key[1]].tasks or WHOLE_JOB in queues[key[0]][key[1]].tasks
                for index in indices
            )
        ]
        if not still:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)  # polling the scheduler's queue, with the deadline above
    return True
