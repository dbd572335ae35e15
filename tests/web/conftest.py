"""A pipeline state made directly through pipeline/streams.py and db.py (no jobs): one stream with a few
crumbs, one of which failed; a stream variable, a job name and a log line carry HTML and script
payloads. And the dashboard on it, as a Flask test client."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from hepstack.context import Context
from hepstack.pipeline import db
from hepstack.pipeline.definition import load_pipeline
from hepstack.pipeline.streams import NewStream, create_stream, insert_streams

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>bold</b>'

PIPELINE = """\
pipeline: demo
version: 1
variables:
  OUT: {required: true}
  NOTE: {default: "none"}
defaults: {scheduler: local, runtime: native}
steps:
  plan:
    script: [sh, -c, "true"]
    creates: [crumb]
subpipelines:
  crumb:
    variables: {CRUMB: {required: true}}
    steps:
      work:
        image: demo/release
        command: [sh, -c, "echo ${CRUMB}"]
"""


@dataclass
class State:
    url: str
    database: db.StateDB
    failed_attempt: int
    failed_instance: int
    log: Path


def make_state(root: Path, crumbs: int = 3) -> State:
    """Stream ``demo/s1`` (NOTE holds the payload), crumbs c0..c{n-1}: c0 FAILED with a hostile log and
    job name, the rest SUCCESS."""
    definition = root / "demo.yaml"
    definition.write_text(PIPELINE)
    url = f"sqlite:///{root / 'state.sqlite'}"
    database = db.StateDB(url)
    pipeline = load_pipeline(definition)
    top = create_stream(database, pipeline, "s1", {"OUT": str(root), "NOTE": PAYLOAD}, {})
    log = root / "c0.log"
    log.write_text(f"starting crumb c0\nERROR: {PAYLOAD}\nexit 3\n")
    now = db.now()
    with database.write() as connection:
        parent = connection.execute(select(db.streams).where(db.streams.c.id == top)).mappings().one()
        definition_id = int(parent["definition_id"])
        insert_streams(
            connection,
            pipeline,
            definition_id,
            parent=parent,
            created_by=None,
            new=[NewStream("crumb", f"c{index}", {"CRUMB": f"c{index}"}) for index in range(crumbs)],
        )
        submission = connection.execute(
            insert(db.submissions).values(
                pipeline="demo",
                step="crumb.work",
                scheduler="local",
                runtime="native",
                job_name=f"hs-{PAYLOAD}",
                jobdir=str(root),
                tasks=crumbs,
                native_id="4242",
                state="DONE",
                created_at=now,
            )
        ).inserted_primary_key[0]
        rows = connection.execute(
            select(db.instances.c.id, db.streams.c.stream_id)
            .select_from(db.instances.join(db.streams, db.instances.c.stream_id == db.streams.c.id))
            .where(db.instances.c.step == "crumb.work")
            .order_by(db.instances.c.id)
        ).all()
        failed_attempt = failed_instance = 0
        for index, (instance_id, crumb) in enumerate(rows, start=1):
            state = "FAILED" if crumb == "c0" else "SUCCESS"
            connection.execute(
                update(db.instances)
                .where(db.instances.c.id == instance_id)
                .values(
                    state=state,
                    attempt=1,
                    submission_id=submission,
                    task_index=index,
                    exit_code=3 if state == "FAILED" else 0,
                    host="node01",
                    site="laptop",
                    scheduler="local",
                    runtime="native",
                    started_at=now - 10,
                    ended_at=now - 5,
                    reason="exit code 3" if state == "FAILED" else None,
                )
            )
            attempt = connection.execute(
                insert(db.attempts).values(
                    instance_id=instance_id,
                    attempt=1,
                    state=state,
                    submission_id=submission,
                    task_index=index,
                    exit_code=3 if state == "FAILED" else 0,
                    host="node01",
                    log=str(log) if state == "FAILED" else str(root / f"{crumb}.log"),
                    started_at=now - 10,
                    ended_at=now - 5,
                    created_at=now - 10,
                )
            ).inserted_primary_key[0]
            if state == "FAILED":
                failed_attempt, failed_instance = int(attempt), int(instance_id)
    return State(url, database, failed_attempt, failed_instance, log)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> State:
    monkeypatch.setenv("HEPSTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEPSTACK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HEPSTACK_CATALOG", raising=False)
    made = make_state(tmp_path)
    monkeypatch.setenv("HEPSTACK_STATE_DB", made.url)
    return made


def client_for(state: State, *, allow_actions: bool = False, token: str | None = None, port: int = 8470):  # type: ignore[no-untyped-def]
    from hepstack.web.app import create_app
    from hepstack.web.data import Sources
    from hepstack.web.settings import Settings

    settings = Settings(port=port, allow_actions=allow_actions, token=token)
    app = create_app(Sources(Context.from_environment(), state.url), settings)
    return app.test_client()
