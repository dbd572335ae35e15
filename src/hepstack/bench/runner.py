"""Run a study: warm-up, start latency, then the measured runs interleaved in a carry-over-balanced order.

Interleaving spreads slow drifts of the host (thermal throttling, a neighbour's job, page cache) over every
arm alike instead of charging them to whichever arm ran last. Rotating the order each round puts every arm
in every slot equally often: with a fixed order the baseline would always follow the same arm (and
whatever that arm leaves behind — a docker daemon tearing its container down, dirty pages being flushed)
and always precede another, a bias that interleaving alone does not remove. Rounds: A B C, B C A, C A B, ...

Each run gets a fresh output directory, bound into the container at the same path as on the host (inputs
too, read-only), and is its working directory, so the command line is identical in every arm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hepstack.bench.execute import Measured, Resources, read_job_report, run_measured, tail
from hepstack.bench.study import Arm, Study, Workload
from hepstack.errors import HepstackError

if TYPE_CHECKING:
    from hepstack.bench.verdict import Verdict
    from hepstack.catalog.resolve import ResolvedImage
    from hepstack.context import Context
    from hepstack.runtimes import Bind, Runtime

Progress = Callable[[str], None]
RoundDone = Callable[["StudyRun", Workload, int], None]  # after every arm ran one workload's repetition
WarmupDone = Callable[[Path, Path, Workload], None]  # a warm-up run's output directory and timing database
Item = TypeVar("Item")


@dataclass(frozen=True)
class ArmSetup:
    arm: Arm
    runtime: Runtime
    image: ResolvedImage


@dataclass(frozen=True)
class RunRecord:
    """One finished run of one workload in one arm."""

    arm: str
    workload: str
    repetition: int  # 1-based; warm-up runs are not kept
    output_dir: Path
    timing_db: Path
    measured: Measured
    job_report: Resources | None

    @property
    def resources(self) -> Resources:
        """Wall time as we measured it; CPU and peak RSS from the job report when there is one."""
        own = self.measured.resources
        if self.job_report is None:
            return own
        return Resources(
            own.wall_s, self.job_report.cpu_user_s, self.job_report.cpu_sys_s, self.job_report.maxrss_kb
        )


@dataclass
class StudyRun:
    study: Study
    output_dir: Path
    setups: dict[str, ArmSetup]
    started: datetime
    finished: datetime | None = None
    runs: list[RunRecord] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)  # filled round by round (bench/outputs.py)
    # (arm, workload, repetition) -> output file -> sha256, filled round by round
    checksums: dict[tuple[str, str, int], dict[str, str]] = field(default_factory=dict)

    def repetitions(self, arm: str, workload: str) -> list[RunRecord]:
        return [run for run in self.runs if run.arm == arm and run.workload == workload]

    def round(self, workload: str, repetition: int) -> dict[str, RunRecord]:
        """Every arm's run of ``workload`` in ``repetition``, by arm."""
        return {
            run.arm: run for run in self.runs if run.workload == workload and run.repetition == repetition
        }


def run_study(
    study: Study,
    output_dir: Path,
    context: Context,
    progress: Progress,
    on_round: RoundDone | None = None,
    on_warmup: WarmupDone | None = None,
) -> StudyRun:
    """Execute every run of ``study`` into ``output_dir``/runs; raise on the first failing run.

    ``on_round`` is called after each round (every arm ran one workload's repetition), ``on_warmup``
    after each warm-up run (whose outputs nothing reads).
    """
    result = StudyRun(study, output_dir, arm_setups(study, context), started=datetime.now(UTC))
    spec = study.spec
    for round_index in range(1, spec.warmup + 1):
        for workload in spec.workloads:
            for setup in result.setups.values():
                run = _run_workload(study, setup, workload, output_dir, f"warmup{round_index}", context)
                if on_warmup is not None:
                    on_warmup(run.output_dir, run.timing_db, workload)
                wall = run.measured.resources.wall_s
                progress(
                    f"warm-up {round_index}/{spec.warmup}  {setup.arm.name:<14} {workload.name}  {wall:.2f} s"
                )
    _measure_start_latency(result, context, progress)
    total = spec.repetitions * len(spec.workloads) * len(result.setups)
    for repetition in range(1, spec.repetitions + 1):
        for workload in spec.workloads:
            for setup in round_order(list(result.setups.values()), repetition - 1):
                run = _run_workload(study, setup, workload, output_dir, f"rep{repetition:02d}", context)
                name = setup.arm.name
                result.runs.append(
                    RunRecord(
                        name,
                        workload.name,
                        repetition,
                        run.output_dir,
                        run.timing_db,
                        run.measured,
                        run.job_report,
                    )
                )
                progress(
                    f"[{len(result.runs):>{len(str(total))}}/{total}] {name:<14} {workload.name}  "
                    f"rep {repetition}/{spec.repetitions}  {run.measured.resources.wall_s:.2f} s"
                )
            if on_round is not None:
                on_round(result, workload, repetition)
    result.finished = datetime.now(UTC)
    return result


