"""Submit one task array per concurrency and arm through the real scheduler, and wait for each.

Arms are interleaved: at each concurrency every arm runs once per repetition, the order of the arms
rotated from one (concurrency, repetition) to the next, so a slow spell of the host or a warm cache
does not always favour the same arm. One array runs at a time, so its tasks compete only with each
other; the host's memory is sampled while it runs (:mod:`hepstack.scale.memory`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from hepstack.batch.cancel import cancel
from hepstack.batch.executor import Submission, job_status, submit
from hepstack.batch.plan import plan_submission
from hepstack.batch.states import TaskState, TaskStatus
from hepstack.batch.store import JobRecord, JobStore
from hepstack.context import Context
from hepstack.identity import invoking_user
from hepstack.runtimes import RunRequest, get_runtime
from hepstack.scale.memory import MemorySampler, MemoryUse, available_kb
from hepstack.scale.study import Arm, ScaleStudy
from hepstack.scale.workload import job_binds, job_command, job_env

POLL = 0.5  # seconds between two questions to the scheduler while an array runs

#: progress(label, tasks done, tasks) while an array runs
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ArrayRun:
    """One array of the study, submitted and finished (or cancelled at the study's timeout)."""

    arm: str
    runtime: str
    concurrency: int
    repetition: int  # from 1; a warm-up's is -1, -2, ... (not counted in the summary)
    directory: Path  # the tasks' own directories are directory/1, directory/2, ...
    record: JobRecord
    submitted_at: float  # time.time() just before the scheduler's submit command
    finished_at: float
    statuses: list[TaskStatus]
    memory: MemoryUse
    timed_out: bool


def schedule(study: ScaleStudy) -> list[tuple[int, int, Arm]]:
    """(concurrency, repetition, arm) in the order they run: concurrencies ascending, arms rotated."""
    order = []
    arms = study.spec.arms
    step = 0
    for concurrency in sorted(study.spec.concurrencies):
        for repetition in range(1, study.spec.repetitions + 1):
            shift = step % len(arms)
            order += [(concurrency, repetition, arm) for arm in arms[shift:] + arms[:shift]]
            step += 1
    return order


def prepared_image(study: ScaleStudy, arm: Arm, runs_dir: Path, context: Context) -> tuple[str, str | None]:
    """The image each task of ``arm`` names, after the runtime's own preparation on this node (an
    unpacked tree from the node cache with the bind targets made in it, for Charliecloud)."""
    from hepstack.catalog.resolve import resolve_image

    runtime = get_runtime(arm.runtime)
    resolved = resolve_image(arm.image or study.spec.image, context)
    request = RunRequest(
        image=resolved.reference,
        command=["true"],
        user=invoking_user(),
        binds=job_binds(study, runs_dir, runtime.read_only_binds),
        image_id=resolved.image_id,
        engine=resolved.engine,
    )
    prepared = runtime.prepare(request, context)
    return prepared.image, prepared.image_id


def plan_array(
    study: ScaleStudy,
    arm: Arm,
    concurrency: int,
    repetition: int,
    runs_dir: Path,
    image: str,
    context: Context,
) -> tuple[Submission, Path]:
    """The submission of one array and the directory its tasks write into."""
    kind = f"r{repetition:03d}" if repetition > 0 else f"warmup{-repetition}"
    directory = runs_dir / f"c{concurrency:05d}-{kind}-{arm.name}"
    runtime = get_runtime(arm.runtime)
    planned = plan_submission(
        image=image,
        command=job_command(study, directory, seed=repetition if repetition > 0 else 1000 - repetition),
        context=context,
        site=study.spec.site,
        scheduler=study.spec.scheduler,
        runtime=arm.runtime,
        tasks=concurrency,
        queue=study.spec.queue,
        name=f"scale-{arm.name}-{concurrency}",
    )
    submission = replace(
        planned,
        env={**planned.env, **job_env(arm.env)},
        binds=[*planned.binds, *job_binds(study, runs_dir, runtime.read_only_binds)],
    )
    return submission, directory


def run_array(
    submission: Submission,
    directory: Path,
    arm: Arm,
    concurrency: int,
    repetition: int,
    timeout: float,
    context: Context,
    store: JobStore,
    progress: Progress,
) -> ArrayRun:
    """Submit, then poll the scheduler until every task is final or ``timeout`` passed (then cancel).

    UNKNOWN (left the queue without an exit code: the job script writes it before it ends) is final here.
    """
    directory.mkdir(mode=0o755)
    label = f"{arm.name} x{concurrency} " + (f"(repetition {repetition})" if repetition > 0 else "(warm-up)")
    sampler = MemorySampler()
    submitted_at = time.time()
    try:
        record = submit(submission, context, store)
        try:
            statuses, timed_out = _wait(record, store, concurrency, timeout, label, progress)
        except KeyboardInterrupt:  # an interrupted study leaves no array behind
            cancel(record, store)
            raise
    finally:
        memory = sampler.stop()
    return ArrayRun(
        arm=arm.name,
        runtime=arm.runtime,
        concurrency=concurrency,
        repetition=repetition,
        directory=directory,
        record=record,
        submitted_at=submitted_at,
        finished_at=time.time(),
        statuses=statuses,
        memory=memory,
        timed_out=timed_out,
    )


def _wait(
    record: JobRecord, store: JobStore, concurrency: int, timeout: float, label: str, progress: Progress
) -> tuple[list[TaskStatus], bool]:
    """Every task's final status, and whether the timeout cancelled the rest."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = job_status(record)
        done = sum(status.state.final or status.state is TaskState.UNKNOWN for status in statuses)
        progress(label, done, concurrency)
        if done == concurrency:
            return statuses, False
        if time.monotonic() >= deadline:
            return cancel(record, store).statuses, True
        time.sleep(POLL)  # between two questions to the scheduler


def run_study(study: ScaleStudy, out: Path, context: Context, progress: Progress) -> list[ArrayRun]:
    """The warm-ups (one job per arm, first: a cold store or cache is paid there), then every array of
    the study in :func:`schedule` order; ``out``/runs holds the tasks' files."""
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, mode=0o755, exist_ok=True)
    store = JobStore.open(context)
    images = {arm.name: prepared_image(study, arm, runs_dir, context)[0] for arm in study.spec.arms}
    results: list[ArrayRun] = []
    warmups = [(1, -index, arm) for index in range(1, study.spec.warmup + 1) for arm in study.spec.arms]
    for concurrency, repetition, arm in warmups + schedule(study):
        if repetition > 0 and not fits_in_memory(results, concurrency, study.spec.memory_share):
            raise MemoryGuard(concurrency, results)
        submission, directory = plan_array(
            study, arm, concurrency, repetition, runs_dir, images[arm.name], context
        )
        results.append(
            run_array(
                submission,
                directory,
                arm,
                concurrency,
                repetition,
                study.spec.timeout,
                context,
                store,
                progress,
            )
        )
    return results


class MemoryGuard(Exception):
    """The next concurrency would not fit in the host's memory; ``results`` are the arrays run before."""

    def __init__(self, concurrency: int, results: list[ArrayRun]) -> None:
        super().__init__(concurrency)
        self.concurrency = concurrency
        self.results = results


def fits_in_memory(results: list[ArrayRun], concurrency: int, share: float) -> bool:
    """Whether ``concurrency`` jobs, at the memory per job the largest array so far added, fit in
    ``share`` of what the host has available now (no run into the OOM killer)."""
    measured = [run for run in results if run.repetition > 0 and run.concurrency < concurrency]
    if not measured:
        return True
    largest = max(run.concurrency for run in measured)
    per_job = max(run.memory.added_kb for run in measured if run.concurrency == largest) / largest
    return per_job * concurrency <= share * available_kb()
