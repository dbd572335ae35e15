"""`hepstack pipeline run`: the loop that drives streams to the end. Idempotent and crash-safe.

Each pass reads the live part of the pipelines from the DB, then: admits throttled streams and makes
instances READY (or SKIPPED); starts READY script steps in the background; submits READY job steps in
arrays (the intent is committed before the submit command runs, the job id after); asks each scheduler
once for its queue and reads the job directories; writes what ended, with retries; marks finished
streams. Nothing is kept in memory from one pass to the next that the DB does not also hold, so
``kill -9`` at any moment and a restart lose nothing and run nothing twice (:mod:`.reconcile` settles
the one moment in between: submitted, not yet recorded).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from hepstack.batch.schedulers import get_scheduler
from hepstack.context import Context
from hepstack.errors import HepstackError, ProcessError
from hepstack.pipeline import db, faults, jobs, lease, scripts
from hepstack.pipeline.advance import Changes, advance
from hepstack.pipeline.graph import ACTIVE_STATES, DefinitionCache, Graph, InstanceView, load_graph
from hepstack.pipeline.outcome import Ended, record_end, record_ends
from hepstack.pipeline.poll import ActiveTask, SchedulerUnreachable, observe
from hepstack.pipeline.reconcile import reconcile

log = logging.getLogger("hepstack.pipeline")
OUTCOME_BATCH = 200  # outcomes per transaction


@dataclass(frozen=True)
class Settings:
    poll_interval: float = 30.0  # seconds between scheduler queries; farms refresh every 30-60 s
    lease_ttl: float = lease.DEFAULT_TTL
    max_scripts: int = 4  # script steps running at once on this host
    once: bool = False  # one pass, then exit (for cron)
    wait_for_lease: bool = False


@dataclass
class PassReport:
    progressed: bool = False
    submitted: int = 0
    ended: int = 0
    active_roots: int = 0
    scripts_running: int = 0


@dataclass
class Orchestrator:
    database: db.StateDB
    context: Context
    pipelines: list[str]
    settings: Settings = field(default_factory=Settings)
    say: Callable[[str], None] = print
    leases: dict[str, lease.Lease] = field(default_factory=dict)
    definitions: DefinitionCache = field(default_factory=DefinitionCache)
    sites: jobs.SiteCache = field(default_factory=jobs.SiteCache)
    _last_poll: float = 0.0
    _unreachable: set[str] = field(default_factory=set)
    _missing_since: dict[int, float] = field(default_factory=dict)  # see poll.observe

    def run(self) -> int:
        """Drive the pipelines until every stream of theirs is final (or one pass with ``once``)."""
        self._take_leases()
        faults.point("after-lease")
        try:
            for line in reconcile(self.database, self.pipelines):
                self.say(f"reconcile: {line}")
            while True:
                report = self.one_pass()
                if self.settings.once or report.active_roots == 0:
                    return 0
                if not report.progressed:
                    wait = self._last_poll + self.settings.poll_interval - time.time()
                    if report.scripts_running:
                        wait = min(wait, 1.0)  # a script's end is a file here: cheap to look at often
                    time.sleep(max(0.0, wait))
        finally:
            self._release_leases()

    # --- the lease ----------------------------------------------------------------------------------

    def _take_leases(self) -> None:
        said: set[str] = set()
        for name in self.pipelines:
            while True:
                try:
                    with self.database.write() as connection:
                        self.leases[name] = lease.acquire(connection, name, self.settings.lease_ttl)
                    break
                except lease.LeaseHeld as held:
                    if not self.settings.wait_for_lease:
                        raise
                    if name not in said:
                        self.say(f"waiting: {held.message}")
                        said.add(name)
                    time.sleep(min(5.0, self.settings.lease_ttl / 4))

    def _renew(self, connection: Connection) -> None:
        for held in self.leases.values():
            lease.renew(connection, held, self.settings.lease_ttl)

    def _release_leases(self) -> None:
        try:
            with self.database.write() as connection:
                for held in self.leases.values():
                    lease.release(connection, held)
        except HepstackError:
            pass

    # --- one pass ------------------------------------------------------------------------------------

    def one_pass(self) -> PassReport:
        report = PassReport()
        with self.database.read() as connection:
            graph = load_graph(connection, self.pipelines, self.definitions)
        report.active_roots = sum(1 for root in graph.roots() if root.state in ("WAITING", "RUNNING"))
        changes = advance(graph)
        if changes:
            self._apply(graph, changes)
            report.progressed = True
            faults.point("after-admit")
        report.submitted += self._start_scripts(graph)
        report.submitted += self._submit_jobs(graph)
        report.ended += self._watch_scripts(graph)
        if time.time() - self._last_poll >= self.settings.poll_interval:
            report.ended += self._poll_jobs(graph)
        report.progressed = report.progressed or bool(report.submitted or report.ended)
        report.active_roots = sum(1 for root in graph.roots() if root.state in ("WAITING", "RUNNING"))
        report.scripts_running = sum(
            1 for x in graph.instances.values() if x.step.is_script and x.state == "RUNNING"
        )
        return report

    def _apply(self, graph: Graph, changes: Changes) -> None:
        """Write what ``advance`` found. Every write is conditional on the state this pass read, so a
        `cancel` or `rollback` committed in between wins."""
        now = db.now()
        with self.database.write() as connection:
            self._renew(connection)
            if changes.admitted:
                connection.execute(_ADMITTED, [{"b_stream": stream_id} for stream_id in changes.admitted])
            for stream_id in changes.admitted:
                graph.streams[stream_id].state = "RUNNING"
            candidates = [x for x, _ in changes.ready] + [x for x, _ in changes.skipped]
            still = _still_waiting(connection, candidates)
            ready = [(x, inputs) for x, inputs in changes.ready if x in still]
            if ready:
                connection.execute(_READY, [{"b_instance": x, "inputs": inputs} for x, inputs in ready])
            for x, inputs in ready:
                graph.instances[x].state, graph.instances[x].inputs = "READY", inputs
            skipped = [(x, why) for x, why in changes.skipped if x in still]
            if skipped:
                rows = [{"b_instance": x, "reason": why, "ended_at": now} for x, why in skipped]
                connection.execute(_SKIPPED, rows)
            for x, _ in skipped:
                graph.instances[x].state = "SKIPPED"
            if changes.finished:
                rows = [{"b_stream": x, "state": state, "finished_at": now} for x, state in changes.finished]
                connection.execute(_FINISHED, rows)
            for stream_id, state in changes.finished:
                graph.streams[stream_id].state = state
        if changes.finished:
            faults.point("after-finish")

    # --- script steps ----------------------------------------------------------------------------------

    def _start_scripts(self, graph: Graph) -> int:
        running = sum(1 for x in graph.instances.values() if x.step.is_script and x.state == "RUNNING")
        started = 0
        for instance in _ready(graph, scripts_only=True):
            if running >= self.settings.max_scripts or not _under_step_limit(graph, instance):
                continue
            attempt = instance.attempt + 1
            directory = scripts.attempt_dir(self.context, instance, attempt)
            with self.database.write() as connection:
                self._renew(connection)
                claimed = _begin_script_attempt(connection, instance, attempt, str(directory / "log"))
            if not claimed:
                continue
            scripts.start(instance, attempt, _inputs(instance), self.context)
            faults.point("after-script-start")
            running += 1
            started += 1
        return started

    def _watch_scripts(self, graph: Graph) -> int:
        ended = 0
        for instance in list(graph.instances.values()):
            if not instance.step.is_script or instance.state != "RUNNING":
                continue
            directory = scripts.attempt_dir(self.context, instance, instance.attempt)
            run = scripts.look(directory)
            if run.never_started:  # its predecessor died between recording the attempt and starting it
                scripts.start(instance, instance.attempt, _inputs(instance), self.context)
                continue
            if run.ended is None:
                self._enforce_timeout(instance, run)
                continue
            with self.database.write() as connection:
                record_end(connection, instance, run.ended)
            ended += 1
        return ended

    def _enforce_timeout(self, instance: InstanceView, run: scripts.ScriptRun) -> None:
        timeout = instance.step.spec.timeout or instance.stream.pipeline.spec.defaults.timeout
        started = _started_at(run)
        if started is not None and time.time() - started > timeout:
            self.say(f"{instance.address}: over its timeout of {timeout:.0f} s, stopped")
            scripts.stop(run)

    # --- job steps ---------------------------------------------------------------------------------------

    def _submit_jobs(self, graph: Graph) -> int:
        plans = []
        counts = _active_counts(graph)
        for instance in _ready(graph, scripts_only=False):
            if not _under_step_limit(graph, instance, counts):
                continue
            try:
                placement, pinned, task = jobs.plan_task(
                    instance, _inputs(instance), self.sites, self.context
                )
            except HepstackError as exc:
                self._fail_unplannable(instance, exc)
                continue
            limit = instance.stream.pipeline.spec.sites.get(placement.site or "")
            if limit is not None and counts["site", placement.site] >= limit.max_running:
                continue
            counts["site", placement.site] += 1
            counts["step", instance.step.path] += 1
            plans.append((placement, pinned, task))
        submitted = 0
        for pipeline in {task.instance.stream.pipeline.name for _, _, task in plans}:
            mine = [plan for plan in plans if plan[2].instance.stream.pipeline.name == pipeline]
            for array in jobs.group(mine, pipeline):
                self._submit_array(array)
                submitted += len(array.tasks)
        return submitted

    def _fail_unplannable(self, instance: InstanceView, exc: HepstackError) -> None:
        reason = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        with self.database.write() as connection:
            connection.execute(
                update(db.instances)
                .where(db.instances.c.id == instance.id)
                .values(state="FAILED", reason=reason, ended_at=db.now())
            )
        instance.state = "FAILED"
        self.say(f"{instance.address}: FAILED before submission: {reason}")

    def _submit_array(self, array: jobs.ArrayPlan) -> None:
        placement = array.placement
        with self.database.write() as connection:
            self._renew(connection)  # the fence: a holder that lost its lease never records an intent
            key = connection.execute(
                insert(db.submissions).values(
                    pipeline=array.pipeline,
                    step=array.step,
                    scheduler=placement.scheduler,
                    runtime=placement.runtime,
                    site=placement.site,
                    job_name="",
                    jobdir="",
                    tasks=len(array.tasks),
                    state="INTENT",
                    created_at=db.now(),
                )
            ).inserted_primary_key
            assert key is not None
            submission_id = int(key[0])
            token = secrets.token_hex(3)
            name = jobs.job_name(array.pipeline, array.step, submission_id, token)
            jobdir = jobs.jobdir_for(self.context, array.pipeline, array.step, submission_id, token)
            connection.execute(
                update(db.submissions)
                .where(db.submissions.c.id == submission_id)
                .values(job_name=name, jobdir=str(jobdir))
            )
            claimed = _claim_ready(connection, [task.instance for task in array.tasks])
            array.tasks = [task for task in array.tasks if task.instance.id in claimed]
            _begin_job_attempts(connection, array, submission_id, jobdir)
            claimed_tasks = array.tasks
            if not claimed_tasks:
                connection.execute(delete(db.submissions).where(db.submissions.c.id == submission_id))
                return
            connection.execute(
                update(db.submissions)
                .where(db.submissions.c.id == submission_id)
                .values(tasks=len(claimed_tasks))
            )
        faults.point("after-intent")
        jobs.write_jobdir(array, jobdir, name, self.context)
        faults.point("after-jobdir")
        scheduler = get_scheduler(placement.scheduler)
        try:
            native_id = jobs.submit_array(scheduler, jobdir, name, len(array.tasks), placement.resources)
        except ProcessError as exc:
            if exc.returncode < 0:  # timed out: it may have reached the scheduler; reconcile decides
                self.say(f"warning: submitting {name} timed out; it is looked for at the next pass")
                return
            self._refused(array, submission_id, name, exc)
            return
        faults.point("after-submit")
        with self.database.write() as connection:
            connection.execute(
                update(db.submissions)
                .where(db.submissions.c.id == submission_id)
                .values(state="SUBMITTED", native_id=native_id, submitted_at=db.now())
            )
        faults.point("after-record")
        self.say(f"submitted {name}: {len(array.tasks)} task(s), {placement.scheduler} job {native_id}")

    def _refused(self, array: jobs.ArrayPlan, submission_id: int, name: str, exc: ProcessError) -> None:
        """The submit command said no (it exited non-zero): every task's attempt failed with its words."""
        reason = (
            f"{array.placement.scheduler} refused the job: " + (exc.stderr.strip().splitlines() or ["?"])[-1]
        )
        self.say(f"warning: {name}: {reason}")
        with self.database.write() as connection:
            connection.execute(
                update(db.submissions)
                .where(db.submissions.c.id == submission_id)
                .values(state="REFUSED", error=exc.message, finished_at=db.now())
            )
            for task in array.tasks:
                ended = Ended("EXITED", None, reason, None, None, None, None, None)
                record_end(connection, task.instance, ended)

    def _poll_jobs(self, graph: Graph) -> int:
        active = [x for x in graph.instances.values() if not x.step.is_script and x.state in ACTIVE_STATES]
        self._last_poll = time.time()
        if not active:
            _close_finished_submissions(self.database, self.pipelines)
            return 0
        reconcile(self.database, self.pipelines)  # intents left by a crash of this very process's pass
        with self.database.read() as connection:
            tasks = _active_tasks(connection, active)
        try:
            observations = observe(tasks, self._missing_since)
        except SchedulerUnreachable as exc:
            if exc.message not in self._unreachable:
                self.say(f"warning: {exc.message}; the jobs keep their last known state")
                self._unreachable.add(exc.message)
            return 0
        self._unreachable.clear()
        faults.point("after-poll")
        jobdirs = {task.instance_id: (task.jobdir, task.index) for task in tasks}
        ended = 0
        for start in range(0, len(observations), OUTCOME_BATCH):
            batch = observations[start : start + OUTCOME_BATCH]
            with self.database.write() as connection:
                self._renew(connection)
                ends = []
                for observation in batch:
                    instance = graph.instances[observation.instance_id]
                    jobdir, index = jobdirs[observation.instance_id]
                    if observation.state == "RUNNING":
                        _mark_running(connection, instance, observation.host, observation.started_at)
                        continue
                    outcome = Ended(
                        observation.state,
                        observation.exit_code,
                        observation.reason,
                        observation.host,
                        observation.started_at,
                        observation.ended_at,
                        jobdir / f"{index}.outputs",
                        jobdir / f"{index}.summary.json",
                    )
                    ends.append((instance, outcome))
                record_ends(connection, ends)
                ended += len(ends)
            faults.point("mid-outcomes")
        _close_finished_submissions(self.database, self.pipelines)
        faults.point("after-outcomes")
        return ended


