"""A whole scaling study: run every array, collect every job, summarize, write the report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hepstack.context import Context
from hepstack.scale.collect import collect_array
from hepstack.scale.report import write_report
from hepstack.scale.study import ScaleStudy
from hepstack.scale.submit import MemoryGuard, Progress, run_study
from hepstack.scale.summary import Point, summarize

CONFIDENCE = 0.95


@dataclass(frozen=True)
class ScaleOutcome:
    points: list[Point]
    report: Path
    failures: int
    seconds: float


def run_scale_study(study: ScaleStudy, out: Path, context: Context, progress: Progress) -> ScaleOutcome:
    started = time.monotonic()
    begun = datetime.now(UTC).isoformat(timespec="seconds")
    stopped = None
    try:
        runs = run_study(study, out, context, progress)
    except MemoryGuard as guard:
        runs, stopped = guard.results, guard.concurrency
    collected = []
    jobs: list[dict[str, object]] = []
    warmups: list[dict[str, object]] = []
    for run in runs:
        results, events = collect_array(run, timed=study.spec.workload.kind != "idle")
        if run.repetition < 0:
            warmups += [{"arm": run.arm, **result.to_json()} for result in results]
            continue
        collected.append((run, results, events))
        for result in results:
            jobs.append(
                {"arm": run.arm, "concurrency": run.concurrency, "repetition": run.repetition,
                 "job": run.record.label, **result.to_json()}
            )  # fmt: skip
    points = summarize(collected, CONFIDENCE)
    seconds = time.monotonic() - started
    spec = study.spec
    run_info: dict[str, object] = {
        "study_file": str(study.path),
        "started": begun,
        "seconds": round(seconds, 1),
        "scheduler": spec.scheduler,
        "site": spec.site,
        "queue": spec.queue,
        "image": spec.image,
        "workload": spec.workload.model_dump(),
        "concurrencies": spec.concurrencies,
        "repetitions": spec.repetitions,
        "arms": [arm.model_dump() for arm in spec.arms],
        "warmups": [
            f"{w['arm']}: start {w['start_latency_s']:.3f} s, {w['cause'] or 'ok'}"
            if w["start_latency_s"] is not None
            else f"{w['arm']}: {w['cause']}"
            for w in warmups
        ],
        "jobs": [run.record.label for run in runs],
        "stopped_before": None
        if stopped is None
        else f"concurrency {stopped}: it would need over {spec.memory_share:.0%} of the available memory",
    }
    report = write_report(out, study.name, run_info, points, jobs)
    failures = sum(point.jobs - point.succeeded for point in points) + sum(1 for w in warmups if w["cause"])
    failures += stopped is not None  # the study did not run in full
    return ScaleOutcome(points, report, failures, seconds)
