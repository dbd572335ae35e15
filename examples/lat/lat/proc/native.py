"""``lat-l1 delivery``: a delivery through L1 natively, as the pipeline runs it (the reference).

The same planners (lat.proc.planners) make the same runs, chunks and crumbs; the same step table
(lat.proc.steps) gives the same command lines and output names; only the order is simpler: stage by
stage over the whole delivery (every digi, then every recon, ...), ``--jobs`` processes at a time,
stopping at the first failure.  ``--prefix`` goes in front of every command; ``{image}`` in it
becomes the step's slim image (digi, recon or ft1), e.g. ``--prefix "hepstack run lat/{image} --"``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

from lat.l1 import Driver, Step, find_command, print_summary, timing_summary
from lat.proc.planners import PlanSettings, RunPlan, plan_delivery
from lat.proc.steps import L1_STEPS, StepCommand, steps_for

COMMANDS = {"lat-run": "lat.framework.cli", "lat-merge": "lat.merge"}


def _output_of(gathers: str) -> str:
    name = gathers.split(".")[1]
    return next(s.output for s in L1_STEPS if s.name == name)


def instances(plan: list[RunPlan], step: StepCommand) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """(instance name, variables, gathered inputs) of ``step`` in every stream of its level."""
    gathered = _output_of(step.gathers) if step.gathers else None

    def outputs(streams: list[dict[str, str]]) -> list[str]:
        return [stream[gathered] for stream in streams] if gathered else []

    for run in plan:
        tag = f"{step.name}_{run.variables['RUN_TAG']}"
        if step.level == "run":
            yield tag, run.variables, outputs([chunk for chunk, _ in run.chunks])
            continue
        for chunk, crumbs in run.chunks:
            chunk_tag = f"{tag}_{chunk['CHUNK_TAG']}"
            if step.level == "chunk":
                yield chunk_tag, chunk, outputs(crumbs)
                continue
            for crumb in crumbs:
                yield f"{chunk_tag}_{crumb['CRUMB_TAG']}", crumb, []


def command_argv(
    step: StepCommand, argv: list[str], prefix: list[str], commands: dict[str, list[str]]
) -> list[str]:
    """``argv`` behind the prefix (``{image}``: the step's image), the program as find_command found it."""
    head = [word.replace("{image}", step.image) for word in prefix]
    return [*head, *commands[argv[0]], *argv[1:]]


def timing_db(argv: list[str]) -> Path | None:
    return Path(argv[argv.index("--timing-db") + 1]) if "--timing-db" in argv else None


def run_delivery(settings: PlanSettings, args: argparse.Namespace) -> int:
    """Run every step of every stream; print the timing summary; write OUT/l1_summary.json."""
    plan = plan_delivery(settings)
    prefix = shlex.split(args.prefix)
    commands = {name: find_command(name, module, bool(prefix)) for name, module in COMMANDS.items()}
    driver = Driver(args, settings.out, prefix, commands["lat-run"], commands["lat-merge"])
    crumbs = sum(len(c) for run in plan for _, c in run.chunks)
    chunks = sum(len(run.chunks) for run in plan)
    mode = f"reprocessing digi from {settings.digi_from}" if settings.reprocessing else "L1"
    print(
        f"lat-l1: delivery {settings.delivery.delivery_id}: {len(plan)} run(s), {chunks} chunk(s), "
        f"{crumbs} crumb(s); {mode}; calibration {settings.calib}",
        flush=True,
    )
    start = time.perf_counter()
    databases: list[Path] = []
    for step in steps_for(settings.reprocessing):
        stage = []
        for name, variables, gathered in instances(plan, step):
            argv = step.expand(variables, gathered)
            database = timing_db(argv)
            if database is not None:
                databases.append(database)
            stage.append(Step(name, step.name, command_argv(step, argv, prefix, commands), database))
        driver.execute(step.name, stage)
    total = time.perf_counter() - start
    summary = timing_summary(databases)
    print_summary(summary, driver.wall, total)
    record = {
        "delivery_id": settings.delivery.delivery_id,
        "runs": [run.variables["RUN_TAG"] for run in plan],
        "calib": settings.calib,
        "digi_from": str(settings.digi_from),
        "steps": summary,
        "wall_s": driver.wall,
        "total_wall_s": total,
    }
    (settings.out / "l1_summary.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0
