"""The scaling study file: where to submit, which arms, which workload, at which concurrencies.

A minimal file::

    study: podman-vs-native
    scheduler: slurm
    queue: scale                       # the partition (scripts/setup-schedulers.sh makes `scale`)
    image: lat/release
    workload: {kind: cpu, events: 20}
    concurrencies: [1, 10, 50]
    arms:
      - {name: native, runtime: native, env: {PATH: "/opt/lat-native/bin:/usr/bin:/bin"}}
      - {name: podman, runtime: podman}

Errors name the file, line and key, all together, like bench studies (:mod:`hepstack.bench.study`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hepstack.bench.study import env_names, known_runtime
from hepstack.errors import HepstackError, LocatedErrors, SpecError, did_you_mean
from hepstack.resources import MAX_TASKS
from hepstack.spec.paths import PathProblem, checked_path
from hepstack.spec.source_map import SourceMap
from hepstack.spec.validation import load_document

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
MAX_EVENTS = 10**6  # per job: a scaling job is short; more is a typo
MAX_REPETITIONS = 100
MAX_TIMEOUT = 86400
SUBJECT = "the scaling study file"


class Workload(BaseModel):
    """What every job runs: ``cpu`` (the art exercise, light: short vectors), ``recon`` (one crumb
    of the example's digi file, entries 0..events, from ``inputs``/digi.root) or ``idle`` (``sleep
    seconds`` in the container: the runtime's start under many starts at once, without the payloads
    taking the CPU from it; no events, so no per-event time)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["cpu", "recon", "idle"]
    seconds: float = Field(default=30, gt=0, le=MAX_TIMEOUT)  # idle: how long each container stays
    events: int = Field(default=20, ge=1, le=MAX_EVENTS)
    vector_length: int = Field(default=20000, ge=1, le=250000)  # cpu: integers per event
    inputs: str | None = None  # recon: a directory holding digi.root, relative to the study file


class Arm(BaseModel):
    """One way of running the jobs: a runtime (native is one), optionally its own image and env."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    runtime: str
    image: str | None = None
    env: dict[str, str] = Field(default_factory=dict)

    _known_runtime = field_validator("runtime")(known_runtime)
    _env_names = field_validator("env")(env_names)


class ScaleStudySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study: str = Field(pattern=NAME)
    description: str | None = None
    site: str | None = None  # a site profile (scheduler, runtime binds, resources); or:
    scheduler: str | None = None
    queue: str | None = None
    image: str
    workload: Workload
    concurrencies: list[int] = Field(min_length=1)
    repetitions: int = Field(default=1, ge=1, le=MAX_REPETITIONS)
    warmup: int = Field(default=1, ge=0, le=MAX_REPETITIONS)  # one-job arrays per arm first, not counted
    timeout: int = Field(default=900, ge=10, le=MAX_TIMEOUT)  # seconds for one array to finish
    # stop before a concurrency whose jobs, at the memory per job measured so far, would take more than
    # this share of the host's available memory
    memory_share: float = Field(default=0.8, gt=0, le=1)
    arms: list[Arm] = Field(min_length=1)

    @field_validator("concurrencies")
    @classmethod
    def _counts(cls, values: list[int]) -> list[int]:
        for value in values:
            if not 1 <= value <= MAX_TASKS:
                raise ValueError(f"{value} is not a number of jobs from 1 to {MAX_TASKS}")
        if len(set(values)) != len(values):
            raise ValueError("a concurrency is listed twice")
        return values


@dataclass(frozen=True)
class ScaleStudy:
    spec: ScaleStudySpec
    path: Path

    @property
    def name(self) -> str:
        return self.spec.study

    @property
    def inputs_dir(self) -> Path | None:
        inputs = self.spec.workload.inputs
        return None if inputs is None else (self.path.parent / inputs).resolve()


def load_scale_study(path: Path) -> ScaleStudy:
    """Read and validate ``path``; :class:`LocatedErrors` lists every problem with file:line and key."""
    if not os.path.lexists(path):
        raise HepstackError(
            f"scaling study file {path} does not exist",
            hint="e.g. hepstack scale run examples/lat/studies/scale.yaml",
        )
    spec, source = load_document(path, ScaleStudySpec, subject=SUBJECT, hints=_HINTS)
    problems = _check_where(spec, source) + _check_arms(spec, source) + _check_inputs(spec, path, source)
    if problems:
        raise LocatedErrors(problems, subject=SUBJECT)
    return ScaleStudy(spec, path.absolute())


def _check_where(spec: ScaleStudySpec, source: SourceMap) -> list[SpecError]:
    from hepstack.batch.schedulers import SCHEDULERS

    if spec.site is None and spec.scheduler is None:
        return [
            source.error(
                (), "neither site nor scheduler is given", hint="say `scheduler: slurm` or `site: NAME`"
            )
        ]
    if spec.scheduler is not None and spec.scheduler not in SCHEDULERS:
        mean = did_you_mean(spec.scheduler, list(SCHEDULERS))
        return [
            source.error(
                ("scheduler",),
                "unknown scheduler",
                value=spec.scheduler,
                hint=f"{mean}known schedulers: {', '.join(SCHEDULERS)}",
            )
        ]
    return []


def _check_arms(spec: ScaleStudySpec, source: SourceMap) -> list[SpecError]:
    names = [arm.name for arm in spec.arms]
    return [
        source.error(
            ("arms", index, "name"), "name used twice", value=name, hint="give each arm its own name"
        )
        for index, name in enumerate(names)
        if name in names[:index]
    ]


def _check_inputs(spec: ScaleStudySpec, path: Path, source: SourceMap) -> list[SpecError]:
    workload = spec.workload
    if workload.kind == "recon" and workload.inputs is None:
        return [
            source.error(
                ("workload",),
                "the recon workload needs `inputs`",
                hint="a directory with digi.root (lat-run digi ...), relative to the study file",
            )
        ]
    if workload.inputs is None:
        return []
    try:
        checked_path(path.parent, workload.inputs, expect="directory", copied=False)
    except PathProblem as problem:
        return [
            source.error(
                ("workload", "inputs"),
                f"inputs {problem.message}",
                value=workload.inputs,
                hint=f"inputs are relative to {path.parent}",
            )
        ]
    return []


_HINTS = {
    "string_type": 'write a string; quote values YAML would read as numbers, e.g. "10"',
    "string_pattern_mismatch": "use letters, digits, '.', '_' and '-'",
    "literal_error": "the workload kinds are cpu, recon and idle",
    "list_type": "write a list, e.g. [1, 10, 50]",
}
