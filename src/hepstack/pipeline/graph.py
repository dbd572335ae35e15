"""The live part of a pipeline, read from the DB in two queries: every stream and current process instance
of its unfinished top streams, linked in memory.

The orchestrator reads it afresh at each pass (the DB is the only truth; another process may have created,
rolled back or cancelled something since), works out what changed, and writes that back in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection

from hepstack.pipeline import db
from hepstack.pipeline.definition import CompiledStep, Pipeline, compile_text

FINAL_STATES = frozenset({"SUCCESS", "FAILED", "TERMINATED", "CANCELED", "SKIPPED", "UNKNOWN"})
ACTIVE_STATES = frozenset({"SUBMITTED", "RUNNING"})
STREAM_FINAL = frozenset({"SUCCESS", "FAILED", "CANCELED"})


@dataclass
class StreamView:
    id: int
    pipeline: Pipeline
    definition_id: int
    node: str
    stream_id: str
    address: str
    parent_id: int | None
    root_id: int
    variables: dict[str, str]
    state: str
    images: str | None
    creator_step: str | None = None  # the step of the parent whose summary created this stream
    children: dict[str, list[StreamView]] = field(default_factory=dict)  # child node -> streams
    instances: dict[str, InstanceView] = field(default_factory=dict)  # step path -> current instance
    parent: StreamView | None = None

    @property
    def depth(self) -> int:
        return self.address.count("/")

    def root(self) -> StreamView:
        stream = self
        while stream.parent is not None:
            stream = stream.parent
        return stream


@dataclass
class InstanceView:
    id: int
    stream: StreamView
    step: CompiledStep
    execution: int
    state: str
    attempt: int
    not_before: float | None
    submission_id: int | None
    task_index: int | None
    inputs: str | None = None  # JSON: the lists of its `when: done` dependencies
    site: str | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def address(self) -> str:
        return f"{self.stream.pipeline.name}/{self.stream.address}:{self.step.name}"

    def scalars(self) -> dict[str, str]:
        """The variables a template of this instance may use: the stream's and the built-in ones."""
        values = dict(self.stream.variables)
        values.update(
            PIPELINE=self.stream.pipeline.name,
            STREAM=self.stream.address,
            STREAM_ID=self.stream.stream_id,
            STEP=self.step.name,
            EXECUTION=str(self.execution),
        )
        return values


@dataclass
class Graph:
    streams: dict[int, StreamView] = field(default_factory=dict)
    instances: dict[int, InstanceView] = field(default_factory=dict)

    def roots(self) -> list[StreamView]:
        return [stream for stream in self.streams.values() if stream.parent_id is None]


class DefinitionCache:
    """Compiled pipeline definitions by DB id (a definition never changes once recorded)."""

    def __init__(self) -> None:
        self._compiled: dict[int, Pipeline] = {}

    def get(self, connection: Connection, definition_id: int) -> Pipeline:
        if definition_id not in self._compiled:
            row = connection.execute(
                select(db.definitions.c.text, db.definitions.c.path).where(
                    db.definitions.c.id == definition_id
                )
            ).one()
            self._compiled[definition_id] = compile_text(row.text, row.path, check_environment=False)
        return self._compiled[definition_id]


def load_graph(
    connection: Connection,
    pipelines: list[str],
    definitions: DefinitionCache,
    root_ids: list[int] | None = None,
) -> Graph:
    """Every stream and current instance under the unfinished top streams of ``pipelines`` (or under the
    top streams ``root_ids``, finished or not)."""
    s, i = db.streams, db.instances
    if root_ids is not None:
        active_roots = select(s.c.id).where(s.c.id.in_(root_ids)).scalar_subquery()
    else:
        active_roots = (
            select(s.c.id)
            .where(
                s.c.pipeline.in_(pipelines), s.c.parent_id.is_(None), s.c.state.in_(("WAITING", "RUNNING"))
            )
            .scalar_subquery()
        )
    graph = Graph()
    rows = connection.execute(
        select(
            s.c.id,
            s.c.definition_id,
            s.c.node,
            s.c.stream_id,
            s.c.address,
            s.c.parent_id,
            s.c.root_id,
            s.c.variables,
            s.c.state,
            s.c.images,
            s.c.created_by_step,
        )
        .where(s.c.root_id.in_(active_roots))
        .order_by(s.c.id)
    ).all()
    for row in rows:
        pipeline = definitions.get(connection, row.definition_id)
        graph.streams[row.id] = StreamView(
            id=row.id,
            pipeline=pipeline,
            definition_id=row.definition_id,
            node=row.node,
            stream_id=row.stream_id,
            address=row.address,
            parent_id=row.parent_id,
            root_id=row.root_id,
            variables=json.loads(row.variables),
            state=row.state,
            images=row.images,
            creator_step=row.created_by_step,
        )
    for stream in graph.streams.values():
        if stream.parent_id is not None and stream.parent_id in graph.streams:
            parent = graph.streams[stream.parent_id]
            stream.parent = parent
            parent.children.setdefault(stream.node, []).append(stream)
    instance_rows = connection.execute(
        select(
            i.c.id,
            i.c.stream_id,
            i.c.step,
            i.c.execution,
            i.c.state,
            i.c.attempt,
            i.c.not_before,
            i.c.submission_id,
            i.c.task_index,
            i.c.inputs,
            i.c.site,
        ).where(i.c.root_id.in_(active_roots), i.c.is_current.is_(True))
    ).all()
    for row in instance_rows:
        owner = graph.streams.get(row.stream_id)
        if owner is None or row.step not in owner.pipeline.steps:
            continue
        view = InstanceView(
            id=row.id,
            stream=owner,
            step=owner.pipeline.steps[row.step],
            execution=row.execution,
            state=row.state,
            attempt=row.attempt,
            not_before=row.not_before,
            submission_id=row.submission_id,
            task_index=row.task_index,
            inputs=row.inputs,
            site=row.site,
        )
        owner.instances[row.step] = view
        graph.instances[row.id] = view
    return graph
