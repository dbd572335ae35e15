"""Script steps: short commands on the orchestrator's host (the experiment's planners), run in the background
and watched through files, exactly like jobs, so that killing the orchestrator loses nothing.

Each attempt has a directory (``<data dir>/pipelines/<pipeline>/scripts/i<instance>-a<attempt>/``) with
``run.lock``, ``started``, ``log``, ``summary.json`` and, written last, ``exitcode``. The script inherits an
exclusive lock on ``run.lock`` and holds it until it exits: an orchestrator that starts again finds a
script of its predecessor still running (the lock is taken) or ended (its exit code, or no exit code and a
free lock: it died), and a script that never started (no ``started``) is simply started now. A script is
never run twice for one attempt.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hepstack.context import Context
from hepstack.pipeline.graph import InstanceView
from hepstack.pipeline.outcome import Ended
from hepstack.pipeline.template import fill, fill_arguments

# The wrapper notes the start, runs the command, then writes the exit code atomically (bash, not Python:
# it must outlive the orchestrator).
_WRAPPER = (
    'printf "pid=%s\\nstart=%s\\nhost=%s\\n" "$$" "$(date +%s.%N)" "$(hostname)" >started.tmp && '
    "mv -f started.tmp started; "
    '"$@"; status=$?; printf "%s\\n" "$status" >exitcode.tmp && mv -f exitcode.tmp exitcode'
)


@dataclass(frozen=True)
class ScriptRun:
    directory: Path
    running: bool  # its lock is held: it runs (perhaps not far enough yet to have written `started`)
    ended: Ended | None  # None while it runs, or when it never started
    pid: int | None

    @property
    def never_started(self) -> bool:
        return not self.running and self.ended is None


def attempt_dir(context: Context, instance: InstanceView, attempt: int) -> Path:
    return (
        context.data_dir
        / "pipelines"
        / instance.stream.pipeline.name
        / "scripts"
        / f"i{instance.id}-a{attempt}"
    )


def start(instance: InstanceView, attempt: int, inputs: dict[str, list[str]], context: Context) -> Path:
    """Start the script of ``instance`` for ``attempt`` in the background; its attempt directory."""
    directory = attempt_dir(context, instance, attempt)
    context.data_path("pipelines", instance.stream.pipeline.name, "scripts", directory.name)
    for stale in ("started", "exitcode", "summary.json"):
        (directory / stale).unlink(missing_ok=True)  # a start that never happened, tried again
    spec = instance.step.spec
    scalars = instance.scalars()
    assert spec.script is not None
    argv = fill_arguments(spec.script, scalars, inputs)
    defaults = instance.stream.pipeline.spec.defaults
    environment = dict(os.environ)
    environment.update(
        {k: fill(v, scalars) for k, v in (spec.env if spec.env is not None else defaults.env).items()}
    )
    environment.update(
        HEPSTACK_SUMMARY=str(directory / "summary.json"),
        HEPSTACK_PIPELINE=instance.stream.pipeline.name,
        HEPSTACK_STREAM=instance.stream.address,
        HEPSTACK_STEP=instance.step.name,
        HEPSTACK_INSTANCE=instance.address,
    )
    lock = os.open(directory / "run.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with (directory / "log").open("ab") as log:
            log.write(f"# {instance.address} attempt {attempt}: {' '.join(argv)}\n".encode())
            log.flush()
            subprocess.Popen(  # noqa: S603 - argv list, never a shell string (the wrapper is fixed text)
                ["/bin/bash", "-c", _WRAPPER, "hepstack-script", *argv],
                cwd=directory,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(lock,),
                start_new_session=True,  # not killed with the orchestrator; its own process group
            )
    finally:
        os.close(lock)
    return directory


def look(directory: Path) -> ScriptRun:
    """What the attempt in ``directory`` is doing now."""
    started = _fields(directory / "started")
    pid = int(started["pid"]) if started.get("pid", "").isdigit() else None
    host = started.get("host") or socket.gethostname()
    start_time = _float(started.get("start"))
    code_path = directory / "exitcode"
    try:
        code_text = code_path.read_text(encoding="utf-8").strip()
        ended_at = code_path.stat().st_mtime
    except OSError:
        code_text, ended_at = "", None
    summary = directory / "summary.json"
    if code_text.lstrip("-").isdigit():
        code = int(code_text)
        return ScriptRun(
            directory, False, Ended("EXITED", code, None, host, start_time, ended_at, None, summary), pid
        )
    if not _lock_is_free(directory / "run.lock"):
        return ScriptRun(directory, True, None, pid)
    if not started:
        return ScriptRun(directory, False, None, None)  # it never started: start it (again)
    ended = Ended(
        "UNKNOWN", None, "the script ended without writing its exit code", host, start_time, None, None, None
    )
    return ScriptRun(directory, False, ended, pid)


def stop(run: ScriptRun) -> None:
    """Kill the script's process group (its time is up, or its stream was cancelled)."""
    if run.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.pid, signal.SIGTERM)


def _lock_is_free(path: Path) -> bool:
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def _fields(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
