"""Rollback and cancel, Pipeline II's two operator actions on process instances and streams.

**Rollback** re-runs chosen instances and everything downstream of them, each with a new execution number
(the old executions stay, as history): the steps of the same stream that need them, the steps of enclosing
streams that wait on them (a chunk's merge waits on its crumbs), and, for a step that creates substreams,
every instance of those substreams (which wait for their creator to succeed again). Nothing else is touched.
Instances still queued or running are refused: cancel them first.

**Cancel** stops what is queued or running of a stream (or of chosen instances) through the scheduler,
waits for the scheduler to confirm, and marks every unfinished instance, and the stream, CANCELED.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hepstack.errors import HepstackError
from hepstack.pipeline import db
from hepstack.pipeline.address import Address
from hepstack.pipeline.graph import (
    ACTIVE_STATES,
    DefinitionCache,
    Graph,
    InstanceView,
    StreamView,
    load_graph,
)


@dataclass(frozen=True)
class RollbackPlan:
    chosen: list[InstanceView]
    downstream: list[InstanceView]  # besides the chosen ones

    @property
    def all(self) -> list[InstanceView]:
        return [*self.chosen, *self.downstream]


def graph_of(connection: Connection, address: Address, definitions: DefinitionCache) -> Graph:
    """The whole tree (finished or not) of every top stream ``address`` can match."""
    s = db.streams
    query = select(s.c.id, s.c.address).where(s.c.pipeline == address.pipeline, s.c.parent_id.is_(None))
    top = (address.stream or "*").split("/")[0]
    roots = [row.id for row in connection.execute(query) if fnmatch.fnmatchcase(row.address, top)]
    if not roots:
        raise HepstackError(
            f"no stream matches {address}",
            hint=f"`hepstack pipeline status {address.pipeline}` lists its streams",
        )
    return load_graph(connection, [address.pipeline], definitions, root_ids=roots)


def matching(graph: Graph, address: Address) -> list[InstanceView]:
    """Current instances ``address`` names (a stream address: every instance of those streams and below)."""
    found = []
    for instance in graph.instances.values():
        stream = instance.stream.address
        if address.step is None:
            pattern = address.stream or "*"
            if not (fnmatch.fnmatchcase(stream, pattern) or fnmatch.fnmatchcase(stream, pattern + "/*")):
                continue
        elif not (
            fnmatch.fnmatchcase(stream, address.stream or "*")
            and fnmatch.fnmatchcase(instance.step.name, address.step)
        ):
            continue
        if address.execution is not None and instance.execution != address.execution:
            continue
        found.append(instance)
    return sorted(found, key=lambda x: x.id)


def plan_rollback(graph: Graph, chosen: list[InstanceView]) -> RollbackPlan:
    selected = {instance.id: instance for instance in chosen}
    queue = list(chosen)
    while queue:
        instance = queue.pop()
        for follower in _followers(graph, instance):
            if follower.id not in selected:
                selected[follower.id] = follower
                queue.append(follower)
    chosen_ids = {instance.id for instance in chosen}
    downstream = sorted((x for x in selected.values() if x.id not in chosen_ids), key=lambda x: x.id)
    return RollbackPlan(chosen, downstream)


def _followers(graph: Graph, instance: InstanceView) -> list[InstanceView]:
    """Instances that directly depend on ``instance``, or exist because of it."""
    stream = instance.stream
    found: list[InstanceView] = []
    for other in stream.instances.values():
        if any(not d.below and d.target == instance.step.path for d in other.step.needs):
            found.append(other)
    ancestor = stream.parent
    while ancestor is not None:  # a chunk's merge waits on `crumb.merit`, a run's on `chunk.crumb.merit`
        for other in ancestor.instances.values():
            if any(d.below and d.target == instance.step.path for d in other.step.needs):
                found.append(other)
        ancestor = ancestor.parent
    if instance.step.spec.creates:
        for group in stream.children.values():
            for child in group:
                if child.creator_step == instance.step.path:
                    found += _every_instance(child)
    return found


def _every_instance(stream: StreamView) -> list[InstanceView]:
    found = list(stream.instances.values())
    for group in stream.children.values():
        for child in group:
            found += _every_instance(child)
    return found


def apply_rollback(connection: Connection, plan: RollbackPlan) -> list[tuple[str, int]]:
    """New executions for every instance of ``plan``; (address, new execution) of each."""
    busy = [x.address for x in plan.all if x.state in ACTIVE_STATES]
    if busy:
        raise HepstackError(
            f"{len(busy)} instance(s) to roll back are still queued or running: {', '.join(busy[:5])}",
            hint="cancel them first (hepstack pipeline cancel ADDRESS), or wait for them to end",
        )
    now = db.now()
    i, s = db.instances, db.streams
    created = []
    reopened: set[int] = set()
    for instance in plan.all:
        connection.execute(update(i).where(i.c.id == instance.id).values(is_current=False))
        connection.execute(
            insert(i).values(
                pipeline=instance.stream.pipeline.name,
                stream_id=instance.stream.id,
                root_id=instance.stream.root_id,
                step=instance.step.path,
                execution=instance.execution + 1,
                is_current=True,
                state="WAITING",
                attempt=0,
                created_at=now,
            )
        )
        created.append((instance.address, instance.execution + 1))
        stream: StreamView | None = instance.stream
        while stream is not None and stream.id not in reopened:
            reopened.add(stream.id)
            stream = stream.parent
    for instance in plan.all:  # substreams of a re-run creator wait for it (see advance._admit)
        if instance.step.spec.creates:
            for group in instance.stream.children.values():
                for child in group:
                    if child.creator_step == instance.step.path:
                        reopened.discard(child.id)
                        connection.execute(update(s).where(s.c.id == child.id).values(state="WAITING"))
    if reopened:
        connection.execute(
            update(s).where(s.c.id.in_(sorted(reopened))).values(state="RUNNING", finished_at=None)
        )
    return created


def cancel_states(connection: Connection, instances: list[InstanceView], streams: list[StreamView]) -> int:
    """Mark unfinished ``instances`` and ``streams`` CANCELED; how many instances were."""
    now = db.now()
    i, s = db.instances, db.streams
    ids = [x.id for x in instances if not x.final]
    if ids:
        connection.execute(
            update(i)
            .where(i.c.id.in_(ids), i.c.is_current.is_(True))
            .values(state="CANCELED", reason="cancelled by the operator", ended_at=now)
        )
    stream_ids = [x.id for x in streams if x.state in ("WAITING", "RUNNING")]
    if stream_ids:
        connection.execute(update(s).where(s.c.id.in_(stream_ids)).values(state="CANCELED", finished_at=now))
    return len(ids)
