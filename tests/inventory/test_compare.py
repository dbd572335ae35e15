"""The runtime comparison: facts from the runtime classes and their argv, this host's start latency
(measured by `hepstack doctor --compare` and recorded), speed from the newest recorded study, and the
batch systems each runtime ran pipeline jobs with here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.inventory.compare import ASPECTS, compare_runtimes, isolation_options
from hepstack.inventory.evidence import read_evidence, record_bench
from hepstack.runtimes import RUNTIMES, get_runtime
from tests.cli_in_process import run_cli
from tests.inventory.conftest import Toy


def test_every_runtime_says_every_aspect() -> None:
    for name in RUNTIMES:
        runtime = get_runtime(name)
        for label, attribute in ASPECTS:
            assert getattr(runtime, attribute), f"{name} has no {attribute} ({label})"


def test_the_options_are_those_of_hepstacks_own_command_line() -> None:
    podman = isolation_options(get_runtime("podman"))
    assert "--read-only" in podman and "--cap-drop=all" in podman
    assert "--userns=keep-id" in podman or "--user" in podman
    assert "--user" in isolation_options(get_runtime("docker"))
    assert isolation_options(get_runtime("apptainer")).startswith("exec --containall --cleanenv")


def test_doctor_compare_measures_records_and_shows(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    code, out, err = run_cli(capsys, "doctor", "--compare", "--repeats", "2")
    assert code == 0, err
    for label, _ in ASPECTS:
        assert label in out
    assert "start latency here" in out and "latency from measured now" in out
    lines = [line for line in read_evidence(toy.context) if line.kind == "latency"]
    assert len(lines) == 1 and "native" in lines[0].data["start_latency_ms"]
    rows = {row.name: row for row in compare_runtimes(toy.context)}  # what the dashboard shows
    assert rows["native"].latency_ms == lines[0].data["start_latency_ms"]["native"]
    assert (
        rows["native"].latency_from.startswith("hepstack doctor --compare")
        and "[e1]" in rows["native"].latency_from
    )


def test_speed_comes_from_the_newest_study(toy: Toy, tmp_path: Path) -> None:
    for number, speed in ((1, 0.9), (2, 1.02)):
        study = tmp_path / f"study{number}"
        study.mkdir()
        arms = {
            "native": {"runtime": "native", "workloads": {"job": {"groups": {"workers": {"score": None}}}}},
            "docker": {
                "runtime": "docker",
                "start_latency_s": {"median": 0.25},
                "workloads": {
                    "job": {
                        "groups": {"workers": {"score": {"relative_speed": speed, "interval": [0.98, 1.05]}}}
                    }
                },
            },
        }
        summary = {"baseline": "native", "run_info": {"study": f"s{number}"}, "arms": arms}
        (study / "summary.json").write_text(json.dumps(summary))
        record_bench(study, toy.context)
    docker = next(row for row in compare_runtimes(toy.context) if row.name == "docker")
    assert docker.speed == "1.020 [0.980, 1.050]" and "study s2/job arm docker" in docker.speed_from
    assert docker.latency_ms == 250.0 and "study s2" in docker.latency_from
