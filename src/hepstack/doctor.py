"""`hepstack doctor`: which engines and runtimes work here, why the others don't, and start latency."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hepstack.context import Context
from hepstack.identity import invoking_user
from hepstack.runtimes import RUNTIMES, RunRequest, Runtime, get_runtime


@dataclass(frozen=True)
class RuntimeReport:
    name: str
    works: bool
    detail: str
    latency_ms: float | None = None


def cgroup_mode() -> str:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return "v2 (unified)"
    if (root / "unified").is_dir() or any(root.glob("*/cgroup.controllers")):
        return "hybrid (v1 controllers + v2 mount): crun refuses it, runc with cgroupfs works"
    if (root / "cpu").exists() or (root / "memory").exists():
        return "v1"
    return "none found"


def host_facts() -> list[tuple[str, str]]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)
    userns = Path("/proc/sys/user/max_user_namespaces")
    facts = [
        ("user", f"{invoking_user().name} (uid {os.geteuid()})"),
        ("cgroups", cgroup_mode()),
        ("rlimit nofile (soft/hard)", f"{_limit(nofile[0])}/{_limit(nofile[1])}"),
        ("rlimit nproc (soft/hard)", f"{_limit(nproc[0])}/{_limit(nproc[1])}"),
        ("user namespaces", userns.read_text().strip() if userns.exists() else "unknown"),
    ]
    conf = Path("/etc/containers/containers.conf")
    if conf.exists():
        ulimits = [line.strip() for line in conf.read_text().splitlines() if "ulimits" in line]
        facts.append(("containers.conf", "; ".join(ulimits) or "present, no ulimits"))
    else:
        facts.append(
            (
                "containers.conf",
                "missing: podman's default nofile 1048576 fails without "
                "CAP_SYS_RESOURCE (run scripts/setup-host.sh)",
            )
        )
    return facts


def check_runtimes(image: str | None, context: Context, repeats: int = 5) -> list[RuntimeReport]:
    reports = []
    for name in RUNTIMES:
        runtime = get_runtime(name)
        availability = runtime.availability()
        latency = None
        detail = availability.detail
        if availability.works and image and _not_in_store(runtime, image):
            detail += (
                f"; {image} is not in {runtime.engine_name}'s store: start latency not measured (doctor "
                f"only looks; `hepstack run --runtime {name} IMAGE -- true` copies it there once)"
            )
        elif availability.works and (image or not runtime.in_image):
            try:
                latency = start_latency_ms(name, image or "native", context, repeats)  # native: a label
            except Exception as exc:  # doctor reports every failure as a finding, never crashes
                detail = f"{detail}; running `true` failed: {str(exc).splitlines()[0]}"
                reports.append(RuntimeReport(name, False, detail))
                continue
        elif availability.works:
            detail += "; no image to measure start latency (build one or pass --image)"
        reports.append(RuntimeReport(name, availability.works, detail, latency))
    return reports


def _not_in_store(runtime: Runtime, image: str) -> bool:
    """An engine-backed runtime whose store lacks ``image``: running it would copy the image first."""
    if runtime.engine_name is None:
        return False
    from hepstack.build.engines import get_engine

    return not get_engine(runtime.engine_name).has_image(image)


def start_latency_ms(runtime_name: str, image: str, context: Context, repeats: int) -> float:
    """Median wall time of `true` through the runtime, after one warm-up (which also unpacks for ch-run)."""
    runtime = get_runtime(runtime_name)
    request = RunRequest(image=image, command=["true"], user=invoking_user())
    if runtime.engine_name is not None:  # the image is in this engine's store (_not_in_store): no copy
        request = replace(request, engine=runtime.engine_name)
    invocation = runtime.command_line(request, context)
    argv, environment = invocation.argv, invocation.environment
    times = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, env=environment, check=False)  # noqa: S603
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError((result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1])
        if attempt:
            times.append(elapsed * 1000)
    return statistics.median(times)


def _limit(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)
