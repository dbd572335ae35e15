"""``lat-mc``: one Monte Carlo production job, simulate -> digi -> recon -> merit, in one process.

    lat-mc --seed 5 --events 2000 --out DIR      # DIR/mc_s000005.root, digi_, recon_, merit_s000005.root

Each step is a ``lat-run`` command run in this process (one container, no orchestration between the
steps).  The seed sets the simulation, the run id (by default) and the outputs' names, and every ROOT
output carries it as metadata (TObjString ``seed``).  All four outputs are written into one staging
directory and renamed into DIR only when the last step succeeded: a failed job leaves nothing, and
exits with the failed step's code (2: configuration or input, 1: the system).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lat.framework.atomic import StagedOutputs
from lat.framework.cli import main as lat_run
from lat.framework.errors import LatError
from lat.proc.layout import mc_job_files, mc_tag
from lat.proc.planners import DEFAULT_CALIB, checked_path

MAX_ID = 2**32 - 1  # run ids are u32 in the raw format


class StepFailed(LatError):
    def __init__(self, step: str, code: int) -> None:
        super().__init__(f"step {step} failed (lat-run exit code {code}); no output was kept")
        self.exit_code = code


def _as_file_name(path: Path) -> str:
    """A path as an output ``fileName``, which the output modules ``.format()``."""
    return str(path).replace("{", "{{").replace("}", "}}")


def step_commands(
    staged: dict[str, Path], raw: Path, seed: int, events: int, run_id: int, calib: str
) -> list[tuple[str, list[str]]]:
    """The four ``lat-run`` command lines of the job (outputs at their staged paths)."""
    metadata = ["--metadata", f"seed={seed}"]
    return [
        (
            "simulate",
            [
                *("simulate", "-q", "-n", str(events), "--seed", str(seed)),
                *("--set", f"source.runId={run_id}", "--set", f"source.eventsPerSubRun={events}"),
                *(
                    "-o",
                    f"raw={_as_file_name(raw)}",
                    "-o",
                    f"truth={_as_file_name(staged['truth'])}",
                    *metadata,
                ),
            ],
        ),
        ("digi", ["digi", "-q", "-s", str(raw), "-o", _as_file_name(staged["digi"]), *metadata]),
        (
            "recon",
            [
                *("recon", "-q", "-s", str(staged["digi"]), "-o", _as_file_name(staged["recon"])),
                *("--set", f"physics.producers.cal.calibFile={calib}", *metadata),
            ],
        ),
        (
            "merit",
            ["merit", "-q", "-s", str(staged["recon"]), "-o", _as_file_name(staged["merit"]), *metadata],
        ),
    ]


def run_mc_job(out: Path, seed: int, events: int, run_id: int, calib: str, tag: str) -> dict[str, Path]:
    files = mc_job_files(out, tag)
    outputs = StagedOutputs()
    try:
        staged = {product: outputs.stage(path) for product, path in files.items()}
        raw = staged["digi"].parent / f"raw_{tag}.ldf"  # in the staging directory: removed with it
        for step, argv in step_commands(staged, raw, seed, events, run_id, calib):
            code = lat_run(argv)
            if code != 0:
                raise StepFailed(step, code)
        outputs.commit()
    finally:
        outputs.discard()
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lat-mc", description=__doc__.splitlines()[0], epilog=__doc__.splitlines()[2]
    )
    parser.add_argument("--seed", type=int, required=True, help="the job's seed (distinct per job)")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--out", required=True, help="the output directory")
    parser.add_argument("--run-id", type=int, help="the run id of the events (default: the seed)")
    parser.add_argument(
        "--calib", default=DEFAULT_CALIB, help=f"recon's calibration (default {DEFAULT_CALIB})"
    )
    parser.add_argument("--tag", help="names the outputs (default: s<seed, 6 digits>)")
    args = parser.parse_args(argv)
    run_id = args.seed if args.run_id is None else args.run_id
    tag = args.tag if args.tag is not None else mc_tag(args.seed)
    try:
        if not (0 <= args.seed <= MAX_ID and 0 <= run_id <= MAX_ID and args.events >= 1):
            raise LatError(
                f"--seed {args.seed}, --run-id {run_id}, --events {args.events}: out of range",
                hint=f"seed and run id 0..{MAX_ID}, events >= 1",
            )
        if not tag or "/" in tag or tag.startswith("."):
            raise LatError(f"--tag {tag!r}: not a file-name part")
        out = checked_path(args.out, "--out")
        files = run_mc_job(out, args.seed, args.events, run_id, args.calib, tag)
    except LatError as exc:
        print(f"lat-mc: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-mc: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    names = ", ".join(path.name for path in files.values())
    print(f"lat-mc: {out}: {names} ({args.events} events, seed {args.seed}, run {run_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
