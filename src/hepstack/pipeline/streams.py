"""Streams: recording a pipeline's definition, creating a stream with its variables, and the substreams a
step's summary asks for. Every stream is created with one WAITING process instance per step of its
(sub-)pipeline, so the status matrix shows the whole stream from the start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hepstack.errors import HepstackError, LocatedErrors, SpecError
from hepstack.pipeline import db
from hepstack.pipeline.definition import Pipeline
from hepstack.pipeline.images import PinnedImage, pins_to_json
from hepstack.spec.validation import did_you_mean

STREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_VALUE_LENGTH = 4096
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: never in a value that
# ends up in a command line, a path or a job script.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class NewStream:
    node: str
    stream_id: str
    variables: dict[str, str]


def record_definition(connection: Connection, pipeline: Pipeline) -> int:
    """The id of this pipeline version in the DB, recording it on first use. A changed file with the same
    version is refused: a stream must always be traceable to the exact text it ran."""
    table = db.definitions
    row = connection.execute(
        select(table.c.id, table.c.sha256, table.c.path).where(
            table.c.name == pipeline.name, table.c.version == pipeline.version
        )
    ).first()
    if row is not None:
        if row.sha256 != pipeline.sha256:
            raise HepstackError(
                f"pipeline {pipeline.name} version {pipeline.version} is already recorded with other content "
                f"(from {row.path})",
                hint=f"a changed pipeline file needs a new version: set `version: {pipeline.version + 1}`",
            )
        return int(row.id)
    key = connection.execute(
        insert(table).values(
            name=pipeline.name,
            version=pipeline.version,
            sha256=pipeline.sha256,
            path=pipeline.path,
            text=pipeline.source_text,
            created_at=db.now(),
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def check_value(name: str, value: str) -> str | None:
    """Why ``value`` cannot be a variable's value, or None."""
    if _CONTROL.search(value):
        return "holds a control character or line separator"
    if len(value) > MAX_VALUE_LENGTH:
        return f"is longer than {MAX_VALUE_LENGTH} characters"
    return None


def stream_variables(
    pipeline: Pipeline, node: str, given: Mapping[str, str], inherited: Mapping[str, str], source: str
) -> tuple[dict[str, str], list[str]]:
    """The variables of a new stream of ``node`` (inherited, then defaults, then ``given``), and the
    problems: unknown names, bad values, required ones missing. ``source`` says where ``given`` came from."""
    own = pipeline.nodes[node].variables
    visible = pipeline.declared_variables(node)
    problems = []
    values = dict(inherited)
    for name, variable in own.items():
        if variable.default is not None and name not in values:
            values[name] = variable.default
    for name, value in given.items():
        if name not in visible:
            hint = did_you_mean(name, list(visible))
            problems.append(
                f"{source} {name}: unknown variable ({hint}declared: {', '.join(visible) or 'none'})"
            )
            continue
        reason = check_value(name, value)
        pattern = _pattern(pipeline, node, name)
        if reason is None and pattern is not None and not re.fullmatch(pattern, value):
            reason = f"does not match its pattern {pattern!r}"
        if reason is not None:
            problems.append(f"{source} {name}={value!r}: the value {reason}")
            continue
        values[name] = value
    for name, variable in own.items():
        if variable.required and name not in values and name not in given:
            problems.append(f"{source}: the variable {name} is required and was not given")
    return values, problems


def _pattern(pipeline: Pipeline, node: str, name: str) -> str | None:
    from hepstack.pipeline.definition import _ancestors

    for ancestor in reversed(_ancestors(node)):
        variable = pipeline.nodes[ancestor].variables.get(name)
        if variable is not None:
            return variable.pattern
    return None


