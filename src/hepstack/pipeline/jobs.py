"""Job steps on a scheduler: from READY instances to arrays, job directories and one submission each.

Instances of the same step that become ready together, for the same site, runtime, image and resources,
go out as one array. Every task has its own script (``task-<i>.sh``: the instance's own command, filled
from its stream's variables), run by the array's ``job.sh``; the scheduler's template and the runtime's
argv are the same ones ``hepstack submit`` uses. The job directory is named after the submission, the job
after the pipeline, step and submission (``lat-l1.run.chunk.crumb.recon.s42``), so the orchestrator can
find it again in the queue after a crash.
"""

from __future__ import annotations

import fcntl
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hepstack import private, proc
from hepstack.batch.schedulers import Scheduler, get_scheduler
from hepstack.batch.script import container_argv, fill, secret_checks, stop_lines, task_command
from hepstack.batch.spec import JobSpec, Resources
from hepstack.batch.staging import Transfer, staging_blocks
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from hepstack.pipeline.graph import InstanceView
from hepstack.pipeline.images import PinnedImage, pins_from_json
from hepstack.pipeline.services import staging_functions, step_secrets, step_transfers
from hepstack.pipeline.template import fill as fill_text
from hepstack.pipeline.template import fill_arguments
from hepstack.quoting import bash_word
from hepstack.runtimes import Bind, RunRequest, Runtime, get_runtime
from hepstack.sites import Site, get_site

ARRAY_LIMIT = 1000  # tasks per submission; schedulers cap arrays (SLURM MaxArraySize 1001 by default)


@dataclass(frozen=True)
class Placement:
    """Where and how a job step runs: the group key of an array."""

    site: str | None
    scheduler: str
    runtime: str
    tool: str | None
    resources: Resources
    directives: tuple[str, ...]
    image: str


@dataclass
class TaskPlan:
    instance: InstanceView
    request: RunRequest
    outputs: dict[str, str]  # name -> absolute path
    command: list[str]
    summary: bool  # the step creates substreams: the job writes a summary file
    stage_in: tuple[Transfer, ...] = ()  # xrootd files in before the command (pipeline/services.py)
    stage_out: tuple[Transfer, ...] = ()  # declared outputs out after it succeeded


@dataclass
class ArrayPlan:
    pipeline: str
    step: str
    placement: Placement
    pinned: PinnedImage
    tasks: list[TaskPlan] = field(default_factory=list)


class SiteCache:
    def __init__(self) -> None:
        self._sites: dict[str, Site] = {}

    def get(self, name: str) -> Site:
        if name not in self._sites:
            self._sites[name] = get_site(name)
        return self._sites[name]


