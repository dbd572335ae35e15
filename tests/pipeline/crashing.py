"""Killing the orchestrator with SIGKILL at named moments (hepstack.pipeline.faults) and at random ones, and
the checks that nothing was lost and nothing ran twice. Shared by the crash tests of every pipeline."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy

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
    env: dict[str, str], *, poll: str = "0.5", random_every: int = 3, seed: int = 7, tries: int = 40
) -> CrashLog:
    """Drive every stream to its end through repeated SIGKILLs, then once more without any.

    For each moment of the schedule, one pass at a time (``run --once``) until a pass reaches it and dies
    there (a pass that does not reach it simply does its work); after every ``random_every`` moments, a
    pass killed at a random moment."""
    log = CrashLog()
    argv = [HEPSTACK, "pipeline", "run", "--poll", poll, "--lease-ttl", "30"]
    rng = random.Random(seed)
    for number, point in enumerate(SCHEDULE, start=1):
        for _ in range(tries):
            result = subprocess.run(
                [*argv, "--once"],
                env={**os.environ, **env, "HEPSTACK_PIPELINE_CRASH": point},
                capture_output=True,
                text=True,
                timeout=600,
            )
            if result.returncode == -signal.SIGKILL:
                log.kills.append(point)
                break
            if result.returncode != 0:
                raise AssertionError(f"pass (crash at {point}) exited {result.returncode}:\n{result.stderr}")
            if _finished(env):
                return _finish(argv, env, log)
            time.sleep(0.2)  # the jobs of the pass run meanwhile; the next pass looks at them
        if number % random_every == 0 and not _finished(env):
            with subprocess.Popen(
                [*argv, "--once"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ) as child:
                # a random moment of a pass: its point is that nobody chose it
                time.sleep(rng.uniform(0.3, 1.2))
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
                    log.random_kills += 1
                child.wait()
        if _finished(env):
            break
    return _finish(argv, env, log)


def _finish(argv: list[str], env: dict[str, str], log: CrashLog) -> CrashLog:
    subprocess.run(argv, env={**os.environ, **env}, check=True, capture_output=True, timeout=900)
    return log


def _query(env: dict[str, str], sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` in the state DB of ``env`` (SQLite or PostgreSQL: the passwords come from files)."""
    url = env["HEPSTACK_STATE_DB"]
    options = {"passfile": env["PGPASSFILE"]} if "PGPASSFILE" in env and url.startswith("postgresql") else {}
    engine = sqlalchemy.create_engine(url, connect_args=options)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def _finished(env: dict[str, str]) -> bool:
    rows = _query(
        env,
        "SELECT COUNT(*) FROM pipeline_streams WHERE parent_id IS NULL AND state IN ('WAITING', 'RUNNING')",
    )
    return rows[0][0] == 0


def job_directories(env: dict[str, str]) -> set[Path]:
    return {path for path in (Path(env["HEPSTACK_DATA_DIR"]) / "pipelines").glob("*/jobs/*") if path.is_dir()}


def check_exactly_once(env: dict[str, str], others: frozenset[Path] = frozenset()) -> dict[str, int]:
    """Every instance succeeded with exactly one attempt; every job task ran once (its claim, no duplicate
    mark); every submission is one scheduler job; no job directory is left that no submission owns
    (``others``: those of another state DB sharing the data dir). Returns counts for the report."""
    states = _query(env, "SELECT state, COUNT(*) FROM pipeline_instances WHERE is_current GROUP BY state")
    assert {state for state, _ in states} == {"SUCCESS"}, states
    attempts = _query(
        env,
        "SELECT i.id, COUNT(a.id), SUM(CASE WHEN a.state = 'SUCCESS' THEN 1 ELSE 0 END) "
        "FROM pipeline_instances i LEFT JOIN pipeline_attempts a ON a.instance_id = i.id GROUP BY i.id",
    )
    assert all(count == 1 and success == 1 for _, count, success in attempts), [
        a for a in attempts if a[1] != 1
    ]
    submissions = _query(env, "SELECT state, native_id, job_name, jobdir, tasks FROM pipeline_submissions")
    assert all(state == "DONE" for state, *_ in submissions), submissions
    natives = [native for _, native, *_ in submissions]
    assert len(natives) == len(set(natives)), "two submissions share one scheduler job"
    names = [name for _, _, name, *_ in submissions]
    assert len(names) == len(set(names))
    tasks = 0
    for _, _, _, jobdir, count in submissions:
        directory = Path(str(jobdir))
        assert not list(directory.glob("*.duplicate")), f"a task of {jobdir} was started twice"
        for index in range(1, int(str(count)) + 1):
            assert (directory / f"{index}.claim").is_dir()
            assert (directory / f"{index}.exitcode").read_text().strip() == "0"
            tasks += 1
    recorded = {Path(str(jobdir)) for *_, jobdir, _ in submissions}
    on_disk = job_directories(env)
    assert on_disk - set(others) == recorded, (
        f"job directories no submission owns: {sorted(on_disk - recorded)}"
    )
    return {"instances": len(attempts), "submissions": len(submissions), "tasks": tasks}


def checksums(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory``, by relative path."""
    sums = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                sums[str(path.relative_to(directory))] = hashlib.file_digest(handle, "sha256").hexdigest()
    return sums
