"""The farm model's arithmetic: the fit recovers known costs, the projection names the smallest capacity."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from hepstack.scale.model import SQLITE_INSTANCES_PER_S, Costs, Farm, check, fit, project
from tests.conftest import hepstack


def _summary(
    s0: float, s1: float, rate: float, per_event: float, cores: int = 2, growth: float = 1e-6
) -> dict[str, Any]:
    """A study of arm podman at 1, 10, 50 and 100 jobs that follows the model exactly."""
    points, jobs = [], []
    for k in (1, 10, 50, 100):
        start = s0 + s1 * k
        event = per_event + growth * k
        wall = start + 20 * event + 0.5
        alone = s0 + s1 + 20 * (per_event + growth) + 0.5
        points.append({
            "arm": "podman", "concurrency": k, "succeeded": k, "events": 20 * k, "repetitions": 1,
            "start_latency_s": {"p50": start}, "per_event_s": {"p50": event}, "wall_s": {"p50": wall},
            "makespan_s": 0.3 + max((k - 1) / rate + wall, k * alone / cores),
        })  # fmt: skip
        for task in range(k):
            jobs.append({"arm": "podman", "concurrency": k, "repetition": 1, "cause": None,
                         "launch": 1000.0 + task / rate, "queue_wait_s": 0.3})  # fmt: skip
    return {"host": {"usable_cores": cores}, "points": points, "jobs": jobs}


def test_fit_recovers_the_costs_and_predicts_the_held_out_points() -> None:
    summary = _summary(s0=0.4, s1=0.02, rate=25.0, per_event=0.001)

    model = fit(summary, "podman", [1, 10, 50])

    assert model.start_s0 == pytest.approx(0.4) and model.start_s1 == pytest.approx(0.02)
    assert model.dispatch_jobs_per_s == pytest.approx(25.0)
    assert (model.per_event_s, model.events_per_job, model.cores) == (pytest.approx(0.001), 20, 2)
    assert model.per_event_growth_s == pytest.approx(1e-6)
    assert model.job_fixed_s == pytest.approx(0.5)
    checks = check(model, summary)
    assert [(c.concurrency, c.quantity) for c in checks] == [
        (100, "start latency p50 (s)"), (100, "per-event p50 (s)"), (100, "makespan (s)"),
    ]  # fmt: skip
    for item in checks:
        assert item.ratio == pytest.approx(1.0), item
    alone = 0.4 + 0.02 + 20 * (0.001 + 1e-6) + 0.5  # one job's wall: the node's CPU time per job
    assert model.job_wall_s == pytest.approx(alone)
    assert model.makespan(100) == pytest.approx(
        0.3 + max(99 / 25 + 0.4 + 2.0 + 20 * (0.001 + 1e-4) + 0.5, 100 * alone / 2)
    )


def test_fit_needs_two_concurrencies() -> None:
    with pytest.raises(ValueError, match="two measured concurrencies"):
        fit(_summary(0.4, 0.02, 25.0, 0.001), "podman", [1, 7])


def test_projection_names_the_smallest_capacity() -> None:
    costs = Costs(dispatch_jobs_per_s=50.0, start_s1=0.01, start_s0=0.3, stage_s=30.0, storage_mb_per_s=100.0)
    farm = Farm("L1", cores=1600, cores_per_node=32, jobs=2835, job_wall_s=2.0, output_mb_per_job=0.5)

    result = project(farm, costs)

    assert result.capacities["dispatch"] == 50.0
    assert result.capacities["state DB"] == pytest.approx(SQLITE_INSTANCES_PER_S * 2835 / 6024)
    assert result.capacities["node starts"] == pytest.approx(50 / 0.01)
    assert result.capacities["output"] == pytest.approx(200.0)
    assert result.capacities["cores"] == pytest.approx(800.0)
    assert result.bottleneck == "dispatch" and "job array" in result.remedy
    per_node = 1600 / 50  # 2835 jobs > 1600 cores: every core busy, 32 a node
    assert result.makespan_s == pytest.approx(30.0 + 2835 / 50 + 0.3 + 0.01 * per_node + 2.0)


def test_compute_bound_farm_and_no_output() -> None:
    costs = Costs(dispatch_jobs_per_s=500.0, start_s1=0.0, start_s0=0.3, stage_s=0.0)
    farm = Farm("MC", cores=100_000, cores_per_node=32, jobs=400_000, job_wall_s=3600.0, instances_per_job=1)

    result = project(farm, costs)

    assert math.isinf(result.capacities["node starts"]) and math.isinf(result.capacities["output"])
    assert result.bottleneck == "cores" and result.capacities["cores"] == pytest.approx(100_000 / 3600)


def test_cli_fits_checks_and_projects(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary(s0=0.4, s1=0.02, rate=25.0, per_event=0.001)))

    result = hepstack("scale", "model", str(path), "--fit", "1,10,50", "--stage-s", "20")

    lines = result.stdout.splitlines()
    assert lines[0].startswith("fit (podman at [1, 10, 50]): dispatch 25.0 jobs/s, start 0.400 s + 20.0 ms")
    assert [line.split(":")[0] for line in lines[1:4]] == ["check x100"] * 3
    assert all("(ratio 1.00)" in line for line in lines[1:4])
    assert lines[4].startswith("L1 1500 cores: 2835 jobs on 1500 cores: capacities (jobs/s) dispatch 25")
    assert "first bottleneck: dispatch" in lines[4]
    assert lines[6].startswith("MC 100000 cores: 400000 jobs") and "first bottleneck: dispatch" in lines[6]


def test_cli_refuses_a_summary_without_the_arm(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary(s0=0.4, s1=0.02, rate=25.0, per_event=0.001)))

    result = hepstack("scale", "model", str(path), "--arm", "docker", check=False)

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot fit the model to {path}: fit needs two measured")
    assert "hint: " in result.stderr
