"""The orchestrator's own cost at full L1 scale: planned and tracked through every state, on SQLite and on
PostgreSQL in the same run (docs/pipelines.md).

Shape (3 deliveries, as the LAT's 3-hourly deliveries, each 3 runs x 7 chunks x 45 crumbs, L1Proc's
largest crumb count): per delivery findRuns; per run findChunks and 3 merges; per chunk digi, findCrumbs,
2 crumb merges and makeFT1; per crumb recon and merit: 2,008 process instances per delivery, 6,024 in all,
2,835 crumbs. The planners are script steps (a real subprocess each, as the example's); the job steps go
to a scheduler that completes at once: its submit command writes every task's start and exit code (0) in
the job directory, so what is measured is the orchestrator, not a farm. Jobs have no declared outputs
(nothing to hash).

    .venv/bin/python benchmarks/pipeline_orchestrator.py [--deliveries 3] [--runs 3] [--chunks 7] \
        [--crumbs 45]

It prints, per database: instances, passes, the orchestrator's own CPU time (its process, not the
planners' or the fake jobs'), instances per CPU second, the median instance's share of the CPU time of
the pass that moved it (submitted or ended), the mean, wall time, and the time of `status` (the matrix
query and its rendering, median of 20; and the whole `hepstack pipeline status` command once).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hepstack.batch.schedulers import SCHEDULERS, QueuedJob, Scheduler
from hepstack.batch.spec import JobSpec
from hepstack.proc import Completed

PLAN = (
    "import json, os, sys; name, count = sys.argv[1], int(sys.argv[2]); "
    "json.dump({'substreams': [{'pipeline': name, 'id': f'{name[0]}{i:03d}'} for i in range(count)]}, "
    "open(os.environ['HEPSTACK_SUMMARY'], 'w'))"
)


class InstantScheduler(Scheduler):
    """A scheduler that completes every task at once: its submit command writes each task's files."""

    name = "instant"
    tool = "sh"
    install_hint = "a benchmark's stand-in"
    template = "local.tmpl"

    def directives(self, spec: JobSpec) -> list[str]:
        return []

    def submit_argv(self, script: Path, spec: JobSpec) -> list[str]:
        jobdir = str(script.parent)
        body = (
            f'cd "{jobdir}" && i=1; while [ $i -le {spec.tasks} ]; do '
            "printf 'host=bench\\nstart=0\\njob=1\\n' > $i.started; : > $i.outputs; echo 0 > $i.exitcode; "
            "i=$((i+1)); done; echo 1"
        )
        return ["sh", "-c", body]

    def parse_submit(self, stdout: str) -> str:
        return stdout.strip() or "1"

    def queue_argv(self, native_id: str) -> list[str]:
        return ["true"]

    def parse_queue(self, result: Completed, native_id: str) -> dict[int, object]:  # type: ignore[override]
        return {}

    def cancel_argv(self, native_id: str) -> list[str]:
        return ["true"]

    def ping_argv(self) -> list[str]:
        return ["true"]

    def user_queue_argv(self, user: str) -> list[str]:
        return ["true"]

    def parse_user_queue(self, result: Completed) -> dict[str, QueuedJob]:
        return {}


def pipeline_text(runs: int, chunks: int, crumbs: int) -> str:
    def script(name: str, count: int) -> str:
        return f'[python3, -c, "{PLAN}", {name}, "{count}"]'

    def merge(target: str, name: str) -> str:
        needs = f"[{{step: {target}, when: done, as: {name}}}]"
        return f'{{needs: {needs}, image: b/r, command: [m, "${{{name}}}"]}}'

    return f"""\
pipeline: bench
version: 1
defaults: {{site: bench-instant}}
steps:
  findRuns: {{script: {script("run", runs)}, creates: [run]}}
subpipelines:
  run:
    steps:
      findChunks: {{script: {script("chunk", chunks)}, creates: [chunk]}}
      mergeRecon: {merge("chunk.mergeRecon", "R")}
      mergeMerit: {merge("chunk.mergeMerit", "M")}
      mergeFT1: {merge("chunk.makeFT1", "F")}
    subpipelines:
      chunk:
        steps:
          digi: {{image: b/r, command: [digi]}}
          findCrumbs: {{needs: [digi], script: {script("crumb", crumbs)}, creates: [crumb]}}
          mergeRecon: {merge("crumb.recon", "R")}
          mergeMerit: {merge("crumb.merit", "M")}
          makeFT1: {{needs: [mergeMerit], image: b/r, command: [ft1]}}
        subpipelines:
          crumb:
            steps:
              recon: {{image: b/r, command: [recon]}}
              merit: {{needs: [recon], image: b/r, command: [merit]}}
"""


