"""The inventory's facts, filled from evidence: per package, where it is built, which images carry it,
where it has run and been proven equal, and which of those facts are stale.

Sources, each cited by the fact it gives (``evidence``):

- the stack spec and the catalog: the layers that copy a package's files (and their descendants) carry
  it; build platform = the base suite of the copying layers; images = each carrying layer's newest build
  (reference, id, size, when) with its registry locations (pushes);
- the evidence record (:mod:`hepstack.inventory.evidence`): ``verify`` lines whose files match a package's
  ``outputs`` give "equal"/"different" for side B's platform and "ran" for side A's (platform from the
  sides' provenance, or from the pipeline state for outputs a pipeline recorded); ``bench`` lines give,
  per arm of a workload the package lists, its runtime, speed and whether its outputs matched;
- the pipeline state: every recorded output of a package's ``steps`` or ``outputs``: "ran" at its site
  (or scheduler x runtime).

Staleness: a package last changed when the content key its copying layers have *now* (the build plan)
was first built (the catalog's earliest build of that key; the earliest over its layers); a fact from
before that time is stale. A key never built means the sources changed after the newest build: every
fact is stale until it is rebuilt.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepstack.catalog import Catalog, ImageRecord
from hepstack.context import Context
from hepstack.inventory.evidence import Evidence, read_evidence
from hepstack.inventory.model import InventoryFile, Package
from hepstack.names import STACK_LAYER

if TYPE_CHECKING:
    from hepstack.pipeline.db import StateDB


@dataclass(frozen=True)
class ImageFact:
    """One image that carries a package: its layer's newest build and where it was pushed."""

    layer: str
    current_key: str
    record: ImageRecord | None
    registry: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.record is not None and self.record.key == self.current_key


@dataclass(frozen=True)
class RunFact:
    """Where a package ran, what it proved, when, and the evidence that says so."""

    platform: str
    verdict: str  # equal | different | ran
    at: datetime
    evidence: str  # e12, or a pipeline instance address
    what: str
    image: str | None = None
    link: str | None = None  # the report or output file behind it
    stale: bool = False


@dataclass
class PackageStatus:
    name: str
    package: Package
    layers: list[str]  # the layers that copy its files
    carriers: list[str]  # those layers and their descendants
    build_platform: str
    images: list[ImageFact]
    last_change: datetime | None
    unbuilt_layers: list[str]
    runs: list[RunFact] = field(default_factory=list)  # newest first

    @property
    def platforms(self) -> dict[str, RunFact]:
        """The newest fact of each platform."""
        newest: dict[str, RunFact] = {}
        for fact in self.runs:
            newest.setdefault(fact.platform, fact)
        return dict(sorted(newest.items()))

    @property
    def container(self) -> list[ImageFact]:
        return [image for image in self.images if image.record is not None]

    @property
    def checked_at(self) -> datetime | None:
        return self.runs[0].at if self.runs else None


@dataclass
class Inventory:
    stack: str
    release: str
    path: Path
    generated_at: datetime
    packages: list[PackageStatus]
    evidence: dict[str, Evidence]  # label -> line, those the facts cite


def build_inventory(inventory: InventoryFile, context: Context) -> Inventory:
    """Every package's status from the spec, the catalog, the evidence record and the pipeline state."""
    from hepstack.build.plan import make_plan
    from hepstack.spec import load_stack

    stack = load_stack(inventory.stack_path)
    keys = {layer.name: layer.key for layer in make_plan(stack)}
    catalog = Catalog(context.catalog_path)
    records = catalog.list(stack=stack.name)
    pushes: dict[tuple[str, str], list[str]] = {}
    for push in catalog.pushes(stack=stack.name):
        pushes.setdefault((push.layer, push.key), []).append(push.pull_reference)
    evidence = read_evidence(context)
    outputs = pipeline_outputs(context)
    cited: dict[str, Evidence] = {}
    packages = []
    for name, package in inventory.spec.packages.items():
        layers = package.layers or copying_layers(stack, package)
        carriers = [n for n in stack.order() if any(layer in stack.chain(n) for layer in layers)]
        images = [
            ImageFact(
                layer,
                keys[layer],
                next((r for r in records if r.layer == layer), None),
                tuple(sorted(pushes.get((layer, keys[layer]), []))),
            )
            for layer in carriers
        ]
        last_change, unbuilt = _last_change(layers, keys, records)
        status = PackageStatus(
            name, package, layers, carriers, build_platform(stack, layers), images, last_change, unbuilt
        )
        status.runs = _runs(status, evidence, outputs, records, cited)
        packages.append(status)
    for status in packages:  # a data package runs wherever the packages that use it ran
        for other in status.package.runs_with:
            user = next(p for p in packages if p.name == other)
            status.runs += [
                _restale(fact, status.last_change, f"{fact.what} (run by {other})") for fact in user.runs
            ]
        status.runs.sort(key=lambda fact: fact.at, reverse=True)
    return Inventory(
        stack.name,
        stack.spec.release,
        inventory.path,
        datetime.now(UTC),
        packages,
        dict(sorted(cited.items())),
    )


def copying_layers(stack: Any, package: Package) -> list[str]:
    """Layers whose build copies every one of the package's files (each is a copy source or inside one):
    the layers that bring the package into an image."""
    from hepstack.build.plan import layer_inputs

    wanted = [(stack.directory / file).resolve() for file in package.files]
    found = []
    for name in stack.order():
        inputs = layer_inputs(stack, name)
        if wanted and all(any(file.is_relative_to(source) for source in inputs) for file in wanted):
            found.append(name)
    return found


def build_platform(stack: Any, layers: list[str]) -> str:
    """The base each copying layer stands on: ``Debian bookworm`` (mmdebstrap) or the external image."""
    platforms = []
    for layer in layers:
        root = stack.chain(layer)[0]
        bootstrap = stack.layer(root).bootstrap
        if bootstrap is not None:
            platforms.append(f"Debian {bootstrap.suite} ({root})")
        else:
            platforms.append(stack.external_base(root) or f"{root} (Containerfile)")
    return ", ".join(dict.fromkeys(platforms)) or "-"


def _last_change(
    layers: list[str], keys: dict[str, str], records: list[ImageRecord]
) -> tuple[datetime | None, list[str]]:
    first_built = {}
    unbuilt = []
    for layer in layers:
        times = [r.built_at for r in records if r.layer == layer and r.key == keys[layer]]
        if times:
            first_built[layer] = min(times)
        else:
            unbuilt.append(layer)
    if first_built:
        return min(first_built.values()), unbuilt
    return (datetime.now(UTC) if unbuilt else None), unbuilt


def existing_state(url: str) -> StateDB | None:
    """The pipeline state database at ``url``, or None while a SQLite one does not exist (readers never
    create it)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    from hepstack.pipeline.db import StateDB

    return StateDB(url)


def pipeline_outputs(context: Context) -> list[dict[str, Any]]:
    """The pipeline state's recorded outputs, or none when there is no state database yet."""
    from hepstack.batch.store import state_url
    from hepstack.pipeline.report import outputs_with_producers

    database = existing_state(state_url(context))
    if database is None:
        return []
    try:
        with database.read() as connection:
            return outputs_with_producers(connection)
    finally:
        database.close()


def _runs(
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
        platform = f"native ({provenance.get('platform')})" if runtime == "native" else runtime
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
            platform = f"native ({line.platform})" if runtime == "native" else _in_image(runtime, layer)
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


def _restale(fact: RunFact, last_change: datetime | None, what: str) -> RunFact:
    from dataclasses import replace

    return replace(fact, what=what, stale=fact.stale or _stale(fact.at, last_change))
