"""What `pipeline status`, `show`, `logs`, `outputs` and `provenance` print: read-only queries.

``status`` is Pipeline II's matrix: for each step of a pipeline (or of one stream's tree), how many process
instances are in each state, in one GROUP BY query whatever the size of the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from hepstack.errors import HepstackError
from hepstack.pipeline import db
from hepstack.pipeline.address import Address

INSTANCE_STATES = (
    "WAITING",
    "READY",
    "SUBMITTED",
    "RUNNING",
    "SUCCESS",
    "FAILED",
    "TERMINATED",
    "UNKNOWN",
    "CANCELED",
    "SKIPPED",
)
STREAM_STATES = ("WAITING", "RUNNING", "SUCCESS", "FAILED", "CANCELED")


@dataclass
class Matrix:
    pipeline: str
    stream: str | None
    steps: dict[str, dict[str, int]] = field(default_factory=dict)  # step -> state -> count
    streams: dict[str, dict[str, int]] = field(default_factory=dict)  # node -> state -> count

    @property
    def done(self) -> bool:
        active = ("WAITING", "READY", "SUBMITTED", "RUNNING")
        return not any(counts.get(state) for counts in self.steps.values() for state in active)

    def as_json(self) -> dict[str, Any]:
        totals: dict[str, int] = {}
        for counts in self.steps.values():
            for state, count in counts.items():
                totals[state] = totals.get(state, 0) + count
        return {
            "pipeline": self.pipeline,
            "stream": self.stream,
            "steps": self.steps,
            "streams": self.streams,
            "totals": totals,
            "done": self.done,
        }


def _subtree(address: Address) -> Any:
    s = db.streams
    condition = s.c.pipeline == address.pipeline
    if address.stream:
        condition = and_(
            condition,
            or_(s.c.address == address.stream, s.c.address.startswith(address.stream + "/", autoescape=True)),
        )
    return condition


def matrix(connection: Connection, address: Address) -> Matrix:
    s, i = db.streams, db.instances
    where = _subtree(address)
    result = Matrix(address.pipeline, address.stream)
    step_rows = connection.execute(
        select(i.c.step, i.c.state, func.count())
        .select_from(i.join(s, i.c.stream_id == s.c.id))
        .where(where, i.c.is_current.is_(True))
        .group_by(i.c.step, i.c.state)
        .order_by(func.min(i.c.id))
    ).all()
    for step, state, count in step_rows:
        result.steps.setdefault(step, {})[state] = int(count)
    for node, state, count in connection.execute(
        select(s.c.node, s.c.state, func.count()).where(where).group_by(s.c.node, s.c.state)
    ).all():
        result.streams.setdefault(node or "(top)", {})[state] = int(count)
    if not result.steps and not result.streams:
        raise HepstackError(
            f"no pipeline stream matches {address}",
            hint="`hepstack pipeline status` lists every pipeline and its streams",
        )
    return result


def pipelines_in(connection: Connection) -> list[str]:
    rows = connection.execute(select(db.streams.c.pipeline).distinct().order_by(db.streams.c.pipeline))
    return [row[0] for row in rows]


def top_streams(connection: Connection, pipeline: str) -> list[dict[str, Any]]:
    s = db.streams
    rows = connection.execute(
        select(s.c.address, s.c.state, s.c.created_at, s.c.finished_at)
        .where(s.c.pipeline == pipeline, s.c.parent_id.is_(None))
        .order_by(s.c.id)
    ).all()
    return [dict(row._mapping) for row in rows]


def find_instance(connection: Connection, address: Address) -> dict[str, Any]:
    """One instance row (the current execution unless ``#N`` asks for another), with its stream."""
    s, i = db.streams, db.instances
    step_condition = or_(
        i.c.step == address.step, i.c.step.endswith("." + (address.step or ""), autoescape=True)
    )
    query = (
        select(i, s.c.address.label("stream_address"), s.c.variables, s.c.node)
        .select_from(i.join(s, i.c.stream_id == s.c.id))
        .where(s.c.pipeline == address.pipeline, s.c.address == address.stream, step_condition)
    )
    if address.execution is not None:
        query = query.where(i.c.execution == address.execution)
    else:
        query = query.where(i.c.is_current.is_(True))
    row = connection.execute(query).mappings().first()
    if row is None:
        raise HepstackError(
            f"no process instance {address}",
            hint=f"`hepstack pipeline status {address.pipeline}/{address.stream}` shows its steps",
        )
    return dict(row)


def attempts_of(connection: Connection, instance_id: int) -> list[dict[str, Any]]:
    a, sub = db.attempts, db.submissions
    rows = connection.execute(
        select(a, sub.c.scheduler, sub.c.native_id, sub.c.job_name, sub.c.jobdir)
        .select_from(a.outerjoin(sub, a.c.submission_id == sub.c.id))
        .where(a.c.instance_id == instance_id)
        .order_by(a.c.attempt)
    ).mappings()
    return [dict(row) for row in rows]


def outputs_of(connection: Connection, instance_id: int) -> list[dict[str, Any]]:
    o = db.outputs
    rows = connection.execute(
        select(o.c.name, o.c.path, o.c.size, o.c.sha256)
        .where(o.c.instance_id == instance_id)
        .order_by(o.c.name)
    ).mappings()
    return [dict(row) for row in rows]


def facts_of(connection: Connection, instance_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per instance: the files it staged in and out (node path and URL) and the metadata of its outputs."""
    f = db.facts
    found: dict[int, dict[str, Any]] = {}
    if not instance_ids:
        return found
    rows = connection.execute(
        select(f.c.instance_id, f.c.kind, f.c.name, f.c.value)
        .where(f.c.instance_id.in_(instance_ids))
        .order_by(f.c.id)
    )
    for instance_id, kind, name, value in rows:
        entry = found.setdefault(instance_id, {"staged_in": [], "staged_out": [], "metadata": {}})
        if kind == "metadata":
            entry["metadata"][name] = value
        else:
            entry["staged_in" if kind == "staged-in" else "staged_out"].append({"path": name, "url": value})
    return found


def _no_facts() -> dict[str, Any]:
    return {"staged_in": [], "staged_out": [], "metadata": {}}


def provenance(connection: Connection, instance_row: dict[str, Any]) -> dict[str, Any]:
    """Everything recorded about one instance: Pipeline II's process page, as data."""
    images = _root_images(connection, instance_row["root_id"])
    pinned = next(
        (value for value in images.values() if value.get("reference") == instance_row["image"]), None
    )
    return {
        "instance": f"{instance_row['pipeline']}/{instance_row['stream_address']}:"
        f"{instance_row['step'].rsplit('.', 1)[-1]}",
        "step": instance_row["step"],
        "execution": instance_row["execution"],
        "current": bool(instance_row["is_current"]),
        "state": instance_row["state"],
        "reason": instance_row["reason"],
        "exit_code": instance_row["exit_code"],
        "attempts": instance_row["attempt"],
        "site": instance_row["site"],
        "scheduler": instance_row["scheduler"],
        "runtime": instance_row["runtime"],
        "host": instance_row["host"],
        "image": instance_row["image"],
        "image_id": instance_row["image_id"],
        "spec_key": pinned.get("key") if pinned else None,
        "command": json.loads(instance_row["command"]) if instance_row["command"] else None,
        "variables": json.loads(instance_row["variables"]),
        "inputs": json.loads(instance_row["inputs"]) if instance_row["inputs"] else {},
        "started_at": instance_row["started_at"],
        "ended_at": instance_row["ended_at"],
        "history": [
            {
                "attempt": row["attempt"],
                "state": row["state"],
                "exit_code": row["exit_code"],
                "reason": row["reason"],
                "host": row["host"],
                "scheduler": row["scheduler"],
                "job": f"{row['native_id']}[{row['task_index']}]" if row["native_id"] else None,
                "job_name": row["job_name"],
                "log": row["log"],
                "started_at": row["started_at"],
                "ended_at": row["ended_at"],
            }
            for row in attempts_of(connection, instance_row["id"])
        ],
        "outputs": outputs_of(connection, instance_row["id"]),
        **facts_of(connection, [instance_row["id"]]).get(instance_row["id"], _no_facts()),
    }


def _root_images(connection: Connection, root_id: int) -> dict[str, dict[str, Any]]:
    row = connection.execute(select(db.streams.c.images).where(db.streams.c.id == root_id)).first()
    return json.loads(row[0]) if row and row[0] else {}


def outputs_list(connection: Connection, address: Address | None) -> list[dict[str, Any]]:
    """The data catalog: every recorded output of current executions, with where it came from."""
    o, i, s = db.outputs, db.instances, db.streams
    query = (
        select(
            o.c.path,
            o.c.name,
            o.c.size,
            o.c.sha256,
            i.c.step,
            i.c.execution,
            i.c.image,
            i.c.image_id,
            i.c.site,
            i.c.host,
            s.c.pipeline,
            s.c.address,
            s.c.variables,
            o.c.instance_id,
        )
        .select_from(o.join(i, o.c.instance_id == i.c.id).join(s, i.c.stream_id == s.c.id))
        .where(i.c.is_current.is_(True))
        .order_by(o.c.id)
    )
    if address is not None:
        query = query.where(_subtree(address))
    rows = [dict(row) for row in connection.execute(query).mappings()]
    facts = facts_of(connection, sorted({row["instance_id"] for row in rows}))
    for row in rows:
        row["metadata"] = facts.get(row["instance_id"], _no_facts())["metadata"]
    return rows


def producer_of(connection: Connection, path: str) -> dict[str, Any]:
    """The instance row that wrote ``path`` (its newest recorded output of that name)."""
    o, i, s = db.outputs, db.instances, db.streams
    row = (
        connection.execute(
            select(i, s.c.address.label("stream_address"), s.c.variables, s.c.node)
            .select_from(o.join(i, o.c.instance_id == i.c.id).join(s, i.c.stream_id == s.c.id))
            .where(o.c.path == path)
            .order_by(o.c.id.desc())
        )
        .mappings()
        .first()
    )
    if row is None:
        raise HepstackError(
            f"no pipeline recorded an output {path}",
            hint="give the absolute path as the step declared it; `hepstack pipeline outputs` lists them",
        )
    return dict(row)


def pipelines_with_work(connection: Connection) -> list[str]:
    """Pipelines with an unfinished top stream."""
    s = db.streams
    rows = connection.execute(
        select(s.c.pipeline)
        .where(s.c.parent_id.is_(None), s.c.state.in_(("WAITING", "RUNNING")))
        .distinct()
        .order_by(s.c.pipeline)
    )
    return [row[0] for row in rows]


def lineage(connection: Connection, path: str, limit: int = 500) -> list[dict[str, Any]]:
    """The provenance of the instance that wrote ``path``, then of every instance it was made from
    (the producers of its input files, and the steps of its stream it needed), breadth first."""
    from hepstack.pipeline.graph import DefinitionCache

    definitions = DefinitionCache()
    first = producer_of(connection, path)
    queue: list[tuple[dict[str, Any], int]] = [(first, 0)]
    seen = {first["id"]}
    chain: list[dict[str, Any]] = []
    while queue and len(chain) < limit:
        row, depth = queue.pop(0)
        chain.append({**provenance(connection, row), "depth": depth})
        for upstream in _upstream(connection, row, definitions):
            if upstream["id"] not in seen:
                seen.add(upstream["id"])
                queue.append((upstream, depth + 1))
    return chain


def _upstream(connection: Connection, row: dict[str, Any], definitions: Any) -> list[dict[str, Any]]:
    s, i = db.streams, db.instances
    found = []
    staged_in = [
        item["url"] for item in facts_of(connection, [row["id"]]).get(row["id"], _no_facts())["staged_in"]
    ]
    for values in [*(json.loads(row["inputs"]) if row["inputs"] else {}).values(), staged_in]:
        for value in values:
            if value.startswith(("/", "root://")):
                try:
                    found.append(producer_of(connection, value))
                except HepstackError:
                    continue  # a list of ids, or a file no pipeline made
    definition_id = connection.execute(
        select(s.c.definition_id).where(s.c.id == row["stream_id"])
    ).scalar_one()
    step = definitions.get(connection, definition_id).steps.get(row["step"])
    targets = [d.target for d in step.needs if not d.below] if step else []
    if targets:
        found += [
            dict(r)
            for r in connection.execute(
                select(i, s.c.address.label("stream_address"), s.c.variables, s.c.node)
                .select_from(i.join(s, i.c.stream_id == s.c.id))
                .where(i.c.stream_id == row["stream_id"], i.c.step.in_(targets), i.c.is_current.is_(True))
            ).mappings()
        ]
    return found


# --- read-only queries for the inventory and the dashboard (docs/dashboard.md) ---------------------------


def outputs_with_producers(connection: Connection) -> list[dict[str, Any]]:
    """Every recorded output of current executions with where and how it was made (site, scheduler,
    runtime, image, host, when): the pipeline evidence of the inventory."""
    o, i, s = db.outputs, db.instances, db.streams
    query = (
        select(
            o.c.path,
            o.c.name,
            o.c.sha256,
            o.c.created_at,
            i.c.step,
            i.c.execution,
            i.c.image,
            i.c.image_id,
            i.c.site,
            i.c.scheduler,
            i.c.runtime,
            i.c.host,
            i.c.ended_at,
            s.c.pipeline,
            s.c.address,
        )
        .select_from(o.join(i, o.c.instance_id == i.c.id).join(s, i.c.stream_id == s.c.id))
        .where(i.c.is_current.is_(True))
        .order_by(o.c.id)
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def runs_by_platform(connection: Connection) -> list[dict[str, Any]]:
    """Final process instances counted by (scheduler, runtime, site, state), with the newest end time:
    which batch systems each runtime has worked with here."""
    i = db.instances
    rows = connection.execute(
        select(i.c.scheduler, i.c.runtime, i.c.site, i.c.state, func.count(), func.max(i.c.ended_at))
        .where(i.c.state.in_(("SUCCESS", "FAILED")), i.c.scheduler.is_not(None))
        .group_by(i.c.scheduler, i.c.runtime, i.c.site, i.c.state)
        .order_by(i.c.scheduler, i.c.runtime)
    ).all()
    return [
        {
            "scheduler": scheduler,
            "runtime": runtime,
            "site": site,
            "state": state,
            "count": int(count),
            "last": last,
        }
        for scheduler, runtime, site, state, count, last in rows
    ]


def stream_instances(connection: Connection, pipeline: str, stream: str) -> list[dict[str, Any]]:
    """The current process instances of one stream and its substreams, in one query: state, site,
    scheduler and its job id, host, execution, attempt, times and the latest attempt's id and log."""
    s, i, a, sub = db.streams, db.instances, db.attempts, db.submissions
    latest = a.alias("latest")
    query = (
        select(
            i.c.id,
            i.c.step,
            i.c.execution,
            i.c.attempt,
            i.c.state,
            i.c.reason,
            i.c.exit_code,
            i.c.site,
            i.c.scheduler,
            i.c.runtime,
            i.c.host,
            i.c.image,
            i.c.created_at,
            i.c.started_at,
            i.c.ended_at,
            i.c.task_index,
            s.c.address,
            sub.c.native_id,
            sub.c.job_name,
            latest.c.id.label("attempt_id"),
            latest.c.log,
        )
        .select_from(
            i.join(s, i.c.stream_id == s.c.id)
            .outerjoin(sub, i.c.submission_id == sub.c.id)
            .outerjoin(latest, and_(latest.c.instance_id == i.c.id, latest.c.attempt == i.c.attempt))
        )
        .where(
            _subtree(Address(pipeline, stream)),
            i.c.is_current.is_(True),
        )
        .order_by(s.c.id, i.c.id)
    )
    return [dict(row) for row in connection.execute(query).mappings()]


def attempt_log(connection: Connection, attempt_id: int) -> dict[str, Any] | None:
    """One attempt's log path with the instance it belongs to (for showing the log by the attempt's id,
    never by a path a request names)."""
    a, i, s = db.attempts, db.instances, db.streams
    row = (
        connection.execute(
            select(
                a.c.id, a.c.attempt, a.c.log, a.c.state, i.c.step, i.c.execution, s.c.pipeline, s.c.address
            )
            .select_from(a.join(i, a.c.instance_id == i.c.id).join(s, i.c.stream_id == s.c.id))
            .where(a.c.id == attempt_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def stream_totals(connection: Connection, pipeline: str) -> dict[str, dict[str, int]]:
    """Current process instances of each top stream's tree by state, in one GROUP BY: address -> counts."""
    i, s = db.instances, db.streams
    totals: dict[str, dict[str, int]] = {}
    for address, state, count in connection.execute(
        select(s.c.address, i.c.state, func.count())
        .select_from(i.join(s, i.c.root_id == s.c.id))
        .where(i.c.pipeline == pipeline, i.c.is_current.is_(True))
        .group_by(s.c.address, i.c.state)
    ).all():
        totals.setdefault(str(address), {})[state] = int(count)
    return totals


def instance_by_id(connection: Connection, instance_id: int) -> dict[str, Any] | None:
    """One instance row with its stream, shaped as :func:`find_instance` returns it (for provenance)."""
    s, i = db.streams, db.instances
    row = (
        connection.execute(
            select(i, s.c.address.label("stream_address"), s.c.variables, s.c.node)
            .select_from(i.join(s, i.c.stream_id == s.c.id))
            .where(i.c.id == instance_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def stream_row(connection: Connection, pipeline: str, address: str) -> dict[str, Any] | None:
    """One stream: its state, variables, times and parent."""
    s = db.streams
    row = (
        connection.execute(select(s).where(s.c.pipeline == pipeline, s.c.address == address))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None
