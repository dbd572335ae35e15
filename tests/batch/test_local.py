"""The local scheduler end to end (native runtime, no container): submit, re-attach, logs, cancel,
task files, and the rule that a task that left the queue without an exit code is UNKNOWN."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.batch.conftest import batch_cli


def _wait_final(job: str, env: dict[str, str]) -> list[dict[str, object]]:
    result = batch_cli("jobs", job, "--watch", "--interval", "0.3", "--json", env=env)
    tasks: list[dict[str, object]] = json.loads(result.stdout)[0]["tasks"]
    return tasks


def _submit(env: dict[str, str], *arguments: str) -> str:
    result = batch_cli("submit", "--scheduler", "local", "--runtime", "native", *arguments, env=env)
    assert result.stdout.startswith("submitted job ")
    return result.stdout.split()[2]


def test_local_array_exit_codes_and_logs(state_env: dict[str, str]) -> None:
    script = 'echo "task $HEPSTACK_TASK_INDEX of $HEPSTACK_TASK_COUNT"; '
    script += "exit $(( HEPSTACK_TASK_INDEX == 3 ? 3 : 0 ))"
    job = _submit(state_env, "--tasks", "4", "localhost/lat/release:latest", "--", "sh", "-c", script)
    tasks = _wait_final(job, state_env)
    assert [(t["state"], t["exit_code"]) for t in tasks] == [
        ("COMPLETED", 0),
        ("COMPLETED", 0),
        ("FAILED", 3),
        ("COMPLETED", 0),
    ]
    assert batch_cli("logs", f"{job}.3", env=state_env).stdout == "task 3 of 4\n"
    every = batch_cli("logs", job, env=state_env).stdout
    assert "==> task 1" in every and "task 4 of 4" in every
    assert "3 COMPLETED, 1 FAILED(3)" in batch_cli("jobs", env=state_env).stdout


def test_task_file_lines_reach_the_command(state_env: dict[str, str], tmp_path: Path) -> None:
    task_file = tmp_path / "runs.txt"
    task_file.write_text("run-0007 'quoted $x'\n\nrun-0008\n")
    job = _submit(
        state_env, "--task-file", str(task_file), "img", "--", "sh", "-c", 'echo "[$HEPSTACK_TASK_INPUT]"'
    )
    assert [t["state"] for t in _wait_final(job, state_env)] == ["COMPLETED", "COMPLETED"]
    assert batch_cli("logs", f"{job}.1", env=state_env).stdout == "[run-0007 'quoted $x']\n"
    assert batch_cli("logs", f"{job}.2", env=state_env).stdout == "[run-0008]\n"


def test_cancel_and_unknown_without_exit_code(state_env: dict[str, str]) -> None:
    job = _submit(state_env, "--tasks", "2", "img", "--", "sleep", "60")
    deadline = time.monotonic() + 20
    data = Path(state_env["HEPSTACK_DATA_DIR"])
    while not list(data.glob("jobs/*/1.log")) and time.monotonic() < deadline:
        time.sleep(0.1)
    batch_cli("cancel", job, env=state_env)
    tasks = _wait_final(job, state_env)
    assert {t["state"] for t in tasks} == {"CANCELLED"}
    # Without a cancel on record, a task gone from the queue without its exit code is UNKNOWN, plainly.
    job = _submit(state_env, "img", "--", "sh", "-c", "kill -9 $PPID")  # kills the job script itself
    time.sleep(1.5)
    result = batch_cli("jobs", job, "--json", env=state_env)
    task = json.loads(result.stdout)[0]["tasks"][0]
    assert task["state"] == "UNKNOWN"
    assert "left the queue without an exit code" in task["detail"]
