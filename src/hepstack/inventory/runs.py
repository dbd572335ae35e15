"""Facts of where a package ran, from each kind of evidence: a recorded verify (its sides' provenance,
or the pipeline output it compared), a recorded study's arms, a pipeline's recorded outputs. Each fact
names its platform (the runtime and the image's layer, or the host's OS natively, or the site), its
verdict, when, and the evidence it comes from; it is stale when older than the package's last change."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hepstack.catalog import ImageRecord
from hepstack.inventory.evidence import Evidence
from hepstack.inventory.model import Package
from hepstack.inventory.status import PackageStatus, RunFact
from hepstack.names import STACK_LAYER
from hepstack.runtimes import ran_on_host


def run_facts(
    status: PackageStatus,
    evidence: list[Evidence],
    outputs: list[dict[str, Any]],
    records: list[ImageRecord],
    cited: dict[str, Evidence],
) -> list[RunFact]:
    layer_of = {record.image_id: record.layer for record in records}
    by_path = {row["path"]: row for row in outputs}
    facts: list[RunFact] = []
    for line in evidence:
        found = []
        if line.kind == "verify":
            found = _verify_facts(status, line, by_path, layer_of)
        elif line.kind == "bench":
            found = _bench_facts(status, line, layer_of)
        if found:
            cited[line.label] = line
            facts += found
    for row in outputs:
        step = str(row["step"]).rsplit(".", 1)[-1]
        if step in status.package.steps or _matches(status.package, [row["path"]]):
            layer = _layer(row["image"], row["image_id"], layer_of)
            if layer is not None and layer not in status.carriers:
                continue
            facts.append(_pipeline_fact(row, layer, status.last_change))
    return sorted(facts, key=lambda fact: fact.at, reverse=True)


def _matches(package: Package, paths: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(Path(path).name, pattern) for path in paths for pattern in package.outputs)


def _layer(image: str | None, image_id: str | None, layer_of: dict[str, str]) -> str | None:
    """The stack layer an image is (by id in the catalog, or by its ``STACK/LAYER`` name), or None."""
    if image_id and image_id in layer_of:
        return layer_of[image_id]
    if not image:
        return None
    name = image.removeprefix("localhost/").split(":")[0].split("@")[0]
    match = STACK_LAYER.match(name)
    return match[2] if match else None


def _verify_facts(
    status: PackageStatus, line: Evidence, by_path: dict[str, dict[str, Any]], layer_of: dict[str, str]
) -> list[RunFact]:
    data = line.data
    if not _matches(status.package, side_paths(data, "b")):
        return []
    facts = []
    compared = f"{data.get('file_count', 0)} file(s)"
    equal = bool(data.get("equal"))
    for side, verdict in (("a", "ran"), ("b", "equal" if equal else "different")):
        origin = _side_origin(data, side, by_path)
        if origin is None:
            continue
        platform, image, image_id = origin
        layer = _layer(image, image_id, layer_of)
        if layer is not None and layer not in status.carriers:
            continue
        if side == "b":
            what = f"verify: {data['b']} {'equal to' if equal else 'DIFFERENT from'} {data['a']} ({compared})"
        else:
            what = f"made {data['a']}, the reference of a verify ({compared})"
        stale = _stale(line.at, status.last_change)
        facts.append(
            RunFact(_in_image(platform, layer), verdict, line.at, line.label, what, image, None, stale)
        )
    return facts


def _in_image(platform: str, layer: str | None) -> str:
    """``podman (release)``: a runtime's platform is also the image it ran (the legacy image is another
    OS); natively the host's OS is already named."""
    return f"{platform} ({layer})" if layer and not platform.startswith("native") else platform


def side_paths(data: dict[str, Any], side: str) -> list[str]:
    """The files one side of a recorded verify compared (absolute paths)."""
    root = str(data[side])
    if data.get("directory"):
        return [str(Path(root) / name) for name in data.get("files", [])]
    return [root]


def _side_origin(
    data: dict[str, Any], side: str, by_path: dict[str, dict[str, Any]]
) -> tuple[str, str | None, str | None] | None:
    """(platform, image, image id) of one side of a verify: its provenance file, else a pipeline's output."""
    provenance = (data.get("sides") or {}).get(side)
    if provenance:
        runtime = str(provenance.get("runtime"))
        image = provenance.get("image") or {}
        platform = f"native ({provenance.get('platform')})" if ran_on_host(runtime) else runtime
        return platform, image.get("reference"), image.get("id")
    for path in side_paths(data, side):
        row = by_path.get(path)
        if row is not None:
            return _pipeline_platform(row), row["image"], row["image_id"]
    return None


def _pipeline_platform(row: dict[str, Any]) -> str:
    if row["site"]:
        return f"site {row['site']}"
    return f"{row['scheduler'] or 'host'} x {row['runtime'] or 'script'}"


def _pipeline_fact(row: dict[str, Any], layer: str | None, last_change: datetime | None) -> RunFact:
    at = datetime.fromtimestamp(row["ended_at"] or row["created_at"], UTC)
    address = f"{row['pipeline']}/{row['address']}:{str(row['step']).rsplit('.', 1)[-1]}#{row['execution']}"
    return RunFact(
        _in_image(_pipeline_platform(row), layer),
        "ran",
        at,
        address,
        f"pipeline {address} wrote {row['path']} on {row['host'] or '?'}",
        row["image"],
        row["path"],
        _stale(at, last_change),
    )


def _bench_facts(status: PackageStatus, line: Evidence, layer_of: dict[str, str]) -> list[RunFact]:
    facts = []
    data = line.data
    for arm, values in (data.get("arms") or {}).items():
        image = values.get("image") or {}
        layer = _layer(image.get("reference"), image.get("id"), layer_of)
        if layer is not None and layer not in status.carriers:
            continue
        for workload, result in (values.get("workloads") or {}).items():
            if workload not in status.package.workloads:
                continue
            speed = (result.get("speed") or {}).get("workers") or {}
            equal = result.get("outputs_equal")
            verdict = "ran" if equal is None else ("equal" if equal else "different")
            shown = (
                f"{speed['relative_speed']:.3f} [{speed['interval'][0]:.3f}, {speed['interval'][1]:.3f}]"
                if speed.get("relative_speed") is not None and speed.get("interval")
                else "baseline"
            )
            runtime = str(values.get("runtime"))
            platform = f"native ({line.platform})" if ran_on_host(runtime) else _in_image(runtime, layer)
            what = (
                f"bench {data.get('study')}/{workload} arm {arm}: speed {shown} vs {data.get('baseline')}, "
                f"outputs {'equal' if equal else 'not compared' if equal is None else 'DIFFERENT'}"
            )
            facts.append(
                RunFact(
                    platform,
                    verdict,
                    line.at,
                    line.label,
                    what,
                    image.get("reference"),
                    data.get("report"),
                    _stale(line.at, status.last_change),
                )
            )
    return facts


def _stale(at: datetime, last_change: datetime | None) -> bool:
    return last_change is not None and at < last_change


def restale(fact: RunFact, last_change: datetime | None, what: str) -> RunFact:
    from dataclasses import replace

    return replace(fact, what=what, stale=fact.stale or _stale(fact.at, last_change))
