"""Developer VMs of the example release: disk size and export time, boot time, and the digi step run in
the VM on a shared directory against the native install (byte for byte).

    .venv/bin/python benchmarks/vm_boot.py                    # lat/dev (bookworm) and lat/legacy (bullseye)
    .venv/bin/python benchmarks/vm_boot.py --images lat/dev --boots 5

Needs the example stack built (hepstack build examples/lat/stack.yaml) and the native install
(/opt/lat-native, scripts/setup-host.sh). The boot time is what `hepstack vm run` prints: from QEMU's start
to the VM's init reporting ready (firmware, SYSLINUX, kernel, initramfs, DHCP, shares mounted).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEPSTACK = str(REPO / ".venv" / "bin" / "hepstack")
NATIVE = Path("/opt/lat-native/bin")
BOOTED = re.compile(r"vm: booted in ([0-9.]+) s \((\w+)\)")


def run(argv: list[str], cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        )
    return result, elapsed


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def boot_seconds(stderr: str) -> tuple[float, str]:
    found = BOOTED.search(stderr)
    if found is None:
        sys.exit(f"no boot time in:\n{stderr}")
    return float(found[1]), found[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", default=["lat/dev", "lat/legacy"])
    parser.add_argument("--boots", type=int, default=3, help="boots of `true` per image (median)")
    parser.add_argument("--events", type=int, default=300, help="events simulated natively for digi")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hepstack-vm-bench-"))
    try:
        work = scratch / "share"
        (work / "native").mkdir(parents=True)
        lat_run = str(NATIVE / "lat-run")
        simulate = [lat_run, "simulate", "-q", "-n", str(arguments.events), "--seed", "1"]
        run([*simulate, "-o", "raw=raw_r{run:06d}_c{subrun:03d}.ldf", "-o", "truth=mc.root"], cwd=work)
        digi = ["lat-run", "digi", "-q", "-s", "raw_r000001_c000.ldf", "-o"]
        run([str(NATIVE / digi[0]), *digi[1:], "native/digi_r000001_c000.root"], cwd=work)
        native = sha256(work / "native" / "digi_r000001_c000.root")
        print(f"native digi ({arguments.events} events): sha256 {native[:16]}")
        rows = []
        for image in arguments.images:
            name = image.replace("/", "-")
            disk = scratch / f"{name}.qcow2"
            _, export_seconds = run([HEPSTACK, "export", image, "--format", "qcow2", "--output", str(disk)])
            boots, walls = [], []
            accelerator = "?"
            for _ in range(arguments.boots):
                result, wall = run([HEPSTACK, "vm", "run", str(disk), "--", "true"])
                seconds, accelerator = boot_seconds(result.stderr)
                boots.append(seconds)
                walls.append(wall)
            (work / name).mkdir()
            output = f"{name}/digi_r000001_c000.root"
            result, digi_wall = run(
                [HEPSTACK, "vm", "run", "--share", str(work), str(disk), "--", *digi, output], cwd=work
            )
            same = sha256(work / output) == native
            rows.append(
                (image, disk.stat().st_size, export_seconds, boots, walls, accelerator, digi_wall, same)
            )
            print(result.stderr.strip())
        print()
        boot_header = f"boot (median of {arguments.boots})"
        print(
            f"{'image':12} {'qcow2':>9} {'export':>8} {boot_header:>22} "
            f"{'vm run true':>12} {'vm run digi':>12}  digi"
        )
        for image, size, export_seconds, boots, walls, accelerator, digi_wall, same in rows:
            print(
                f"{image:12} {size / 1e9:7.2f} GB {export_seconds:6.1f} s "
                f"{statistics.median(boots):9.1f} s ({accelerator}, {min(boots):.1f}-{max(boots):.1f}) "
                f"{statistics.median(walls):10.1f} s {digi_wall:10.1f} s  "
                f"{'byte-identical' if same else 'DIFFERENT'}"
            )
        return 0 if all(row[-1] for row in rows) else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
