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

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepstack.catalog import Catalog, ImageRecord
from hepstack.context import Context
from hepstack.inventory.evidence import Evidence, read_evidence
from hepstack.inventory.model import InventoryFile, Package
from hepstack.inventory.runs import restale, run_facts
from hepstack.inventory.status import ImageFact, Inventory, PackageStatus, RunFact

__all__ = ["ImageFact", "Inventory", "PackageStatus", "RunFact", "build_inventory", "existing_state"]

if TYPE_CHECKING:
    from hepstack.pipeline.db import StateDB


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
        status.runs = run_facts(status, evidence, outputs, records, cited)
        packages.append(status)
    for status in packages:  # a data package runs wherever the packages that use it ran
        for other in status.package.runs_with:
            user = next(p for p in packages if p.name == other)
            status.runs += [
                restale(fact, status.last_change, f"{fact.what} (run by {other})") for fact in user.runs
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
