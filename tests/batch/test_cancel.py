"""`hepstack cancel` stops the container, on the real SLURM, SGE and the local executor (docs/cancel.md).

As the non-root test user: one `sleep` task per scheduler x engine (podman rootless, docker), all
submitted before any is waited for. Each is cancelled once it runs; within 30 s no container, no
conmon and no payload process of it may remain, and its state must be CANCELLED with the scheduler's
confirmation. The payload is ``sh -c 'sleep 300.N; :'`` as the container's PID 1, which ignores
SIGTERM: only a stop by the runtime ends it. ``300.N`` is unique, so pgrep finds exactly this task.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.batch.conftest import batch_cli
from tests.conftest import tool_works

DOCKER = "/usr/bin/docker"
SCHEDULERS = {"slurm": ("sinfo", "--noheader"), "sge": ("qstat", "-g", "c"), "local": ("true",)}
ENGINES = {"podman": ("podman", "--version"), "docker": (DOCKER, "info")}
GONE_WITHIN = 30.0


@dataclass(frozen=True)
class Submitted:
    scheduler: str
    runtime: str
    job: str
    marker: str  # the payload's unique sleep argument


def _ps() -> list[str]:
    return subprocess.run(
        ["ps", "-ww", "-eo", "args="], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def _container_name(marker: str) -> str | None:
    """The name the job gave its container, read from the engine client's command line."""
    for line in _ps():
        found = re.search(r"--name (hepstack-\S+) ", line)
        if found and marker in line:
            return found[1]
    return None


