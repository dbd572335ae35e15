"""The runtime comparison (Fermi's "pros and cons of Docker vs Singularity vs Shifter"): per runtime, the
facts its class carries (privilege model, whose uid, batch systems, image formats and caching, what a site
installs), the isolation options hepstack's own argv gives it, and this host's figures: start latency
(measured now by ``hepstack doctor --compare``, else the newest recorded) and speed relative to native
from the newest study, each with the evidence it comes from, and which batch systems it ran jobs with here
(the pipeline state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hepstack.context import Context
from hepstack.inventory.evidence import Evidence, read_evidence
from hepstack.runtimes import RUNTIMES, RunRequest, Runtime, get_runtime

ASPECTS = (
    ("privilege model", "privilege_model"),
    ("runs jobs as the user", "runs_as_user"),
    ("batch systems", "batch_systems"),
    ("image formats", "image_formats"),
    ("image caching", "image_caching"),
    ("a site installs", "site_install"),
)
SAMPLE_IMAGE = "localhost/lat/release:1.0"


@dataclass
class RuntimeComparison:
    name: str
    works: bool
    detail: str
    facts: dict[str, str]
    isolation: str  # the options hepstack's argv gives the runtime (from the code)
    latency_ms: float | None = None
    latency_from: str = "-"
    speed: str = "-"
    speed_from: str = "-"
    ran_here: list[str] = field(default_factory=list)


def isolation_options(runtime: Runtime) -> str:
    """The options of the command line hepstack runs for ``true`` in an image, up to the image itself."""
    from hepstack.identity import invoking_user

    image = "/nonexistent/image" if runtime.image_is_a_path else SAMPLE_IMAGE
    try:
        argv = runtime.argv(RunRequest(image=image, command=["true"], user=invoking_user()))
    except Exception as exc:  # a tool that is not installed: say so, the comparison goes on
        return f"(no command line here: {str(exc).splitlines()[0]})"
    words = []
    for word in argv[1:]:
        if word in (image, f"docker:{image}", f"docker://{image}", "/bin/sh"):
            break
        words.append(word)
    return " ".join(words) or "-"


def compare_runtimes(
    context: Context, *, measured: dict[str, float] | None = None, evidence: list[Evidence] | None = None
) -> list[RuntimeComparison]:
    """Every registered runtime; ``measured`` start latencies (ms) take the place of recorded ones."""
    evidence = read_evidence(context) if evidence is None else evidence
    ran_here = _ran_here(context)
    rows = []
    for name in RUNTIMES:
        runtime = get_runtime(name)
        availability = runtime.availability()
        row = RuntimeComparison(
            name,
            availability.works,
            availability.detail,
            {label: getattr(runtime, attribute) for label, attribute in ASPECTS},
            isolation_options(runtime),
            ran_here=ran_here.get(name, []),
        )
        if measured and name in measured:
            row.latency_ms, row.latency_from = measured[name], "measured now (median of `true`)"
        else:
            row.latency_ms, row.latency_from = _recorded_latency(name, evidence)
        row.speed, row.speed_from = _newest_speed(name, evidence)
        rows.append(row)
    return rows


def _recorded_latency(name: str, evidence: list[Evidence]) -> tuple[float | None, str]:
    for line in reversed(evidence):
        if line.kind == "latency" and name in (line.data.get("start_latency_ms") or {}):
            value = float(line.data["start_latency_ms"][name])
            return value, f"hepstack doctor --compare, {line.at:%Y-%m-%d %H:%M} UTC [{line.label}]"
        if line.kind == "bench":
            for arm in (line.data.get("arms") or {}).values():
                if arm.get("runtime") == name and arm.get("start_latency_s") is not None:
                    study = line.data.get("study")
                    return float(
                        arm["start_latency_s"]
                    ) * 1000, f"study {study}, {line.at:%Y-%m-%d} [{line.label}]"
    return None, "-"


def _newest_speed(name: str, evidence: list[Evidence]) -> tuple[str, str]:
    """Speed of the workers relative to the baseline in the newest study with an arm of this runtime."""
    for line in reversed(evidence):
        if line.kind != "bench":
            continue
        for arm_name, arm in (line.data.get("arms") or {}).items():
            if arm.get("runtime") != name or arm_name == line.data.get("baseline"):
                continue
            for workload, result in (arm.get("workloads") or {}).items():
                speed = (result.get("speed") or {}).get("workers") or {}
                if speed.get("relative_speed") is None or not speed.get("interval"):
                    continue
                low, high = speed["interval"]
                text = f"{speed['relative_speed']:.3f} [{low:.3f}, {high:.3f}]"
                source = (
                    f"study {line.data.get('study')}/{workload} arm {arm_name} vs {line.data.get('baseline')}"
                )
                return text, f"{source}, {line.at:%Y-%m-%d} [{line.label}]"
    return "-", "-"


def _ran_here(context: Context) -> dict[str, list[str]]:
    """Per runtime: ``slurm: 12 succeeded, 1 failed, last 2026-12-01`` from the pipeline state."""
    from datetime import UTC, datetime

    from hepstack.batch.store import state_url
    from hepstack.inventory.facts import existing_state
    from hepstack.pipeline.report import runs_by_platform

    database = existing_state(state_url(context))
    if database is None:
        return {}
    try:
        with database.read() as connection:
            rows = runs_by_platform(connection)
    finally:
        database.close()
    counts: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = counts.setdefault((row["runtime"] or "native", row["scheduler"]), {"last": 0.0})
        entry[row["state"]] = entry.get(row["state"], 0) + row["count"]
        entry["last"] = max(entry["last"], row["last"] or 0.0)
    found: dict[str, list[str]] = {}
    for (runtime, scheduler), entry in sorted(counts.items()):
        last = datetime.fromtimestamp(entry["last"], UTC).strftime("%Y-%m-%d")
        found.setdefault(runtime, []).append(
            f"{scheduler}: {entry.get('SUCCESS', 0)} succeeded, {entry.get('FAILED', 0)} failed, last {last}"
        )
    return found
