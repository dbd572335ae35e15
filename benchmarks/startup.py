#!/usr/bin/env python3
"""Start-up time of the CLI (target: `hepstack --version` <= 150 ms).

Median wall time over N runs of `hepstack --version` and `hepstack --help`, next to a bare
`python -c pass` from the same interpreter, measured interleaved in one run.

    .venv/bin/python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEPSTACK = str(Path(sys.executable).parent / "hepstack")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "hepstack --version": [HEPSTACK, "--version"],
    "hepstack --help": [HEPSTACK, "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True)
            times[name].append((time.perf_counter() - started) * 1000)
    for name, values in times.items():
        print(
            f"{name:<22} median {statistics.median(values):6.1f} ms   min {min(values):6.1f}   "
            f"max {max(values):6.1f}   ({args.runs} runs)"
        )
    version = statistics.median(times["hepstack --version"])
    print(f"target hepstack --version <= 150 ms: {'met' if version <= 150 else 'NOT met'} ({version:.0f} ms)")


if __name__ == "__main__":
    main()
