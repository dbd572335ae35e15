"""What can happen next, worked out from a :class:`~hepstack.pipeline.graph.Graph` without touching the DB.

Three things, in this order: throttled streams are admitted (at most ``max_in_flight`` streams of a
(sub-)pipeline at once, across the whole DB: L1Proc's "6 runs in flight"); WAITING instances whose
dependencies are met become READY, or SKIPPED when a dependency can never be met; streams whose every
instance and substream is final become SUCCESS, FAILED or CANCELED (deepest first, so a whole tree can
finish in one pass).

A dependency over substreams (``crumb.merit`` from a chunk) is met when every step that creates those
substreams has ended and every one of their ``merit`` instances has too (``when: done``) or has succeeded
(``when: success``). A ``when: done`` dependency with ``as: CRUMBS`` hands the dependent the outputs of the
ones that succeeded and the ids of those that did not.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from hepstack.pipeline.definition import CompiledDependency
from hepstack.pipeline.graph import FINAL_STATES, STREAM_FINAL, Graph, InstanceView, StreamView
from hepstack.pipeline.template import fill


@dataclass
class Changes:
    admitted: list[int] = field(default_factory=list)  # stream ids
    ready: list[tuple[int, str | None]] = field(default_factory=list)  # instance id, inputs (JSON)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # instance id, reason
    finished: list[tuple[int, str]] = field(default_factory=list)  # stream id, final state

    def __bool__(self) -> bool:
        return bool(self.admitted or self.ready or self.skipped or self.finished)


@dataclass
class _Met:
    """How far one dependency is: waiting, impossible (with why), or met (with the lists it gives)."""

    waiting: bool = False
    impossible: str | None = None
    succeeded: list[InstanceView] = field(default_factory=list)
    missing: list[StreamView] = field(default_factory=list)


def advance(graph: Graph) -> Changes:
    changes = Changes()
    _admit(graph, changes)
    admitted = set(changes.admitted)
    for instance in graph.instances.values():
        if instance.state != "WAITING":
            continue
        if instance.stream.state != "RUNNING" and instance.stream.id not in admitted:
            continue
        _evaluate(instance, changes)
    _finish_streams(graph, changes)
    return changes


def _admit(graph: Graph, changes: Changes) -> None:
    running = Counter((s.pipeline.name, s.node) for s in graph.streams.values() if s.state == "RUNNING")
    for stream in sorted(graph.streams.values(), key=lambda s: s.id):
        if stream.state != "WAITING":
            continue
        if stream.parent is not None and stream.parent.state != "RUNNING":
            continue
        if stream.parent is not None and stream.creator_step is not None:
            creator = stream.parent.instances.get(stream.creator_step)
            if creator is not None and creator.state != "SUCCESS":
                continue  # its creator runs again (a rollback): wait for it
        limit = stream.pipeline.nodes[stream.node].max_in_flight
        key = (stream.pipeline.name, stream.node)
        if limit is None or running[key] < limit:
            running[key] += 1
            changes.admitted.append(stream.id)


def _evaluate(instance: InstanceView, changes: Changes) -> None:
    inputs: dict[str, list[str]] = {}
    for dependency in instance.step.needs:
        met = _dependency(instance.stream, dependency)
        if met.impossible is not None:
            changes.skipped.append((instance.id, met.impossible))
            return
        if met.waiting:
            return
        if dependency.as_ is not None:
            inputs.update(_lists(dependency, met))
    changes.ready.append((instance.id, json.dumps(inputs, sort_keys=True) if inputs else None))


def _dependency(stream: StreamView, dependency: CompiledDependency) -> _Met:
    met = _Met()
    step_name = dependency.target.rsplit(".", 1)[-1]
    if not dependency.below:
        _one(stream.instances.get(dependency.target), dependency, stream, met)
        return met
    _below(stream, list(dependency.below), step_name, dependency, met)
    return met


def _one(
    instance: InstanceView | None, dependency: CompiledDependency, stream: StreamView, met: _Met
) -> None:
    if instance is None or not instance.final:
        met.waiting = True
    elif instance.state == "SUCCESS":
        met.succeeded.append(instance)
    elif dependency.when == "success":
        met.impossible = f"needs {instance.address}, which ended {instance.state}"
    else:
        met.missing.append(stream)


def _below(
    stream: StreamView, below: list[str], step_name: str, dependency: CompiledDependency, met: _Met
) -> None:
    child_node = f"{stream.node}.{below[0]}" if stream.node else below[0]
    for creator_path in stream.pipeline.creators.get(child_node, []):
        creator = stream.instances.get(creator_path)
        if creator is None or not creator.final:
            met.waiting = True
            return
        if creator.state != "SUCCESS" and dependency.when == "success":
            met.impossible = f"needs the {below[0]} streams of {creator.address}, which ended {creator.state}"
            return
    for child in stream.children.get(child_node, []):
        if len(below) > 1:
            _below(child, below[1:], step_name, dependency, met)
        else:
            _one(child.instances.get(f"{child_node}.{step_name}"), dependency, child, met)
        if met.impossible is not None or met.waiting:
            return


def _lists(dependency: CompiledDependency, met: _Met) -> dict[str, list[str]]:
    """``AS`` (every output of the succeeded instances), ``AS_<OUTPUT>``, ``AS_SUCCEEDED``, ``AS_MISSING``."""
    name = dependency.as_
    assert name is not None
    every: list[str] = []
    per_output: dict[str, list[str]] = {}
    for instance in met.succeeded:
        scalars = instance.scalars()
        for output, template in instance.step.spec.outputs.items():
            path = fill(template, scalars)
            every.append(path)
            per_output.setdefault(f"{name}_{output.upper()}", []).append(path)
    lists = {
        name: every,
        f"{name}_SUCCEEDED": [instance.stream.stream_id for instance in met.succeeded],
        f"{name}_MISSING": [stream.stream_id for stream in met.missing],
    }
    lists.update(per_output)
    return lists


def _finish_streams(graph: Graph, changes: Changes) -> None:
    skipped = {instance_id for instance_id, _ in changes.skipped}
    finished: dict[int, str] = {}
    for stream in sorted(graph.streams.values(), key=lambda s: -s.depth):
        if stream.state != "RUNNING":
            continue
        states = ["SKIPPED" if i.id in skipped else i.state for i in stream.instances.values()]
        if not all(state in FINAL_STATES for state in states):
            continue
        children = [
            finished.get(child.id, child.state) for group in stream.children.values() for child in group
        ]
        if not all(state in STREAM_FINAL for state in children):
            continue
        if "CANCELED" in states or "CANCELED" in children:
            state = "CANCELED"
        elif all(s == "SUCCESS" for s in states) and all(s == "SUCCESS" for s in children):
            state = "SUCCESS"
        else:
            state = "FAILED"
        finished[stream.id] = state
        changes.finished.append((stream.id, state))
