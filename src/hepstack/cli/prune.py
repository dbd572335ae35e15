"""`hepstack prune`: old builds, duplicate catalog rows, unused node-cache entries, old job directories."""

from __future__ import annotations

from typing import Annotated

import typer

from hepstack.cli import app


@app.command()
def prune(
    keep: Annotated[int, typer.Option(help="Builds to keep per stack/layer/engine (newest first).")] = 1,
    older_than: Annotated[
        str, typer.Option(help="Remove directories of jobs finished longer ago than this (30d, 12h, 0s).")
    ] = "7d",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would go, with sizes; remove nothing.")
    ] = False,
) -> None:
    """Remove what newer builds superseded and what finished jobs left, never anything in use.

    Kept: the newest --keep builds of each layer, images of queued or running jobs and of active
    pipeline streams, node-cache entries a running container holds, directories of unfinished jobs.
    """
    from hepstack.build.builder import human_size
    from hepstack.context import Context
    from hepstack.prune import apply, plan_prune
    from hepstack.prune.jobs import parse_age

    plan = plan_prune(Context.from_environment(), keep=keep, older_than=parse_age(older_than))
    for kept in plan.kept:
        if kept.reason != "an entry of a kept image":
            print(f"keep     {kept.kind:8} {kept.what}: {kept.reason}")
    verb = "would remove" if dry_run else "removing"
    for item in plan.removals:
        size = human_size(item.size) if item.size is not None else "-"
        print(f"{verb:12} {item.kind:8} {item.what} [{size}]: {item.reason}")
    total = sum(item.size or 0 for item in plan.removals)
    if dry_run:
        print(f"dry run: {len(plan.removals)} to remove, {human_size(total)} ({total} bytes) listed")
        return
    outcome = apply(plan)
    for failed, problem in outcome.failed:
        print(f"not removed {failed.kind:8} {failed.what}: {problem}")
    print(
        f"removed {len(outcome.removed)} of {len(plan.removals)}; freed {human_size(outcome.freed)} "
        f"({outcome.freed} bytes)"
    )
