"""50 jobs of one image starting at once on a cold node, Charliecloud, before and after `hepstack stage`.

Before: a fresh node cache; each of the 50 jobs runs `hepstack run --runtime charliecloud IMAGE`, which
converts the image into the node cache on first use (registry/cache.py: one conversion under the build
lock, the others wait for it). After: another fresh cache; `hepstack stage` converts it in one job, then
50 jobs run ch-run on the staged tree (`hepstack scale run`, one arm). Each time: conversions made
(conversions.log), jobs that succeeded, the tree's checksum before and after the jobs, start latency.

    sudo python benchmarks/scale_stage.py [--jobs 50] [--out /tmp/scale-stage]

As root; runs everything as the test user (HEPSTACK_TEST_USER, default hepstack-test), with the example's
release image loaded into its rootless podman store (the conversion's source).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEPSTACK = str(Path(sys.executable).parent / "hepstack")
USER = os.environ.get("HEPSTACK_TEST_USER", "hepstack-test")
STUDY = """\
study: {name}
scheduler: slurm
queue: scale
image: {image}
workload: {{kind: cpu, events: 5}}
concurrencies: [{jobs}]
warmup: 0
timeout: 1200
arms:
  - {{name: {runtime}, runtime: {runtime}}}
"""


def as_user(
    user: pwd.struct_passwd, env: dict[str, str], argv: list[str]
) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", user.pw_name, "--", "env", *[f"{k}={v}" for k, v in env.items()], *argv]
    return subprocess.run(command, text=True, capture_output=True, check=False)


def before_stage(image: str, jobs: int, out: Path) -> dict[str, object]:
    """As the test user: one array of ``jobs`` tasks, each `hepstack run --runtime charliecloud`."""
    from dataclasses import replace

    from hepstack.batch.executor import job_status, submit
    from hepstack.batch.plan import plan_submission
    from hepstack.batch.store import JobStore
    from hepstack.context import Context
    from hepstack.quoting import job_variable
    from hepstack.scale.stage import STATE_VARIABLES, conversions, tree_checksum

    context = Context.from_environment()
    times = out / "times"
    times.mkdir()
    index, launch = job_variable("HEPSTACK_TASK_INDEX"), job_variable("EPOCHREALTIME")
    inside = f'printf "%s %s\\n" "$L" "$(date +%s.%N)" >{times}/"$I"'
    command = [
        sys.executable,
        "-m",
        "hepstack",
        "run",
        "--runtime",
        "charliecloud",
        "--bind",
        f"{times}:{times}",
        "-e",
        f"I={index}",
        "-e",
        f"L={launch}",
        image,
        "--",
        "sh",
        "-c",
        inside,
    ]
    planned = plan_submission(
        image="stage-before",
        command=command,
        context=context,
        scheduler="slurm",
        runtime="native",
        tasks=jobs,
        queue="scale",
        name="before-stage",
    )
    env = {name: os.environ[name] for name in STATE_VARIABLES if name in os.environ}
    submission = replace(planned, env={**planned.env, **env, "USER": os.environ["USER"]})
    started = time.time()
    record = submit(submission, context, JobStore.open(context))
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        statuses = job_status(record)
        if all(status.state.final for status in statuses):
            break
        time.sleep(0.5)  # between two questions to the scheduler
    latencies = []
    for path in times.iterdir():
        launched, begun = (float(v) for v in path.read_text().split())
        latencies.append(begun - launched)
    entries = list((context.cache_path() / "charliecloud").iterdir())
    trees = [entry for entry in entries if entry.is_dir() and not entry.name.startswith(".")]
    return {
        "jobs": jobs,
        "succeeded": sum(s.state.value == "COMPLETED" and s.exit_code == 0 for s in statuses),
        "conversions": conversions(context),
        "trees": len(trees),
        "checksum": tree_checksum(trees[0]) if len(trees) == 1 else None,
        "start_latency_s": _percentiles(latencies),
        "seconds": round(time.time() - started, 1),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {
        "p50": round(statistics.median(ordered), 3),
        "p95": round(pick(0.95), 3),
        "max": round(ordered[-1], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("/tmp/scale-stage"))
    parser.add_argument("--parts", default="charliecloud,podman,podman-registry", help="comma-separated")
    parser.add_argument("--image", help=argparse.SUPPRESS)
    parser.add_argument("--before", type=Path, help=argparse.SUPPRESS)  # the test user's part
    arguments = parser.parse_args()
    if arguments.before is not None:
        print(json.dumps(before_stage(arguments.image, arguments.jobs, arguments.before)))
        return
    user = pwd.getpwnam(USER)
    home = arguments.out
    home.mkdir(parents=True)
    home.chmod(0o755)
    os.chown(home, user.pw_uid, user.pw_gid)
    images = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", "localhost/lat/release"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    image = next(tag for tag in images if not tag.endswith((":latest", ":1.0")))
    archive = home / "release.tar"
    subprocess.run(["podman", "save", "--output", str(archive), image], check=True, capture_output=True)
    archive.chmod(0o644)
    base = {
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HEPSTACK_DATA_DIR": str(home / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    loaded = as_user(user, base, ["podman", "load", "--input", str(archive)])
    assert loaded.returncode == 0, loaded.stderr

    if "charliecloud" in arguments.parts.split(","):
        charliecloud_cold(user, base, home, image, arguments.jobs)
    if "podman" in arguments.parts.split(","):
        podman_cold(user, base, home, image, archive, arguments.jobs)
    if "podman-registry" in arguments.parts.split(","):
        podman_registry_cold(user, base, home, image, arguments.jobs)


def charliecloud_cold(
    user: pwd.struct_passwd, base: dict[str, str], home: Path, image: str, jobs: int
) -> None:
    env = {**base, "HEPSTACK_CACHE_DIR": str(home / "cache-before")}
    work = home / "before"
    as_user(user, env, ["mkdir", str(work)])
    result = as_user(
        user,
        env,
        [sys.executable, __file__, "--before", str(work), "--image", image, "--jobs", str(jobs)],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    before = json.loads(result.stdout.splitlines()[-1])
    print(f"before stage: {json.dumps(before)}", flush=True)

    env = {**base, "HEPSTACK_CACHE_DIR": str(home / "cache-after")}
    staged = as_user(
        user,
        env,
        [HEPSTACK, "stage", image, "--runtime", "charliecloud", "--scheduler", "slurm", "--queue", "scale"],
    )
    print(f"stage: {staged.stdout.strip()} {staged.stderr.strip()}", flush=True)
    study = home / "staged.yaml"
    study.write_text(STUDY.format(name="staged", runtime="charliecloud", image=image, jobs=jobs))
    study.chmod(0o644)
    ran = as_user(user, env, [HEPSTACK, "scale", "run", str(study), "--output", str(home / "after")])
    print(ran.stdout[-3000:], ran.stderr[-2000:], flush=True)
    summary = json.loads((home / "after" / "summary.json").read_text())
    log = (home / "cache-after" / "conversions.log").read_text().splitlines()
    trees = [
        p
        for p in (home / "cache-after" / "charliecloud").iterdir()
        if p.is_dir() and not p.name.startswith(".")
    ]
    check = as_user(
        user,
        env,
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from hepstack.scale.stage import tree_checksum; print(tree_checksum(Path(sys.argv[1])))",
            str(trees[0]),
        ],
    )
    point = summary["points"][0]
    print(
        f"after stage: jobs {point['jobs']}, succeeded {point['succeeded']}, conversions {len(log)}, "
        f"trees {len(trees)}, checksum after the jobs {check.stdout.strip()[:16]} (before: "
        f"{str(before['checksum'])[:16]}), start latency {point['start_latency_s']}",
        flush=True,
    )


def podman_cold(
    user: pwd.struct_passwd, base: dict[str, str], home: Path, image: str, archive: Path, jobs: int
) -> None:
    """The same for rootless podman, on an empty store of the test user's own (XDG_DATA_HOME and
    XDG_RUNTIME_DIR: its graphroot and runroot), the image coming from an archive on the shared disk."""
    store = home / "podman"
    env = {
        **base,
        "HEPSTACK_CACHE_DIR": str(home / "cache-podman"),
        "XDG_DATA_HOME": str(store / "data"),
        "XDG_RUNTIME_DIR": str(store / "run"),
    }
    as_user(user, env, ["mkdir", "-p", str(store / "data"), str(store / "run")])
    as_user(user, env, ["chmod", "700", str(store / "run")])
    study = home / "podman.yaml"
    study.write_text(STUDY.format(name="podman-cold", runtime="podman", image=image, jobs=jobs))
    study.chmod(0o644)
    layers = ["podman", "image", "inspect", "--format", "{{.Id}} {{.RootFS.Layers}}", image]
    for when in ("before", "after"):
        if when == "after":
            staged = as_user(
                user,
                env,
                [
                    HEPSTACK,
                    "stage",
                    image,
                    "--runtime",
                    "podman",
                    "--scheduler",
                    "slurm",
                    "--queue",
                    "scale",
                    "--archive",
                    str(archive),
                ],
            )
            print(f"podman stage: {staged.stdout.strip()} {staged.stderr.strip()}", flush=True)
            identity = as_user(user, env, layers).stdout.strip()
        ran = as_user(
            user, env, [HEPSTACK, "scale", "run", str(study), "--output", str(home / f"podman-{when}")]
        )
        summary = json.loads((home / f"podman-{when}" / "summary.json").read_text())
        point = summary["points"][0]
        count = len(as_user(user, env, ["podman", "images", "--quiet"]).stdout.split())
        print(
            f"podman {when} stage: jobs {point['jobs']}, succeeded {point['succeeded']}, failures "
            f"{point['failures']}, images in the store {count}, start latency {point['start_latency_s']}",
            flush=True,
        )
        if when == "after":
            again = as_user(user, env, layers).stdout.strip()
            print(f"podman image and layers unchanged by the jobs: {again == identity} ({again[:24]}...)")
            print(ran.stdout[-1500:], flush=True)
    archive.unlink()


def podman_registry_cold(
    user: pwd.struct_passwd, base: dict[str, str], home: Path, image: str, jobs: int
) -> None:
    """Rootless podman on an empty store again, the image this time in a registry (docker-registry on
    loopback, plain HTTP, trusted through registries.conf as a site configures its nodes): the jobs
    pull it themselves, the first under the per-node lock (batch/templates/node_cache.sh), the others
    waiting for it. Counted: pulls.log lines, and the registry's own log of blob downloads."""
    import socket
    import urllib.request

    registry = home / "registry"
    registry.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (registry / "config.yml").write_text(
        "version: 0.1\nlog: {level: info, formatter: text}\n"
        f"storage: {{filesystem: {{rootdirectory: {registry / 'data'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    log = registry / "registry.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            ["docker-registry", "serve", str(registry / "config.yml")], stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # until the registry answers
        remote = f"127.0.0.1:{port}/lat/release:{image.rpartition(':')[2]}"
        subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"containers-storage:{image}",
                        f"docker://{remote}"], check=True, capture_output=True)  # fmt: skip
        pushed = log.read_text().count("PUT /v2/lat/release/blobs/uploads/")
        conf = registry / "registries.conf"
        conf.write_text(f'[[registry]]\nlocation = "127.0.0.1:{port}"\ninsecure = true\n')
        conf.chmod(0o644)
        for when in ("before", "after"):
            store = home / f"podman-registry-{when}"
            env = {
                **base,
                "HEPSTACK_CACHE_DIR": str(store / "cache"),
                "XDG_DATA_HOME": str(store / "data"),
                "XDG_RUNTIME_DIR": str(store / "run"),
                "CONTAINERS_REGISTRIES_CONF": str(conf),
            }
            as_user(user, env, ["mkdir", "-p", str(store / "data"), str(store / "run")])
            as_user(user, env, ["chmod", "700", str(store / "run")])
            seen = log.read_text().count("GET /v2/lat/release/blobs/")
            if when == "after":
                staged = as_user(user, env, [HEPSTACK, "stage", remote, "--runtime", "podman",
                                             "--scheduler", "slurm", "--queue", "scale"])  # fmt: skip
                print(
                    f"podman stage from the registry: {staged.stdout.strip()} {staged.stderr.strip()}",
                    flush=True,
                )
            study = home / f"podman-registry-{when}.yaml"
            study.write_text(
                STUDY.format(name=f"podman-registry-{when}", runtime="podman", image=remote, jobs=jobs)
            )
            study.chmod(0o644)
            ran = as_user(user, env, [HEPSTACK, "scale", "run", str(study), "--output", str(store / "out")])
            summary = json.loads((store / "out" / "summary.json").read_text())
            point = summary["points"][0]
            pulls = store / "run" / "hepstack-pulls" / "pulls.log"
            pulled = pulls.read_text().splitlines() if pulls.exists() else []
            blobs = log.read_text().count("GET /v2/lat/release/blobs/") - seen
            count = len(as_user(user, env, ["podman", "images", "--quiet"]).stdout.split())
            durations = [line.split("\t")[2] for line in pulled]
            print(
                f"podman from a registry, {when} stage: jobs {point['jobs']}, "
                f"succeeded {point['succeeded']}, failures {point['failures']}, "
                f"pulls by jobs {len(pulled)} {durations}, blob downloads {blobs} "
                f"(the image has {pushed} blobs incl. its config), images in the store {count}, "
                f"start latency {point['start_latency_s']}",
                flush=True,
            )
            print(ran.stdout[-800:], flush=True)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
