"""A pipeline definition as its YAML file writes it: pydantic models, no behaviour.

The words are Fermi's Pipeline II's, so LAT operators recognise them: a *pipeline* (Pipeline II: task) has
*steps* (processes) and *sub-pipelines* (subtasks); a *stream* is one request to run it, with *variables*;
a step may create *substreams* of a sub-pipeline at run time. :mod:`hepstack.pipeline.definition` loads,
checks and compiles these models; nothing here touches a file or a database.

>>> step = Step(image="lat/digi", command=["lat-run", "digi", "-s", "${RAW}"])          # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hepstack.names import ENV_NAME

# A pipeline, step or sub-pipeline name: one path component of a stream address and a job name.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,47}$"
# The states a retry policy may name: the ones a job can end in without having succeeded.
RetryableState = Literal["FAILED", "TERMINATED", "UNKNOWN"]


def _all_retryable() -> list[RetryableState]:
    return ["FAILED", "TERMINATED", "UNKNOWN"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariableSpec(_Strict):
    """A variable a stream of this (sub-)pipeline has: given at `create`, by a summary, or its default."""

    description: str = ""
    default: str | None = None
    required: bool = False
    pattern: str | None = Field(None, description="a regular expression every value must match")

    @model_validator(mode="after")
    def _default_or_required(self) -> VariableSpec:
        if self.required and self.default is not None:
            raise ValueError("a variable with a default is not required: drop one of them")
        return self


class Dependency(_Strict):
    """``step`` in this stream, or ``SUB.step`` / ``SUB.SUB2.step`` over every substream below it.

    ``when: success`` (the default) waits for success; ``when: done`` for any final state, and the step
    then gets the lists ``<AS>`` (the outputs of the upstream instances that succeeded), ``<AS>_SUCCEEDED``
    and ``<AS>_MISSING`` (their stream ids) — how a merge uses the good crumbs and records the missing.
    """

    step: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)*$")
    when: Literal["success", "done"] = "success"
    as_: str | None = Field(None, alias="as", pattern=r"^[A-Z][A-Z0-9_]{0,39}$")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Resources(_Strict):
    cpus: int | None = Field(None, ge=1, le=4096)
    memory: str | None = None  # e.g. 2G; checked by hepstack.batch.spec.memory_mb
    time: str | None = None  # e.g. 01:00:00; checked by hepstack.batch.spec.duration_seconds
    queue: str | None = None
    account: str | None = None


class RetryPolicy(_Strict):
    """Automatic retries: which ends of an attempt start another, how many, and after what wait."""

    max_attempts: int = Field(1, ge=1, le=20)
    on_states: list[RetryableState] = Field(default_factory=_all_retryable)
    on_exit_codes: list[int] = Field(
        default_factory=list, description="retry FAILED only for these exit codes (empty: any)"
    )
    backoff: float = Field(0.0, ge=0, le=86400, description="seconds before the 2nd attempt; doubles after")

    @field_validator("on_exit_codes")
    @classmethod
    def _exit_codes(cls, codes: list[int]) -> list[int]:
        for code in codes:
            if not 1 <= code <= 255:
                raise ValueError(f"exit code {code} is not 1..255 (0 is success)")
        return codes


class Step(_Strict):
    """A *job* (``image`` + ``command``, run through a site's scheduler and runtime) or a *script*
    (``script``, a short command on the orchestrator's host, e.g. the experiment's planner)."""

    description: str = ""
    needs: list[Dependency] = Field(default_factory=list)
    image: str | None = None
    command: list[str] | None = None
    script: list[str] | None = None
    site: str | None = None
    scheduler: str | None = None
    runtime: str | None = None
    resources: Resources | None = None
    binds: list[str] | None = None
    env: dict[str, str] | None = None
    workdir: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    creates: list[str] = Field(default_factory=list, description="sub-pipelines it may create streams of")
    secrets: dict[str, str] | None = Field(
        None, description="NAME: FILE, read by the job at /run/secrets/NAME"
    )
    stage_in: list[str] | None = Field(
        None, description="URL=PATH: xrootd files copied in before the command"
    )
    stage_out: list[str] | None = Field(None, description="PATH=URL: declared outputs copied out after it")
    metadata: list[str] = Field(
        default_factory=list, description="TObjString keys of its ROOT outputs to record (e.g. calibration)"
    )
    retry: RetryPolicy | None = None
    timeout: float | None = Field(None, gt=0, le=7 * 86400, description="seconds, for script steps")
    max_running: int | None = Field(None, ge=1, description="at most this many jobs of it queued or running")

    @field_validator("needs", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """``needs: [digi]`` is ``needs: [{step: digi}]``."""
        if isinstance(value, list):
            return [{"step": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name in value or {}:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a variable name (letters, digits, '_')")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: list[str]) -> list[str]:
        for key in value:
            if not ENV_NAME.match(key):
                raise ValueError(f"metadata key {key!r}: use letters, digits and '_'")
        return value

    @field_validator("outputs")
    @classmethod
    def _output_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"output name {name!r}: use letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _job_or_script(self) -> Step:
        if self.script is not None:
            keys = ("image", "command", "site", "scheduler", "runtime", "secrets", "stage_in", "stage_out")
            extra = [key for key in keys if getattr(self, key)]
            if extra:
                raise ValueError(f"a script step runs on the orchestrator's host: drop {', '.join(extra)}")
            if not self.script:
                raise ValueError("script is empty: give the command to run, e.g. [lat-l1, plan, runs]")
        elif self.command is None or self.image is None:
            raise ValueError("a step needs `image` and `command` (a job) or `script` (a host command)")
        elif not self.command:
            raise ValueError("command is empty: give the command to run in the image")
        return self


class Defaults(_Strict):
    """What every job step of the pipeline gets unless it says otherwise."""

    site: str | None = None
    scheduler: str | None = None
    runtime: str | None = None
    resources: Resources = Field(default_factory=Resources)
    binds: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)  # NAME: FILE; added to (and overriding) the site's
    stage_in: list[str] = Field(default_factory=list)
    stage_out: list[str] = Field(default_factory=list)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout: float = Field(600.0, gt=0, le=7 * 86400)


class SiteLimit(_Strict):
    max_running: int = Field(ge=1, description="at most this many jobs of the pipeline at that site")


class Node(_Strict):
    """A pipeline or sub-pipeline: its variables, steps and sub-pipelines."""

    description: str = ""
    variables: dict[str, VariableSpec] = Field(default_factory=dict)
    max_in_flight: int | None = Field(None, ge=1, description="at most this many of its streams at once")
    steps: dict[str, Step] = Field(min_length=1)
    subpipelines: dict[str, Node] = Field(default_factory=dict)

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, VariableSpec]) -> dict[str, VariableSpec]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a variable name (letters, digits, '_')")
        return value


class PipelineSpec(Node):
    """The whole file: ``pipeline`` and ``version`` name it; a changed file needs a new version."""

    pipeline: str = Field(pattern=NAME_PATTERN)
    version: int = Field(ge=1)
    defaults: Defaults = Field(default_factory=Defaults)
    sites: dict[str, SiteLimit] = Field(default_factory=dict)
