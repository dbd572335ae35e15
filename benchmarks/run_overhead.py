#!/usr/bin/env python3
"""Start-latency overhead of `hepstack run` over the raw runtime command it runs.

For each runtime, `hepstack run --print` gives the exact command; then that raw command and
`hepstack run ... -- true` are timed interleaved (A B C A B C ...), the latter twice: as a repeated run
(its remembered plan, hepstack.run.plan) and as a first run (its plans deleted before each, so it
resolves the image, runtime and user again). The overhead is the median of the paired differences
(each against the raw command timed just before it, so drift of a shared host cancels), as a share of
the raw command's median. Target: <= 5 %. The start of a bare Python interpreter is timed too: no Python
front end can cost less than that.

    .venv/bin/python benchmarks/run_overhead.py [--image lat/release] [--runs N] [--runtimes a,b]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hepstack import dirs

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
    # as installed: bytecode compiled (with PYTHONDONTWRITEBYTECODE=1 an editable install never caches it)
    compileall.compile_dir(Path(dirs.__file__).parent, quiet=1)
    env = {**os.environ, "USER": os.environ.get("USER", "root")}  # ch-run needs $USER
    python = [sys.executable, "-c", "pass"]
    timed(python, env)
    floor = statistics.median(timed(python, env) for _ in range(args.runs))
    print(f"python -c pass (the floor of any Python front end): {floor * 1000:.0f} ms")
    cache = Path(dirs.cache_dir(os.environ))
    print(
        f"{'runtime':<13} {'raw command':>12} {'repeated run':>13} {'overhead':>16} "
        f"{'first run':>10} {'overhead':>16}   (median of {args.runs})"
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
        theirs, repeated, first = [], [], []
        for _ in range(args.runs):
            theirs.append(timed(raw, env))
            repeated.append(timed(through, env))
            for plan in cache.glob("launch-*/*.plan"):
                plan.unlink()
            first.append(timed(through, env))
        a = statistics.median(theirs)
        columns = [f"{runtime:<13} {a * 1000:9.0f} ms"]
        for ours in (repeated, first):
            b = statistics.median(ours)
            # paired: each run against the raw command timed just before it, so host drift cancels
            extra = statistics.median(mine - raw_time for mine, raw_time in zip(ours, theirs, strict=True))
            columns.append(f"{b * 1000:10.0f} ms {100 * extra / a:7.1f} % ({extra * 1000:+4.0f} ms)")
        print("   ".join(columns))
    print("target: overhead <= 5 % of the raw runtime command")
    print("(a docker run of an image podman built is resolved every time: its copy in docker is checked)")


if __name__ == "__main__":
    main()
