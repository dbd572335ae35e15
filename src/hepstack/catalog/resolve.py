"""``STACK/LAYER`` or an engine reference -> the image to run: the catalog's newest build or pull of a layer.

Here, not in the run command, because ``run``, ``submit``, ``bench``, pipelines, the inventory and the VM
builder all resolve images the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.names import STACK_LAYER


@dataclass(frozen=True)
class ResolvedImage:
    reference: str
    engine: str
    image_id: str | None = None
    stack: str | None = None
    layer: str | None = None
    spec_path: str | None = None
    key: str | None = None  # the layer key, for catalog images


def resolve_image(text: str, context: Context, engine: str | None = None) -> ResolvedImage:
    """``STACK/LAYER`` -> the newest catalog build of that layer; anything else is an engine reference."""
    match = STACK_LAYER.match(text)
    if match:
        from hepstack.catalog import Catalog

        record = Catalog(context.catalog_path).newest(match[1], match[2], engine=engine)
        if record is not None:
            return ResolvedImage(
                record.reference,
                record.engine,
                record.image_id,
                record.stack,
                record.layer,
                record.spec_path or None,  # pulled and loaded images have no spec on this host
                record.key,
            )
        if match[1] != "localhost" and "." not in match[1]:
            raise HepstackError(
                f"no build of {text} in the catalog ({context.catalog_path})",
                hint=f"build it first: hepstack build STACK.yaml {match[2]}, or pull a release: "
                "hepstack pull --manifest RELEASE.json; or give an engine reference such as "
                "localhost/lat/release:latest",
            )
    return ResolvedImage(text, engine or "podman")
