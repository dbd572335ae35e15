"""A model of a farm running many short container jobs, fitted to a scaling study, and its projections.

Fitted from ``summary.json`` of ``hepstack scale run`` (one arm), at the concurrencies chosen for the fit:

- dispatch: jobs the scheduler starts per second, from the spread of an array's launches;
- start latency: s(k) = s0 + s1 * k for k concurrent jobs on one node (least squares on the p50s);
- per-event time: t(k) = t0 + t1 * k (least squares on the p50s). Measured: an event shorter than the
  CPU scheduler's slice hardly slows when k jobs share the cores (1.18 ms alone, 1.36 ms among 50 rootless
  podman jobs on 2 cores), so ``k / cores`` over-predicted it 20-fold;
- a job's fixed part: its wall time at the lowest concurrency minus its events' time and its start;
- an array's makespan: the longer of the pipeline (first wait, dispatch of the others, the last job's
  start and run) and the node's CPU (k jobs of the lowest concurrency's wall time on ``cores`` cores).

The fit is checked against the study's other concurrencies (:func:`check`): predicted vs measured start
latency, per-event time and makespan. :func:`project` then takes per-job costs to a farm: each stage that
every job passes through (scheduler dispatch, the state DB's bookkeeping, starts on the nodes, output
writes, the cores themselves) has a capacity in jobs per second; the smallest is the first bottleneck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

#: docs/pipelines.md: the orchestrator's SQLite state DB moved 1,120 process instances per CPU second at
#: L1 scale (6,024 instances for 2,835 crumbs: 2.12 per crumb); PostgreSQL 1,049.
SQLITE_INSTANCES_PER_S = 1120.0
L1_INSTANCES_PER_CRUMB = 6024 / 2835

REMEDIES = {
    "dispatch": "submit each chunk as one job array and keep several arrays in flight; raise the "
    "scheduler's per-pass depth (SLURM SchedulerParameters default_queue_depth, sched_min_interval)",
    "state DB": "PostgreSQL with batched state writes, or fewer bookkeeping instances per job",
    "node starts": "stage the image on every node first (hepstack stage), prefer an unpacked or SquashFS "
    "image (Charliecloud: no storage lock), or throttle the array (SLURM --array=...%N)",
    "output": "more storage servers or stage-out streams; fewer, larger output files",
    "cores": "none needed: the farm is compute-bound (more cores, or faster code)",
}


@dataclass(frozen=True)
class Fit:
    arm: str
    cores: int  # of the node the study ran on
    dispatch_jobs_per_s: float
    start_s0: float
    start_s1: float  # seconds of start latency per concurrent job on the node
    per_event_s: float  # t0
    per_event_growth_s: float  # t1: per concurrent job
    events_per_job: int
    job_fixed_s: float
    first_wait_s: float  # submission to the first launch (sbatch, one scheduler pass)
    concurrencies: list[int]

    def start_latency(self, k: int) -> float:
        return self.start_s0 + self.start_s1 * k

    def per_event(self, k: int) -> float:
        return self.per_event_s + self.per_event_growth_s * k

    @property
    def job_wall_s(self) -> float:
        """One job alone: start, events, fixed part."""
        return self.start_latency(1) + self.events_per_job * self.per_event(1) + self.job_fixed_s

    def makespan(self, k: int) -> float:
        """An array of k jobs on the node: first launch, the rest dispatched, the last one's run."""
        run = self.start_latency(k) + self.events_per_job * self.per_event(k) + self.job_fixed_s
        pipeline = (k - 1) / self.dispatch_jobs_per_s + run
        return self.first_wait_s + max(pipeline, k * self.job_wall_s / self.cores)


def _least_squares(x: list[float], y: list[float]) -> tuple[float, float]:
    if len(x) < 2:
        return (y[0], 0.0)
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    spread = sum((v - mean_x) ** 2 for v in x)
    slope = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y, strict=True)) / spread
    return mean_y - slope * mean_x, slope


def _dispatch_rate(jobs: list[dict[str, Any]]) -> float | None:
    launches = sorted(float(job["launch"]) for job in jobs if isinstance(job.get("launch"), float))
    if len(launches) < 2 or launches[-1] <= launches[0]:
        return None
    return (len(launches) - 1) / (launches[-1] - launches[0])


