"""Images that arrive from elsewhere (pulled from a registry, loaded from an archive) join the catalog.

hepstack builds label every layer image with ``io.hepstack.stack``, ``.layer``, ``.key`` and ``.release``
(hepstack.build.builder). An arriving image whose labels say which layer it is gets a catalog entry with
origin ``pulled`` or ``loaded``, so ``STACK/LAYER`` resolves for ``run``, ``submit`` and pipelines on a
host (or for a user) that never built it. The labels are read from the local engine after the copy, and,
for a release manifest, checked against what the manifest says: a manifest naming one layer and an image
labelled as another is refused rather than recorded under the wrong name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from hepstack import proc
from hepstack.build.engines import get_engine
from hepstack.catalog import Catalog, ImageRecord, now
from hepstack.errors import HepstackError, ProcessError
from hepstack.names import NAME, TAG_PATTERN

_KEY = re.compile(r"^[0-9a-f]{12,64}\Z")
_RELEASE = re.compile(TAG_PATTERN.removesuffix("$") + r"\Z")
_LABELS = ("io.hepstack.stack", "io.hepstack.layer", "io.hepstack.key", "io.hepstack.release")


@dataclass(frozen=True)
class LocalImage:
    """What the local engine says about an image it holds."""

    reference: str
    image_id: str
    size: int
    labels: dict[str, str]

    def layer_identity(self) -> tuple[str, str, str, str] | None:
        """(stack, layer, key, release) from hepstack's labels, or None when the image is not a layer's."""
        stack, layer, key, release = (str(self.labels.get(name, "")) for name in _LABELS)
        # Labels anyone could set: only well-formed names become catalog names.
        if not (NAME.match(stack) and NAME.match(layer) and _KEY.match(key) and _RELEASE.match(release)):
            return None
        return stack, layer, key, release


def inspect_local(engine_name: str, reference: str) -> LocalImage:
    """Id, size and labels of ``reference`` in the engine's store (one ``image inspect``)."""
    engine = get_engine(engine_name)
    argv = [
        engine.binary(),
        "image",
        "inspect",
        "--format",
        "{{.Id}}\t{{.Size}}\t{{json .Config.Labels}}",
        reference,
    ]
    try:
        output = proc.run(argv).stdout.strip()
    except ProcessError as exc:
        raise HepstackError(
            f"{engine_name} does not hold {reference} after the copy (exit {exc.returncode})",
            hint=f"check the store with: {engine_name} images",
        ) from None
    image_id, _, rest = output.partition("\t")
    size, _, labels_json = rest.partition("\t")
    try:
        labels = json.loads(labels_json) or {}
    except ValueError:
        labels = {}
    image_id = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
    return LocalImage(reference, image_id, int(size) if size.isdigit() else 0, dict(labels))


def record_arrival(
    catalog: Catalog,
    image: LocalImage,
    *,
    engine_name: str,
    origin: str,
    repository: str = "",
    digest: str = "",
    expected: tuple[str, str, str] | None = None,
) -> ImageRecord | None:
    """Record ``image`` as a build of the layer its labels name; None when it carries no layer labels.

    ``expected`` is (stack, layer, key) from a release manifest: the labels must agree with it.
    """
    identity = image.layer_identity()
    if identity is None:
        if expected is not None:
            raise HepstackError(
                f"{image.reference} carries no hepstack layer labels, the manifest says "
                f"{expected[0]}/{expected[1]}",
                hint="the manifest and the registry disagree; ask the release manager to push again",
            )
        return None
    stack, layer, key, release = identity
    if expected is not None and (stack, layer, key) != expected:
        raise HepstackError(
            f"{image.reference} is labelled {stack}/{layer} key {key[:12]}, the manifest says "
            f"{expected[0]}/{expected[1]} key {expected[2][:12]}",
            hint="the manifest and the registry disagree; ask the release manager to push again",
        )
    record = ImageRecord(
        stack=stack,
        layer=layer,
        release=release,
        key=key,
        reference=image.reference,
        image_id=image.image_id,
        size=image.size,
        engine=engine_name,
        built_at=now(),  # when it arrived: the newest arrival of a layer is what STACK/LAYER names
        seconds=0.0,
        spec_path="",
        origin=origin,
        repository=repository,
        digest=digest,
    )
    catalog.record(record)
    return record


__all__ = ["LocalImage", "inspect_local", "record_arrival"]
