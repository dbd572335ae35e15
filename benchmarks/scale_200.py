"""The scaling demonstration: up to 200 concurrent jobs of the example's release image on the single-host
SLURM (partition `scale`), rootless podman and Charliecloud as the test user, next to native, through
`hepstack scale run`. Prints the table; the report (summary.json, table.txt, PNGs, report.html) stays in
--out. Then fits the model on concurrencies 1, 10, 50 and checks it on 100 and 200.

    sudo python benchmarks/scale_200.py [--top 200] [--out /tmp/scale-200] [--workload cpu|recon|idle]

``--workload idle`` (each container sleeps ``--seconds``): the runtimes' start latency with 200 starts
at once but without 200 payloads sharing the CPU with them.

As root: it loads the release image (built by `hepstack build examples/lat/stack.yaml`, in root's podman
store) into the test user's rootless store and runs everything as that user (HEPSTACK_TEST_USER, default
hepstack-test). `scale run` stops before a concurrency whose jobs, at the memory per job measured at
the one before, would take over 80 % of the available memory, and says so (no run into the OOM killer).
"""

from __future__ import annotations

import argparse
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
workload: {{kind: {workload}, {amount}{inputs}}}
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
    parser.add_argument("--workload", choices=["cpu", "recon", "idle"], default="cpu")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60, help="idle: how long each container sleeps")
    parser.add_argument("--concurrencies", help="comma-separated (default: 1, 10, 50, 100, ... up to --top)")
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
    if arguments.concurrencies:
        steps = [int(word) for word in arguments.concurrencies.split(",")]
    study = _study(home, "study.yaml", image, arguments, steps, inputs)
    print(f"scale: {USER}, image {image}, concurrencies {steps}", flush=True)
    result = run([HEPSTACK, "scale", "run", str(study), "--output", str(home / "report")], user=user, env=env,
                 check=False)  # fmt: skip
    print(result.stdout[-8000:], result.stderr[-3000:], flush=True)
    if not (home / "report" / "summary.json").exists():  # interrupted: nothing to model
        sys.exit(result.returncode or 1)
    # stage seconds: one podman load (32.0 s) and one Charliecloud conversion (19.5 s), measured by
    # benchmarks/scale_stage.py on this VM (docs/scaling.md)
    stages = (("podman", "32.0"), ("charliecloud", "19.5"), ("native", "0"))
    for arm, stage_s in stages if arguments.workload != "idle" else ():  # the model needs event times
        model = run([HEPSTACK, "scale", "model", str(home / "report" / "summary.json"), "--arm", arm,
                     "--fit", "1,10,50", "--stage-s", stage_s], check=False)  # fmt: skip
        print(model.stdout, model.stderr, flush=True)
    sys.exit(result.returncode)


def _study(home: Path, name: str, image: str, arguments: argparse.Namespace, steps: list[int],
           inputs: str) -> Path:  # fmt: skip
    path = home / name
    amount = (
        f"seconds: {arguments.seconds:g}" if arguments.workload == "idle" else f"events: {arguments.events}"
    )
    path.write_text(STUDY.format(top=max(steps), image=image, workload=arguments.workload,
                                 amount=amount, inputs=inputs, concurrencies=steps,
                                 path=NATIVE_PATH))  # fmt: skip
    path.chmod(0o644)
    return path


if __name__ == "__main__":
    main()