def measure(
    url: str, label: str, root: Path, args: argparse.Namespace, extra_env: dict[str, str]
) -> dict[str, float]:
    from hepstack.context import Context
    from hepstack.pipeline.address import Address
    from hepstack.pipeline.db import StateDB
    from hepstack.pipeline.definition import load_pipeline
    from hepstack.pipeline.images import PinnedImage
    from hepstack.pipeline.orchestrator import Orchestrator, Settings
    from hepstack.pipeline.report import matrix
    from hepstack.pipeline.streams import create_stream

    os.environ.update(extra_env)
    os.environ["HEPSTACK_DATA_DIR"] = str(root / label / "data")
    os.environ["HEPSTACK_STATE_DB"] = url
    path = root / "bench.yaml"
    path.write_text(pipeline_text(args.runs, args.chunks, args.crumbs))
    pipeline = load_pipeline(path)
    database = StateDB(url)
    pins = {"b/r": PinnedImage("b/r", "b/r", None, "native")}
    for number in range(args.deliveries):
        create_stream(database, pipeline, f"d{number:03d}", {}, pins)
    orchestrator = Orchestrator(
        database,
        Context.from_environment(),
        ["bench"],
        Settings(poll_interval=0.0, max_scripts=8),
        say=lambda _: None,
    )
    per_instance: list[float] = []
    start_wall = time.perf_counter()
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    passes = 0
    orchestrator._take_leases()  # the same steps as Orchestrator.run, pass by pass, to time each
    try:
        while True:
            before = resource.getrusage(resource.RUSAGE_SELF)
            report = orchestrator.one_pass()
            after = resource.getrusage(resource.RUSAGE_SELF)
            passes += 1
            moved = report.submitted + report.ended
            if moved:
                spent = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                per_instance.extend([spent / moved] * moved)  # each instance its share of its pass
            if report.active_roots == 0:
                break
            if not report.progressed:
                time.sleep(0.02)  # planners (subprocesses) are running: their end is a file
    finally:
        orchestrator._release_leases()
    end_cpu = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.perf_counter() - start_wall
    cpu = (end_cpu.ru_utime + end_cpu.ru_stime) - (start_cpu.ru_utime + start_cpu.ru_stime)
    with database.read() as connection:
        instances = sum(
            sum(counts.values()) for counts in matrix(connection, Address("bench")).steps.values()
        )
    status_times = []
    for _ in range(20):
        begin = time.perf_counter()
        with database.read() as connection:
            result = matrix(connection, Address("bench"))
        json.dumps(result.as_json())
        status_times.append(time.perf_counter() - begin)
    begin = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "hepstack"), "pipeline", "status", "bench", "--json"],
        check=True,
        capture_output=True,
        env={**os.environ},
    )
    command = time.perf_counter() - begin
    database.close()
    return {
        "instances": instances,
        "passes": passes,
        "cpu": cpu,
        "per_second": instances / cpu,
        "median_ms": statistics.median(per_instance) * 1000,
        "mean_ms": cpu / instances * 1000,
        "wall": wall,
        "status_ms": statistics.median(status_times) * 1000,
        "status_command_ms": command * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=7)
    parser.add_argument("--crumbs", type=int, default=45)
    args = parser.parse_args()
    SCHEDULERS["instant"] = InstantScheduler  # this benchmark's stand-in for a farm that finishes at once
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as scratch:
        root = Path(scratch)
        sites = root / "sites"
        sites.mkdir()
        (sites / "bench-instant.yaml").write_text(
            "name: bench-instant\nscheduler: instant\nruntime: native\n"
        )
        os.environ["HEPSTACK_SITES_PATH"] = str(sites)
        backends = [("sqlite", f"sqlite:///{root}/state.sqlite", {})]
        postgres = _postgres(root)
        if postgres:
            backends.append(postgres)
        else:
            print("postgresql: not set up here (scripts/setup-services.sh); SQLite only")
        shape = (
            f"{args.deliveries} deliveries x {args.runs} runs x {args.chunks} chunks x {args.crumbs} crumbs"
        )
        print(f"L1 shape: {shape}")
        header = (
            f"{'database':<11}{'instances':>10}{'passes':>8}{'CPU s':>8}{'instances/s':>13}"
            f"{'median ms/inst':>16}{'mean ms/inst':>14}{'wall s':>8}{'status ms':>11}{'status cmd ms':>15}"
        )
        print(header)
        for label, url, env in backends:
            row = measure(url, label, root, args, env)
            print(
                f"{label:<11}{row['instances']:>10.0f}{row['passes']:>8.0f}{row['cpu']:>8.2f}"
                f"{row['per_second']:>13.0f}{row['median_ms']:>16.3f}{row['mean_ms']:>14.3f}{row['wall']:>8.1f}"
                f"{row['status_ms']:>11.1f}"
                f"{row['status_command_ms']:>15.0f}"
            )
        print("targets: median <= 1 ms per instance, >= 1,000 instances/s, status <= 100 ms")
    return 0


def _postgres(root: Path) -> tuple[str, str, dict[str, str]] | None:
    """A fresh database on the set-up's PostgreSQL server, if there is one (password from its 0600 file)."""
    info_path = Path("/etc/hepstack/services/postgresql.json")
    if not info_path.exists():
        return None
    info = json.loads(info_path.read_text())
    name = f"bench_{os.getpid()}"
    env = {"PGPASSFILE": info["pgpass"]}
    subprocess.run(
        ["psql", "-q", "-h", info["host"], "-p", str(info["port"]), "-U", info["user"],
         "-d", info["database"], "-c", f"CREATE DATABASE {name}"],
        check=True,
        env={**os.environ, **env},
    )  # fmt: skip
    return "postgresql", f"postgresql+psycopg://{info['user']}@{info['host']}:{info['port']}/{name}", env


if __name__ == "__main__":
    sys.exit(main())
