"""Submissions on the real single-host SLURM and SGE (scripts/setup-schedulers.sh starts them).

As the non-root test user, with the example release image in its rootless podman store: a 21-task
array whose tasks 1..20 write an output file and succeed and whose task 21 exits 3. The submitting
process is killed right after it reports the submission; a new process re-attaches from the state DB.
Both arrays are submitted before either is waited for, so the two schedulers run side by side.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.conftest import BATCH_CLI, batch_cli
from tests.conftest import tool_works

TASKS = 21  # 20 that succeed and one (the last) that exits 3
COMMAND = (
    "test -x /usr/local/bin/lat-run || exit 99; "
    'echo "task $HEPSTACK_TASK_INDEX of $HEPSTACK_TASK_COUNT, release $LAT_RELEASE, uid $(id -u)" '
    "> /out/task-$HEPSTACK_TASK_INDEX.txt; "
    'echo "log of task $HEPSTACK_TASK_INDEX"; '
    '[ "$HEPSTACK_TASK_INDEX" -le 20 ] || { echo "task $HEPSTACK_TASK_INDEX fails on purpose" >&2; exit 3; }'
)
PING = {"slurm": ("sinfo", "--noheader"), "sge": ("qstat", "-g", "c")}


@dataclass(frozen=True)
class FarmJob:
    job: str
    out: Path
    env: dict[str, str]
    user: str


def _submit_and_kill(scheduler: str, image: str, out: Path, env: dict[str, str], user: str) -> str:
    """Submit as ``user``; SIGKILL the whole submitting process group as soon as it says "submitted"."""
    assignments = [f"{k}={v}" for k, v in env.items()]
    argv = [
        "runuser", "-u", user, "--", "env", *assignments, *BATCH_CLI, "submit",
        "--scheduler", scheduler, "--runtime", "podman", "--tasks", str(TASKS),
        "--bind", f"{out}:/out", image, "--", "sh", "-c", COMMAND,
    ]  # fmt: skip
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        error = child.stderr.read()
    assert line.startswith("submitted job "), (line, error)
    return line.split()[2]


@pytest.fixture(scope="module")
def farm_jobs(
    test_user: pwd.struct_passwd, rootless_image: str, shared_tmp: Path, user_env: dict[str, str]
) -> Iterator[dict[str, FarmJob]]:
    jobs: dict[str, FarmJob] = {}
    env = {**user_env, "HEPSTACK_STATE_DB": f"sqlite:///{shared_tmp}/user-state/state.sqlite"}
    for scheduler, ping in PING.items():
        if not tool_works(*ping):
            continue
        out = shared_tmp / f"farm-{scheduler}"
        out.mkdir()
        os.chown(out, test_user.pw_uid, test_user.pw_gid)
        job = _submit_and_kill(scheduler, rootless_image, out, env, test_user.pw_name)
        jobs[scheduler] = FarmJob(job, out, env, test_user.pw_name)
    yield jobs
    # The job directories go with shared_tmp: tasks still queued then would fail (SGE: Eqw) and hold
    # the queue for the next session. Cancel whatever is left (a no-op for finished jobs).
    for farm in jobs.values():
        batch_cli("cancel", farm.job, env=farm.env, user=farm.user, check=False)


def _check_farm(scheduler: str, farm_jobs: dict[str, FarmJob], test_user: pwd.struct_passwd) -> None:
    if scheduler not in farm_jobs:
        pytest.skip(f"{scheduler} does not answer here (run scripts/setup-schedulers.sh as root)")
    farm = farm_jobs[scheduler]
    # a new process, long after the submitter was killed: re-attach from the state DB and wait
    result = batch_cli("jobs", farm.job, "--watch", "--interval", "1", "--json", env=farm.env, user=farm.user)
    final = json.loads(result.stdout)
    tasks = final[0]["tasks"]
    states = {task["index"]: (task["state"], task["exit_code"]) for task in tasks}
    assert states == {**{i: ("COMPLETED", 0) for i in range(1, 21)}, 21: ("FAILED", 3)}, tasks
    for index in range(1, 21):
        output = farm.out / f"task-{index}.txt"
        assert output.read_text() == f"task {index} of {TASKS}, release 1.0, uid {test_user.pw_uid}\n"
        assert output.stat().st_uid == test_user.pw_uid  # owned by the user, not root or a subuid
    assert not (farm.out / "task-21.txt").read_text().startswith("task 20")
    log = batch_cli("logs", f"{farm.job}.21", env=farm.env, user=farm.user)
    assert "task 21 fails on purpose" in log.stdout
    assert "log of task 21" in log.stdout
    summary = batch_cli("jobs", env=farm.env, user=farm.user)
    assert "20 COMPLETED, 1 FAILED(3)" in summary.stdout


@pytest.mark.slurm
@pytest.mark.rootless
@pytest.mark.slow
def test_slurm_array_as_user(farm_jobs: dict[str, FarmJob], test_user: pwd.struct_passwd) -> None:
    _check_farm("slurm", farm_jobs, test_user)


@pytest.mark.sge
@pytest.mark.rootless
@pytest.mark.slow
def test_sge_array_as_user(farm_jobs: dict[str, FarmJob], test_user: pwd.struct_passwd) -> None:
    _check_farm("sge", farm_jobs, test_user)