# --- helpers (pure or one query each) ---------------------------------------------------------------------


def _ready(graph: Graph, *, scripts_only: bool) -> list[InstanceView]:
    now = time.time()
    return [
        instance
        for instance in sorted(graph.instances.values(), key=lambda x: x.id)
        if instance.state == "READY"
        and instance.step.is_script == scripts_only
        and instance.stream.state == "RUNNING"
        and (instance.not_before is None or instance.not_before <= now)
    ]


def _active_counts(graph: Graph) -> Counter[tuple[str, str | None]]:
    counts: Counter[tuple[str, str | None]] = Counter()
    for instance in graph.instances.values():
        if instance.state in ACTIVE_STATES:
            counts["step", instance.step.path] += 1
            counts["site", instance.site] += 1
    return counts


def _under_step_limit(
    graph: Graph, instance: InstanceView, counts: Counter[tuple[str, str | None]] | None = None
) -> bool:
    limit = instance.step.spec.max_running
    if limit is None:
        return True
    if counts is None:
        counts = _active_counts(graph)
    return counts["step", instance.step.path] < limit


def _inputs(instance: InstanceView) -> dict[str, list[str]]:
    return json.loads(instance.inputs) if instance.inputs else {}


# (conditional on the state this pass read: a stream cancelled meanwhile stays cancelled)
_ADMITTED = (
    update(db.streams)
    .where(db.streams.c.id == bindparam("b_stream"), db.streams.c.state == "WAITING")
    .values(state="RUNNING")
)
_FINISHED = (
    update(db.streams)
    .where(db.streams.c.id == bindparam("b_stream"), db.streams.c.state == "RUNNING")
    .values(state=bindparam("state"), finished_at=bindparam("finished_at"))
)
_READY = (
    update(db.instances)
    .where(db.instances.c.id == bindparam("b_instance"))
    .values(state="READY", inputs=bindparam("inputs"))
)
_SKIPPED = (
    update(db.instances)
    .where(db.instances.c.id == bindparam("b_instance"))
    .values(state="SKIPPED", reason=bindparam("reason"), ended_at=bindparam("ended_at"))
)


