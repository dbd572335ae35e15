"""What one submission asks for: tasks, resources, where the job's files live.

Every value is checked with the grammar in :mod:`hepstack.resources` (re-exported here for the
schedulers), so no value a user types can reach a directive as something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hepstack.batch.staging import Transfer
from hepstack.names import JOB_NAME
from hepstack.quoting import reject
from hepstack.resources import (
    MAX_CPUS,
    MAX_MEMORY_MB,
    MAX_SECONDS,
    MAX_TASKS,
    check_count,
    check_scheduler_name,
    duration_seconds,
    hms,
    memory_mb,
)

__all__ = [
    "MAX_CPUS",
    "MAX_MEMORY_MB",
    "MAX_SECONDS",
    "MAX_TASKS",
    "JobSpec",
    "Resources",
    "check_count",
    "check_scheduler_name",
    "duration_seconds",
    "hms",
    "memory_mb",
]


@dataclass(frozen=True)
class Resources:
    cpus: int | None = None
    memory: str | None = None  # e.g. "2G"; checked by memory_mb
    time: str | None = None  # e.g. "01:00:00"; checked by duration_seconds
    queue: str | None = None
    account: str | None = None

    def check(self) -> None:
        if self.cpus is not None:
            check_count(self.cpus, "--cpus", MAX_CPUS, "CPUs")
        if self.memory is not None:
            memory_mb(self.memory)
        if self.time is not None:
            duration_seconds(self.time)
        if self.queue is not None:
            check_scheduler_name(self.queue, "--queue")
        if self.account is not None:
            check_scheduler_name(self.account, "--account")


@dataclass(frozen=True)
class JobSpec:
    """Everything a scheduler template needs besides the container command.

    ``tasks`` is always at least 1: every submission is an array (of one, if need be), so
    HEPSTACK_TASK_INDEX (1..tasks) exists in every job the same way.
    """

    name: str
    tasks: int
    jobdir: Path
    resources: Resources = field(default_factory=Resources)
    directives: list[str] = field(default_factory=list)  # the site's extra options, checked per scheduler
    # xrootd files copied in before the command and out after it succeeded (batch/staging.py)
    stage_in: tuple[Transfer, ...] = ()
    stage_out: tuple[Transfer, ...] = ()

    def __post_init__(self) -> None:
        check_count(self.tasks, "--tasks", MAX_TASKS, "tasks")
        if not JOB_NAME.match(self.name):
            reject(
                self.name,
                "job name",
                "is not a job name",
                "use letters, digits, '_', '.' and '-' (at most 64, not starting with '-' or '.')",
            )
        self.resources.check()
