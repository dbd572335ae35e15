"""Submission rate on SLURM: 200 tasks through hepstack (one array; 200 single jobs) next to a plain
`sbatch --wrap` loop, all in the same run. Prints tasks/s of submission (not of execution).

    python benchmarks/submit_rate.py [--tasks 200] [--keep]

Needs a SLURM that answers (scripts/setup-schedulers.sh). The jobs are cancelled afterwards unless --keep,
so the benchmark leaves the queue as it found it. hepstack is used as a library here (the batch
executor, the state DB in a temporary directory), so Python start-up is not counted per job; the
`hepstack submit` start-up cost is measured once and printed separately.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _plain_sbatch_loop(tasks: int, workdir: Path) -> tuple[float, list[str]]:
    ids = []
    started = time.perf_counter()
    for _ in range(tasks):
        result = subprocess.run(
            ["sbatch", "--parsable", f"--output={workdir}/plain-%j.out", "--wrap", "true"],
            capture_output=True,
            text=True,
            check=True,
        )
        ids.append(result.stdout.strip().split(";")[0])
    return time.perf_counter() - started, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="do not cancel the submitted jobs")
    arguments = parser.parse_args()
    tasks = arguments.tasks

    with tempfile.TemporaryDirectory(prefix="hepstack-submit-rate-") as scratch:
        root = Path(scratch)
        os.environ["HEPSTACK_DATA_DIR"] = str(root / "data")
        os.environ["HEPSTACK_STATE_DB"] = f"sqlite:///{root / 'state.sqlite'}"
        from hepstack.batch.executor import Submission, submit
        from hepstack.batch.store import JobStore
        from hepstack.context import Context

        context = Context.from_environment()
        store = JobStore.open(context)

        def hepstack_submit(count: int) -> str:
            submission = Submission(
                scheduler="slurm", runtime="native", image="bench", command=["true"], tasks=count
            )
            return submit(submission, context, store).native_id

        native_ids: list[str] = []
        rows = []

        started = time.perf_counter()
        native_ids.append(hepstack_submit(tasks))
        rows.append(("hepstack submit, one array", 1, time.perf_counter() - started))

        started = time.perf_counter()
        native_ids += [hepstack_submit(1) for _ in range(tasks)]
        rows.append(("hepstack submit, single jobs", tasks, time.perf_counter() - started))

        seconds, plain_ids = _plain_sbatch_loop(tasks, root)
        native_ids += plain_ids
        rows.append(("plain sbatch --wrap loop", tasks, seconds))

        started = time.perf_counter()
        cli = [sys.executable, "-c", "import hepstack.cli.batch; from hepstack.cli import main; main()"]
        subprocess.run([*cli, "sites"], capture_output=True, check=True)
        startup = time.perf_counter() - started

        if not arguments.keep:
            subprocess.run(["scancel", *native_ids], check=False)

    print(f"{tasks} tasks on SLURM (submission only; jobs {'kept' if arguments.keep else 'cancelled'} after)")
    print(f"{'method':32} {'submissions':>11} {'seconds':>9} {'tasks/s':>9}")
    for name, submissions, seconds in rows:
        print(f"{name:32} {submissions:>11} {seconds:>9.2f} {tasks / seconds:>9.1f}")
    print(f"(one `hepstack` CLI process start-up, for scale: {startup:.2f} s)")


if __name__ == "__main__":
    main()
