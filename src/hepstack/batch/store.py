"""hepstack's state database: every submitted job, so any later process can re-attach to it.

SQLAlchemy (DESIGN decision 1): a SQLite file under the data dir by default (``state.sqlite``), or any
URL in HEPSTACK_STATE_DB (PostgreSQL for a shared install).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from hepstack import private
from hepstack.context import Context
from hepstack.errors import HepstackError

_metadata = MetaData()
jobs_table = Table(
    "batch_jobs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("native_id", String(64), nullable=False),
    Column("scheduler", String(32), nullable=False),
    Column("site", String(64), nullable=True),
    Column("runtime", String(32), nullable=False),
    Column("image", Text, nullable=False),
    Column("image_id", Text, nullable=True),
    Column("tasks", Integer, nullable=False),
    Column("jobdir", Text, nullable=False),
    Column("script", Text, nullable=False),
    Column("command", Text, nullable=False),  # JSON list
    Column("user", String(64), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True)
class JobRecord:
    id: int
    native_id: str
    scheduler: str
    site: str | None
    runtime: str
    image: str
    image_id: str | None
    tasks: int
    jobdir: Path
    script: Path
    command: list[str]
    user: str
    submitted_at: datetime
    cancelled_at: datetime | None

    @property
    def label(self) -> str:
        return f"{self.scheduler}:{self.native_id}"


def state_url(context: Context, environment: Mapping[str, str] | None = None) -> str:
    environment = os.environ if environment is None else environment
    return environment.get("HEPSTACK_STATE_DB") or f"sqlite:///{context.data_dir / 'state.sqlite'}"


def private_sqlite(url: str) -> None:
    """A SQLite state DB is a 0600 file in a directory only the user can write (SQLite gives its journal
    the database's mode): made so, or refused (docs/security.md). Other URLs: nothing to do here."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///")).absolute()
    setting = "HEPSTACK_STATE_DB" if os.environ.get("HEPSTACK_STATE_DB") else "HEPSTACK_DATA_DIR"
    private.private_dir(str(path.parent), setting, tighten=False)
    private.private_file(str(path), setting)


class JobStore:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            private_sqlite(url)
            self._engine = create_engine(url)
            _create_tables(self._engine)
        except (OSError, SQLAlchemyError) as exc:
            raise HepstackError(
                f"cannot open the state database {url}: {exc}",
                hint="set HEPSTACK_STATE_DB to a writable SQLAlchemy URL, e.g. sqlite:////home/me/state.sqlite",
            ) from None

    @classmethod
    def open(cls, context: Context) -> JobStore:
        return cls(state_url(context))

    def add(self, **values: Any) -> JobRecord:
        values = dict(values)
        values["command"] = json.dumps(values["command"])
        values["jobdir"] = str(values["jobdir"])
        values["script"] = str(values["script"])
        values.setdefault("submitted_at", datetime.now(UTC))
        with self._engine.begin() as connection:
            key = connection.execute(insert(jobs_table).values(**values)).inserted_primary_key
        assert key is not None
        return self.get(int(key[0]))

    def mark_cancelled(self, job_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(jobs_table).where(jobs_table.c.id == job_id).values(cancelled_at=datetime.now(UTC))
            )

    def get(self, job_id: int) -> JobRecord:
        with self._engine.connect() as connection:
            row = connection.execute(select(jobs_table).where(jobs_table.c.id == job_id)).mappings().first()
        if row is None:
            raise HepstackError(f"no job {job_id} in {self.url}", hint="`hepstack jobs --all` lists them")
        return _record(row)

    def find(self, text: str) -> JobRecord:
        """``N`` (hepstack's job number) or ``SCHEDULER:NATIVE_ID``."""
        scheduler, sep, native = text.partition(":")
        if not sep:
            if not text.isdigit():
                raise HepstackError(
                    f"bad job {text!r}",
                    hint="give hepstack's job number (see `hepstack jobs`) or slurm:12345",
                )
            return self.get(int(text))
        query = select(jobs_table).where(
            jobs_table.c.scheduler == scheduler, jobs_table.c.native_id == native
        )
        with self._engine.connect() as connection:
            row = connection.execute(query.order_by(jobs_table.c.id.desc())).mappings().first()
        if row is None:
            raise HepstackError(f"no job {text} in {self.url}", hint="`hepstack jobs --all` lists them")
        return _record(row)

    def recent(self, limit: int | None = 20) -> list[JobRecord]:
        query = select(jobs_table).order_by(jobs_table.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_record(row) for row in reversed(rows)]

    def forget(self, job_id: int) -> None:
        """Remove the record of job ``job_id`` (`hepstack prune`, once its directory is gone)."""
        with self._engine.begin() as connection:
            connection.execute(jobs_table.delete().where(jobs_table.c.id == job_id))

    def close(self) -> None:
        self._engine.dispose()


def _create_tables(engine: Engine) -> None:
    """The tables, made by whichever of several processes opening a new database comes first.

    ``create_all`` checks, then creates: two processes both saw no table and the second failed with
    "table batch_jobs already exists". ``CREATE TABLE IF NOT EXISTS`` in one transaction is
    atomic in SQLite (the first writer holds the database lock; the others wait, then find the table).
    PostgreSQL can still report a concurrent creation as a duplicate catalog row: then the table exists,
    which is all that is asked.
    """
    try:
        with engine.begin() as connection:
            for table in _metadata.sorted_tables:
                connection.execute(CreateTable(table, if_not_exists=True))
    except (IntegrityError, ProgrammingError, OperationalError):
        if not all(inspect(engine).has_table(table.name) for table in _metadata.sorted_tables):
            raise


def _record(row: RowMapping) -> JobRecord:
    values = dict(row)
    values["command"] = json.loads(values["command"])
    values["jobdir"] = Path(values["jobdir"])
    values["script"] = Path(values["script"])
    for key in ("submitted_at", "cancelled_at"):
        if values[key] is not None and values[key].tzinfo is None:
            values[key] = values[key].replace(tzinfo=UTC)  # SQLite drops the zone; we stored UTC
    return JobRecord(**values)
