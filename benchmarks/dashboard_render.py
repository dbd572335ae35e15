"""The dashboard's stream page for a pipeline of 3,000 process instances: target <= 1 s.

Makes the state directly through hepstack.pipeline.streams and db (no jobs): one stream with 3 steps of
its own and 999 substreams of 3 steps (3,000 instances), states mixed as a production day leaves them
(70 % SUCCESS, 10 % FAILED with an attempt and a log each, 10 % RUNNING, 10 % WAITING), submissions in
arrays of 100. Then times the pages through the Flask application (query + template, what a browser
waits for), median of --runs after one warm-up.

    .venv/bin/python benchmarks/dashboard_render.py [--instances 3000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select, update

PIPELINE = """\
pipeline: bench
version: 1
variables: {OUT: {required: true}}
defaults: {scheduler: slurm, runtime: podman}
steps:
  plan: {script: [sh, -c, "true"], creates: [crumb]}
  merge: {needs: [{step: crumb.merit, when: done}], image: lat/release, command: ["true"]}
  report: {needs: [merge], image: lat/release, command: ["true"]}
subpipelines:
  crumb:
    variables: {CRUMB: {required: true}}
    steps:
      digi: {image: lat/digi, command: ["true"]}
      recon: {needs: [digi], image: lat/recon, command: ["true"]}
      merit: {needs: [recon], image: lat/recon, command: ["true"]}
"""


def make_state(root: Path, instances: int) -> str:
    from hepstack.pipeline import db
    from hepstack.pipeline.definition import load_pipeline
    from hepstack.pipeline.streams import NewStream, create_stream, insert_streams

    (root / "bench.yaml").write_text(PIPELINE)
    url = f"sqlite:///{root / 'state.sqlite'}"
    database = db.StateDB(url)
    pipeline = load_pipeline(root / "bench.yaml")
    top = create_stream(database, pipeline, "s1", {"OUT": str(root)}, {})
    crumbs = (instances - 3) // 3
    now = db.now()
    log = root / "failed.log"
    log.write_text("".join(f"line {n}: reconstructing event {n}\n" for n in range(200)) + "ERROR: exit 3\n")
    with database.write() as connection:
        parent = connection.execute(select(db.streams).where(db.streams.c.id == top)).mappings().one()
        insert_streams(
            connection,
            pipeline,
            int(parent["definition_id"]),
            parent=parent,
            created_by=None,
            new=[NewStream("crumb", f"k{index:04d}", {"CRUMB": f"k{index:04d}"}) for index in range(crumbs)],
        )
        ids = [row[0] for row in connection.execute(select(db.instances.c.id).order_by(db.instances.c.id))]
        submissions = []
        for start in range(0, len(ids), 100):
            key = connection.execute(
                insert(db.submissions).values(
                    pipeline="bench", step="crumb.digi", scheduler="slurm", runtime="podman",
                    job_name=f"hs-bench-{start}", jobdir=str(root), tasks=100, native_id=str(700000 + start),
                    state="SUBMITTED", created_at=now,
                )
            ).inserted_primary_key  # fmt: skip
            submissions.append(int(key[0]))
        attempts = []
        for number, instance_id in enumerate(ids):
            state = ("SUCCESS",) * 7 + ("FAILED", "RUNNING", "WAITING")
            chosen = state[number % 10]
            if chosen == "WAITING":
                continue
            connection.execute(
                update(db.instances)
                .where(db.instances.c.id == instance_id)
                .values(
                    state=chosen, attempt=1, submission_id=submissions[number // 100],
                    task_index=number % 100 + 1,
                    exit_code={"SUCCESS": 0, "FAILED": 3}.get(chosen), host=f"node{number % 40:02d}",
                    site="nersc", scheduler="slurm", runtime="podman", started_at=now - 600,
                    ended_at=None if chosen == "RUNNING" else now - 60,
                )
            )  # fmt: skip
            attempts.append(
                {
                    "instance_id": instance_id, "attempt": 1, "state": chosen,
                    "submission_id": submissions[number // 100], "task_index": number % 100 + 1,
                    "host": f"node{number % 40:02d}", "log": str(log), "started_at": now - 600,
                    "ended_at": None if chosen == "RUNNING" else now - 60, "created_at": now - 600,
                }
            )  # fmt: skip
        connection.execute(insert(db.attempts), attempts)
    database.close()
    return url


def time_page(client: object, path: str, runs: int) -> tuple[float, int, int]:
    """(median seconds, status, bytes) of GET ``path``, after one warm-up."""
    times = []
    status = size = 0
    for attempt in range(runs + 1):
        started = time.perf_counter()
        response = client.get(path, base_url="http://127.0.0.1:8470")  # type: ignore[attr-defined]
        body = response.get_data()
        elapsed = time.perf_counter() - started
        status, size = response.status_code, len(body)
        if attempt:
            times.append(elapsed)
    return statistics.median(times), status, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hepstack-dashboard-bench-") as scratch:
        root = Path(scratch)
        os.environ["HEPSTACK_DATA_DIR"] = str(root / "data")
        os.environ["HEPSTACK_CACHE_DIR"] = str(root / "cache")
        started = time.perf_counter()
        url = make_state(root, args.instances)
        print(f"state: {args.instances} process instances made in {time.perf_counter() - started:.1f} s")
        from hepstack.context import Context
        from hepstack.web.app import Settings, create_app
        from hepstack.web.data import Sources

        client = create_app(Sources(Context.from_environment(), url), Settings()).test_client()
        worst = 0.0
        for label, path in (
            ("stream page (every instance)", "/pipelines/bench/streams/s1"),
            ("stream page, live fragment", "/pipelines/bench/live/s1"),
            ("pipeline page (matrix, streams)", "/pipelines/bench"),
        ):
            median, status, size = time_page(client, path, args.runs)
            worst = max(worst, median) if "stream page (" in label else worst
            print(f"{label:34s} median {median * 1000:7.1f} ms   HTTP {status}, {size / 1024:.0f} KiB")
            if status != 200:
                print(f"error: {path} answered {status}", file=sys.stderr)
                return 1
        print(
            f"target <= 1 s for the page of {args.instances} instances: {'met' if worst <= 1 else 'NOT met'}"
        )
        return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
