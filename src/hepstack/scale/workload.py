"""What one scaling job runs: the workload's command inside a small timing wrapper, and its binds.

The job script (batch/templates) execs the runtime; the runtime runs ``sh -c WRAPPER``, which notes
the time it starts (inside the container), runs the workload in the task's own directory and writes
``times``: the host time just before the runtime was exec'd (bash's ``$EPOCHREALTIME`` expanded by the
job script, passed as HEPSTACK_SCALE_LAUNCH), its own start, its end and the exit code. Start latency
is start - launch; the wrapper itself is ``sh`` and ``date`` (a few ms), in every arm alike.
"""

from __future__ import annotations

from pathlib import Path

from hepstack.quoting import job_variable
from hepstack.runtimes import Bind
from hepstack.scale.study import ScaleStudy

TIMES = "times"  # launch start end exit-code, seconds since the epoch
TIMING_DB = "timing.db"
OUTPUTS = ("out.root", "recon.root")  # deleted once read: only the timing is kept
LAUNCH_VARIABLE = "HEPSTACK_SCALE_LAUNCH"

WRAPPER = (
    "t1=$(date +%s.%N); "
    'd="$1/$HEPSTACK_TASK_INDEX"; shift; '
    'mkdir -p "$d" && cd "$d" || exit 97; '
    '"$@"; rc=$?; '
    "t2=$(date +%s.%N); "
    f'printf "%s %s %s %s\\n" "${LAUNCH_VARIABLE}" "$t1" "$t2" "$rc" >{TIMES}.tmp && mv {TIMES}.tmp {TIMES}; '
    'exit "$rc"'
)


def workload_command(study: ScaleStudy, seed: int) -> list[str]:
    """The workload's command (lat-run, or sleep), relative to the task's directory."""
    workload = study.spec.workload
    if workload.kind == "idle":
        return ["sleep", f"{workload.seconds:g}"]
    if workload.kind == "cpu":
        return [
            "lat-run", "artstudy", "-q", "-n", str(workload.events), "--seed", str(seed),
            "--set", f"physics.producers.generate.length={workload.vector_length}",
            "-o", "out.root", "--timing-db", TIMING_DB,
        ]  # fmt: skip
    inputs = study.inputs_dir
    assert inputs is not None  # the study file's check
    return [
        "lat-run", "recon", "-q", "-s", str(inputs / "digi.root"),
        "--set", "source.firstEntry=0", "--set", f"source.lastEntry={workload.events}",
        "-o", "recon.root", "--timing-db", TIMING_DB,
    ]  # fmt: skip


def job_command(study: ScaleStudy, array_dir: Path, seed: int) -> list[str]:
    return ["sh", "-c", WRAPPER, "hepstack-scale", str(array_dir), *workload_command(study, seed)]


def job_env(arm_env: dict[str, str]) -> dict[str, str]:
    """The arm's environment plus the launch time, expanded by the job script just before the runtime."""
    return {**arm_env, LAUNCH_VARIABLE: job_variable("EPOCHREALTIME")}


def job_binds(study: ScaleStudy, runs_dir: Path, read_only_binds: bool) -> list[Bind]:
    """The runs directory (read-write, same path inside) and the inputs (read-only where possible)."""
    binds = [Bind(str(runs_dir), str(runs_dir))]
    inputs = study.inputs_dir
    if inputs is not None:
        binds.append(Bind(str(inputs), str(inputs), read_only=read_only_binds))
    return binds
