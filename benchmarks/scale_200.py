"""The scaling demonstration: up to 200 concurrent jobs of the example's release image on the single-host
SLURM (partition `scale`), rootless podman and Charliecloud as the test user, next to native, through
`hepstack scale run`. Prints the table; the report (summary.json, table.txt, PNGs, report.html) stays in
--out. Then fits the model on concurrencies 1, 10, 50 and checks it on 100 and 200.

    sudo python benchmarks/scale_200.py [--top 200] [--out /tmp/scale-200] [--workload cpu]

As root: it loads the release image (built by `hepstack build examples/lat/stack.yaml`, in root's podman
store) into the test user's rootless store and runs everything as that user (HEPSTACK_TEST_USER, default
hepstack-test). Before the top concurrency it checks that the memory measured at the one before, scaled
up, fits in what the host has free; if not, it stops there and says so (no run into the OOM killer).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEPSTACK = str(Path(sys.executable).parent / "hepstack")
USER = os.environ.get("HEPSTACK_TEST_USER", "hepstack-test")
NATIVE_PATH = "/opt/lat-native/bin:/usr/local/bin:/usr/bin:/bin"
STUDY = """\
study: scale-{top}
description: up to {top} concurrent jobs, rootless podman and Charliecloud next to native
scheduler: slurm
queue: scale
image: {image}
workload: {{kind: {workload}, events: {events}{inputs}}}
concurrencies: {concurrencies}
repetitions: 1
warmup: 1
timeout: 1500
arms:
  - {{name: native, runtime: native, env: {{PATH: "{path}"}}}}
  - {{name: podman, runtime: podman}}
  - {{name: charliecloud, runtime: charliecloud}}
"""


def run(argv: list[str], user: pwd.struct_passwd | None = None, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    if user is not None:
        argv = [
            "runuser",
            "-u",
            user.pw_name,
            "--",
            "env",
            *[f"{k}={v}" for k, v in (env or {}).items()],
            *argv,
        ]
    result = subprocess.run(argv, text=True, capture_output=True, check=False)
    if check and result.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def release_image() -> str:
    found = run(["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/lat/release"])
    tags = [line for line in found.stdout.split() if not line.endswith((":latest", ":1.0"))]
    if not tags:
        sys.exit("no localhost/lat/release image: hepstack build examples/lat/stack.yaml release")
    return tags[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("/tmp/scale-200"))
    parser.add_argument("--workload", choices=["cpu", "recon"], default="cpu")
    parser.add_argument("--events", type=int, default=20)
    arguments = parser.parse_args()
    user = pwd.getpwnam(USER)
    home = arguments.out
    home.mkdir(parents=True, exist_ok=False)
    home.chmod(0o755)
    os.chown(home, user.pw_uid, user.pw_gid)
    env = {"HOME": user.pw_dir, "USER": user.pw_name, "PATH": "/usr/local/bin:/usr/bin:/bin",
           "HEPSTACK_DATA_DIR": str(home / "data"), "HEPSTACK_CACHE_DIR": str(home / "cache")}  # fmt: skip
    image = release_image()
    archive = home / "release.tar"
    run(["podman", "save", "--output", str(archive), image])
    archive.chmod(0o644)
    run(["podman", "load", "--input", str(archive)], user=user, env=env)
    archive.unlink()
    inputs = ""
    if arguments.workload == "recon":
        prepared = home / "inputs"
        prepared.mkdir()
        lat = "/opt/lat-native/bin/lat-run"
        run([lat, "simulate", "-q", "-n", str(arguments.events), "--seed", "7",
             "--set", f"source.eventsPerSubRun={arguments.events}", "-o", f"raw={prepared}/raw.ldf",
             "-o", f"truth={prepared}/mc.root"])  # fmt: skip
        run([lat, "digi", "-q", "-s", f"{prepared}/raw.ldf", "-o", f"{prepared}/digi.root"])
        prepared.chmod(0o755)
        inputs = ", inputs: inputs"
    steps = [c for c in (1, 10, 50, 100, 200, 400) if c < arguments.top] + [arguments.top]
    below, top = steps[:-1], steps[-1]
    first = _study(home, "study-below.yaml", image, arguments, below, inputs)
    print(f"scale: {USER}, image {image}, concurrencies {below} first", flush=True)
    result = run([HEPSTACK, "scale", "run", str(first), "--output", str(home / "below")], user=user, env=env,
                 check=False)  # fmt: skip
    print(result.stdout[-6000:], result.stderr[-3000:], flush=True)
    summary = json.loads((home / "below" / "summary.json").read_text())
    last = max(below)
    added = max(p["memory_added_kb"] for p in summary["points"] if p["concurrency"] == last)
    free = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemAvailable:")))  # fmt: skip
    needed = added * top / last
    print(f"memory: +{added / 1024:.0f} MB at {last} jobs -> about {needed / 1024:.0f} MB at {top}; "
          f"{free / 1024:.0f} MB available", flush=True)  # fmt: skip
    if needed > 0.8 * free:
        sys.exit(
            f"stopping before {top}: {needed / 1024:.0f} MB would not fit in 80 % of {free / 1024:.0f} MB"
        )
    second = _study(home, "study-top.yaml", image, arguments, [top], inputs)
    result = run([HEPSTACK, "scale", "run", str(second), "--output", str(home / "top")], user=user, env=env,
                 check=False)  # fmt: skip
    print(result.stdout[-6000:], result.stderr[-3000:], flush=True)


def _study(home: Path, name: str, image: str, arguments: argparse.Namespace, steps: list[int],
           inputs: str) -> Path:  # fmt: skip
    path = home / name
    path.write_text(STUDY.format(top=max(steps), image=image, workload=arguments.workload,
                                 events=arguments.events, inputs=inputs, concurrencies=steps,
                                 path=NATIVE_PATH))  # fmt: skip
    path.chmod(0o644)
    return path


if __name__ == "__main__":
    main()
