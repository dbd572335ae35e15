"""How an attempt that ended is written down: success (its outputs checked and recorded, its summary's
substreams created, all in the same transaction) or failure, and then whether the retry policy starts
another attempt.

A success with a declared output missing, or with a summary that does not check, is a failure with that
reason: nothing of it is used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hepstack.pipeline import db
from hepstack.pipeline.graph import InstanceView
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


def record_end(connection: Connection, instance: InstanceView, ended: Ended, definition_id: int) -> str:
    """Write the end of ``instance``'s current attempt; returns the instance's new state."""
    state, reason = ended.state, ended.reason
    outputs: list[RecordedOutput] = []
    summary = Summary()
    if state == "EXITED" and ended.exit_code == 0:
        try:
            outputs = _checked_outputs(instance, ended.outputs_file)
            if ended.summary_file is not None:
                summary = read_summary(ended.summary_file, list(instance.step.spec.creates))
            new_streams, variables = _summary_streams(instance, summary)
        except SummaryError as exc:
            state, reason = "FAILED", str(exc)
        else:
            state = "SUCCESS"
    elif state == "EXITED":
        state = "FAILED"
        reason = reason or f"exit code {ended.exit_code}"
    new_streams, variables = ([], {}) if state != "SUCCESS" else (new_streams, variables)
    now = db.now()
    attempt_values = {
        "state": state,
        "exit_code": ended.exit_code,
        "reason": reason,
        "host": ended.host,
        "started_at": ended.started_at,
        "ended_at": ended.ended_at or now,
    }
    i = db.instances
    still = connection.execute(
        select(i.c.state).where(
            i.c.id == instance.id, i.c.is_current.is_(True), i.c.state.in_(("SUBMITTED", "RUNNING"))
        )
    ).first()
    if still is None:  # cancelled or rolled back meanwhile: what it did is not used
        return instance.state
    connection.execute(
        update(db.attempts)
        .where(db.attempts.c.instance_id == instance.id, db.attempts.c.attempt == instance.attempt)
        .values(**attempt_values)
    )
    final_state = state
    values: dict[str, object] = dict(attempt_values)
    if state != "SUCCESS" and _retry(instance, state, ended.exit_code):
        policy = instance.step.spec.retry or instance.stream.pipeline.spec.defaults.retry
        final_state = "READY"
        values["state"] = "READY"
        values["submission_id"] = None
        values["task_index"] = None
        values["not_before"] = now + policy.backoff * 2 ** max(0, instance.attempt - 1)
    connection.execute(update(db.instances).where(db.instances.c.id == instance.id).values(**values))
    if state == "SUCCESS":
        if outputs:
            connection.execute(
                insert(db.outputs),
                [
                    {
                        "instance_id": instance.id,
                        "name": output.name,
                        "path": output.path,
                        "size": output.size,
                        "sha256": output.sha256,
                        "created_at": now,
                    }
                    for output in outputs
                ],
            )
        stream = instance.stream
        if variables:
            stream.variables.update(variables)
            connection.execute(
                update(db.streams)
                .where(db.streams.c.id == stream.id)
                .values(variables=json.dumps(stream.variables, sort_keys=True))
            )
        if new_streams:
            parent = {"id": stream.id, "address": stream.address, "root_id": stream.root_id}
            insert_streams(
                connection,
                stream.pipeline,
                definition_id,
                parent=parent,
                created_by=instance.id,
                created_by_step=instance.step.path,
                new=new_streams,
            )
    instance.state = final_state
    return final_state


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
