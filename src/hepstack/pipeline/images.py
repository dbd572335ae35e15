"""A stream's images, resolved once when it is created and pinned for its life.

``STACK/LAYER`` is the newest build in the catalog; where this user's catalog has none (a release pulled or
loaded into this user's store), the engine's ``localhost/STACK/LAYER:latest`` and its ``io.hepstack.*``
labels. Anything else is an engine reference, pinned by its image id. A later build of the same layer never
changes what a running stream uses: every job of the stream runs the pinned reference and id.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from hepstack.pipeline.definition import Pipeline


@dataclass(frozen=True)
class PinnedImage:
    name: str  # as the pipeline file writes it: lat/digi
    reference: str  # localhost/lat/digi:94b7ca8523bb
    image_id: str | None  # sha256:...
    engine: str  # the store that holds it (podman | docker)
    key: str | None = None  # the layer's content key, when hepstack built it


def engine_for(pipeline: Pipeline, image: str) -> str:
    """Where a stream's image is looked up: ``native`` when every step using it runs natively (the image
    is then only a label), an engine's store when every step in an image runs with that engine's own
    runtime (docker), else podman's (which Charliecloud, Apptainer and Shifter steps convert or push from)."""
    from hepstack.sites import get_site

    runtimes = set()
    defaults = pipeline.spec.defaults
    for step in pipeline.steps.values():
        if step.spec.image != image:
            continue
        runtime = step.spec.runtime or defaults.runtime
        site = step.spec.site or defaults.site
        if runtime is None and site is not None and "${" not in site:
            runtime = get_site(site).profile.runtime
        runtimes.add(runtime)
    from hepstack.runtimes import RUNTIMES, get_runtime

    stores = set()
    for name in runtimes:  # None, or one chosen at run time (${...}): podman's store, run's default
        chosen = get_runtime(name if name in RUNTIMES else "podman")
        stores.add(chosen.engine_name or "podman" if chosen.in_image else "native")
    if stores == {"native"}:
        return "native"
    in_image = stores - {"native"}
    return in_image.pop() if len(in_image) == 1 else "podman"


def pin(name: str, context: Context, engine: str = "podman") -> PinnedImage:
    """Resolve ``name`` now, or :class:`HepstackError` saying how to make it resolvable."""
    from hepstack.catalog.resolve import resolve_image
    from hepstack.names import STACK_LAYER

    try:
        resolved = resolve_image(name, context)
    except HepstackError:  # STACK/LAYER this user never built: look in the engine's store below
        resolved = None
    if resolved is not None and resolved.image_id is not None:
        from hepstack.catalog import Catalog

        record = Catalog(context.catalog_path).newest(resolved.stack or "", resolved.layer or "")
        key = record.key if record else None
        return PinnedImage(name, resolved.reference, resolved.image_id, resolved.engine, key)
    if engine == "native":
        return PinnedImage(name, name, None, "native")  # natively there is no image: a label
    reference = f"localhost/{name}:latest" if STACK_LAYER.match(name) else name
    image_id, key = _inspect(reference, engine)
    if image_id is None:
        raise HepstackError(
            f"unknown image {name}: not in the catalog ({context.catalog_path}) "
            f"and not in the {engine} store",
            hint=f"build it (hepstack build STACK.yaml {name.split('/')[-1]}), pull the release "
            "(hepstack pull --manifest ...), or load it into this user's store",
        )
    return PinnedImage(name, reference, image_id, engine, key)


def _inspect(reference: str, engine_name: str) -> tuple[str | None, str | None]:
    from hepstack.build.engines import get_engine

    engine = get_engine(engine_name)
    try:
        result = proc.run(engine.inspect_argv(reference), check=False, timeout=60)
    except HepstackError:
        return None, None
    if result.returncode != 0:
        return None, None
    try:
        inspected = json.loads(result.stdout)[0]
    except (ValueError, IndexError, KeyError, TypeError):
        return None, None
    image_id = str(inspected.get("Id", ""))
    labels = (inspected.get("Config") or {}).get("Labels") or inspected.get("Labels") or {}
    if not image_id:
        return None, None
    return (image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"), labels.get(
        "io.hepstack.key"
    )


def pins_to_json(pins: dict[str, PinnedImage]) -> str:
    return json.dumps({name: asdict(pinned) for name, pinned in pins.items()}, sort_keys=True)


def pins_from_json(text: str | None) -> dict[str, PinnedImage]:
    return {name: PinnedImage(**values) for name, values in json.loads(text or "{}").items()}
