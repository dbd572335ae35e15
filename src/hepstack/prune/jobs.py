"""Directories of finished batch jobs (script, logs, exit codes) older than a given age.

A job is finished when every task is final (COMPLETED, FAILED, CANCELLED); one still queued, running, or
whose state cannot be told keeps its directory. Its age is counted from the last write in its directory
(the exit code files come last). Only directories under hepstack's own ``DATA_DIR/jobs`` are removed,
whatever path the state database names.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.prune.model import Kept, PrunePlan, Removal, tree_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hepstack.batch.store import JobRecord

_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (or a number of seconds) -> seconds."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*", text.lower())
    if not match:
        raise HepstackError(f"bad age {text!r}", hint="write e.g. 30d, 12h, 90m, 45s or 2w")
    return float(match[1]) * _AGE_UNITS[match[2] or "s"]


def plan_jobdirs(context: Context, jobs: list[tuple[JobRecord, str]], older_than: float) -> PrunePlan:
    plan = PrunePlan()
    root = (context.data_dir / "jobs").resolve()
    now = time.time()
    for record, unfinished in jobs:
        what = f"job {record.id} ({record.label}) {record.jobdir}"
        if unfinished:
            plan.kept.append(Kept("jobdir", what, f"the job is {unfinished}"))
            continue
        directory = record.jobdir.resolve() if record.jobdir.exists() else None
        if directory is not None and directory.parent != root:
            plan.kept.append(Kept("jobdir", what, f"not a job directory of hepstack's under {root}"))
            continue
        age = now - (_last_write(directory) if directory else record.submitted_at.timestamp())
        if age < older_than:
            plan.kept.append(
                Kept("jobdir", what, f"finished {_ago(age)} ago, younger than {_ago(older_than)}")
            )
            continue
        size = tree_bytes(str(directory)) if directory else 0
        plan.removals.append(
            Removal(
                "jobdir", what, size, f"finished {_ago(age)} ago", _remover(context, record.id, directory)
            )
        )
    return plan


def _last_write(directory: Path) -> float:
    times = [directory.stat().st_mtime]
    for entry in os.scandir(directory):
        try:
            times.append(entry.stat(follow_symlinks=False).st_mtime)
        except OSError:
            continue
    return max(times)


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _remover(context: Context, job_id: int, directory: Path | None) -> Callable[[], str | None]:
    def remove() -> str | None:
        from hepstack.batch.store import JobStore

        if directory is not None:
            try:
                shutil.rmtree(directory)
            except OSError as exc:
                return f"cannot remove {directory}: {exc.strerror}"
        store = JobStore.open(context)
        try:
            store.forget(job_id)
        finally:
            store.close()
        return None

    return remove
