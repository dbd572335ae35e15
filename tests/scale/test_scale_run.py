"""A reduced scaling study through the real single-host SLURM (partition `scale`), as the test user:
concurrencies 1 and 4, native and rootless podman, the light cpu workload. It must produce
summary.json, table.txt, four PNGs and report.html, with every job accounted for and none failed."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HEPSTACK, tool_works

NATIVE_PATH = "/opt/lat-native/bin:/usr/local/bin:/usr/bin:/bin"
STUDY = """\
study: reduced
scheduler: slurm
queue: scale
image: {image}
workload: {{kind: cpu, events: 10}}
concurrencies: [1, 4]
timeout: 300
arms:
  - {{name: native, runtime: native, env: {{PATH: "{path}"}}}}
  - {{name: podman, runtime: podman}}
"""


def _run_study(
    text: str, name: str, test_user: pwd.struct_passwd, shared_tmp: Path, user_env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    if not tool_works("sinfo", "--noheader", "--partition", "scale"):
        pytest.skip("no SLURM partition scale (scripts/setup-schedulers.sh makes it)")
    if not Path("/opt/lat-native/bin/lat-run").exists():
        pytest.skip("the example is not installed natively (examples/lat/install-native.sh)")
    home = shared_tmp / name
    home.mkdir()
    os.chown(home, test_user.pw_uid, test_user.pw_gid)
    study = home / "study.yaml"
    study.write_text(text)
    study.chmod(0o644)
    out = home / "out"
    assignments = [f"{k}={v}" for k, v in user_env.items()]
    argv = ["runuser", "-u", test_user.pw_name, "--", "env", *assignments,
            HEPSTACK, "scale", "run", str(study), "--output", str(out)]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    return result, out


@pytest.fixture(scope="module")
def study_run(
    test_user: pwd.struct_passwd, rootless_image: str, shared_tmp: Path, user_env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    text = STUDY.format(image=rootless_image, path=NATIVE_PATH)
    return _run_study(text, "scale-run", test_user, shared_tmp, user_env)


@pytest.fixture(scope="module")
def summary(study_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    result, out = study_run
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return data


def test_every_job_succeeded_and_is_accounted_for(summary: dict[str, Any]) -> None:
    assert summary["failures"] == 0
    points = {(p["arm"], p["concurrency"]): p for p in summary["points"]}
    assert set(points) == {("native", 1), ("native", 4), ("podman", 1), ("podman", 4)}
    for (_arm, concurrency), point in points.items():
        assert (point["jobs"], point["succeeded"], point["failures"]) == (concurrency, concurrency, {})
        assert point["events"] == 10 * concurrency  # every job's TimeTracker DB, 10 events each
        assert point["events_per_s"] > 0 and point["jobs_per_min"] > 0
        assert point["memory_high_water_kb"] > 0 and 0 < point["job_peak_rss_kb"] < 1_000_000
    assert len(summary["jobs"]) == 10
    assert len({job["job"] for job in summary["jobs"]}) == 4  # one array per concurrency x arm


def test_times_are_ordered_and_podman_starts_slower_than_native(summary: dict[str, Any]) -> None:
    for job in summary["jobs"]:
        assert job["launch"] <= job["start"] <= job["end"], job
        assert job["queue_wait_s"] >= 0 and job["exit_code"] == 0
        assert job["output_bytes"] > 1000  # its out.root, measured before it was deleted
    points = {(p["arm"], p["concurrency"]): p for p in summary["points"]}
    # a rootless podman container takes at least a tenth of a second to start; sh + date natively ~ms
    for concurrency in (1, 4):
        native = points[("native", concurrency)]["start_latency_s"]["p50"]
        podman = points[("podman", concurrency)]["start_latency_s"]["p50"]
        assert podman > max(0.1, native), (native, podman)
    assert points[("podman", 4)]["per_event_slowdown"]["relative_to_concurrency"] == 1


def test_container_arms_are_compared_with_native_at_the_same_concurrency(summary: dict[str, Any]) -> None:
    points = {(p["arm"], p["concurrency"]): p for p in summary["points"]}
    for concurrency in (1, 4):
        versus = points[("podman", concurrency)]["per_event_vs_native"]
        low, high = versus["interval"]
        assert versus["native_arm"] == "native" and low <= versus["slowdown"] <= high, versus
        # one repetition per point: the interval is over events (bench's "events" bootstrap)
        assert versus["method"] == "events" and low > 0 and high < 100
        assert points[("native", concurrency)]["per_event_vs_native"] is None


def test_report_files(
    study_run: tuple[subprocess.CompletedProcess[str], Path], summary: dict[str, Any]
) -> None:
    result, out = study_run
    table = (out / "table.txt").read_text()
    assert "failures: none" in table and "podman x4" in table and "native x1" in table
    assert "vs native [CI]" in table.splitlines()[0]
    assert "podman x4" in result.stdout and "report: " in result.stdout
    for name in ("start-latency.png", "slowdown.png", "throughput.png", "timeline.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "hepstack scale: reduced" in page


def test_an_idle_workload_measures_starts_without_per_event_times(
    test_user: pwd.struct_passwd, rootless_image: str, shared_tmp: Path, user_env: dict[str, str]
) -> None:
    text = (
        STUDY.format(image=rootless_image, path=NATIVE_PATH)
        .replace("{kind: cpu, events: 10}", "{kind: idle, seconds: 2}")
        .replace("[1, 4]", "[1, 3]")
        + "warmup: 0\n"
    )
    result, out = _run_study(text, "scale-idle", test_user, shared_tmp, user_env)

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failures"] == 0
    for point in summary["points"]:
        assert point["succeeded"] == point["concurrency"] and point["events"] == 0, point
        assert point["per_event_s"] is None and point["start_latency_s"]["n"] == point["concurrency"]
    for job in summary["jobs"]:
        assert job["wall_s"] - job["start_latency_s"] >= 2.0, job  # the sleep, inside the container
    podman = [line for line in result.stdout.splitlines() if line.startswith("podman x3")][-1]  # the table's
    assert " - " in podman  # no per-event column to show
