"""How an attempt that ended is written down: success (its outputs checked and recorded, its summary's
substreams created, all in the same transaction) or failure, and then whether the retry policy starts
another attempt.

A success with a declared output missing, or with a summary that does not check, is a failure with that
reason: nothing of it is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from hepstack.pipeline import db
from hepstack.pipeline.graph import InstanceView
from hepstack.pipeline.services import service_facts
from hepstack.pipeline.streams import NewStream, insert_streams, stream_variables
from hepstack.pipeline.summary import Summary, SummaryError, read_summary
from hepstack.pipeline.template import fill


@dataclass(frozen=True)
class Ended:
    """One attempt's end as the orchestrator saw it."""

    state: str  # EXITED | TERMINATED | UNKNOWN
    exit_code: int | None
    reason: str | None
    host: str | None
    started_at: float | None
    ended_at: float | None
    outputs_file: Path | None  # jobs: the task's <i>.outputs; scripts: None (hashed here)
    summary_file: Path | None


@dataclass(frozen=True)
class RecordedOutput:
    name: str
    path: str
    size: int
    sha256: str


@dataclass
class _Decided:
    instance: InstanceView
    attempt_values: dict[str, object]
    instance_values: dict[str, object]
    outputs: list[RecordedOutput]
    new_streams: list[NewStream]
    variables: dict[str, str]
    facts: list[tuple[str, str, str]] = field(default_factory=list)  # kind, name, value (services.py)


# Prepared once: many rows go through each in one executemany (the orchestrator's hot path).
_ATTEMPT_END = (
    update(db.attempts)
    .where(
        db.attempts.c.instance_id == bindparam("b_instance"), db.attempts.c.attempt == bindparam("b_attempt")
    )
    .values(
        state=bindparam("state"),
        exit_code=bindparam("exit_code"),
        reason=bindparam("reason"),
        host=bindparam("host"),
        started_at=bindparam("started_at"),
        ended_at=bindparam("ended_at"),
    )
)
_INSTANCE_END = (
    update(db.instances)
    .where(db.instances.c.id == bindparam("b_instance"))
    .values(
        state=bindparam("state"),
        exit_code=bindparam("exit_code"),
        reason=bindparam("reason"),
        host=bindparam("host"),
        started_at=bindparam("started_at"),
        ended_at=bindparam("ended_at"),
        submission_id=bindparam("submission_id"),
        task_index=bindparam("task_index"),
        not_before=bindparam("not_before"),
    )
)


def record_end(connection: Connection, instance: InstanceView, ended: Ended) -> str:
    """Write the end of ``instance``'s current attempt; returns the instance's new state."""
    return record_ends(connection, [(instance, ended)])[instance.id]


def record_ends(connection: Connection, ends: list[tuple[InstanceView, Ended]]) -> dict[int, str]:
    """Write the ends of many instances' current attempts in one transaction (one statement of each kind
    for all of them); instance id -> its new state. An instance no longer SUBMITTED or RUNNING (cancelled
    or rolled back meanwhile) is left alone: what its job did is not used."""
    if not ends:
        return {}
    i = db.instances
    ids = [instance.id for instance, _ in ends]
    still = set(
        connection.execute(
            select(i.c.id)
            .where(i.c.id.in_(ids), i.c.is_current.is_(True))
            .where(i.c.state.in_(("SUBMITTED", "RUNNING")))
        ).scalars()
    )
    now = db.now()
    decided = [_decide(instance, ended, now) for instance, ended in ends if instance.id in still]
    if decided:
        connection.execute(
            _ATTEMPT_END,
            [
                {"b_instance": d.instance.id, "b_attempt": d.instance.attempt, **d.attempt_values}
                for d in decided
            ],
        )
        connection.execute(
            _INSTANCE_END, [{"b_instance": d.instance.id, **d.instance_values} for d in decided]
        )
    rows = [
        {**asdict(output), "instance_id": d.instance.id, "created_at": now}
        for d in decided
        for output in d.outputs
    ]
    if rows:
        connection.execute(insert(db.outputs), rows)
    fact_rows = [
        {"instance_id": d.instance.id, "kind": kind, "name": name, "value": value, "created_at": now}
        for d in decided
        for kind, name, value in d.facts
    ]
    if fact_rows:
        connection.execute(insert(db.facts), fact_rows)
    for d in decided:
        _ingest(connection, d)
        d.instance.state = str(d.instance_values["state"])
        d.instance.not_before = d.instance_values["not_before"]  # type: ignore[assignment]
    return {instance.id: instance.state for instance, _ in ends}