def plan_task(
    instance: InstanceView, inputs: dict[str, list[str]], sites: SiteCache, context: Context
) -> tuple[Placement, PinnedImage, TaskPlan]:
    """Everything about one instance's job, or :class:`HepstackError` (the instance then fails with it)."""
    step, defaults = instance.step.spec, instance.stream.pipeline.spec.defaults
    scalars = instance.scalars()
    site_name = step.site or defaults.site
    site = sites.get(fill_text(site_name, scalars)) if site_name else None
    profile = site.profile if site else None
    scheduler = step.scheduler or (profile.scheduler if profile and step.site else None)
    scheduler = scheduler or defaults.scheduler or (profile.scheduler if profile else None)
    runtime = step.runtime or (profile.runtime if profile and step.site else None)
    runtime = runtime or defaults.runtime or (profile.runtime if profile else None)
    if scheduler is None or runtime is None:
        raise HepstackError(f"{instance.address}: no scheduler or runtime", hint="give the step a site")
    resources = _resources(profile.resources if profile else None, defaults.resources, step.resources)
    resources.check()
    pins = pins_from_json(instance.stream.root().images)
    assert step.image is not None and step.command is not None
    pinned = pins[step.image]
    command = fill_arguments(step.command, scalars, inputs)
    outputs = {name: fill_text(path, scalars) for name, path in step.outputs.items()}
    for name, path in outputs.items():
        if not path.startswith("/"):
            raise HepstackError(f"{instance.address}: output {name} is not an absolute path: {path!r}")
    binds = site.job_binds() if site else []
    for text in step.binds if step.binds is not None else defaults.binds:
        binds.append(Bind.parse(fill_text(text, scalars)))
    env = dict(profile.env if profile else {})
    env.update(
        {k: fill_text(v, scalars) for k, v in (step.env if step.env is not None else defaults.env).items()}
    )
    env.update(
        HEPSTACK_PIPELINE=instance.stream.pipeline.name,
        HEPSTACK_STREAM=instance.stream.address,
        HEPSTACK_STEP=instance.step.name,
        HEPSTACK_INSTANCE=instance.address,
    )
    secrets = step_secrets(step, defaults, profile.secrets if profile else {}, scalars)
    stage_in, stage_out = step_transfers(step, defaults, scalars, outputs)
    placement = Placement(
        site=profile.name if profile else None,
        scheduler=scheduler,
        runtime=runtime,
        tool=profile.runtime_tool if profile else None,
        resources=resources,
        directives=tuple(profile.directives) if profile else (),
        image=pinned.reference,
    )
    request = RunRequest(
        image=pinned.reference,
        command=command,
        user=invoking_user(),
        binds=binds,
        env=env,
        workdir=fill_text(step.workdir, scalars) if step.workdir else None,
        image_id=pinned.image_id,
        engine=pinned.engine,
        secrets=secrets,
    )
    summary = bool(instance.step.spec.creates)
    return placement, pinned, TaskPlan(instance, request, outputs, command, summary, stage_in, stage_out)


def _resources(*layers: object) -> Resources:
    merged: dict[str, object] = {}
    for layer in layers:
        if layer is None:
            continue
        for key in ("cpus", "memory", "time", "queue", "account"):
            value = getattr(layer, key, None)
            if value is not None:
                merged[key] = value
    return Resources(**merged)  # type: ignore[arg-type]


def job_name(pipeline: str, step: str, submission_id: int, token: str) -> str:
    """``lat-l1.run.chunk.crumb.recon.s42-9f3a1c``: the submission's number in its DB and a random token,
    so that two state DBs (or a DB made anew) never name two jobs alike in one queue or data dir. At most
    64 characters (every scheduler takes that: hepstack.names.JOB_NAME); a long step path keeps its end."""
    suffix = f".s{submission_id}-{token}"
    head = f"{pipeline}.{step}"[-(64 - len(suffix)) :].lstrip(".-")
    return head + suffix


def jobdir_for(context: Context, pipeline: str, step: str, submission_id: int, token: str) -> Path:
    return context.data_dir / "pipelines" / pipeline / "jobs" / f"s{submission_id:07d}-{token}-{step}"


def write_jobdir(array: ArrayPlan, jobdir: Path, name: str, context: Context) -> Path:
    """The array's ``job.sh`` and one ``task-<i>.sh`` per instance; rewritten whole if it exists (a
    submission that never reached the scheduler is written again, identically, before it is retried)."""
    scheduler = get_scheduler(array.placement.scheduler)
    runtime = get_runtime(array.placement.runtime)
    context.data_path("pipelines", array.pipeline, "jobs", jobdir.name)  # every level private, or refused
    spec = JobSpec(
        name=name,
        tasks=len(array.tasks),
        jobdir=jobdir,
        resources=array.placement.resources,
        directives=list(array.placement.directives),
    )
    for index, task in enumerate(array.tasks, start=1):
        _write(jobdir / f"task-{index}.sh", _task_script(task, index, spec, runtime, context), 0o700)
    first = array.tasks[0].request
    body = f'exec /bin/bash {bash_word(str(jobdir))}/task-"${{HEPSTACK_TASK_INDEX}}".sh'
    runtime_directives = runtime.job_directives(first, scheduler.name)
    directives = scheduler.directives(spec) + [scheduler.directive(*pair) for pair in runtime_directives]
    script = fill(
        scheduler.template,
        {
            "directives": "\n".join(directives),
            "name": name,
            "tasks": str(spec.tasks),
            "jobdir": bash_word(str(jobdir)),
            "body": body,
        },
    )
    script_path = jobdir / "job.sh"
    _write(script_path, script, 0o700)
    for extra, text in scheduler.extra_files(spec, script_path).items():
        _write(jobdir / extra, text, 0o600)
    return script_path


