"""``lat-delivery``: simulate a delivery (R runs of raw chunks, MC truth, a manifest) for L1 to process.

    lat-delivery DIR --runs 2 --chunks 3 --seed 1                 # chunk sizes: a seeded spread
    lat-delivery DIR --chunk-events 4600,3100,1400 --runs 2        # the same sizes in every run
    lat-delivery DIR --chunk-events 4600,3100,1400/2000,900        # one list per run

Each run is one ``lat-run simulate`` job (run in this process), its chunks the SubRuns of
``source.subRunEvents``; run k + 1 starts --run-gap seconds after the last event of run k.  The
whole directory is written in a staging directory beside DIR and renamed into place at the end:
a delivery is complete or absent.  Same options, same seed: the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path

from lat.framework.atomic import StagedOutputs
from lat.framework.cli import main as lat_run
from lat.framework.errors import LatError
from lat.proc.layout import MAX_CHUNK_ID, MAX_RUN_ID, STREAM_ID, raw_name, run_tag, truth_name
from lat.proc.manifest import MANIFEST, Chunk, Delivery, Run, read_ldf_header

START_MET = 239557417.0  # configs/simulate.yaml source.startMET
MAX_CHUNK_EVENTS = 10_000_000


class StepFailed(LatError):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message, hint="the delivery directory was not created")
        self.exit_code = exit_code


def run_seed(seed: int, run_id: int) -> int:
    """Each run's simulation seed, from the delivery seed (32 bits of a SHA-256: no run shares one)."""
    return int(hashlib.sha256(f"lat-delivery/{seed}/{run_id}".encode()).hexdigest()[:8], 16)


def listed_chunk_events(text: str, runs: int) -> list[list[int]]:
    """``4600,3100,1400`` (the same for each of ``runs``) or ``4600,3100/2000`` (one list per run)."""
    try:
        lists = [[int(n) for n in part.split(",")] for part in text.split("/")]
    except ValueError:
        raise LatError(
            f"--chunk-events {text!r}: expected numbers like 4600,3100,1400 or 4600,3100/2000"
        ) from None
    return lists * runs if len(lists) == 1 else lists


def spread_chunk_events(text: str, runs: int, chunks: int, seed: int) -> list[list[int]]:
    """``MIN:MAX``: every chunk's event count drawn uniformly, seeded by the delivery seed."""
    import numpy as np

    low, _, high = text.partition(":")
    try:
        low_events, high_events = int(low), int(high)
    except ValueError:
        raise LatError(f"--spread {text!r}: expected MIN:MAX, e.g. 1000:4000") from None
    if not 1 <= low_events <= high_events:
        raise LatError(f"--spread {text!r}: need 1 <= MIN <= MAX")
    stream = np.random.SeedSequence([seed, zlib.crc32(b"lat-delivery chunk events")])
    draws = np.random.Generator(np.random.PCG64(stream)).integers(
        low_events, high_events + 1, size=(runs, chunks)
    )
    return [[int(n) for n in row] for row in draws]


def check_plan(chunk_events: list[list[int]], first_run: int) -> None:
    if not chunk_events or first_run < 0 or first_run + len(chunk_events) - 1 > MAX_RUN_ID:
        raise LatError(
            f"runs {first_run}..{first_run + len(chunk_events) - 1}: run ids go from 0 to {MAX_RUN_ID}"
        )
    for index, events in enumerate(chunk_events):
        if not events or len(events) > MAX_CHUNK_ID + 1:
            raise LatError(
                f"run {first_run + index}: {len(events)} chunks; a run has 1 to {MAX_CHUNK_ID + 1}"
            )
        if not all(1 <= n <= MAX_CHUNK_EVENTS for n in events):
            raise LatError(f"run {first_run + index}: chunk events {events}: each 1 to {MAX_CHUNK_EVENTS}")


def _format_escaped(path: Path) -> str:
    """A path inside an output ``fileName``, which the output modules ``.format()``."""
    return str(path).replace("{", "{{").replace("}", "}}")


