"""``lat-l1``: run the L1-like chain for one run, one ``lat-run`` process per step.

simulate -> digi (per chunk) -> recon, merit, makeFT1 (per crumb) -> merges (crumbs -> chunk,
chunks -> run).  ``--prefix "hepstack run --runtime podman --bind W:W lat/release --"`` (W: the
absolute work directory, which every step reads and writes) is shell-split and put in front of every
step's argv, so each step can run in a container.  Each lat-run process
writes a TimeTracker DB into DIR/timing/; at the end the DBs are read back and the events per
step and the median seconds/event of every module are printed.

Standard library only: the driver runs where the orchestration runs, not in the step images.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lat.proc.manifest import read_ldf_header

SUBCOMMANDS = ("delivery", "plan", "steps")  # lat.proc.cli; without one, lat-l1 runs one run as before


@dataclass
class Step:
    name: str  # e.g. recon_c000_k01
    kind: str  # simulate, digi, recon, merit, makeFT1, merge
    argv: list[str]
    timing_db: Path | None = None


@dataclass
class Driver:
    args: argparse.Namespace
    workdir: Path
    prefix: list[str]
    lat_run: list[str]
    lat_merge: list[str]
    wall: dict[str, float] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        target = self.workdir.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def run_step(self, name: str, kind: str, config: str, options: list[str]) -> Step:
        db = self.path("timing", f"{name}.db")
        argv = [*self.prefix, *self.lat_run, config, "-q", "--timing-db", str(db), *options]
        return Step(name, kind, argv, db)

    def merge_step(self, name: str, kind: str, output: Path, inputs: list[Path]) -> Step:
        return Step(
            name, "merge", [*self.prefix, *self.lat_merge, kind, "-o", str(output), *map(str, inputs)]
        )

    def execute(self, stage: str, steps: list[Step]) -> None:
        start = time.perf_counter()
        running: list[tuple[Step, subprocess.Popen[bytes], object]] = []
        pending = list(steps)
        failed: list[tuple[Step, int]] = []
        while pending or running:
            while pending and len(running) < self.args.jobs and not failed:
                step = pending.pop(0)
                log = open(self.path("logs", f"{step.name}.log"), "wb")  # noqa: SIM115 (closed on wait)
                log.write((shlex.join(step.argv) + "\n").encode())
                log.flush()
                running.append((step, subprocess.Popen(step.argv, stdout=log, stderr=subprocess.STDOUT), log))
            if failed and not running:
                break
            step, proc, log = running.pop(0)
            code = proc.wait()
            log.close()  # type: ignore[attr-defined]
            if code != 0:
                failed.append((step, code))
        self.wall[stage] = time.perf_counter() - start
        if failed:
            step, code = failed[0]
            tail = self.path("logs", f"{step.name}.log").read_text(errors="replace").splitlines()[-15:]
            raise SystemExit(
                f"lat-l1: step {step.name} failed with exit code {code}:\n  " + "\n  ".join(tail)
            )
        print(f"lat-l1: {stage}: {len(steps)} process(es), {self.wall[stage]:.1f} s", flush=True)


def crumb_ranges(count: int, crumbs: int) -> list[tuple[int, int]]:
    edges = [round(i * count / crumbs) for i in range(crumbs + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:])]


def ldf_event_count(path: Path) -> int:
    return read_ldf_header(path).events


def find_command(name: str, module: str, prefixed: bool) -> list[str]:
    if prefixed:
        return [name]
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", module]


def run_chain(driver: Driver) -> None:
    a = driver.args
    run = f"r{a.run_id:06d}"
    per_chunk = -(-a.events // a.chunks)
    driver.execute(
        "simulate",
        [
            driver.run_step(
                "simulate",
                "simulate",
                "simulate",
                [
                    "-n",
                    str(a.events),
                    "--seed",
                    str(a.seed),
                    "--set",
                    f"source.runId={a.run_id}",
                    "--set",
                    f"source.eventsPerSubRun={per_chunk}",
                    "-o",
                    f"raw={driver.path('raw', 'raw_r{run:06d}_c{subrun:03d}.ldf')}",
                    "-o",
                    f"truth={driver.path('mc', 'mc_r{run:06d}.root')}",
                ],
            )
        ],
    )
    chunks = sorted(driver.workdir.joinpath("raw").glob(f"raw_{run}_c*.ldf"))
    digi = []
    for raw in chunks:
        c = raw.stem.split("_")[-1]
        out = driver.path("digi", f"digi_{run}_{c}.root")
        digi.append((c, raw, out))
    driver.execute(
        "digi",
        [
            driver.run_step(f"digi_{c}", "digi", "digi", ["-s", str(raw), "-o", str(out)])
            for c, raw, out in digi
        ],
    )
    crumbs: dict[str, list[str]] = {}
    recon_steps = []
    for c, raw, out in digi:
        crumbs[c] = []
        for k, (first, last) in enumerate(crumb_ranges(ldf_event_count(raw), a.crumbs)):
            tag = f"{c}_k{k:02d}"
            crumbs[c].append(tag)
            recon_steps.append(
                driver.run_step(
                    f"recon_{tag}",
                    "recon",
                    "recon",
                    [
                        "-s",
                        str(out),
                        "-o",
                        str(driver.path("recon", f"recon_{run}_{tag}.root")),
                        "--set",
                        f"source.firstEntry={first}",
                        "--set",
                        f"source.lastEntry={last}",
                        "--set",
                        f"physics.producers.cal.calibFile={a.calib}",
                    ],
                )
            )
    driver.execute("recon", recon_steps)
    tags = [t for c in crumbs for t in crumbs[c]]
    driver.execute(
        "merit",
        [
            driver.run_step(
                f"merit_{t}",
                "merit",
                "merit",
                [
                    "-s",
                    str(driver.path("recon", f"recon_{run}_{t}.root")),
                    "-o",
                    str(driver.path("merit", f"merit_{run}_{t}.root")),
                ],
            )
            for t in tags
        ],
    )
    driver.execute(
        "makeFT1",
        [
            driver.run_step(
                f"makeFT1_{t}",
                "makeFT1",
                "makeFT1",
                [
                    "-s",
                    str(driver.path("merit", f"merit_{run}_{t}.root")),
                    "-o",
                    str(driver.path("ft1", f"ft1_{run}_{t}.fits")),
                ],
            )
            for t in tags
        ],
    )
    kinds = (("recon", "root", "root"), ("merit", "root", "root"), ("ft1", "fits", "fits"))
    chunk_merges = []
    for c, tag_list in crumbs.items():
        for product, kind, ext in kinds:
            inputs = [driver.path(product, f"{product}_{run}_{t}.{ext}") for t in tag_list]
            chunk_merges.append(
                driver.merge_step(
                    f"merge_{product}_{c}", kind, driver.path(product, f"{product}_{run}_{c}.{ext}"), inputs
                )
            )
    driver.execute("merge crumbs->chunks", chunk_merges)
    run_merges = []
    for product, kind, ext in kinds:
        inputs = [driver.path(product, f"{product}_{run}_{c}.{ext}") for c in crumbs]
        run_merges.append(
            driver.merge_step(
                f"merge_{product}_run", kind, driver.path(product, f"{product}_{run}.{ext}"), inputs
            )
        )
    driver.execute("merge chunks->run", run_merges)


def timing_summary(databases: Iterable[Path]) -> dict[str, dict[str, object]]:
    """Per step kind (the DB name up to its first '_'): processes, events (TimeEvent rows), median
    s/event per module."""
    summary: dict[str, dict[str, object]] = {}
    for db in databases:
        kind = db.stem.split("_")[0]
        entry = summary.setdefault(kind, {"processes": 0, "events": 0, "times": {}})
        with sqlite3.connect(str(db)) as conn:
            entry["processes"] = int(entry["processes"]) + 1  # type: ignore[call-overload]
            entry["events"] = (
                int(entry["events"]) + conn.execute("SELECT COUNT(*) FROM TimeEvent").fetchone()[0]
            )  # type: ignore[call-overload]
            times: dict[str, list[float]] = entry["times"]  # type: ignore[assignment]
            source = conn.execute("SELECT Source, Time FROM TimeSource ORDER BY rowid").fetchall()
            for name, value in source:
                times.setdefault(f"source:{name}(read)", []).append(value)
            for path, label, mtype, value in conn.execute(
                "SELECT Path, ModuleLabel, ModuleType, Time FROM TimeModule ORDER BY rowid"
            ):
                times.setdefault(f"{path}:{label}:{mtype}", []).append(value)
            for (value,) in conn.execute("SELECT Time FROM TimeEvent"):
                times.setdefault("Full event (modules)", []).append(value)
    result = {}
    for kind, entry in summary.items():
        times = entry["times"]  # type: ignore[assignment]
        result[kind] = {
            "processes": entry["processes"],
            "events": entry["events"],
            "median_s_per_event": {k: statistics.median(v) for k, v in times.items()},  # type: ignore[union-attr]
        }
    return result


ORDER = ("simulate", "digi", "recon", "merit", "makeFT1")


def print_summary(summary: dict[str, dict[str, object]], wall: dict[str, float], total: float) -> None:
    print("\nlat-l1 summary (median seconds/event per module, from the TimeTracker DBs)")
    print(f"{'step':<10} {'procs':>5} {'events':>7}  {'module':<42} {'median s/event':>15}")
    for kind in ORDER:
        if kind not in summary:
            continue
        entry = summary[kind]
        medians: dict[str, float] = entry["median_s_per_event"]  # type: ignore[assignment]
        first = True
        for module, value in medians.items():
            head = f"{kind:<10} {entry['processes']:>5} {entry['events']:>7}" if first else " " * 24
            print(f"{head}  {module:<42} {value:>15.3e}")
            first = False
    print("\nwall time per stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in wall.items()))
    print(f"total wall time: {total:.1f} s")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in SUBCOMMANDS:
        from lat.proc.cli import main as proc_main

        return proc_main(arguments)
    parser = argparse.ArgumentParser(
        prog="lat-l1",
        description=__doc__.splitlines()[0],
        epilog="Production mode: lat-l1 delivery DIR --out OUT (a whole delivery, as the pipeline runs it), "
        "lat-l1 plan runs|chunks|crumbs|reprocess|mc (pipeline summaries), lat-l1 steps (the step command "
        "lines); each has --help.",
    )
    parser.add_argument("--run-id", type=int, default=1)
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--crumbs", type=int, default=2)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default="l1-work")
    parser.add_argument("--prefix", default="", help="command prefix for every step (shell-split)")
    parser.add_argument("--jobs", type=int, default=2, help="step processes run at once")
    parser.add_argument("--calib", default="@lat/calib/calib_v1.yaml", help="calibration file for recon")
    args = parser.parse_args(arguments)
    if args.chunks < 1 or args.crumbs < 1 or args.events < args.chunks or args.jobs < 1:
        parser.error("need chunks >= 1, crumbs >= 1, jobs >= 1 and events >= chunks")
    workdir = Path(args.workdir).absolute()
    if workdir.joinpath("timing").exists():
        shutil.rmtree(workdir / "timing")  # one DB set per run of the chain
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = shlex.split(args.prefix)
    driver = Driver(
        args,
        workdir,
        prefix,
        find_command("lat-run", "lat.framework.cli", bool(prefix)),
        find_command("lat-merge", "lat.merge", bool(prefix)),
    )
    start = time.perf_counter()
    run_chain(driver)
    total = time.perf_counter() - start
    summary = timing_summary(sorted((workdir / "timing").glob("*.db")))
    print_summary(summary, driver.wall, total)
    (workdir / "l1_summary.json").write_text(
        json.dumps(
            {"run_id": args.run_id, "steps": summary, "wall_s": driver.wall, "total_wall_s": total}, indent=1
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