def _task_script(task: TaskPlan, index: int, spec: JobSpec, runtime: Runtime, context: Context) -> str:
    request = task.request
    if task.summary:
        summary = f"{spec.jobdir}/{index}.summary.json"
        env = {**request.env, "HEPSTACK_SUMMARY": summary}
        binds = [*request.binds, Bind(str(spec.jobdir), str(spec.jobdir))]
        request = replace(request, env=env, binds=binds)
    request = runtime.prepare(request, context)
    outputs = [
        f"record_output {bash_word(name)} {bash_word(path)}" for name, path in sorted(task.outputs.items())
    ]
    setup = runtime.job_setup(request) + secret_checks(request)
    argv = container_argv(runtime, request, with_input=False)
    jobdir = bash_word(str(spec.jobdir))
    functions = staging_functions(jobdir) if task.stage_in or task.stage_out else ""
    return fill(
        "pipeline_task.tmpl",
        {
            "name": spec.name,
            "index": str(index),
            "tasks": str(spec.tasks),
            "instance": task.instance.address,
            "attempt": str(task.instance.attempt + 1),
            "jobdir": bash_word(str(spec.jobdir)),
            "setup": "\n".join(setup) if setup else "# (the runtime needs no set-up in the job)",
            "command": task_command(argv),
            **stop_lines(runtime, argv),
            "outputs": "\n        ".join(outputs) if outputs else ":",
            **staging_blocks(task.stage_in, task.stage_out, functions),
        },
    )


def _write(path: Path, text: str, mode: int) -> None:
    private.write_atomically(str(path), text.encode(), mode)


def submission_lock(jobdir: Path) -> int:
    """An exclusive lock on the job directory's ``submit.lock``, blocking until it is free. The submit
    command inherits it, so the lock is held until that command ends even if the orchestrator is killed:
    whoever looks at this submission next first waits for a submit still in flight."""
    descriptor = os.open(jobdir / "submit.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    return descriptor


def submit_array(scheduler: Scheduler, jobdir: Path, name: str, tasks: int, resources: Resources) -> str:
    """Submit ``jobdir/job.sh``; the native job id. Holds the submission lock across the submit command."""
    script = jobdir / "job.sh"
    spec = JobSpec(name=name, tasks=tasks, jobdir=jobdir, resources=resources)
    argv = scheduler.submit_argv(script, spec)
    descriptor = submission_lock(jobdir)
    try:
        result = proc.run(
            argv,
            cwd=jobdir,
            input_text=scheduler.submit_input(script),
            timeout=300,
            hint=f"the job script is {script}; try: {shlex.join(argv)}",
            pass_fds=(descriptor,),
        )
    finally:
        os.close(descriptor)
    return scheduler.parse_submit(result.stdout)


def group(plans: Sequence[tuple[Placement, PinnedImage, TaskPlan]], pipeline: str) -> list[ArrayPlan]:
    """Arrays of at most ARRAY_LIMIT tasks, one per (step, placement)."""
    arrays: dict[tuple[str, Placement], list[ArrayPlan]] = {}
    for placement, pinned, task in plans:
        key = (task.instance.step.path, placement)
        chunks = arrays.setdefault(key, [])
        if not chunks or len(chunks[-1].tasks) >= ARRAY_LIMIT:
            chunks.append(ArrayPlan(pipeline, task.instance.step.path, placement, pinned))
        chunks[-1].tasks.append(task)
    return [array for chunks in arrays.values() for array in chunks]
