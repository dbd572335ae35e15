"""16 concurrent `hepstack run --runtime charliecloud` on a cold node cache: one conversion, 16 successes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK

pytestmark = [pytest.mark.podman, pytest.mark.charliecloud, pytest.mark.slow]


def test_sixteen_concurrent_runs_convert_once(example_images: dict[str, str], tmp_path: Path) -> None:
    if shutil.which("ch-run") is None:
        pytest.skip("ch-run not installed")
    cache = tmp_path / "cold-cache"
    environment = {**os.environ, "HEPSTACK_CACHE_DIR": str(cache), "USER": os.environ.get("USER", "root")}
    runs = [
        subprocess.Popen(
            [HEPSTACK, "run", "--runtime", "charliecloud", "lat/base", "--", "sh", "-c", f"echo run-{index}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for index in range(16)
    ]
    outcomes = [(run.wait(300), *run.communicate()) for run in runs]
    failures = [outcome for outcome in outcomes if outcome[0] != 0]
    assert not failures, failures[:2]
    assert sorted(outcome[1].strip() for outcome in outcomes) == sorted(f"run-{i}" for i in range(16))
    conversions = (cache / "conversions.log").read_text().splitlines()
    assert len(conversions) == 1, conversions
    trees = [path for path in (cache / "charliecloud").iterdir() if path.is_dir()]
    assert len(trees) == 1 and not trees[0].name.startswith(".")
