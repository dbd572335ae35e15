"""`hepstack prune`: remove old builds, duplicate catalog rows, unused node-cache entries and the
directories of long-finished jobs, never what is in use.

Kept always: the newest ``keep`` builds of each stack/layer/engine; any image an unfinished batch job or
an active pipeline stream or step uses; a node-cache entry a running container holds (its use lock);
the directory of a job not yet final. ``plan_prune`` only looks; ``apply`` removes and measures.

>>> plan = plan_prune(Context.from_environment(), keep=1, older_than=7 * 86400)   # doctest: +SKIP
>>> [(item.kind, item.what, item.size) for item in plan.removals]                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.prune.model import Kept, PrunePlan, Removal

__all__ = ["Kept", "Outcome", "PrunePlan", "Removal", "apply", "plan_prune"]


def plan_prune(context: Context, *, keep: int = 1, older_than: float = 7 * 86400) -> PrunePlan:
    from hepstack.catalog import Catalog
    from hepstack.prune.cache import plan_cache
    from hepstack.prune.images import plan_images
    from hepstack.prune.in_use import images_in_use, job_states
    from hepstack.prune.jobs import plan_jobdirs

    if keep < 1:
        raise HepstackError(f"--keep {keep} would remove the newest build", hint="keep at least 1")
    jobs = job_states(context)
    in_use = images_in_use(context, jobs)
    plan, kept_ids = plan_images(Catalog(context.catalog_path), keep, in_use)
    plan.extend(plan_cache(context, kept_ids | set(in_use)))
    plan.extend(plan_jobdirs(context, jobs, older_than))
    return plan


@dataclass(frozen=True)
class Outcome:
    removed: list[Removal]
    failed: list[tuple[Removal, str]]
    freed: int  # bytes: measured in each engine's store for images, the size of the rest


def apply(plan: PrunePlan) -> Outcome:
    """Remove what ``plan`` lists. Images are retried while some go (a parent goes after its child)."""
    from hepstack.prune.images import store_bytes

    engines = sorted({item.engine for item in plan.removals if item.engine})
    before = {engine: store_bytes(engine) for engine in engines}
    removed: list[Removal] = []
    failed: list[tuple[Removal, str]] = []
    pending = list(plan.removals)
    while pending:
        refused = []
        for item in pending:
            problem = item.remove()
            if problem is None:
                removed.append(item)
            elif item.kind == "image":
                refused.append((item, problem))
            else:
                failed.append((item, problem))
        progress = len(refused) < len(pending)
        pending = [item for item, _ in refused] if progress else []
        if not progress:
            failed += refused
    freed = sum(item.size or 0 for item in removed if item.engine is None)
    for engine in engines:
        after, earlier = store_bytes(engine), before[engine]
        if after is not None and earlier is not None:
            freed += max(0, earlier - after)
    return Outcome(removed, failed, freed)
