"""Using a node-cache entry: its files, its shared use lock, its last-use mark.

Both paths of `hepstack run` use entries of the per-node image cache (ch-run's unpacked trees): the full
path through :class:`hepstack.registry.cache.NodeCache`, which also converts and evicts, and a
remembered run (:mod:`hepstack.run.plan`), which may import nothing heavier than os and fcntl. Both
call these, so they follow one protocol.
"""

from __future__ import annotations

import fcntl
import os


def use_files(entry: str) -> tuple[str, str]:
    """An entry's use lock (held shared while in use) and its ``.meta`` (mtime = last use)."""
    return f"{entry}.use.lock", f"{entry}.meta"


def open_lock(path: str) -> int:
    """A lock file of the cache, opened without following a symlink. Read-only, as flock needs no more:
    users of a shared node cache (HEPSTACK_CACHE_OWNER) hold its locks without being able to write it.
    0644 so that they can; a private cache's directory (0700) keeps others out anyway."""
    return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def hold_shared(use_lock: str) -> int:
    """A shared flock on ``use_lock``, on a descriptor the runtime this process execs inherits."""
    descriptor = open_lock(use_lock)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)  # waits only while an eviction removes the entry
        os.set_inheritable(descriptor, True)  # held by the runtime we exec, for as long as the job runs
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def mark_used(meta: str) -> None:
    """Least-recently-used eviction reads the last use from the mtime of ``.meta``.

    Only the owner of a shared node cache can mark it (utime needs the file's owner or write access):
    there, the owner's uses order its evictions."""
    try:  # noqa: SIM105 -- contextlib would cost the fast path an import
        os.utime(meta)
    except (FileNotFoundError, PermissionError):
        pass