def _still_waiting(connection: Connection, ids: list[int]) -> set[int]:
    """Which of ``ids`` are still WAITING (current) in this transaction: the others changed meanwhile."""
    if not ids:
        return set()
    i = db.instances
    return set(
        connection.execute(
            select(i.c.id).where(i.c.id.in_(ids), i.c.state == "WAITING", i.c.is_current)
        ).scalars()
    )


def _claim_ready(connection: Connection, instances: list[InstanceView]) -> set[int]:
    """The ids of ``instances`` still READY (current), locked for this transaction: those it may submit.
    (SQLite: the transaction's BEGIN IMMEDIATE already excludes every other writer.)"""
    i = db.instances
    query = select(i.c.id).where(i.c.id.in_([x.id for x in instances]), i.c.state == "READY", i.c.is_current)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    claimed = set(connection.execute(query).scalars())
    for instance in instances:
        if instance.id not in claimed:
            instance.state = "CHANGED"  # cancelled or rolled back since this pass read it: left alone
    return claimed


# Prepared once for executemany: the intent of a whole array in two statements.
_SUBMITTED = (
    update(db.instances)
    .where(db.instances.c.id == bindparam("b_instance"))
    .values(
        state="SUBMITTED",
        attempt=bindparam("attempt"),
        not_before=None,
        submission_id=bindparam("submission_id"),
        task_index=bindparam("task_index"),
        site=bindparam("site"),
        scheduler=bindparam("scheduler"),
        runtime=bindparam("runtime"),
        image=bindparam("image"),
        image_id=bindparam("image_id"),
        command=bindparam("command"),
    )
)


