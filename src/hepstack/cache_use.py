"""Using a node-cache entry: its files, its shared use lock, its last-use mark.

Both paths of `hepstack run` use entries of the per-node image cache (ch-run's unpacked trees): the full
path through :class:`hepstack.registry.cache.NodeCache`, which also converts and evicts, and a
remembered run (:mod:`hepstack.launch_plan`), which may import nothing heavier than os and fcntl. Both
call these, so they follow one protocol.
"""

from __future__ import annotations

import fcntl
import os


def use_files(entry: str) -> tuple[str, str]:
    """An entry's use lock (held shared while in use) and its ``.meta`` (mtime = last use)."""
    return f"{entry}.use.lock", f"{entry}.meta"


def hold_shared(use_lock: str) -> int:
    """A shared flock on ``use_lock``, on a descriptor the runtime this process execs inherits."""
    descriptor = os.open(use_lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)  # waits only while an eviction removes the entry
        os.set_inheritable(descriptor, True)  # held by the runtime we exec, for as long as the job runs
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def mark_used(meta: str) -> None:
    """Least-recently-used eviction reads the last use from the mtime of ``.meta``."""
    try:  # noqa: SIM105 -- contextlib would cost the fast path an import
        os.utime(meta)
    except FileNotFoundError:
        pass
