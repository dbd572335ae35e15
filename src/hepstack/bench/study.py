"""The study file: which workloads to time, in which image, through which runtimes (arms).

>>> study = load_study(Path("examples/lat/studies/art-study.yaml"))   # doctest: +SKIP
>>> [arm.name for arm in study.spec.arms]                             # doctest: +SKIP
['native', 'podman', 'docker', 'charliecloud']

A minimal file::

    study: artstudy
    image: lat/release                 # STACK/LAYER from the catalog, or an engine reference
    events: 200
    workloads:
      - name: artstudy
        command: [lat-run, artstudy, -n, "{events}", --seed, "{seed}",
                  -o, "{output}/artstudy.root", --timing-db, "{timing_db}"]
        outputs: ["*.root"]
    arms:
      - {name: native, runtime: native}
      - {name: podman, runtime: podman}

Errors name the file, line and key (like stack specs) and are all reported together.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hepstack.bench.stats import CONFIDENCE
from hepstack.errors import HepstackError, LocatedErrors, SpecError, did_you_mean
from hepstack.names import ENV_NAME
from hepstack.spec.paths import PathProblem, checked_path
from hepstack.spec.source_map import SourceMap
from hepstack.spec.validation import load_document

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
#: What a workload's command may contain; ``{{`` and ``}}`` are literal braces.
PLACEHOLDERS = {
    "events": "number of events",
    "seed": "the study's seed + repetition index (the same in every arm, so outputs can be compared)",
    "output": "this run's fresh output directory (also the working directory)",
    "input": "the workload's inputs directory (bound read-only)",
    "timing_db": "where the TimeTracker database must be written ({output}/<timing_db>)",
}

# Range checks: a study beyond these is a typo that would run for years, not a measurement.
MAX_EVENTS = 10**9
MAX_RUNS = 1000
LITERAL_BRACES = "write {{ and }} for braces the command itself needs, e.g. raw_r{{run:06d}}.ldf"


def known_runtime(value: str) -> str:
    """An arm's runtime: a registered one, else a did-you-mean (bench and scale study files alike)."""
    from hepstack.runtimes import RUNTIMES

    if value not in RUNTIMES:
        mean = did_you_mean(value, list(RUNTIMES))
        raise ValueError(f"unknown runtime; {mean}known runtimes: {', '.join(RUNTIMES)}")
    return value


def env_names(env: dict[str, str]) -> dict[str, str]:
    """An arm's env: every name a variable name."""
    for name in env:
        if not ENV_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid environment variable name")
    return env


class Workload(BaseModel):
    """One job to time: its command, where it writes its TimeTracker database, which outputs to verify."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    command: list[str] = Field(min_length=1)
    inputs: str | None = None  # a directory, relative to the study file
    timing_db: str = "timing.db"  # relative to the run's output directory
    outputs: list[str] = Field(default_factory=list)  # globs in the output directory, compared across arms
    events: int | None = Field(default=None, ge=1, le=MAX_EVENTS)  # overrides the study's `events`

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, command: list[str]) -> list[str]:
        for word in command:
            try:
                fields = [name for _, name, _, _ in string.Formatter().parse(word) if name is not None]
            except ValueError as exc:
                raise ValueError(f"bad placeholder in {word!r}: {exc}; {LITERAL_BRACES}") from None
            for name in fields:
                if name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {word!r}; known: "
                        + ", ".join(f"{{{known}}}" for known in PLACEHOLDERS)
                        + f"; {LITERAL_BRACES}"
                    )
        return command

    @field_validator("timing_db")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a path inside the run's output directory, e.g. timing.db")
        return value

    @model_validator(mode="after")
    def _input_needs_inputs(self) -> Workload:
        if self.inputs is None and any("{input}" in word for word in self.command):
            raise ValueError("the command uses {input} but the workload has no `inputs` directory")
        return self


class Arm(BaseModel):
    """One way of running every workload: a runtime, optionally another image, env and command prefix."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    runtime: str
    image: str | None = None  # overrides the study's image for this arm
    env: dict[str, str] = Field(default_factory=dict)
    command_prefix: list[str] = Field(default_factory=list)  # e.g. [taskset, -c, "1"], inside the runtime

    _known_runtime = field_validator("runtime")(known_runtime)
    _env_names = field_validator("env")(env_names)


