"""Run one measured process: wall time, and CPU time and peak memory of the child from ``wait4``.

:mod:`hepstack.proc` is the runner for everything else; a measured run needs the workload's ``rusage``,
which only ``wait4`` on its pid gives, so it has this small runner of its own (argv list, never a shell;
output to log files; logged like proc's).

For podman and docker the container's processes are children of conmon or containerd, not of us: the
``rusage`` then covers only the client (``podman run``), so a workload's own job report
(``<timing_db>.job.json`` with ``wall_s``, ``cpu_user_s``, ``cpu_sys_s``, ``maxrss_kb``) is preferred
when it exists. ch-run and the native runtime exec into the workload, so their ``rusage`` is complete.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hepstack.errors import HepstackError

log = logging.getLogger("hepstack.bench")
JOB_REPORT_KEYS = ("wall_s", "cpu_user_s", "cpu_sys_s", "maxrss_kb")


@dataclass(frozen=True)
class Resources:
    wall_s: float
    cpu_user_s: float
    cpu_sys_s: float
    maxrss_kb: float

    def to_json(self) -> dict[str, float]:
        return {
            "wall_s": self.wall_s,
            "cpu_user_s": self.cpu_user_s,
            "cpu_sys_s": self.cpu_sys_s,
            "maxrss_kb": self.maxrss_kb,
        }


@dataclass(frozen=True)
class Measured:
    """One finished process: exit code, our measurements, and where its output went."""

    returncode: int
    resources: Resources  # wall, CPU and peak RSS of the workload, from the launcher's wait4
    stdout: Path
    stderr: Path


# Linux carries a process's RSS high-water mark across exec, so a child forked from hepstack (tens of MB
# with numpy loaded) reports at least hepstack's RSS as its own peak. A small launcher (python -I -S, a
# few MB) forks the workload instead and reports the workload's wait4 rusage: peaks below the launcher's
# few MB are the only ones it cannot see.
LAUNCHER = """
import json, os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"cannot start {argv[0]}: {exc.strerror}\\n".encode())
    os._exit(127)
_pid, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as file:
    json.dump([wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss], file)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def run_measured(argv: list[str], env: Mapping[str, str], log_base: Path) -> Measured:
    """Run ``argv`` with exactly ``env`` through the launcher; stdout/stderr go to ``log_base``.out/.err."""
    log.debug("bench run: %s", " ".join(argv))
    stdout, stderr = (log_base.with_name(log_base.name + suffix) for suffix in (".out", ".err"))
    usage_file = log_base.with_name(log_base.name + ".rusage.json")
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(usage_file), *argv]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        try:
            child = subprocess.run(  # noqa: S603 - argv list, never a shell
                launcher, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=dict(env), check=False
            )
        except OSError as exc:
            raise HepstackError(f"cannot start {sys.executable}: {exc.strerror}") from None
    try:
        wall, user, system, maxrss = json.loads(usage_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise HepstackError(
            f"the measuring launcher did not report the run of {argv[0]} (exit code {child.returncode})",
            hint=f"see {stderr}",
        ) from None
    resources = Resources(float(wall), float(user), float(system), float(maxrss))  # Linux: maxrss in KiB
    return Measured(child.returncode, resources, stdout, stderr)


def read_job_report(path: Path) -> Resources | None:
    """The workload's own ``*.job.json`` if it exists and has the four numbers, else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HepstackError(f"cannot read job report {path}: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(key), (int, float)) for key in JOB_REPORT_KEYS
    ):
        raise HepstackError(
            f"job report {path} lacks numbers for {', '.join(JOB_REPORT_KEYS)}",
            hint="the workload writes <timing_db>.job.json; fix or remove it",
        )
    return Resources(*(float(data[key]) for key in JOB_REPORT_KEYS))


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