def _begin_job_attempts(
    connection: Connection, array: jobs.ArrayPlan, submission_id: int, jobdir: Path
) -> None:
    """Task i of the array is the next attempt of its instance: SUBMITTED, with where and how it runs."""
    placement, now = array.placement, db.now()
    rows, attempts = [], []
    for index, task in enumerate(array.tasks, start=1):
        instance = task.instance
        attempt = instance.attempt + 1
        rows.append(
            {
                "b_instance": instance.id,
                "attempt": attempt,
                "submission_id": submission_id,
                "task_index": index,
                "site": placement.site,
                "scheduler": placement.scheduler,
                "runtime": placement.runtime,
                "image": placement.image,
                "image_id": array.pinned.image_id,
                "command": json.dumps(task.command),
            }
        )
        attempts.append(
            {
                "instance_id": instance.id,
                "attempt": attempt,
                "state": "SUBMITTED",
                "submission_id": submission_id,
                "task_index": index,
                "log": str(jobdir / f"{index}.log"),
                "created_at": now,
            }
        )
        instance.state, instance.attempt, instance.site = "SUBMITTED", attempt, placement.site
        instance.submission_id, instance.task_index = submission_id, index
    if rows:
        connection.execute(_SUBMITTED, rows)
        connection.execute(insert(db.attempts), attempts)


