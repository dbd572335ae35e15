"""A study with a container arm next to native, through the real engines, in the example release image.

The toy workload sits in the workload's inputs directory, bound into the container at the same path, so
the command line is the same in both arms; natively, `python3` is this venv's (numpy), in the image the
release's own.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.bench.helpers import WORKLOAD, run_cli
from tests.conftest import tool_works

# slow: the example stack is built once per session (tests.conftest.example_images)
RUNTIMES = [
    pytest.param("podman", marks=[pytest.mark.podman, pytest.mark.slow]),
    pytest.param("docker", marks=[pytest.mark.podman, pytest.mark.docker, pytest.mark.slow]),
    pytest.param("charliecloud", marks=[pytest.mark.podman, pytest.mark.charliecloud, pytest.mark.slow]),
]
# ch-run --version refuses to run without $USER (which the charliecloud runtime sets for its own runs)
NEEDS = {
    "podman": ("podman", "info"),
    "docker": ("docker", "info"),
    "charliecloud": ("env", "USER=x", "ch-run", "--version"),
}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_container_arm_against_native(tmp_path: Path, example_images: dict[str, str], runtime: str) -> None:
    if not tool_works(*NEEDS[runtime]):
        pytest.skip(f"{runtime} does not work here (run scripts/setup-host.sh)")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(WORKLOAD, inputs / "workload.py")
    command = ["python3", "{input}/workload.py", "--events", "{events}", "--seed", "{seed}",
               "--output", "{output}", "--timing-db", "{timing_db}"]  # fmt: skip
    study = {
        "study": "engines",
        "image": example_images["release"],
        "events": 30,
        "repetitions": 2,
        "warmup": 1,
        "start_latency_runs": 2,
        "workloads": [{"name": "sorter", "inputs": "inputs", "command": command, "outputs": ["*.txt"]}],
        "arms": [
            {
                "name": "native",
                "runtime": "native",
                "env": {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
            },
            {"name": runtime, "runtime": runtime},
        ],
    }
    (tmp_path / "study.yaml").write_text(json.dumps(study))

    result = run_cli("bench", str(tmp_path / "study.yaml"), "--output", str(tmp_path / "report"), timeout=900)

    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    arm = summary["arms"][runtime]
    assert arm["runtime"] == runtime
    assert arm["image"]["id"], arm["image"]  # the image id the engine ran
    assert arm["start_latency_s"]["median"] > 0
    assert arm["workloads"]["sorter"]["verify"]["equal"] is True  # same physics in the container
    assert arm["workloads"]["sorter"]["groups"]["workers"]["score"]["relative_speed"] > 0
    expected = "rusage" if runtime == "charliecloud" else "rusage of the client only"
    assert arm["workloads"]["sorter"]["repetitions"][0]["resources_from"].startswith(expected)
