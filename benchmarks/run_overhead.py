#!/usr/bin/env python3
"""Issue 4, acceptance 5: start-latency overhead of `hepstack run` over the raw runtime command it runs.

For each runtime, `hepstack run --print` gives the exact command; then `hepstack run ... -- true` and
that raw command are timed interleaved (A B A B ...) and the medians compared. Target: <= 5 %.
The start of a bare Python interpreter is timed too: no Python front end can cost less than that.

    .venv/bin/python benchmarks/run_overhead.py [--image lat/release] [--runs N] [--runtimes a,b]
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEPSTACK = str(Path(sys.executable).parent / "hepstack")


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--image", default="lat/release")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--runtimes", default="native,podman,docker,charliecloud")
    args = parser.parse_args()
    env = {**os.environ, "USER": os.environ.get("USER", "root")}  # ch-run needs $USER
    python = [sys.executable, "-c", "pass"]
    timed(python, env)
    floor = statistics.median(timed(python, env) for _ in range(args.runs))
    print(f"python -c pass (the floor of any Python front end): {floor * 1000:.0f} ms")
    print(
        f"{'runtime':<13} {'raw command':>12} {'hepstack run':>13} {'overhead':>10}   (median of {args.runs})"
    )
    for runtime in args.runtimes.split(","):
        through = [HEPSTACK, "run", "--runtime", runtime, args.image, "--", "true"]
        printed = subprocess.run(
            [*through[:2], "--print", *through[2:]], capture_output=True, text=True, check=False
        )
        if printed.returncode != 0:
            print(f"{runtime:<13} unavailable: {printed.stderr.strip().splitlines()[-1:]}")
            continue
        raw = shlex.split(printed.stdout.strip())
        timed(through, env), timed(raw, env)  # warm-up (image transfer, unpack, page cache)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(timed(through, env))
            theirs.append(timed(raw, env))
        a, b = statistics.median(theirs), statistics.median(ours)
        print(
            f"{runtime:<13} {a * 1000:10.0f} ms {b * 1000:11.0f} ms {100 * (b - a) / a:9.1f} %   "
            f"(+{(b - a) * 1000:.0f} ms)"
        )
    print("target: overhead <= 5 % of the raw runtime command")


if __name__ == "__main__":
    main()
