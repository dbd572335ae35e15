"""What `hepstack prune` decides: things to remove (with their size and why) and things kept (and why)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Removal:
    """One thing prune would remove. ``remove()`` removes it and returns None, or says why it could not
    (the engine refused, the entry became in use); ``size`` is what it holds, None when unknown."""

    kind: str  # image | catalog | cache | jobdir
    what: str
    size: int | None
    reason: str
    remove: Callable[[], str | None] = field(repr=False)
    engine: str | None = None  # images: the store whose bytes are measured before and after


@dataclass(frozen=True)
class Kept:
    """Something prune looked at and keeps, because it is in use or the newest."""

    kind: str
    what: str
    reason: str


@dataclass
class PrunePlan:
    removals: list[Removal] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)

    def extend(self, other: PrunePlan) -> None:
        self.removals += other.removals
        self.kept += other.kept


def tree_bytes(path: str) -> int:
    """Bytes a file or directory tree occupies on disk (allocated blocks; links not followed)."""
    try:
        status = os.lstat(path)
    except OSError:
        return 0
    total = status.st_blocks * 512
    if not stat.S_ISDIR(status.st_mode):
        return total
    for folder, directories, files in os.walk(path):
        for name in directories + files:
            try:
                total += os.lstat(f"{folder}/{name}").st_blocks * 512
            except OSError:
                continue
    return total