def _leftovers(name: str, marker: str, env: dict[str, str], user: str) -> list[str]:
    """Everything of the task still alive: engine containers of that name, conmon, payload processes."""
    left = [line for line in _ps() if marker in line or ("conmon" in line.split(" ", 1)[0] and name in line)]
    podman = subprocess.run(
        ["runuser", "-u", user, "--", "env", *[f"{k}={v}" for k, v in env.items()], "podman", "ps", "-a",
         "--format", "{{.Names}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    docker = subprocess.run([DOCKER, "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True)
    names = podman.stdout.split() + docker.stdout.split()
    return left + [f"container {n}" for n in names if n == name]


@pytest.mark.slurm
@pytest.mark.sge
@pytest.mark.rootless
@pytest.mark.docker
@pytest.mark.slow
def test_cancel_stops_the_container_everywhere(
    test_user: pwd.struct_passwd,
    rootless_image: str,
    docker_image: str,
    shared_tmp: Path,
    user_env: dict[str, str],
) -> None:
    env = {**user_env, "HEPSTACK_STATE_DB": f"sqlite:///{shared_tmp}/user-state/cancel.sqlite"}
    user = test_user.pw_name
    combinations = [
        (scheduler, engine)
        for scheduler, ping in SCHEDULERS.items()
        if tool_works(*ping)
        for engine, probe in ENGINES.items()
        if tool_works(*probe)
    ]
    if not combinations:
        pytest.skip("no scheduler and engine answer here (scripts/setup-schedulers.sh, setup-host.sh)")
    submitted = []
    for number, (scheduler, engine) in enumerate(combinations):
        marker = f"300.{os.getpid()}{number:02d}"
        image = rootless_image if engine == "podman" else docker_image
        result = batch_cli(
            "submit", "--scheduler", scheduler, "--runtime", engine, image, "--", "sh", "-c",
            f"sleep {marker}; :", env=env, user=user,
        )  # fmt: skip
        submitted.append(Submitted(scheduler, engine, result.stdout.split()[2], marker))
    names: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while len(names) < len(submitted) and time.monotonic() < deadline:
        for task in submitted:
            name = names.get(task.job) or _container_name(task.marker)
            running = any(f"sleep {task.marker}" in line for line in _ps())
            if name and running:
                names[task.job] = name
        time.sleep(0.5)  # between two looks at the process table
    assert len(names) == len(submitted), f"not all tasks started: {submitted} {names}"

    started = time.monotonic()
    with ThreadPoolExecutor(len(submitted)) as pool:
        answers = list(pool.map(lambda t: batch_cli("cancel", t.job, env=env, user=user), submitted))
    cancel_seconds = time.monotonic() - started
    for task, answer in zip(submitted, answers, strict=True):
        assert f"confirmed by {task.scheduler}" in answer.stdout, (task, answer.stdout, answer.stderr)
    remaining: dict[str, list[str]] = {}
    while time.monotonic() - started < GONE_WITHIN:
        remaining = {t.job: _leftovers(names[t.job], t.marker, env, user) for t in submitted}
        remaining = {job: left for job, left in remaining.items() if left}
        if not remaining:
            break
        time.sleep(0.5)  # between two counts
    gone_seconds = time.monotonic() - started
    print(
        f"cancel: {len(submitted)} tasks, confirmed in {cancel_seconds:.1f} s, gone in {gone_seconds:.1f} s"
    )
    assert not remaining, remaining
    for task in submitted:
        shown = json.loads(batch_cli("jobs", task.job, "--json", env=env, user=user).stdout)
        assert [t["state"] for t in shown[0]["tasks"]] == ["CANCELLED"], (task, shown)
    # a finished job is reported as finished, not cancelled again
    again = batch_cli("cancel", submitted[0].job, env=env, user=user)
    assert "had already finished" in again.stdout, again.stdout


def _charliecloud_leftovers(marker: str) -> list[str]:
    """ch-run execs the payload (no container, no daemon): what is left is any process of the task."""
    return [line for line in _ps() if marker in line]


@pytest.mark.slurm
@pytest.mark.sge
@pytest.mark.rootless
@pytest.mark.charliecloud
def test_cancel_stops_charliecloud_tasks_everywhere(
    test_user: pwd.struct_passwd,
    small_image: tuple[str, str],
    shared_tmp: Path,
    user_env: dict[str, str],
) -> None:
    """The same matrix for ch-run (its tree made by the job in the node cache): within 30 s no ch-run or
    payload process of a cancelled task remains, and each is CANCELLED with the scheduler's word."""
    env = {
        **user_env,
        "HEPSTACK_STATE_DB": f"sqlite:///{shared_tmp}/user-state/cancel-ch.sqlite",
        "HEPSTACK_CACHE_DIR": f"{shared_tmp}/user-state/cache-cancel-ch",
    }
    user = test_user.pw_name
    schedulers = [scheduler for scheduler, ping in SCHEDULERS.items() if tool_works(*ping)]
    submitted = []
    for number, scheduler in enumerate(schedulers):
        marker = f"300.{os.getpid()}{number:02d}9"
        result = batch_cli(
            "submit", "--scheduler", scheduler, "--runtime", "charliecloud", small_image[0], "--", "sh", "-c",
            f"sleep {marker}; :", env=env, user=user,
        )  # fmt: skip
        submitted.append(Submitted(scheduler, "charliecloud", result.stdout.split()[2], marker))
    deadline = time.monotonic() + 120
    waiting = list(submitted)
    while waiting and time.monotonic() < deadline:
        waiting = [t for t in waiting if not any(line.startswith(f"sleep {t.marker}") for line in _ps())]
        time.sleep(0.5)  # between two looks at the process table
    assert not waiting, f"not all tasks started: {waiting}"

    started = time.monotonic()
    with ThreadPoolExecutor(len(submitted)) as pool:
        answers = list(pool.map(lambda t: batch_cli("cancel", t.job, env=env, user=user), submitted))
    for task, answer in zip(submitted, answers, strict=True):
        assert f"confirmed by {task.scheduler}" in answer.stdout, (task, answer.stdout, answer.stderr)
    remaining: dict[str, list[str]] = {}
    while time.monotonic() - started < GONE_WITHIN:
        remaining = {t.job: _charliecloud_leftovers(t.marker) for t in submitted}
        remaining = {job: left for job, left in remaining.items() if left}
        if not remaining:
            break
        time.sleep(0.5)  # between two counts
    print(f"cancel charliecloud: {len(submitted)} tasks gone in {time.monotonic() - started:.1f} s")
    assert not remaining, remaining
    for task in submitted:
        shown = json.loads(batch_cli("jobs", task.job, "--json", env=env, user=user).stdout)
        assert [t["state"] for t in shown[0]["tasks"]] == ["CANCELLED"], (task, shown)
