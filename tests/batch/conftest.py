"""Fixtures for batch tests. The real-engine fixtures (test user, release image in its rootless store)
come from tests/integration/conftest.py, imported here rather than duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch.small_image import small_image  # noqa: F401 - a fixture, used by name
from tests.integration.conftest import (  # noqa: F401 - fixtures, used by name
    docker_image,
    image_archive,
    release_ref,
    rootless_image,
    shared_tmp,
    test_user,
    user_env,
)

# Until `from hepstack.cli import batch` is in cli/__init__.py's _register(), load the commands first.
BATCH_CLI = [
    sys.executable,
    "-c",
    "import sys, hepstack.cli.batch; from hepstack.cli import main; sys.argv[0] = 'hepstack'; main()",
]


def batch_cli(
    *args: str, env: dict[str, str] | None = None, user: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """hepstack's batch commands in a new process (as ``user`` through runuser when given)."""
    argv = [*BATCH_CLI, *args]
    if user is not None:
        assignments = [f"{k}={v}" for k, v in (env or {}).items()]
        argv = ["runuser", "-u", user, "--", "env", *assignments, *argv]
        environment = None
    else:
        environment = {**os.environ, **(env or {})}
    result = subprocess.run(argv, capture_output=True, text=True, env=environment, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def state_env(tmp_path: Path) -> dict[str, str]:
    """A private data dir and state DB for one test run as the current user."""
    return {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "HEPSTACK_SITES_PATH": str(tmp_path / "sites"),
    }