def _begin_script_attempt(
    connection: Connection, instance: InstanceView, attempt: int, log_path: str
) -> bool:
    """Attempt ``attempt`` of a READY script step starts now, on this host; False, and nothing written,
    when it is no longer READY (cancelled or rolled back since this pass read it)."""
    now = db.now()
    i = db.instances
    claimed = connection.execute(
        update(i)
        .where(i.c.id == instance.id, i.c.state == "READY", i.c.is_current.is_(True))
        .values(state="RUNNING", attempt=attempt, not_before=None, started_at=now, host=os.uname().nodename)
    )
    if not claimed.rowcount:
        instance.state = "CHANGED"
        return False
    connection.execute(
        insert(db.attempts).values(
            instance_id=instance.id,
            attempt=attempt,
            state="RUNNING",
            log=log_path,
            created_at=now,
            started_at=now,
            host=os.uname().nodename,
        )
    )
    instance.state, instance.attempt = "RUNNING", attempt
    return True


def _mark_running(
    connection: Connection, instance: InstanceView, host: str | None, started: float | None
) -> None:
    marked = connection.execute(
        update(db.instances)
        .where(db.instances.c.id == instance.id, db.instances.c.state == "SUBMITTED")
        .values(state="RUNNING", host=host, started_at=started)
    )
    if not marked.rowcount:
        return
    connection.execute(
        update(db.attempts)
        .where(db.attempts.c.instance_id == instance.id, db.attempts.c.attempt == instance.attempt)
        .values(state="RUNNING", host=host, started_at=started)
    )
    instance.state = "RUNNING"