def create_stream(
    database: db.StateDB,
    pipeline: Pipeline,
    stream_id: str,
    given: Mapping[str, str],
    pins: dict[str, PinnedImage],
) -> int:
    """Record the definition (if new) and a new top stream; nothing is written when anything is wrong."""
    if not STREAM_ID.match(stream_id):
        raise HepstackError(
            f"bad stream id {stream_id!r}",
            hint="start with a letter or digit; then letters, digits, '.', '_' or '-' (64 at most)",
        )
    values, problems = stream_variables(pipeline, "", given, {}, "--var")
    if problems:
        from hepstack.pipeline.definition import SUBJECT

        raise LocatedErrors(
            [
                SpecError(problem, file=pipeline.path, line=None, key_path="variables", hint=_VARIABLE_HINT)
                for problem in problems
            ],
            subject=SUBJECT,
        )
    with database.write() as connection:
        definition_id = record_definition(connection, pipeline)
        exists = connection.execute(
            select(db.streams.c.id).where(
                db.streams.c.pipeline == pipeline.name, db.streams.c.address == stream_id
            )
        ).first()
        if exists is not None:
            raise HepstackError(
                f"pipeline {pipeline.name} already has a stream {stream_id}",
                hint=f"see `hepstack pipeline status {pipeline.name}/{stream_id}`; "
                "roll it back to run it again, or give a new --stream",
            )
        return insert_streams(
            connection,
            pipeline,
            definition_id,
            parent=None,
            created_by=None,
            new=[NewStream("", stream_id, values)],
            images=pins_to_json(pins),
        )[0]


_VARIABLE_HINT = "give each variable the pipeline declares as --var NAME=VALUE (see `variables:` in the file)"


def insert_streams(
    connection: Connection,
    pipeline: Pipeline,
    definition_id: int,
    *,
    parent: Mapping[str, object] | None,
    created_by: int | None,
    new: Sequence[NewStream],
    images: str | None = None,
    created_by_step: str | None = None,
) -> list[int]:
    """Insert streams (all of one parent) and one WAITING instance per step of each; returns their ids.

    A stream the parent already has is left as it is (a creator run again after a rollback lists the same
    substreams: their instances are rolled back on their own, see :mod:`hepstack.pipeline.rollback`)."""
    created = db.now()
    existing: set[str] = set()
    if parent is not None:
        existing = set(
            connection.execute(
                select(db.streams.c.stream_id).where(db.streams.c.parent_id == parent["id"])
            ).scalars()
        )
    fresh = [stream for stream in new if stream.stream_id not in existing]
    if not fresh:
        return []
    rows = [
        {
            "pipeline": pipeline.name,
            "definition_id": definition_id,
            "node": stream.node,
            "stream_id": stream.stream_id,
            "address": f"{parent['address']}/{stream.stream_id}" if parent else stream.stream_id,
            "parent_id": parent["id"] if parent else None,
            "root_id": parent["root_id"] if parent else None,
            "created_by": created_by,
            "created_by_step": created_by_step,
            "variables": json.dumps(stream.variables, sort_keys=True),
            "images": images,
            "state": "WAITING" if pipeline.nodes[stream.node].max_in_flight is not None else "RUNNING",
            "created_at": created,
        }
        for stream in fresh
    ]
    # one INSERT for all of them, their ids back in the order given (SQLAlchemy's insertmanyvalues)
    inserted = connection.execute(
        insert(db.streams).returning(db.streams.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    ids = [int(key) for key in inserted]
    if parent is None:
        connection.execute(update(db.streams).where(db.streams.c.id.in_(ids)).values(root_id=db.streams.c.id))
    instance_rows = [
        {
            "pipeline": pipeline.name,
            "stream_id": stream_key,
            "root_id": int(parent["root_id"]) if parent else stream_key,  # type: ignore[call-overload]
            "step": step.path,
            "execution": 1,
            "is_current": True,
            "state": "WAITING",
            "attempt": 0,
            "created_at": created,
        }
        for stream, stream_key in zip(fresh, ids, strict=True)
        for step in pipeline.steps_of(stream.node)
    ]
    if instance_rows:
        connection.execute(insert(db.instances), instance_rows)
    return ids
