"""Per arm and concurrency: throughput, percentiles, slowdown relative to concurrency 1, failures, memory.

- throughput: the succeeded jobs' events (and the jobs) over the makespan, from the submission of the
  array to the end of its last job, summed over repetitions: what the farm delivers, dispatch included;
- p50/p95/p99 of queue wait, start latency, wall time and the per-job median time per event;
- per-event slowdown: the per-event time at this concurrency over that at the arm's lowest one, with the
  interval of :func:`hepstack.bench.stats.score` (repetitions as rounds; one repetition: over events);
  and for a container arm, over the native arm's at the same concurrency, with its interval;
- failures counted by cause; memory: the host's high-water mark (MemTotal - MemAvailable) and how much
  above the level before the array it rose; the largest peak RSS of one job (its own job report);
- output: the bytes the jobs wrote and that over the makespan (what was achieved, not a capacity).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hepstack.runtimes import ran_on_host
from hepstack.scale.collect import JobResult
from hepstack.scale.submit import ArrayRun

if TYPE_CHECKING:
    import numpy as np

    from hepstack.bench.stats import Estimate

PERCENTILES = (50, 95, 99)


@dataclass
class Point:
    """One arm at one concurrency, all repetitions."""

    arm: str
    runtime: str
    concurrency: int
    jobs: int = 0
    succeeded: int = 0
    events: int = 0
    makespan_s: float = 0.0
    failures: Counter[str] = field(default_factory=Counter)
    queue_wait_s: list[float] = field(default_factory=list)
    start_latency_s: list[float] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    per_event_s: list[float] = field(default_factory=list)  # per-job medians
    rounds: list[list[float]] = field(default_factory=list)  # per repetition: every event's seconds
    memory_high_water_kb: int = 0
    memory_added_kb: int = 0
    maxrss_kb: int = 0
    output_bytes: int = 0
    intervals: list[tuple[float, float]] = field(default_factory=list)  # (launch, end) of each job
    slowdown: dict[str, object] | None = None
    versus_native: dict[str, object] | None = None  # per-event time over the native arm's, same concurrency

    @property
    def events_per_s(self) -> float:
        return self.events / self.makespan_s if self.makespan_s > 0 else 0.0

    @property
    def jobs_per_min(self) -> float:
        return 60 * self.succeeded / self.makespan_s if self.makespan_s > 0 else 0.0

    def add(self, run: ArrayRun, results: list[JobResult], events: list[float]) -> None:
        self.jobs += len(results)
        ends = [result.end for result in results if result.end is not None]
        self.makespan_s += (max(ends) if ends else run.finished_at) - run.submitted_at
        self.memory_high_water_kb = max(self.memory_high_water_kb, run.memory.high_water_kb)
        self.memory_added_kb = max(self.memory_added_kb, run.memory.added_kb)
        self.rounds.append(events)
        for result in results:
            if result.cause is not None:
                self.failures[result.cause] += 1
                continue
            self.succeeded += 1
            self.events += result.events
            for values, value in (
                (self.queue_wait_s, result.queue_wait_s),
                (self.start_latency_s, result.start_latency_s),
                (self.wall_s, result.wall_s),
                (self.per_event_s, result.per_event_median_s),
            ):
                if value is not None:
                    values.append(value)
            self.maxrss_kb = max(self.maxrss_kb, result.maxrss_kb or 0)
            self.output_bytes += result.output_bytes
            if result.launch is not None and result.end is not None:
                self.intervals.append((result.launch, result.end))

    def to_json(self) -> dict[str, object]:
        return {
            "arm": self.arm,
            "runtime": self.runtime,
            "concurrency": self.concurrency,
            "jobs": self.jobs,
            "repetitions": len(self.rounds),
            "succeeded": self.succeeded,
            "failed": self.jobs - self.succeeded,
            "failures": dict(self.failures),
            "events": self.events,
            "makespan_s": self.makespan_s,
            "events_per_s": self.events_per_s,
            "jobs_per_min": self.jobs_per_min,
            "queue_wait_s": percentiles(self.queue_wait_s),
            "start_latency_s": percentiles(self.start_latency_s),
            "wall_s": percentiles(self.wall_s),
            "per_event_s": percentiles(self.per_event_s),
            "per_event_slowdown": self.slowdown,
            "per_event_vs_native": self.versus_native,
            "memory_high_water_kb": self.memory_high_water_kb,
            "memory_added_kb": self.memory_added_kb,
            "job_peak_rss_kb": self.maxrss_kb,
            "output_bytes": self.output_bytes,
            "output_mb_per_s": self.output_bytes / 1e6 / self.makespan_s if self.makespan_s > 0 else 0.0,
        }


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    import numpy as np

    found = np.percentile(np.asarray(values, dtype=np.float64), PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)} | {"n": len(values)}


def summarize(
    collected: list[tuple[ArrayRun, list[JobResult], list[float]]], confidence: float
) -> list[Point]:
    """Points ordered by arm (first appearance) and concurrency, with their slowdowns filled in."""
    points: dict[tuple[str, int], Point] = {}
    arms: list[str] = []
    for run, results, events in collected:
        if run.arm not in arms:
            arms.append(run.arm)
        key = (run.arm, run.concurrency)
        point = points.setdefault(key, Point(run.arm, run.runtime, run.concurrency))
        point.add(run, results, events)
    ordered = sorted(points.values(), key=lambda point: (arms.index(point.arm), point.concurrency))
    _slowdowns(ordered, confidence)
    return ordered


def _slowdowns(points: list[Point], confidence: float) -> None:
    """Each point against its arm's lowest concurrency, and a container arm's against the native arm
    at the same concurrency (the container's own cost under the same load), with intervals."""
    import numpy as np

    from hepstack.bench.stats import BOOTSTRAP_SEED

    rng = np.random.default_rng(BOOTSTRAP_SEED)
    estimates = {id(point): _estimate(point, rng, confidence) for point in points}  # each bootstrapped once
    native_arm = next((point.arm for point in points if ran_on_host(point.runtime)), None)
    native = {point.concurrency: point for point in points if point.arm == native_arm}
    for arm in dict.fromkeys(point.arm for point in points):
        mine = [point for point in points if point.arm == arm]
        reference = estimates[id(mine[0])]
        mine[0].slowdown = {
            "relative_to_concurrency": mine[0].concurrency,
            "slowdown": 1.0,
            "interval": None,
            "method": "reference",
            "median_per_event_s": None if reference is None else reference.median,
        }
        for point in mine[1:]:
            found = _slowdown(reference, estimates[id(point)], rng)
            if found is not None:
                point.slowdown = {"relative_to_concurrency": mine[0].concurrency, **found}
        for point in mine if arm != native_arm else []:
            if point.concurrency in native:
                found = _slowdown(estimates[id(native[point.concurrency])], estimates[id(point)], rng)
                if found is not None:
                    point.versus_native = {"native_arm": native_arm, **found}


def _estimate(point: Point, rng: np.random.Generator, confidence: float) -> Estimate | None:
    import numpy as np

    from hepstack.bench.stats import estimate

    return estimate([np.asarray(r, dtype=np.float64) for r in point.rounds], rng, confidence=confidence)


def _slowdown(
    reference: Estimate | None, here: Estimate | None, rng: np.random.Generator
) -> dict[str, object] | None:
    """How many times slower ``here``'s events are than ``reference``'s, with the score's interval."""
    from hepstack.bench.stats import score

    if reference is None or here is None:
        return None
    found = score(reference, here, rng)  # reference / here: the speed; its inverse is the slowdown
    if found is None or found.relative_speed <= 0 or found.low <= 0:
        return None
    return {
        "slowdown": 1 / found.relative_speed,
        "interval": [1 / found.high, 1 / found.low],
        "method": found.method,
        "median_per_event_s": here.median,
    }
