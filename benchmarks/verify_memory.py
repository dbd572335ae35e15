#!/usr/bin/env python3
"""Peak memory of `hepstack verify` on two large files (target: <= 200 MB for two 1 GB files).

Each scenario writes two sparse files of SIZE bytes (no disk used for the zeros) and runs `hepstack verify
A B` in a child process; the child's peak resident set (``ru_maxrss`` from ``os.wait4``), exit code and
wall time are printed. The scenarios are the byte and header comparisons that must not grow with the
file: the reported cases (``root`` and zeros, ``SIMPLE  =`` and zeros: 3.2 GB before the fix), identical
and differing bytes, and valid ROOT/FITS files followed by gigabytes of trailing bytes.

    .venv/bin/python benchmarks/verify_memory.py [--size-mb 1024] [--scenario NAME ...]

tests/verify/test_memory.py runs the same scenarios at 64 MB and 512 MB and bounds the difference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEPSTACK = str(Path(sys.executable).parent / "hepstack")
TARGET_MB = 200
FITS_CARD = b"SIMPLE  =                    T".ljust(80)


@dataclass(frozen=True)
class Scenario:
    """Two files of about ``size`` bytes, and the exit code verify must give for them."""

    name: str
    write: Callable[[Path, Path, int], None]
    exit_code: int


@dataclass(frozen=True)
class Measurement:
    exit_code: int
    peak_rss_mb: float
    seconds: float
    stderr: str


def sparse(path: Path, head: bytes, size: int, *, mark_at: int | None = None) -> None:
    """``head`` then zeros up to ``size`` bytes (a hole, not written), optionally one b"X" at ``mark_at``."""
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)
        if mark_at is not None:
            file.seek(mark_at)
            file.write(b"X")


def _valid_fits() -> bytes:
    """A minimal FITS file: a primary header with no data (END card, blank-padded to 2880 bytes)."""
    cards = [FITS_CARD, b"BITPIX  =                    8", b"NAXIS   =                    0", b"END"]
    return b"".join(card.ljust(80) for card in cards).ljust(2880)


def _fits_image(a: Path, b: Path, size: int) -> None:
    """A float32 image of 1024 columns filling ``size`` bytes (zeros), one pixel of B near the end set."""
    rows = size // 4096
    cards = [
        FITS_CARD,
        b"BITPIX  =                  -32",
        b"NAXIS   =                    2",
        b"NAXIS1  =                 1024",
        f"NAXIS2  = {rows:>20}".encode(),
        b"END",
    ]
    header = b"".join(card.ljust(80) for card in cards).ljust(2880)
    total = len(header) + -(-rows * 4096 // 2880) * 2880
    sparse(a, header, total)
    sparse(b, header, total, mark_at=len(header) + rows * 4096 - 8192)


def _valid_root(directory: Path) -> bytes:
    import numpy as np
    import uproot

    path = directory / "valid.root"
    with uproot.recreate(path) as file:
        file["events"] = {"px": np.arange(1000, dtype=np.float64)}
    return path.read_bytes()


def _pair(
    head_a: bytes, head_b: bytes, *, b_mark: bool = True, b_longer: int = 0
) -> Callable[[Path, Path, int], None]:
    def write(a: Path, b: Path, size: int) -> None:
        sparse(a, head_a, size)
        sparse(b, head_b, size + b_longer, mark_at=size - 4096 if b_mark else None)

    return write


def scenarios(directory: Path) -> list[Scenario]:
    root = _valid_root(directory)
    fits = _valid_fits()
    return [
        Scenario("'SIMPLE  = T' + zeros (issue)", _pair(FITS_CARD, FITS_CARD), 2),
        Scenario("'SIMPLE  =' + zeros", _pair(b"SIMPLE  =", b"SIMPLE  ="), 2),
        Scenario("'root' + zeros (issue)", _pair(b"root", b"root", b_longer=4096), 2),
        Scenario("identical bytes", _pair(b"data", b"data", b_mark=False), 0),
        Scenario("bytes, last 4 KB differ", _pair(b"data", b"data"), 1),
        Scenario("bytes, sizes differ", _pair(b"data", b"data", b_mark=False, b_longer=1), 1),
        Scenario("FITS + trailing bytes", _pair(fits, fits), 1),
        Scenario("FITS image, a pixel differs", _fits_image, 1),
        Scenario("ROOT + trailing bytes", _pair(root, root), 1),
    ]


def measure(a: Path, b: Path) -> Measurement:
    """Run `hepstack verify A B` and read the child's own peak RSS from wait4 (not the whole tree's)."""
    started = time.perf_counter()
    argv = [HEPSTACK, "verify", str(a), str(b)]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as child:
        assert child.stderr is not None
        stderr = child.stderr.read().decode(errors="replace")
        _pid, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    seconds = time.perf_counter() - started
    return Measurement(child.returncode, usage.ru_maxrss / 1024, seconds, stderr)  # ru_maxrss: KiB on Linux


def run(scenario: Scenario, directory: Path, size: int) -> Measurement:
    a, b = directory / "a", directory / "b"
    scenario.write(a, b, size)
    try:
        return measure(a, b)
    finally:
        a.unlink()
        b.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of each file (default 1024)")
    parser.add_argument("--scenario", action="append", help="only scenarios whose name contains this")
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="verify-memory-") as folder:
        directory = Path(folder)
        print(f"two files of {args.size_mb} MB each; peak RSS of the `hepstack verify` process")
        for scenario in scenarios(directory):
            if args.scenario and not any(word in scenario.name for word in args.scenario):
                continue
            found = run(scenario, directory, size)
            worst = max(worst, found.peak_rss_mb)
            verdict = (
                "ok" if found.exit_code == scenario.exit_code else f"WRONG (expected {scenario.exit_code})"
            )
            print(
                f"{scenario.name:<32} exit {found.exit_code} {verdict:<4} "
                f"peak RSS {found.peak_rss_mb:7.1f} MB   {found.seconds:6.2f} s"
            )
    print(f"target peak RSS <= {TARGET_MB} MB: {'met' if worst <= TARGET_MB else 'NOT met'} ({worst:.0f} MB)")


if __name__ == "__main__":
    main()
