"""The state DB on a real PostgreSQL server (scripts/setup-services.sh starts one, loopback only): the
crash-safe run again, and two orchestrators at once: one runs, the other names the holder of the lease;
SIGKILL the holder, and the other takes over and finishes, with no job submitted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.pipeline.conftest import HEPSTACK, hepstack_pipeline
from tests.pipeline.crashing import check_exactly_once, checksums, job_directories, run_with_crashes
from tests.pipeline.test_crash import TREE
from tests.services import endpoints


@pytest.fixture
def pg_env(pipeline_env: dict[str, str], postgres_database: URL) -> dict[str, str]:
    """The pipeline environment on a fresh PostgreSQL database; the password stays in its 0600 file
    (libpq's PGPASSFILE), never in a URL, an argv or a log."""
    info = endpoints.endpoint("postgresql")
    url = URL.create(
        postgres_database.drivername,
        username=postgres_database.username,
        host=postgres_database.host,
        port=postgres_database.port,
        database=postgres_database.database,
    ).render_as_string(hide_password=False)
    return {**pipeline_env, "HEPSTACK_STATE_DB": url, "PGPASSFILE": info["pgpass"]}


def _create(env: dict[str, str], tmp_path: Path, name: str) -> Path:
    path = tmp_path / "tree.yaml"
    path.write_text(TREE)
    out = tmp_path / name
    out.mkdir()
    hepstack_pipeline(
        "create",
        str(path),
        "--stream",
        "t1",
        "--var",
        f"OUT={out}",
        "--var",
        f"LEDGER={tmp_path / name}.ledger",
        env=env,
    )
    return out


def test_crash_safe_on_postgresql(
    tmp_path: Path, pg_env: dict[str, str], pipeline_env: dict[str, str]
) -> None:
    reference = _create(pipeline_env, tmp_path, "reference")
    hepstack_pipeline("run", "--poll", "0.5", env=pipeline_env, timeout=600)
    theirs = job_directories(pipeline_env)
    crashed = _create(pg_env, tmp_path, "crashed")
    log = run_with_crashes(pg_env)
    assert len(set(log.kills)) >= 10, log.kills
    counts = check_exactly_once(pg_env, frozenset(theirs))
    assert checksums(crashed) == checksums(reference)
    ran = (tmp_path / "crashed.ledger").read_text().splitlines()
    assert len(ran) == len(set(ran)) == counts["instances"]


def test_one_orchestrator_at_a_time_and_a_take_over_after_kill_9(
    tmp_path: Path, pg_env: dict[str, str]
) -> None:
    out = _create(pg_env, tmp_path, "out")
    environment = {**os.environ, **pg_env}
    argv = [HEPSTACK, "pipeline", "run", "--poll", "0.5", "--lease-ttl", "20"]
    with subprocess.Popen(
        argv, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as first:
        deadline = time.monotonic() + 60
        while not (tmp_path / "out.ledger").exists():  # the first one has taken the lease and started work
            assert time.monotonic() < deadline and first.poll() is None, "the first orchestrator did no work"
            time.sleep(0.1)
        second = hepstack_pipeline("run", "--poll", "0.5", env=pg_env, check=False)
        assert second.returncode == 2, second.stderr
        assert (
            f"is run by another orchestrator: pid {first.pid} on " in second.stderr
            and "hint:" in second.stderr
        )
        with subprocess.Popen(
            [*argv, "--wait"],
            env={**environment, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as waiting:
            assert waiting.stdout is not None
            said = waiting.stdout.readline()  # it says it waits (for the holder) before anything else
            first.send_signal(signal.SIGKILL)
            said_first, _ = first.communicate()
            assert first.returncode == -signal.SIGKILL, said_first
            rest, _ = waiting.communicate(timeout=600)
            said += rest
            assert waiting.returncode == 0, said
    assert f"waiting: pipeline tree is run by another orchestrator: pid {first.pid}" in said
    counts = check_exactly_once(pg_env)
    ran = (tmp_path / "out.ledger").read_text().splitlines()
    assert len(ran) == len(set(ran)) == counts["instances"]
    assert (out / "total.txt").read_text().count("\n") == 6