def _active_tasks(connection: Connection, active: list[InstanceView]) -> list[ActiveTask]:
    from pathlib import Path

    ids = sorted({x.submission_id for x in active if x.submission_id is not None})
    s = db.submissions
    rows = {
        row.id: row
        for row in connection.execute(
            select(s.c.id, s.c.scheduler, s.c.native_id, s.c.jobdir, s.c.state).where(s.c.id.in_(ids))
        )
    }
    tasks = []
    for instance in active:
        row = rows.get(instance.submission_id or -1)
        if row is None or row.state == "INTENT" or instance.task_index is None:
            continue
        tasks.append(
            ActiveTask(
                instance.id,
                row.id,
                row.scheduler,
                row.native_id,
                Path(row.jobdir),
                instance.task_index,
                instance.state,
            )
        )
    return tasks


def _close_finished_submissions(database: db.StateDB, pipelines: list[str]) -> None:
    """A submission none of whose tasks is queued or running any more is DONE (no longer polled). All of
    them, not only those of this poll: a predecessor killed before it closed some leaves them behind."""
    i, s = db.instances, db.submissions
    with database.write() as connection:
        busy = (
            select(i.c.submission_id)
            .where(i.c.submission_id.is_not(None), i.c.state.in_(tuple(ACTIVE_STATES)))
            .scalar_subquery()
        )
        connection.execute(
            update(s)
            .where(s.c.pipeline.in_(pipelines), s.c.state == "SUBMITTED", s.c.id.not_in(busy))
            .values(state="DONE", finished_at=db.now())
        )


def _started_at(run: scripts.ScriptRun) -> float | None:
    try:
        return (run.directory / "started").stat().st_mtime
    except OSError:
        return None


def stop_signal_handlers() -> None:
    """SIGTERM ends `pipeline run` like Ctrl-C: the lease is released, the jobs keep running."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