class StudySpec(BaseModel):
    """The whole study file."""

    model_config = ConfigDict(extra="forbid")

    study: str = Field(pattern=NAME)
    description: str | None = None
    image: str
    engine: str | None = None  # the engine holding `image` (default: from the catalog, else podman)
    events: int = Field(ge=1, le=MAX_EVENTS)
    repetitions: int = Field(default=5, ge=1, le=MAX_RUNS)
    warmup: int = Field(default=1, ge=0, le=MAX_RUNS)  # runs per arm and workload before measuring, discarded
    seed: int = 1
    confidence: float = Field(default=CONFIDENCE, gt=0.5, lt=1)  # of every interval in the report
    start_latency_runs: int = Field(default=3, ge=0, le=MAX_RUNS)  # `true` through each arm: start latency
    baseline: str | None = None  # default: the arm named native
    workloads: list[Workload] = Field(min_length=1)
    arms: list[Arm] = Field(min_length=1)

    @property
    def baseline_arm(self) -> str:
        return self.baseline or "native"


@dataclass(frozen=True)
class Study:
    """A validated study and where it lives (inputs are relative to its directory)."""

    spec: StudySpec
    path: Path

    @property
    def name(self) -> str:
        return self.spec.study

    def inputs_dir(self, workload: Workload) -> Path | None:
        return None if workload.inputs is None else (self.path.parent / workload.inputs).resolve()


#: The name callers catch; the one aggregate of located errors.
StudyErrors = LocatedErrors
SUBJECT = "the study file"


def load_study(path: Path) -> Study:
    """Read and validate ``path``; :class:`StudyErrors` lists every problem with file:line and key."""
    if not os.path.lexists(path):  # (False, not an exception, for a name too long to look up)
        raise HepstackError(
            f"study file {path} does not exist", hint="e.g. hepstack bench examples/lat/studies/l1.yaml"
        )
    spec, source = load_document(path, StudySpec, subject=SUBJECT, hints=_HINTS)
    study = Study(spec, path.absolute())
    problems = _check_names(spec, source) + _check_inputs(spec, path.parent, source)
    if problems:
        raise StudyErrors(problems, subject=SUBJECT)
    return study


def _check_inputs(spec: StudySpec, directory: Path, source: SourceMap) -> list[SpecError]:
    """Each workload's inputs: a directory (anywhere: it is bound read-only, not copied)."""
    problems: list[SpecError] = []
    for index, workload in enumerate(spec.workloads):
        if workload.inputs is None:
            continue
        try:
            checked_path(directory, workload.inputs, expect="directory", copied=False)
        except PathProblem as problem:
            missing = problem.reason in {"missing", "kind"}
            problems.append(
                source.error(
                    ("workloads", index, "inputs"),
                    "not a directory" if missing else f"inputs {problem.message}",
                    value=workload.inputs,
                    hint=f"inputs are relative to {directory}; create the directory or fix the path"
                    if missing
                    else problem.hint,
                )
            )
    return problems


def _check_names(spec: StudySpec, source: SourceMap) -> list[SpecError]:
    """Unique workload and arm names, and a baseline that is one of the arms."""
    problems: list[SpecError] = []
    for kind, names in (
        ("workloads", [w.name for w in spec.workloads]),
        ("arms", [a.name for a in spec.arms]),
    ):
        for index, name in enumerate(names):
            if name in names[:index]:
                problems.append(source.error((kind, index, "name"), "name used twice", value=name))
    arms = [arm.name for arm in spec.arms]
    if spec.baseline is not None and spec.baseline not in arms:
        problems.append(
            source.error(
                ("baseline",), "not one of the arms", value=spec.baseline, hint=f"arms: {', '.join(arms)}"
            )
        )
    if spec.baseline is None and "native" not in arms:
        problems.append(
            source.error(
                ("arms",),
                "no arm is named native, and no baseline is given",
                hint="name the reference arm native, or say `baseline: NAME`",
            )
        )
    return problems


_HINTS = {
    "string_type": 'write a string; quote values YAML would read as numbers, e.g. "10"',
    "string_pattern_mismatch": "use letters, digits, '.', '_' and '-'",
}
