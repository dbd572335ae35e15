"""``hepstack bench STUDY`` end to end with the native runtime: a 4x slower module, an identical arm, verify.

The workload (tests/bench/workload.py) does real numpy work per event and writes an art TimeTracker
database; arm native-slow does the `work` module's sorting four times (an effect large enough to be
called significant in 6 rounds on a machine busy with other work, where twice was not). Event sizes
vary over a factor four and every arm gets the same seed per repetition, so identical arms see
identical events; the interval comes from the spread of the per-round ratios (hepstack.bench.stats).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from hepstack.bench.runner import round_order
from tests.bench.helpers import run_cli, workload_command


def write_study(
    path: Path, arms: list[dict[str, Any]], *, extra: tuple[str, ...] = (), **settings: Any
) -> Path:
    study = {
        "study": "toy",
        "image": "host",
        "events": 60,
        "repetitions": 3,
        "warmup": 1,
        "start_latency_runs": 2,
        **settings,
        "workloads": [{"name": "sorter", "command": workload_command(*extra), "outputs": ["*.txt"]}],
        "arms": arms,
    }
    path.write_text(json.dumps(study, indent=2))  # JSON is YAML
    return path


ROUNDS = 6  # a whole Williams cycle of 3 arms
CONFIDENCE = 0.99  # identical arms called different in ~0.6 % of simulated 6-round studies, not ~3 %


@pytest.fixture(scope="module")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    root = tmp_path_factory.mktemp("study")
    study = write_study(
        root / "study.yaml",
        [
            {"name": "native", "runtime": "native"},
            {"name": "native-copy", "runtime": "native"},
            {
                "name": "native-slow",
                "runtime": "native",
                "env": {"BENCH_SLOWDOWN": "4", "BENCH_JOB_REPORT": "1"},
            },
        ],
        repetitions=ROUNDS,
        confidence=CONFIDENCE,
    )
    result = run_cli("bench", str(study), "--per-module", "--output", str(root / "report"), cwd=root)
    assert result.returncode == 0, result.stderr
    return result, root / "report"


@pytest.fixture(scope="module")
def summary(study_run: tuple[subprocess.CompletedProcess[str], Path]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((study_run[1] / "summary.json").read_text())
    return data


def _workers(summary: dict[str, Any], arm: str) -> dict[str, Any]:
    group: dict[str, Any] = summary["arms"][arm]["workloads"]["sorter"]["groups"]["workers"]
    return group


def test_four_times_the_work_is_slower_and_significant(summary: dict[str, Any]) -> None:
    score = _workers(summary, "native-slow")["score"]

    assert 0.15 < score["relative_speed"] < 0.5, score
    assert score["interval"][1] < 1, score
    assert score["significant"] is True
    assert score["method"] == "rounds-t"
    work = next(
        m for m in summary["arms"]["native-slow"]["workloads"]["sorter"]["modules"] if m["label"] == "work"
    )
    assert 0.15 < work["score"]["relative_speed"] < 0.4  # the module that does it, about a quarter as fast


def test_identical_arms_are_never_called_materially_different(summary: dict[str, Any]) -> None:
    """The interval reaches within 5 % of equal speed. Whether it covers 1 exactly is a coin that lands
    wrong in 1 - CONFIDENCE of studies by design (test_stats checks that rate on 1000 simulated studies),
    and on a shared CI machine a neighbour can shift one arm of a short study by 2 % (seen: [1.018, …]):
    a real measurement, not a fault of bench. A bench that confidently called identical arms 5 % apart
    would fail here; on a noisy machine the interval is wide, which is the honest answer."""
    score = _workers(summary, "native-copy")["score"]
    low, high = score["interval"]

    assert low <= score["relative_speed"] <= high, score
    assert low < 1.05 and high > 0.95, score
    assert score["significant"] is (low > 1 or high < 1)
    assert len(_workers(summary, "native-copy")["repetition_medians"]) == ROUNDS
    assert _workers(summary, "native-copy")["stats"]["n"] == ROUNDS * 60  # all repetitions pooled
    assert summary["statistics"]["confidence"] == CONFIDENCE


def test_terminal_table_and_report_path(study_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, report = study_run

    slow = next(line for line in result.stdout.splitlines() if "native-slow" in line and "│ workers" in line)
    assert re.search(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\] \*", slow)
    assert "p1:work:SortModule" in result.stdout and "p2:hist:Histogrammer" in result.stdout
    assert (
        f"outputs: sorter / native-slow vs native: equal in all {ROUNDS} repetitions (1 file each)"
        in result.stdout
    )
    assert result.stdout.rstrip().endswith(f"report: {report / 'report.html'}")


def test_arms_interleaved_after_warm_up(
    study_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    progress = [line for line in study_run[0].stderr.splitlines() if line.startswith("bench: ")]
    order = [re.search(r"(?:\]|warm-up \S+)\s+(\S+)", line).group(1)  # type: ignore[union-attr]
             for line in progress if " sorter " in line]  # fmt: skip

    warm_up = ["native", "native-copy", "native-slow"]
    williams = ["native", "native-copy", "native-slow", "native-copy", "native-slow", "native",
                "native-slow", "native", "native-copy", "native-slow", "native-copy", "native",
                "native", "native-slow", "native-copy", "native-copy", "native", "native-slow"]  # fmt: skip
    assert order == warm_up + williams  # each arm in each place, and after each other arm, twice
    assert any("start latency" in line for line in progress)


def test_round_order_balances_places_and_predecessors() -> None:
    for count in (2, 3, 4, 5, 6):
        arms = [f"arm{index}" for index in range(count)]
        cycle = [round_order(arms, index) for index in range(count if count % 2 == 0 else 2 * count)]
        places = Counter((arm, place) for order in cycle for place, arm in enumerate(order))
        pairs = Counter(pair for order in cycle for pair in itertools.pairwise(order))
        assert all(sorted(order) == arms for order in cycle)
        assert len(set(places.values())) == 1, places  # each arm in each place equally often
        assert len(pairs) == count * (count - 1) and len(set(pairs.values())) == 1, (
            pairs
        )  # and after each other


def test_outputs_verified_and_checksummed(summary: dict[str, Any]) -> None:
    arms = summary["arms"]
    for arm in ("native-copy", "native-slow"):
        verify = arms[arm]["workloads"]["sorter"]["verify"]
        assert verify["equal"] is True
        assert [run["files_compared"] for run in verify["runs"]] == [["result.txt"]] * ROUNDS
    checksums = {
        arm: [rep["output_sha256"]["result.txt"] for rep in arms[arm]["workloads"]["sorter"]["repetitions"]]
        for arm in arms
    }
    assert checksums["native"] == checksums["native-copy"] == checksums["native-slow"]
    assert len(set(checksums["native"])) == ROUNDS  # each repetition its own seed


def test_outputs_are_deleted_once_verified_but_timing_databases_stay(
    summary: dict[str, Any], study_run: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    assert summary["run_info"]["outputs_kept"] is False
    runs = study_run[1] / "runs" / "sorter"
    assert not list(runs.glob("*/rep*/result.txt"))  # verified and checksummed above, then deleted
    assert len(list(runs.glob("*/rep*/timing.db"))) == 3 * ROUNDS
    assert not list(runs.glob("*/warmup1/result.txt"))  # warm-up outputs: deleted when the run ends
    assert len(list(runs.glob("*/warmup1/timing.db"))) == 3


def test_keep_outputs_keeps_them(tmp_path: Path) -> None:
    study = write_study(
        tmp_path / "study.yaml",
        [{"name": "native", "runtime": "native"}, {"name": "again", "runtime": "native"}],
        repetitions=2,
        events=10,
    )
    result = run_cli(
        "bench", str(study), "--keep-outputs", "--output", str(tmp_path / "report"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "report" / "runs" / "sorter").glob("*/rep*/result.txt"))) == 4
    assert len(list((tmp_path / "report" / "runs" / "sorter").glob("*/warmup*/result.txt"))) == 2
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["run_info"]["outputs_kept"] is True
    assert summary["arms"]["again"]["workloads"]["sorter"]["verify"]["equal"] is True


def test_summary_json_run_host_and_resources(summary: dict[str, Any]) -> None:
    assert {"study", "start_utc", "end_utc", "hepstack_version", "repetitions"} <= set(summary["run_info"])
    assert {"hostname", "cpu_model", "logical_cores", "memory_bytes", "kernel", "os"} <= set(summary["host"])
    native = summary["arms"]["native"]
    assert native["runtime"] == "native" and native["image"]["reference"] == "host"
    assert len(native["start_latency_s"]["runs"]) == 2
    repetition = native["workloads"]["sorter"]["repetitions"][0]
    assert repetition["resources_from"] == "rusage"
    # python + numpy: tens of MB, measured from a small launcher so hepstack's own RSS does not leak in
    assert 15_000 < repetition["resources"]["maxrss_kb"] < 1_000_000
    assert repetition["resources"]["cpu_user_s"] > 0.05
    reported = summary["arms"]["native-slow"]["workloads"]["sorter"]["repetitions"][0]
    assert reported["resources_from"] == "job report"
    assert reported["resources"]["maxrss_kb"] == reported["job_report"]["maxrss_kb"]
    assert set(summary["arms"]["native"]["workloads"]["sorter"]["process"]) == {
        "wall_s", "cpu_user_s", "cpu_sys_s", "maxrss_kb"
    }  # fmt: skip


def test_report_files(study_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    from PIL import Image

    _, report = study_run
    html = (report / "report.html").read_text()
    markdown = (report / "table.md").read_text()

    assert "| test | modules | median time (sec/event) | speed relative to native [99 % CI] |" in markdown
    assert f"equal in all {ROUNDS} repetitions" in markdown and f"equal in all {ROUNDS} repetitions" in html
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    for png in report.glob("*.png"):
        with Image.open(png) as image:
            image.verify()
    assert (report / "runs" / "sorter" / "native-slow" / "rep03" / "timing.db").is_file()


def test_failing_workload_names_arm_command_and_stderr(tmp_path: Path) -> None:
    study = write_study(tmp_path / "study.yaml", [{"name": "native", "runtime": "native"}], extra=("--fail",))

    result = run_cli("bench", str(study), "--output", str(tmp_path / "r"))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error = result.stderr[result.stderr.index("error: ") :]
    assert error.startswith(
        f"error: workload 'sorter' failed in arm 'native' (warmup1) with exit code 3: {sys.executable} "
    )
    assert "  | workload: calibration file not found: /nonexistent/calib.yaml" in error
    assert "hint: full output: " in error


def test_workload_without_timing_database(tmp_path: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(
        "study: t\nimage: host\nevents: 1\nwarmup: 0\nworkloads: [{name: w, command: ['true']}]\n"
        "arms: [{name: native, runtime: native}]\n"
    )

    result = run_cli("bench", "run", str(study), "--output", str(tmp_path / "r"))

    assert result.returncode == 2
    assert "exited 0 but wrote no timing database at" in result.stderr
    assert "hint: pass {timing_db} to the command" in result.stderr