def fit(summary: dict[str, Any], arm: str, concurrencies: list[int]) -> Fit:
    """Fit the model to ``arm``'s points at ``concurrencies`` (at least the lowest and one more)."""
    points = {p["concurrency"]: p for p in summary["points"] if p["arm"] == arm}
    jobs = [j for j in summary["jobs"] if j["arm"] == arm and j["cause"] is None]
    chosen = sorted(k for k in concurrencies if k in points)
    if len(chosen) < 2:
        raise ValueError(f"fit needs two measured concurrencies of arm {arm}, got {chosen}")
    if any(points[k]["per_event_s"] is None for k in chosen):
        raise ValueError(f"arm {arm} has no per-event times (an idle workload?): fit to a cpu or recon study")
    host = summary["host"]
    cores = int(host.get("usable_cores") or host.get("logical_cores") or 1)
    s0, s1 = _least_squares([float(k) for k in chosen], [points[k]["start_latency_s"]["p50"] for k in chosen])
    low = points[chosen[0]]
    t0, t1 = _least_squares([float(k) for k in chosen], [points[k]["per_event_s"]["p50"] for k in chosen])
    per_event = t0 + t1 * chosen[0]
    events = max(1, round(low["events"] / max(1, low["succeeded"])))
    fixed = float(low["wall_s"]["p50"]) - float(low["start_latency_s"]["p50"]) - events * per_event
    rates = [
        rate
        for k in chosen[1:]
        if (rate := _dispatch_rate([j for j in jobs if j["concurrency"] == k and j["repetition"] == 1]))
        is not None
    ]
    waits = [float(j["queue_wait_s"]) for j in jobs if j["concurrency"] == chosen[0]]
    return Fit(
        arm=arm,
        cores=cores,
        dispatch_jobs_per_s=max(rates) if rates else math.inf,
        start_s0=s0,
        start_s1=max(0.0, s1),
        per_event_s=t0 if t1 >= 0 else t0 + t1 * chosen[0],  # no speed-up with more jobs: noise
        per_event_growth_s=max(0.0, t1),
        events_per_job=events,
        job_fixed_s=max(0.0, fixed),
        first_wait_s=sorted(waits)[len(waits) // 2] if waits else 0.0,
        concurrencies=chosen,
    )


@dataclass(frozen=True)
class Check:
    concurrency: int
    quantity: str
    predicted: float
    measured: float

    @property
    def ratio(self) -> float:
        return self.predicted / self.measured if self.measured else math.inf


def check(model: Fit, summary: dict[str, Any]) -> list[Check]:
    """Predicted vs measured at every concurrency of the arm not used for the fit."""
    checks = []
    for point in summary["points"]:
        k = point["concurrency"]
        if point["arm"] != model.arm or k in model.concurrencies or not point["succeeded"]:
            continue
        checks += [
            Check(k, "start latency p50 (s)", model.start_latency(k), point["start_latency_s"]["p50"]),
            Check(k, "per-event p50 (s)", model.per_event(k), point["per_event_s"]["p50"]),
            Check(k, "makespan (s)", model.makespan(k), point["makespan_s"] / point.get("repetitions", 1)),
        ]
    return checks


@dataclass(frozen=True)
class Farm:
    """A production shape: ``jobs`` jobs of ``job_wall_s`` each on ``cores`` cores."""

    name: str
    cores: int
    cores_per_node: int
    jobs: int
    job_wall_s: float
    instances_per_job: float = L1_INSTANCES_PER_CRUMB
    output_mb_per_job: float = 0.0


@dataclass(frozen=True)
class Costs:
    """Per-job costs of the farm's shared stages (measured, or a site's figures)."""

    dispatch_jobs_per_s: float
    start_s1: float  # growth of start latency per concurrent start on one node
    start_s0: float
    stage_s: float  # one image pull or conversion per node, before its first job
    db_instances_per_s: float = SQLITE_INSTANCES_PER_S
    storage_mb_per_s: float = math.inf


@dataclass(frozen=True)
class Projection:
    farm: Farm
    capacities: dict[str, float]  # jobs per second each stage sustains
    bottleneck: str  # the smallest capacity
    makespan_s: float
    remedy: str = field(default="")


def project(farm: Farm, costs: Costs) -> Projection:
    nodes = max(1, math.ceil(farm.cores / farm.cores_per_node))
    capacities = {
        "dispatch": costs.dispatch_jobs_per_s,
        "state DB": costs.db_instances_per_s / farm.instances_per_job,
        "node starts": nodes / costs.start_s1 if costs.start_s1 > 0 else math.inf,
        "output": costs.storage_mb_per_s / farm.output_mb_per_job if farm.output_mb_per_job else math.inf,
        "cores": farm.cores / farm.job_wall_s,
    }
    bottleneck = min(capacities, key=lambda name: capacities[name])
    rate = capacities[bottleneck]
    concurrent_per_node = min(farm.jobs, farm.cores) / nodes
    start = costs.start_s0 + costs.start_s1 * concurrent_per_node
    makespan = costs.stage_s + farm.jobs / rate + start + farm.job_wall_s
    return Projection(farm, capacities, bottleneck, makespan, REMEDIES[bottleneck])


def l1_and_mc(l1_job_s: float, mc_job_s: float, cores_per_node: int) -> list[Farm]:
    """The two shapes to project: L1 (3 deliveries x 3 runs x 7 chunks x 45 crumbs, docs/pipelines.md)
    on 1,500 and 3,000 cores, and FNAL-sized MC (one instance per job): 400,000 jobs on 100,000 cores,
    of ``mc_job_s`` and of 10 minutes."""
    crumbs = 3 * 3 * 7 * 45
    return [
        Farm("L1 1500 cores", 1500, cores_per_node, crumbs, l1_job_s, output_mb_per_job=0.35),
        Farm("L1 3000 cores", 3000, cores_per_node, crumbs, l1_job_s, output_mb_per_job=0.35),
        Farm("MC 100000 cores", 100_000, cores_per_node, 400_000, mc_job_s, instances_per_job=1.0),
        Farm(
            "MC 100000 cores, 10-minute jobs", 100_000, cores_per_node, 400_000, 600.0, instances_per_job=1.0
        ),
    ]
