"""One orchestrator per pipeline at a time: a lease row in the state DB.

The holder renews it at every pass; it expires ``ttl`` seconds after the last renewal. Another orchestrator
takes it only when it has expired, or at once when its holder ran on this host and its process is gone
(``kill -9``). Every take-over increments ``generation``: the holder checks its generation in the same
transaction as each intent to submit, so an orchestrator that lost its lease (stopped for longer than the
ttl, then woke up) can never submit again.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from hepstack.errors import HepstackError
from hepstack.pipeline import db

DEFAULT_TTL = 60.0


@dataclass(frozen=True)
class Lease:
    pipeline: str
    holder: str
    generation: int


class LeaseHeld(HepstackError):
    """Another orchestrator holds the lease: says who and since when."""

    def __init__(self, pipeline: str, host: str, pid: int, acquired: float, expires: float) -> None:
        def shown(seconds: float) -> str:
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

        super().__init__(
            f"pipeline {pipeline} is run by another orchestrator: pid {pid} on {host}, "
            f"since {shown(acquired)} "
            f"(its lease expires at {shown(expires)} unless renewed)",
            hint="let it run (`hepstack pipeline status` shows its progress), or start this one with --wait "
            "to take over when that one stops",
        )
        self.host, self.pid = host, pid


class LeaseLost(HepstackError):
    pass


def acquire(connection: Connection, pipeline: str, ttl: float = DEFAULT_TTL) -> Lease:
    """Take the lease of ``pipeline`` or raise :class:`LeaseHeld`."""
    table = db.leases
    now = db.now()
    host, pid = socket.gethostname(), os.getpid()
    holder = secrets.token_hex(8)
    row = connection.execute(select(table).where(table.c.pipeline == pipeline)).first()
    if row is None:
        connection.execute(
            insert(table).values(
                pipeline=pipeline,
                holder=holder,
                host=host,
                pid=pid,
                generation=1,
                acquired_at=now,
                renewed_at=now,
                expires_at=now + ttl,
            )
        )
        return Lease(pipeline, holder, 1)
    if row.expires_at > now and not _dead_here(row.host, row.pid):
        raise LeaseHeld(pipeline, row.host, row.pid, row.acquired_at, row.expires_at)
    generation = row.generation + 1
    taken = connection.execute(
        update(table)
        .where(table.c.pipeline == pipeline, table.c.generation == row.generation)
        .values(
            holder=holder,
            host=host,
            pid=pid,
            generation=generation,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + ttl,
        )
    )
    if taken.rowcount != 1:
        raise LeaseHeld(pipeline, row.host, row.pid, row.acquired_at, row.expires_at)
    return Lease(pipeline, holder, generation)


def renew(connection: Connection, lease: Lease, ttl: float = DEFAULT_TTL) -> None:
    """Extend the lease, or :class:`LeaseLost` if another orchestrator took it meanwhile."""
    now = db.now()
    renewed = connection.execute(
        update(db.leases)
        .where(
            db.leases.c.pipeline == lease.pipeline,
            db.leases.c.holder == lease.holder,
            db.leases.c.generation == lease.generation,
        )
        .values(renewed_at=now, expires_at=now + ttl)
    )
    if renewed.rowcount != 1:
        raise LeaseLost(
            f"the lease of pipeline {lease.pipeline} was taken over by another orchestrator",
            hint="this one stops; the other carries on",
        )


def release(connection: Connection, lease: Lease) -> None:
    connection.execute(
        update(db.leases)
        .where(db.leases.c.pipeline == lease.pipeline, db.leases.c.holder == lease.holder)
        .values(expires_at=0.0)
    )


def holder_of(connection: Connection, pipeline: str) -> tuple[str, int, float, float] | None:
    row = connection.execute(select(db.leases).where(db.leases.c.pipeline == pipeline)).first()
    if row is None or row.expires_at <= db.now():
        return None
    return row.host, row.pid, row.acquired_at, row.expires_at


def _dead_here(host: str, pid: int) -> bool:
    """The holder ran on this host and its process no longer exists."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
