"""Fixtures for pipeline tests: a private state DB, data dir and sites directory per test, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEPSTACK = str(Path(sys.executable).parent / "hepstack")


@pytest.fixture
def pipeline_env(tmp_path: Path) -> dict[str, str]:
    """HEPSTACK_* for one test: state DB, data dir (job directories) and site files of its own."""
    sites = tmp_path / "sites"
    sites.mkdir()
    return {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_CACHE_DIR": str(tmp_path / "cache"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "HEPSTACK_SITES_PATH": str(sites),
    }


def hepstack_pipeline(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`hepstack pipeline ARGS` in a new process."""
    result = subprocess.run(
        [HEPSTACK, "pipeline", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"pipeline {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result
