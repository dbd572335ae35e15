"""What became of the jobs: one bulk queue query per scheduler, then the files the tasks wrote.

The queue is asked *first*, then the job directories are read: a task missing from the queue that has no
exit-code file after that really left without one. Such a task, and one that ended by a signal, is looked
up in the scheduler's accounting (per job, only then) before it is called anything: cancelled, out of
memory or over its time limit is TERMINATED with the scheduler's reason; nothing known is UNKNOWN. A task
is never SUCCESS without its own exit code 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc
from hepstack.batch.schedulers import WHOLE_JOB, QueuedJob, get_scheduler
from hepstack.batch.states import QueueEntry, TaskState
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user

log = logging.getLogger("hepstack.pipeline")

# Scheduler states (as accounting names them) that mean the batch system ended the task: Pipeline II's
# TERMINATED. From sacct(1) JOB STATE CODES, qacct(1) "failed", bjobs(1) and HTCondor's JobStatus.
TERMINATING = frozenset(
    {
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "NODE_FAIL",
        "DEADLINE",
        "BOOT_FAIL",
        "REVOKED",
        "3",
    }
)


@dataclass(frozen=True)
class ActiveTask:
    instance_id: int
    submission_id: int
    scheduler: str
    native_id: str | None
    jobdir: Path
    index: int
    state: str  # SUBMITTED | RUNNING, as the DB has it


@dataclass(frozen=True)
class Observation:
    instance_id: int
    state: str  # RUNNING | EXITED | TERMINATED | UNKNOWN
    exit_code: int | None = None
    reason: str | None = None
    host: str | None = None
    started_at: float | None = None
    ended_at: float | None = None


class SchedulerUnreachable(HepstackError):
    pass


def started_info(jobdir: Path, index: int) -> tuple[str | None, float | None, str | None]:
    """host, start time and the job id the task wrote into ``<i>.started``, if it started."""
    try:
        text = (jobdir / f"{index}.started").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, None, None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        start = float(fields.get("start", ""))
    except ValueError:
        start = None
    return fields.get("host"), start, fields.get("job") or None


def exit_code_of(jobdir: Path, index: int) -> tuple[int | None, float | None]:
    path = jobdir / f"{index}.exitcode"
    try:
        text = path.read_text(encoding="utf-8").strip()
        ended = path.stat().st_mtime
    except OSError:
        return None, None
    if text.lstrip("-").isdigit():
        return int(text), ended
    return None, None


def user_queues(schedulers: Iterable[str]) -> dict[str, dict[str, QueuedJob]]:
    """One query per scheduler: every job of this user that its queue holds."""
    user = invoking_user().name
    queues = {}
    for name in sorted(set(schedulers)):
        scheduler = get_scheduler(name)
        try:
            result = proc.run(scheduler.user_queue_argv(user), check=False, timeout=120)
            queues[name] = scheduler.parse_user_queue(result)
        except HepstackError as exc:
            raise SchedulerUnreachable(
                f"cannot ask {name} for its queue: {exc.message}", hint=scheduler.install_hint
            ) from None
    return queues


ACCOUNTING_GRACE = 20.0  # seconds a scheduler's accounting may lag behind its queue (slurmdbd: ~1 s)


def observe(tasks: list[ActiveTask], missing_since: dict[int, float] | None = None) -> list[Observation]:
    """What changed for ``tasks`` (unchanged ones give no observation).

    ``missing_since`` (instance id -> when it was first seen ended, or gone from the queue, without the
    scheduler's final word in its accounting) lets accounting catch up before such a task is decided; the
    caller keeps it from one poll to the next."""
    missing_since = {} if missing_since is None else missing_since
    queues = user_queues(task.scheduler for task in tasks)
    accounting: dict[tuple[str, str], dict[int, QueueEntry]] = {}
    observations = []
    for task in tasks:
        host, started, _job = started_info(task.jobdir, task.index)
        code, ended = exit_code_of(task.jobdir, task.index)
        entry = _queued(queues.get(task.scheduler, {}), task)
        if code is not None and code < 128:
            observations.append(Observation(task.instance_id, "EXITED", code, None, host, started, ended))
            continue
        if code is None and entry is not None:
            if started is not None and task.state != "RUNNING":
                observations.append(Observation(task.instance_id, "RUNNING", host=host, started_at=started))
            continue
        if code is None:  # gone from the queue without an exit code: maybe it wrote one just now
            code, ended = exit_code_of(task.jobdir, task.index)
            if code is not None and code < 128:
                observations.append(Observation(task.instance_id, "EXITED", code, None, host, started, ended))
                continue
        known = _accounting(task, accounting)
        # No final word yet (slurmdbd lags the queue, also for a task a signal ended: a cancelled task's
        # trap may write its 143 before sacct says CANCELLED): let accounting catch up first.
        if (known is None or not known.state.final) and _has_accounting(task):
            first = missing_since.setdefault(task.instance_id, time.time())
            if time.time() - first < ACCOUNTING_GRACE:
                continue  # its accounting record may be on its way: ask again at the next poll
        missing_since.pop(task.instance_id, None)
        observations.append(_ended_without_word(task, code, ended, known, host, started))
    return observations


def _has_accounting(task: ActiveTask) -> bool:
    return (
        task.native_id is not None
        and get_scheduler(task.scheduler).accounting_argv(task.native_id) is not None
    )


def _queued(jobs: dict[str, QueuedJob], task: ActiveTask) -> QueueEntry | None:
    if task.native_id is None or task.native_id not in jobs:
        return None
    entries = jobs[task.native_id].tasks
    entry = entries.get(task.index) or entries.get(WHOLE_JOB)
    if entry is not None and entry.state.final:
        return None  # listed as over (e.g. SLURM's CANCELLED while it leaves): decide from files/accounting
    return entry


def _accounting(task: ActiveTask, cache: dict[tuple[str, str], dict[int, QueueEntry]]) -> QueueEntry | None:
    if task.native_id is None:
        return None
    key = (task.scheduler, task.native_id)
    if key not in cache:
        scheduler = get_scheduler(task.scheduler)
        argv = scheduler.accounting_argv(task.native_id)
        cache[key] = {}
        if argv is not None:
            try:
                cache[key] = scheduler.parse_accounting(
                    proc.run(argv, check=False, timeout=120), task.native_id
                )
            except HepstackError as exc:
                log.warning("accounting of %s job %s: %s", task.scheduler, task.native_id, exc.message)
    entry: QueueEntry | None = cache[key].get(task.index)
    return entry


def _ended_without_word(
    task: ActiveTask,
    code: int | None,
    ended: float | None,
    known: QueueEntry | None,
    host: str | None,
    started: float | None,
) -> Observation:
    """A task that ended by a signal (code >= 128) or left the queue without any exit code."""
    if known is not None and (
        known.native_state.split()[0] in TERMINATING or known.state is TaskState.CANCELLED
    ):
        reason = f"{task.scheduler} says {known.native_state}"
        if code is not None:
            reason += f" (exit code {code})"
        return Observation(task.instance_id, "TERMINATED", code, reason, host, started, ended)
    if code is not None:
        return Observation(task.instance_id, "EXITED", code, _signal_reason(code), host, started, ended)
    if known is not None and known.exit_code is not None:
        state = "EXITED"
        return Observation(
            task.instance_id, state, known.exit_code, f"{task.scheduler} accounting", host, started
        )
    where = "started" if started is not None else "never started"
    return Observation(
        task.instance_id,
        "UNKNOWN",
        None,
        f"left the {task.scheduler} queue without an exit code ({where}; no accounting record)",
        host,
        started,
    )


def _signal_reason(code: int) -> str | None:
    import signal

    if code > 128:
        try:
            return f"killed by {signal.Signals(code - 128).name}"
        except ValueError:
            return None
    return None
