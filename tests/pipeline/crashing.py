"""Killing the orchestrator with SIGKILL at named moments (hepstack.pipeline.faults) and at random ones, and
the checks that nothing was lost and nothing ran twice. Shared by the crash tests of every pipeline."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HEPSTACK = str(Path(sys.executable).parent / "hepstack")

# Each restart dies at its first arrival at the point named (if the pass it is in reaches it): a
# schedule that walks the moments of a run from its start to its end, twice over.
SCHEDULE = [
    "after-lease",
    "after-admit",
    "after-script-start",
    "after-intent",
    "after-jobdir",
    "after-submit",
    "after-record",
    "after-poll",
    "mid-outcomes",
    "after-outcomes",
    "after-finish",
    "after-script-start",
    "after-intent",
    "after-submit",
    "after-jobdir",
    "after-record",
    "after-poll",
    "mid-outcomes",
    "after-outcomes",
    "after-submit",
    "after-intent",
    "after-finish",
]


@dataclass
class CrashLog:
    kills: list[str] = field(default_factory=list)  # the moments at which a run was killed
    random_kills: int = 0


def run_with_crashes(
    env: dict[str, str], *, poll: str = "0.5", random_every: int = 3, seed: int = 7
) -> CrashLog:
    """Drive every stream to its end through repeated SIGKILLs (the schedule's named moments, with a kill
    at a random moment after every ``random_every`` of them), then once more without any."""
    log = CrashLog()
    argv = [HEPSTACK, "pipeline", "run", "--poll", poll, "--lease-ttl", "30"]
    rng = random.Random(seed)
    for number, point in enumerate(SCHEDULE, start=1):
        result = subprocess.run(
            argv,
            env={**os.environ, **env, "HEPSTACK_PIPELINE_CRASH": point},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode == -signal.SIGKILL:
            log.kills.append(point)
        elif result.returncode != 0:
            raise AssertionError(
                f"run (crash at {point}) exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        if _finished(env):
            break
        if number % random_every == 0:
            with subprocess.Popen(
                argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ) as child:
                time.sleep(
                    rng.uniform(0.1, 1.5)
                )  # a random moment: the point of this kill is not to choose it
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                    log.random_kills += 1
                child.wait()
            if _finished(env):
                break
    subprocess.run(argv, env={**os.environ, **env}, check=True, capture_output=True, timeout=900)
    return log


def _finished(env: dict[str, str]) -> bool:
    with sqlite3.connect(env["HEPSTACK_STATE_DB"].removeprefix("sqlite:///")) as connection:
        open_streams = connection.execute(
            "SELECT COUNT(*) FROM pipeline_streams "
            "WHERE parent_id IS NULL AND state IN ('WAITING', 'RUNNING')"
        ).fetchone()[0]
    return open_streams == 0


def check_exactly_once(env: dict[str, str]) -> dict[str, int]:
    """Every instance succeeded with exactly one attempt; every job task ran once (its claim, no duplicate
    mark); every submission is one scheduler job. Returns counts for the report."""
    with sqlite3.connect(env["HEPSTACK_STATE_DB"].removeprefix("sqlite:///")) as connection:
        states = connection.execute(
            "SELECT state, COUNT(*) FROM pipeline_instances WHERE current GROUP BY state"
        ).fetchall()
        assert dict(states).keys() == {"SUCCESS"}, states
        attempts = connection.execute(
            "SELECT i.id, COUNT(a.id), SUM(a.state = 'SUCCESS') FROM pipeline_instances i "
            "LEFT JOIN pipeline_attempts a ON a.instance_id = i.id GROUP BY i.id"
        ).fetchall()
        assert all(count == 1 and success == 1 for _, count, success in attempts), [
            a for a in attempts if a[1] != 1
        ]
        submissions = connection.execute(
            "SELECT state, native_id, job_name, jobdir, tasks FROM pipeline_submissions"
        ).fetchall()
    assert all(state == "DONE" for state, *_ in submissions), submissions
    natives = [native for _, native, *_ in submissions]
    assert len(natives) == len(set(natives)), "two submissions share one scheduler job"
    names = [name for _, _, name, *_ in submissions]
    assert len(names) == len(set(names))
    tasks = 0
    for _, _, _, jobdir, count in submissions:
        directory = Path(jobdir)
        assert not list(directory.glob("*.duplicate")), f"a task of {jobdir} was started twice"
        for index in range(1, count + 1):
            assert (directory / f"{index}.claim").is_dir() and (
                directory / f"{index}.exitcode"
            ).read_text().strip() == "0"
            tasks += 1
    jobs_root = Path(env["HEPSTACK_DATA_DIR"]) / "pipelines"
    recorded = {Path(jobdir) for *_, jobdir, _ in submissions}
    on_disk = {path for path in jobs_root.glob("*/jobs/*") if path.is_dir()}
    assert on_disk == recorded, f"job directories no submission owns: {sorted(on_disk - recorded)}"
    return {"instances": len(attempts), "submissions": len(submissions), "tasks": tasks}


def checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by relative path."""
    sums = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                sums[str(path.relative_to(directory))] = hashlib.file_digest(handle, "sha256").hexdigest()
    return sums
