"""Node-cache entries (ch-run trees, squashfs and SIF files) of images no longer kept.

Removal goes through the cache's own eviction (:meth:`hepstack.registry.cache.NodeCache.evict`), which
takes an entry's use lock exclusive without waiting and skips it when a running container holds it
shared: an entry in use is never removed, whatever prune planned. Only the cache's owner prunes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
from collections.abc import Callable
from pathlib import Path

from hepstack.context import Context
from hepstack.prune.model import Kept, PrunePlan, Removal
from hepstack.run.cache_use import open_lock, use_files


def plan_cache(context: Context, kept_ids: set[str]) -> PrunePlan:
    from hepstack.registry.convert import node_cache

    cache = node_cache(context)
    plan = PrunePlan()
    if cache.owner != os.geteuid():
        return plan  # a shared cache is pruned by its owner alone, as it is evicted
    kept_names = {image_id.removeprefix("sha256:") for image_id in kept_ids}
    for entry in sorted(cache.entries(), key=lambda entry: str(entry.path)):
        what = f"{entry.kind}/{entry.image_id[:12]}"
        if in_use(str(entry.path)):
            plan.kept.append(Kept("cache", what, "in use: held by a running container"))
        elif entry.image_id in kept_names:
            plan.kept.append(Kept("cache", what, "an entry of a kept image"))
        else:
            plan.removals.append(
                Removal(
                    "cache", what, entry.size, "its image is no longer kept", _evictor(context, entry.path)
                )
            )
    return plan


def in_use(entry: str) -> bool:
    """Whether a user holds the entry's use lock (shared, as a running ch-run's inherited descriptor
    does). Asked without waiting and released at once; the removal asks again, under the lock."""
    descriptor = open_lock(use_files(entry)[0])
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def _evictor(context: Context, path: Path) -> Callable[[], str | None]:
    def remove() -> str | None:
        from hepstack.registry.cache import NodeCache

        cache = NodeCache(context.node_cache, 0, context.cache_owner, context.node_cache_setting)
        others = {entry.path for entry in cache.entries()} - {path}
        with contextlib.redirect_stderr(io.StringIO()):  # its "over the limit" note: prune reports itself
            removed = cache.evict(keep=others)
        return None if path in removed else "in use: held by a running container"

    return remove
