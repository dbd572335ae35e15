"""A tiny art-like job for the bench tests: real numpy work per event, timed into art's TimeTracker schema.

    python workload.py --events 60 --seed 1 --output DIR --timing-db DIR/timing.db [--fail]

Each event draws an array whose size varies over a factor of four (same seed, same events), sorts it in
the ``work`` module and histograms it; ``out`` (``TextOutput(write)`` on ``end_path``) appends a line to
``DIR/result.txt``. BENCH_SLOWDOWN=N makes ``work`` sort N times: the same outputs, N times the work.
BENCH_JOB_REPORT=1 also writes ``<timing_db>.job.json`` (wall, CPU, peak RSS of this process).
It runs outside hepstack's interpreter, so the timing database comes from another program.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

BASE_SIZE = 60_000
# Module times are CPU seconds of this thread, not wall seconds as in art: the tests run on shared 2-core
# CI machines where neighbours steal the CPU for whole runs; CPU time keeps the arms' difference the work
# they do, which is what the tests are about (hepstack reads whatever the Time column holds).
clock = time.thread_time
Row = tuple[object, ...]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--timing-db", required=True)
    parser.add_argument("--fail", action="store_true", help="exit 3 after complaining on stderr")
    args = parser.parse_args()
    if args.fail:
        print("workload: calibration file not found: /nonexistent/calib.yaml", file=sys.stderr)
        return 3
    started = time.perf_counter()
    repeats = int(os.environ.get("BENCH_SLOWDOWN", "1"))
    rng = np.random.default_rng(args.seed)
    source_rows: list[Row] = []
    event_rows: list[Row] = []
    module_rows: list[Row] = []
    with (Path(args.output) / "result.txt").open("w", encoding="utf-8") as result:
        for event in range(1, args.events + 1):
            key = (1, 0, event)
            tick = clock()
            size = int(BASE_SIZE * 2 ** rng.uniform(-1, 1))
            data = rng.random(size)
            source_rows.append((*key, "EmptySource", clock() - tick))
            event_start = clock()
            timings = []
            tick = clock()
            for _ in range(repeats):
                ordered = np.sort(data.copy())
            timings.append(("p1", "work", "SortModule", clock() - tick))
            tick = clock()
            counts, _edges = np.histogram(ordered[::16], bins=32, range=(0.0, 1.0))
            timings.append(("p1", "hist", "Histogrammer", clock() - tick))
            tick = clock()
            total = float(ordered[size // 2])
            timings.append(("p2", "hist", "Histogrammer", clock() - tick))
            event_rows.append((*key, clock() - event_start))
            tick = clock()
            result.write(f"{event} {size} {total:.12f} {' '.join(map(str, counts))}\n")
            timings.append(("end_path", "out", "TextOutput(write)", clock() - tick))
            module_rows.extend((*key, *row) for row in timings)
    write_timing_db(args.timing_db, source_rows, event_rows, module_rows)
    if os.environ.get("BENCH_JOB_REPORT"):  # like lat-run's <timing_db>.job.json
        usage = resource.getrusage(resource.RUSAGE_SELF)
        report = {
            "wall_s": time.perf_counter() - started,
            "cpu_user_s": usage.ru_utime,
            "cpu_sys_s": usage.ru_stime,
            "maxrss_kb": usage.ru_maxrss,
        }
        Path(args.timing_db + ".job.json").write_text(json.dumps(report), encoding="utf-8")
    return 0


def write_timing_db(path: str, source: list[Row], events: list[Row], modules: list[Row]) -> None:
    """The three tables, created with the DDL art's TimeTracker runs."""
    database = sqlite3.connect(path)
    database.execute(
        "CREATE TABLE TimeSource(Run integer,SubRun integer,Event integer,Source text,Time numeric)"
    )
    database.execute("CREATE TABLE TimeEvent(Run integer,SubRun integer,Event integer,Time numeric)")
    database.execute(
        "CREATE TABLE TimeModule(Run integer,SubRun integer,Event integer,Path text,"
        "ModuleLabel text,ModuleType text,Time numeric)"
    )
    database.executemany("INSERT INTO TimeSource VALUES (?,?,?,?,?)", source)
    database.executemany("INSERT INTO TimeEvent VALUES (?,?,?,?)", events)
    database.executemany("INSERT INTO TimeModule VALUES (?,?,?,?,?,?,?)", modules)
    database.commit()
    database.close()


if __name__ == "__main__":
    sys.exit(main())
