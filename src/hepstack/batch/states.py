"""Task states as hepstack reports them, whatever the scheduler calls them.

A task is COMPLETED or FAILED only when its exit code is known (the job script writes it next to the
task's log; SGE's ``qacct`` and LSF's ``bjobs`` also know it). A task that left the queue without one is
UNKNOWN, said plainly.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger("hepstack.batch")


class TaskState(enum.Enum):
    QUEUED = "QUEUED"
    HELD = "HELD"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"

    @property
    def final(self) -> bool:
        return self in {TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED}


@dataclass(frozen=True)
class TaskStatus:
    index: int  # 1-based, as HEPSTACK_TASK_INDEX in the job
    state: TaskState
    exit_code: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class QueueEntry:
    """What the scheduler's queue (or accounting) says about one task."""

    state: TaskState
    native_state: str
    exit_code: int | None = None


def map_state(table: Mapping[str, TaskState], native: str, scheduler: str) -> TaskState:
    """``table[native]``, or UNKNOWN with a warning: a state we have no row for is never guessed."""
    state = table.get(native)
    if state is None:
        log.warning("%s reported state %r, which hepstack does not know: shown as UNKNOWN", scheduler, native)
        return TaskState.UNKNOWN
    return state


def final_from_exit_code(exit_code: int) -> TaskState:
    return TaskState.COMPLETED if exit_code == 0 else TaskState.FAILED
