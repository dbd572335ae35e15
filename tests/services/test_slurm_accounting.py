"""SLURM accounting through slurmdbd (scripts/setup-schedulers.sh): sacct keeps finished tasks' State and
ExitCode, and hepstack reads them right: exit 3 is FAILED 3, a cancelled task CANCELLED (not exit 0)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hepstack.batch import TaskState, get_scheduler
from hepstack.batch.executor import job_status
from hepstack.batch.states import QueueEntry
from hepstack.batch.store import JobRecord
from hepstack.proc import Completed
from tests.conftest import TEST_USER
from tests.services.polling import poll

pytestmark = pytest.mark.slurm

JOB_NAME = "hepstack-test-sacct"
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")


def sacct_lines(native_id: str) -> list[str]:
    argv = get_scheduler("slurm").accounting_argv(native_id)
    assert argv is not None
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout.splitlines()


def settled(native_id: str, tasks: int) -> bool:
    """Every task has its own final line: right after a task ends, slurmdbd may still show the array
    under its bare job id (``23|CANCELLED by 1001|0:0``) until slurmctld has sent the task records."""
    states = {line.split("|")[0]: line.split("|")[1] for line in sacct_lines(native_id)}
    return all(states.get(f"{native_id}_{i}", "").startswith(FINAL) for i in range(1, tasks + 1))


@pytest.fixture(scope="module")
def slurm_with_accounting() -> None:
    if shutil.which("sacct") is None:
        pytest.skip("no SLURM here (scripts/setup-schedulers.sh)")
    probe = subprocess.run(
        ["sacct", "--noheader", "-X", "-j", "1"], capture_output=True, text=True, check=False
    )
    if "accounting storage is disabled" in probe.stderr:
        pytest.fail("SLURM runs without accounting: scripts/setup-schedulers.sh configures slurmdbd")


@pytest.fixture(scope="module")
def job_dir(shared_tmp: Path, test_user: pwd.struct_passwd) -> Path:
    path = shared_tmp / "sacct-job"
    path.mkdir()
    os.chown(path, test_user.pw_uid, test_user.pw_gid)
    return path


def as_test_user(*argv: str) -> str:
    """Run ``argv`` as the test user (jobs are the users'); its output."""
    command = ["runuser", "-u", TEST_USER, "--", *argv]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def running_tasks(native_id: str) -> list[str]:
    argv = ["squeue", "--noheader", "--array", "--jobs", native_id, "--states=RUNNING", "--format=%K"]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30).stdout.split()


@pytest.fixture(scope="module")
def three_tasks(slurm_with_accounting: None, job_dir: Path) -> Iterator[str]:
    """An array of 3 tasks of the test user: 1 exits 0, 2 exits 3, 3 is cancelled while it runs."""
    body = 'case "$SLURM_ARRAY_TASK_ID" in 1) exit 0 ;; 2) exit 3 ;; *) exec sleep 120 ;; esac'
    submitted = as_test_user(
        "sbatch", "--parsable", "--array=1-3", f"--job-name={JOB_NAME}", f"--chdir={job_dir}",
        "--output=/dev/null", f"--wrap={body}",
    )  # fmt: skip
    native_id = submitted.strip().split(";")[0]
    try:
        poll(lambda: "3" in running_tasks(native_id), 60, f"task 3 of job {native_id} running")
        as_test_user("scancel", f"{native_id}_3")
        poll(lambda: settled(native_id, 3), 60, f"sacct records of job {native_id}")
        yield native_id
    finally:
        subprocess.run(["scancel", native_id], capture_output=True, check=False, timeout=30)


def test_sacct_reports_exit_codes_and_the_cancelled_task(three_tasks: str) -> None:
    fields = {line.split("|")[0]: line.split("|")[1:] for line in sacct_lines(three_tasks)}
    assert fields[f"{three_tasks}_1"] == ["COMPLETED", "0:0"]
    assert fields[f"{three_tasks}_2"] == ["FAILED", "3:0"]
    assert fields[f"{three_tasks}_3"][0].startswith("CANCELLED")


def test_hepstack_reads_the_accounting(three_tasks: str, job_dir: Path) -> None:
    # No <task>.exitcode files in the job directory: what hepstack says comes from sacct alone.
    record = JobRecord(
        id=0,
        native_id=three_tasks,
        scheduler="slurm",
        site=None,
        runtime="native",
        image="",
        image_id=None,
        tasks=3,
        jobdir=job_dir,
        script=job_dir / "job.sh",
        command=["true"],
        user=TEST_USER,
        submitted_at=datetime.now(UTC),
        cancelled_at=None,
    )
    statuses = [(status.state, status.exit_code) for status in job_status(record)]
    assert statuses == [(TaskState.COMPLETED, 0), (TaskState.FAILED, 3), (TaskState.CANCELLED, None)]


# sacct --noheader --parsable2 --format JobID,State,ExitCode as this host's SLURM 22.05 with slurmdbd
# printed it, per job: the .batch steps repeat their task and are skipped; a pending range is no task yet.
REAL_SACCT = {
    "23": "23_1|COMPLETED|0:0\n23_1.batch|COMPLETED|0:0\n23_2|FAILED|3:0\n23_2.batch|FAILED|3:0\n"
    "23_3|CANCELLED by 1001|0:0\n23_3.batch|CANCELLED|0:15\n",
    "27": "27_1|FAILED|0:11\n27_1.batch|CANCELLED|0:11\n27_2|FAILED|9:0\n27_2.batch|FAILED|9:0\n",
    "29": "29_1|TIMEOUT|0:0\n29_1.batch|CANCELLED|0:15\n",  # sbatch --time=1, sleep 300
    "51": "51_[1-3]|PENDING|0:0\n",  # sbatch --hold --array=1-3
}


COMPLETED, FAILED, CANCELLED = TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED


@pytest.mark.parametrize(
    ("native_id", "expected"),
    [
        # a cancelled task's 0:0 is no exit code; nor is a timed-out one's
        ("23", {1: (COMPLETED, "COMPLETED", 0), 2: (FAILED, "FAILED", 3), 3: (CANCELLED, "CANCELLED", None)}),
        ("29", {1: (FAILED, "TIMEOUT", None)}),
        # kill -SEGV $$: 128 + 11, as a shell says; 9:0 is SLURM's word for a shell that died of SIGKILL
        ("27", {1: (FAILED, "FAILED", 139), 2: (FAILED, "FAILED", 9)}),
        ("51", {}),
    ],
)
def test_parse_real_sacct_output(
    native_id: str, expected: dict[int, tuple[TaskState, str, int | None]]
) -> None:
    result = Completed(["sacct"], 0, REAL_SACCT[native_id], "")
    tasks = get_scheduler("slurm").parse_accounting(result, native_id)
    assert tasks == {task: QueueEntry(*entry) for task, entry in expected.items()}
