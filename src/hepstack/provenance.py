"""Where a release comes from: the spec repository's git revision and the date its builds carry.

``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/) is the time of the
last commit of the spec's repository when it is a git checkout: the usual choice of the reproducible-builds
community, stable across rebuilds of one commit. Outside git there is no such date; the lock keeps the
one it was first made with.
"""

from __future__ import annotations

import time
from pathlib import Path

from hepstack import proc


def git_revision(directory: Path) -> str | None:
    """``<sha>`` of HEAD, ``<sha>-dirty`` with uncommitted changes, None outside a git checkout."""
    if proc.which("git") is None:
        return None
    head = proc.run(["git", "-C", str(directory), "rev-parse", "HEAD"], check=False)
    if head.returncode != 0:
        return None
    status = proc.run(
        ["git", "-C", str(directory), "status", "--porcelain", "--untracked-files=normal"],
        check=False,
    )
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return head.stdout.strip() + ("-dirty" if dirty else "")


def source_date_epoch(directory: Path, previous: int | None = None) -> int:
    """The last commit's time; outside git the previous lock's epoch, else now (once)."""
    if proc.which("git") is not None:
        result = proc.run(["git", "-C", str(directory), "log", "-1", "--format=%ct"], check=False)
        if result.returncode == 0 and result.stdout.strip().isdigit():
            return int(result.stdout.strip())
    return previous if previous is not None else int(time.time())