def round_order(items: list[Item], round_index: int) -> list[Item]:
    """The arms in the order round ``round_index`` (from 0) runs them: a Williams design.

    Its first len(items) rounds form a Latin square (each arm once in each place), and over a whole
    cycle (len(items) rounds if even, twice that if odd) each arm follows each other arm equally often,
    so what one run leaves behind (a warm page cache, a busy daemon) cannot pass for a difference between
    two arms. A plain rotation (A B C, B C A, ...) has each arm always follow the same one: in the
    30-round art study the A/A control always ran right after native.
    """
    count = len(items)
    if count < 2:
        return items
    base = [0]
    for step in range(1, count):  # 0, 1, n-1, 2, n-2, ...
        base.append((step + 1) // 2 if step % 2 else count - step // 2)
    rows = [[(arm + shift) % count for arm in base] for shift in range(count)]
    if count % 2:
        rows += [row[::-1] for row in rows]
    return [items[arm] for arm in rows[round_index % len(rows)]]


def arm_setups(study: Study, context: Context) -> dict[str, ArmSetup]:
    """Runtime and resolved image of every arm; a missing runtime tool or image fails before any run."""
    from hepstack.catalog.resolve import resolve_image
    from hepstack.runtimes import get_runtime

    setups: dict[str, ArmSetup] = {}
    for arm in study.spec.arms:
        runtime = get_runtime(arm.runtime)
        runtime.binary()  # ToolMissing with the install hint now, not after the other arms' warm-up
        image = resolve_image(arm.image or study.spec.image, context, study.spec.engine)
        setups[arm.name] = ArmSetup(arm, runtime, image)
    return setups


def _measure_start_latency(result: StudyRun, context: Context, progress: Progress) -> None:
    import statistics

    for _round in range(result.study.spec.start_latency_runs):
        for setup in result.setups.values():
            wall = _start_latency(setup, result.output_dir, context)
            result.latencies.setdefault(setup.arm.name, []).append(wall)
    if result.latencies:
        medians = (f"{name} {statistics.median(values):.2f} s" for name, values in result.latencies.items())
        progress("start latency (median of `true`): " + ", ".join(medians))


@dataclass(frozen=True)
class _Run:
    output_dir: Path
    timing_db: Path
    measured: Measured
    job_report: Resources | None


def _run_workload(
    study: Study, setup: ArmSetup, workload: Workload, root: Path, label: str, context: Context
) -> _Run:
    from hepstack.runtimes import Bind

    output = root / "runs" / workload.name / setup.arm.name / label
    output.mkdir(parents=True)
    timing_db = output / workload.timing_db
    inputs = study.inputs_dir(workload)
    values = {
        "events": str(workload.events or study.spec.events),
        "seed": str(study.spec.seed + _repetition_index(label)),
        "output": str(output),
        "input": str(inputs or ""),
        "timing_db": str(timing_db),
    }
    command = [*setup.arm.command_prefix, *(word.format_map(values) for word in workload.command)]
    binds = [Bind(str(output), str(output))]
    if inputs is not None:
        # Read-only wherever the runtime takes ':ro' (ch-run refuses it: its binds are read-write).
        binds.append(Bind(str(inputs), str(inputs), read_only=setup.runtime.read_only_binds))
    argv, env = _runtime_command(setup, command, binds, str(output), context)
    measured = run_measured(argv, env, output.parent / label)
    if measured.returncode != 0:
        raise _failed(setup.arm.name, workload.name, label, command, argv, measured)
    if not timing_db.is_file():
        raise HepstackError(
            f"workload '{workload.name}' in arm '{setup.arm.name}' ({label}) exited 0 but wrote no timing "
            f"database at {timing_db}",
            hint="pass {timing_db} to the command (e.g. --timing-db {timing_db}), or set the workload's "
            f"timing_db to the file it writes; its output is in {measured.stdout}",
        )
    job_report = read_job_report(timing_db.with_name(timing_db.name + ".job.json"))
    return _Run(output, timing_db, measured, job_report)


def _repetition_index(label: str) -> int:
    """rep01 -> 0, rep02 -> 1; warm-up runs use the first repetition's seed."""
    return int(label[3:]) - 1 if label.startswith("rep") else 0


def _runtime_command(
    setup: ArmSetup, command: list[str], binds: list[Bind], workdir: str | None, context: Context
) -> tuple[list[str], dict[str, str]]:
    from hepstack.run.launch import build_request

    request = build_request(
        runtime=setup.runtime,
        image=setup.image,
        command=command,
        binds=binds,
        env=dict(setup.arm.env),
        workdir=workdir,
        tty=False,
        context=context,
    )
    invocation = setup.runtime.command_line(request, context)
    return invocation.argv, invocation.environment


def _start_latency(setup: ArmSetup, root: Path, context: Context) -> float:
    """Wall time of `true` through the arm's runtime and image: the cost of starting a container."""
    argv, env = _runtime_command(setup, ["true"], [], None, context)
    logs = root / "runs" / "start-latency"
    logs.mkdir(parents=True, exist_ok=True)
    measured = run_measured(argv, env, logs / setup.arm.name)
    if measured.returncode != 0:
        raise _failed(setup.arm.name, "start latency", "true", ["true"], argv, measured)
    return measured.resources.wall_s


def _failed(
    arm: str, workload: str, label: str, command: list[str], argv: list[str], measured: Measured
) -> HepstackError:
    from hepstack.runtimes import shell_line

    output = tail(measured.stderr) or tail(measured.stdout)
    message = (
        f"workload '{workload}' failed in arm '{arm}' ({label}) with exit code {measured.returncode}: "
        f"{shell_line(command)}"
    )
    if output:
        message += "\n" + "\n".join(f"  | {line}" for line in output.splitlines())
    return HepstackError(
        message,
        hint=f"full output: {measured.stderr} and {measured.stdout}; the runtime ran: {shell_line(argv)}",
    )


def utc_stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")