def _decide(instance: InstanceView, ended: Ended, now: float) -> _Decided:
    """What the end of the attempt means: its state, its recorded outputs, its summary's new streams, and
    (for a failure) whether the retry policy makes the instance READY again."""
    state, reason = ended.state, ended.reason
    outputs: list[RecordedOutput] = []
    new_streams: list[NewStream] = []
    variables: dict[str, str] = {}
    facts: list[tuple[str, str, str]] = []
    if state == "EXITED" and ended.exit_code == 0:
        try:
            outputs = _checked_outputs(instance, ended.outputs_file)
            measured = [(o.name, o.path, o.size, o.sha256) for o in outputs]
            defaults = instance.stream.pipeline.spec.defaults
            staged, facts = service_facts(instance.step.spec, defaults, instance.scalars(), measured)
            outputs += [RecordedOutput(*row) for row in staged]
            summary = Summary()
            if ended.summary_file is not None:
                summary = read_summary(ended.summary_file, list(instance.step.spec.creates))
            new_streams, variables = _summary_streams(instance, summary)
        except SummaryError as exc:
            state, reason, outputs, facts = "FAILED", str(exc), [], []
        else:
            state = "SUCCESS"
    elif state == "EXITED":
        state = "FAILED"
        reason = reason or f"exit code {ended.exit_code}"
    attempt_values: dict[str, object] = {
        "state": state,
        "exit_code": ended.exit_code,
        "reason": reason,
        "host": ended.host,
        "started_at": ended.started_at,
        "ended_at": ended.ended_at or now,
    }
    instance_values: dict[str, object] = {
        **attempt_values,
        "submission_id": instance.submission_id,
        "task_index": instance.task_index,
        "not_before": None,
    }
    if state != "SUCCESS" and _retry(instance, state, ended.exit_code):
        policy = instance.step.spec.retry or instance.stream.pipeline.spec.defaults.retry
        instance_values.update(
            state="READY",
            submission_id=None,
            task_index=None,
            not_before=now + policy.backoff * 2 ** max(0, instance.attempt - 1),
        )
    return _Decided(instance, attempt_values, instance_values, outputs, new_streams, variables, facts)


def _ingest(connection: Connection, decided: _Decided) -> None:
    """A success's summary: variables set on its stream, substreams created under it."""
    instance, stream = decided.instance, decided.instance.stream
    if decided.variables:
        stream.variables.update(decided.variables)
        connection.execute(
            update(db.streams)
            .where(db.streams.c.id == stream.id)
            .values(variables=json.dumps(stream.variables, sort_keys=True))
        )
    if decided.new_streams:
        parent = {"id": stream.id, "address": stream.address, "root_id": stream.root_id}
        insert_streams(
            connection,
            stream.pipeline,
            stream.definition_id,
            parent=parent,
            created_by=instance.id,
            created_by_step=instance.step.path,
            new=decided.new_streams,
        )


def _retry(instance: InstanceView, state: str, exit_code: int | None) -> bool:
    policy = instance.step.spec.retry or instance.stream.pipeline.spec.defaults.retry
    if instance.attempt >= policy.max_attempts or state not in policy.on_states:
        return False
    return not (state == "FAILED" and policy.on_exit_codes and exit_code not in policy.on_exit_codes)


def _checked_outputs(instance: InstanceView, outputs_file: Path | None) -> list[RecordedOutput]:
    """Every declared output, with the size and sha256 the job measured (or, for a script, measured here)."""
    scalars = instance.scalars()
    declared = {name: fill(path, scalars) for name, path in instance.step.spec.outputs.items()}
    if not declared:
        return []
    measured: dict[str, tuple[str, str, str]] = {}
    if outputs_file is not None:
        try:
            lines = outputs_file.read_text(encoding="utf-8").splitlines()
        except OSError:
            raise SummaryError("the job wrote no record of its outputs") from None
        for line in lines:
            parts = line.split("\t")
            if len(parts) == 4:
                measured[parts[0]] = (parts[1], parts[2], parts[3])
    recorded = []
    for name, path in sorted(declared.items()):
        file = Path(path)
        if outputs_file is None:
            if not file.is_file():
                raise SummaryError(f"declared output {name} ({path}) is missing")
            with file.open("rb") as handle:
                sha = hashlib.file_digest(handle, "sha256").hexdigest()
            recorded.append(RecordedOutput(name, path, file.stat().st_size, sha))
            continue
        size, sha, written = measured.get(name, ("missing", "-", path))
        if size == "missing" or not size.isdigit() or written != path:
            raise SummaryError(f"declared output {name} ({path}) is missing")
        try:
            actual = file.stat().st_size
        except OSError:
            raise SummaryError(f"declared output {name} ({path}) is gone since the job ended") from None
        if actual != int(size):
            raise SummaryError(f"declared output {name} ({path}) changed since the job ended")
        recorded.append(RecordedOutput(name, path, actual, sha))
    return recorded


def _summary_streams(instance: InstanceView, summary: Summary) -> tuple[list[NewStream], dict[str, str]]:
    """The substreams to create and the variables to set, checked against the pipeline's declarations."""
    stream = instance.stream
    pipeline = stream.pipeline
    problems = []
    visible = pipeline.declared_variables(stream.node)
    for name in summary.variables:
        if name not in visible:
            problems.append(f"sets {name}, which this pipeline does not declare here")
    merged = {**stream.variables, **summary.variables}
    new = []
    for substream in summary.substreams:
        node = f"{stream.node}.{substream.pipeline}" if stream.node else substream.pipeline
        values, issues = stream_variables(
            pipeline, node, substream.variables, merged, f"substream {substream.pipeline}/{substream.id}:"
        )
        problems += issues
        new.append(NewStream(node, substream.id, values))
    if problems:
        raise SummaryError("the summary does not check: " + "; ".join(problems[:5]))
    return new, summary.variables