def simulate_run(work: Path, run_id: int, seed: int, events: list[int], start_met: float) -> Run:
    """One run: ``lat-run simulate`` in this process, then the manifest entries from the raw headers."""
    raw = _format_escaped(work / "raw") + "/raw_r{run:06d}_c{subrun:03d}.ldf"
    argv = [
        "simulate",
        "-q",
        *("-n", str(sum(events)), "--seed", str(seed)),
        *("--set", f"source.runId={run_id}", "--set", f"source.startMET={start_met!r}"),
        *("--set", f"source.subRunEvents={events}"),
        *("-o", f"raw={raw}", "-o", f"truth={_format_escaped(work / truth_name(run_id))}"),
    ]
    code = lat_run(argv)
    if code != 0:
        raise StepFailed(f"the simulation of run {run_id} failed (lat-run exit code {code})", code)
    chunks = []
    for chunk_id in range(len(events)):
        name = raw_name(run_id, chunk_id)
        header = read_ldf_header(work / name)
        digest = hashlib.sha256((work / name).read_bytes()).hexdigest()
        chunks.append(
            Chunk(
                chunk_id,
                name,
                header.events,
                header.first_event,
                header.last_event,
                header.start_met,
                header.stop_met,
                digest,
            )
        )
    return Run(run_id, seed, start_met, chunks[-1].stop_met, sum(events), truth_name(run_id), tuple(chunks))


def make_delivery(
    directory: Path,
    delivery_id: str,
    seed: int,
    first_run: int,
    chunk_events: list[list[int]],
    run_gap: float,
) -> Delivery:
    staged = StagedOutputs()
    try:
        work = staged.stage(directory)
        work.mkdir()
        runs, start = [], START_MET
        for index, events in enumerate(chunk_events):
            run_id = first_run + index
            run = simulate_run(work, run_id, run_seed(seed, run_id), events, start)
            sizes = ", ".join(map(str, events))
            print(
                f"lat-delivery: {run_tag(run_id)}: {len(events)} chunk(s) of {sizes} events, "
                f"MET {run.start_met:.1f} - {run.stop_met:.1f}",
                flush=True,
            )
            runs.append(run)
            start = run.stop_met + run_gap
        delivery = Delivery(directory, delivery_id, seed, tuple(runs))
        (work / MANIFEST).write_text(delivery.to_json(), encoding="utf-8")
        staged.commit()
        return delivery
    finally:
        staged.discard()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lat-delivery", description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[2:5])
    )
    parser.add_argument("directory", help="the delivery directory to create (must not exist, or be empty)")
    parser.add_argument("--id", help="the delivery id (default: the directory's name)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, help="runs (default 2, or one per list of --chunk-events)")
    parser.add_argument("--first-run", type=int, default=1, help="the first run id; the others follow")
    parser.add_argument("--chunks", type=int, default=3, help="chunks per run (with --spread)")
    parser.add_argument("--spread", default="1000:4000", metavar="MIN:MAX", help="seeded events per chunk")
    parser.add_argument("--chunk-events", metavar="N,N,...[/N,...]", help="events of each chunk (no spread)")
    parser.add_argument("--run-gap", type=float, default=30.0, help="seconds between two runs")
    args = parser.parse_args(argv)
    directory = Path(args.directory).absolute()
    delivery_id = args.id if args.id is not None else directory.name
    try:
        if not STREAM_ID.match(delivery_id):
            raise LatError(
                f"delivery id {delivery_id!r} is not [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}",
                hint="give one with --id",
            )
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise LatError(
                f"{directory} already exists", hint="a delivery goes into a new (or empty) directory"
            )
        if not 0 <= args.seed < 2**63:
            raise LatError(f"--seed {args.seed}: seeds are 0 to 2**63 - 1")
        if args.chunk_events:
            chunk_events = listed_chunk_events(args.chunk_events, args.runs or 1)
            if args.runs is not None and len(chunk_events) != args.runs:
                raise LatError(f"--runs {args.runs}, but --chunk-events lists {len(chunk_events)} runs")
        else:
            chunk_events = spread_chunk_events(args.spread, args.runs or 2, args.chunks, args.seed)
        check_plan(chunk_events, args.first_run)
        delivery = make_delivery(
            directory, delivery_id, args.seed, args.first_run, chunk_events, args.run_gap
        )
    except LatError as exc:
        print(f"lat-delivery: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-delivery: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    chunks = sum(len(run.chunks) for run in delivery.runs)
    events = sum(run.events for run in delivery.runs)
    counts = f"{len(delivery.runs)} run(s), {chunks} chunk(s), {events} events"
    print(f"lat-delivery: {directory}: delivery {delivery_id}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
