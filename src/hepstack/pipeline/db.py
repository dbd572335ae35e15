"""The pipeline state database: tables, schema version, connections.

SQLAlchemy Core on the same URL as the batch jobs (``HEPSTACK_STATE_DB``: a SQLite file under the data dir by
default, PostgreSQL for a shared install). Times are seconds since the epoch (UTC), as floats, the same
on both back ends. Every change is one short transaction; on SQLite a writing transaction starts with
``BEGIN IMMEDIATE`` (WAL journal), so a writer waits for another instead of failing on a lock upgrade,
and readers (``pipeline status``) never block the orchestrator.

Tables (Pipeline II's words): ``pipeline_definitions`` (each version of each pipeline file, its text),
``pipeline_streams`` (one row per stream and substream, its variables and state),
``pipeline_instances`` (one row per execution of a step in a stream: a process instance),
``pipeline_attempts`` (every try of an instance, kept as history), ``pipeline_submissions`` (one row per
scheduler submission, written *before* submitting: the intent that makes a crash harmless),
``pipeline_outputs`` (each output file with size and sha256), ``pipeline_leases`` (one orchestrator per
pipeline).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from hepstack.errors import HepstackError

SCHEMA_COMPONENT = "pipeline"
SCHEMA_VERSION = 1

metadata = MetaData()

schema_table = Table(
    "hepstack_schema",
    metadata,
    Column("component", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
)

definitions = Table(
    "pipeline_definitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version", name="pipeline_definitions_name_version"),
)

streams = Table(
    "pipeline_streams",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(64), nullable=False),
    Column("definition_id", Integer, ForeignKey("pipeline_definitions.id"), nullable=False),
    Column("node", String(255), nullable=False),  # "" for a top stream, "run.chunk" for a substream
    Column("stream_id", String(64), nullable=False),  # its own id: "d1", "r000001"
    Column("address", String(512), nullable=False),  # "d1/r000001/c000"
    Column("parent_id", Integer, nullable=True),
    Column("root_id", Integer, nullable=True),
    Column("created_by", Integer, nullable=True),  # the instance whose summary created it
    Column("created_by_step", String(255), nullable=True),  # that instance's step (it may be rolled back)
    Column("variables", Text, nullable=False),  # JSON: every variable, inherited ones included
    Column("images", Text, nullable=True),  # JSON, top streams only: image -> pinned reference and id
    Column("state", String(16), nullable=False),  # WAITING RUNNING SUCCESS FAILED CANCELED
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    UniqueConstraint("pipeline", "address", name="pipeline_streams_address"),
)
Index("pipeline_streams_state", streams.c.pipeline, streams.c.state)
Index("pipeline_streams_root", streams.c.root_id)

instances = Table(
    "pipeline_instances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(64), nullable=False),
    Column("stream_id", Integer, ForeignKey("pipeline_streams.id"), nullable=False),
    Column("root_id", Integer, nullable=False),
    Column("step", String(255), nullable=False),  # qualified: "run.chunk.crumb.recon"
    Column("execution", Integer, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),  # 0 before its first attempt
    Column("not_before", Float, nullable=True),  # a retry's backoff
    Column("submission_id", Integer, nullable=True),
    Column("task_index", Integer, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("reason", Text, nullable=True),
    Column("host", String(255), nullable=True),
    Column("site", String(64), nullable=True),
    Column("scheduler", String(32), nullable=True),
    Column("runtime", String(32), nullable=True),
    Column("image", Text, nullable=True),
    Column("image_id", String(128), nullable=True),
    Column("command", Text, nullable=True),  # JSON argv as it ran
    Column("inputs", Text, nullable=True),  # JSON: list variables it got (merges: good and missing crumbs)
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    UniqueConstraint("stream_id", "step", "execution", name="pipeline_instances_execution"),
)
Index("pipeline_instances_state", instances.c.pipeline, instances.c.is_current, instances.c.state)
Index("pipeline_instances_root", instances.c.root_id, instances.c.is_current)
Index("pipeline_instances_submission", instances.c.submission_id)

attempts = Table(
    "pipeline_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", Integer, ForeignKey("pipeline_instances.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("submission_id", Integer, nullable=True),
    Column("task_index", Integer, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("reason", Text, nullable=True),
    Column("host", String(255), nullable=True),
    Column("log", Text, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("instance_id", "attempt", name="pipeline_attempts_number"),
)

submissions = Table(
    "pipeline_submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(64), nullable=False),
    Column("step", String(255), nullable=False),
    Column("scheduler", String(32), nullable=False),
    Column("runtime", String(32), nullable=True),
    Column("site", String(64), nullable=True),
    Column("job_name", String(255), nullable=False),
    Column("jobdir", Text, nullable=False),
    Column("tasks", Integer, nullable=False),
    Column("native_id", String(64), nullable=True),
    Column("state", String(16), nullable=False),  # INTENT SUBMITTED DONE REFUSED
    Column("error", Text, nullable=True),  # what the submit command said when it refused the job
    Column("created_at", Float, nullable=False),
    Column("submitted_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
)
Index("pipeline_submissions_state", submissions.c.pipeline, submissions.c.state)

outputs = Table(
    "pipeline_outputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", Integer, ForeignKey("pipeline_instances.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("pipeline_outputs_path", outputs.c.path)
Index("pipeline_outputs_instance", outputs.c.instance_id)

# What an instance's job did with site services, recorded when it succeeded: the xrootd URL of each file
# it staged in or out (kind staged-in / staged-out, name the node path) and the metadata keys read from
# its ROOT outputs (kind metadata, name OUTPUT:KEY). A table of its own: create_all adds it to an older
# database of the same schema version, which simply has no facts.
facts = Table(
    "pipeline_instance_facts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("instance_id", Integer, ForeignKey("pipeline_instances.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("pipeline_instance_facts_instance", facts.c.instance_id)

leases = Table(
    "pipeline_leases",
    metadata,
    Column("pipeline", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),  # a random token of the holding process
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("generation", Integer, nullable=False),  # +1 on every take-over: a fencing token
    Column("acquired_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)


def now() -> float:
    return time.time()


class StateDB:
    """Connections to the state database; ``write()`` and ``read()`` give one transaction each."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        try:
            from hepstack.batch.store import private_sqlite

            private_sqlite(url)
            self.engine = _engine(url)
            self._ensure_schema()
        except (OSError, SQLAlchemyError) as exc:
            raise HepstackError(
                f"cannot open the state database {_shown(url)}: {_reason(exc)}",
                hint="set HEPSTACK_STATE_DB to a reachable SQLAlchemy URL, e.g. sqlite:////path/state.sqlite "
                "or postgresql+psycopg://user@host/db",
            ) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with (
            self.engine.connect().execution_options(hepstack_readonly=True) as connection,
            connection.begin(),
        ):
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_schema(self) -> None:
        with self.write() as connection:
            if not self.is_sqlite:
                # one creator at a time across processes (create_all is not atomic on its own)
                connection.execute(text("SELECT pg_advisory_xact_lock(726143)"))
            metadata.create_all(connection, checkfirst=True)
            row = connection.execute(
                select(schema_table.c.version).where(schema_table.c.component == SCHEMA_COMPONENT)
            ).first()
            if row is None:  # a new database: creation is serialised above, so no other writer races
                connection.execute(
                    schema_table.insert().values(component=SCHEMA_COMPONENT, version=SCHEMA_VERSION)
                )
            if row is not None and row[0] != SCHEMA_VERSION:
                raise HepstackError(
                    f"the state database {_shown(self.url)} has pipeline schema version {row[0]}; "
                    f"this hepstack uses version {SCHEMA_VERSION}",
                    hint="run the hepstack that wrote it, or give a new HEPSTACK_STATE_DB",
                )


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps it consistent
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        readonly = connection.get_execution_options().get("hepstack_readonly")
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


def _shown(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the user gave it, less any password
        return url.split("@")[-1]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OperationalError):
        return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return str(exc).strip().splitlines()[0]
