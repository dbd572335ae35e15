"""Publishing a stack's layers to a registry, recording them per release, and the release manifest.

Each layer goes to its own repository ``HOST/NAMESPACE/STACK/LAYER`` tagged ``<key12>`` and ``<release>``.
Layers are pushed parents first, so a child's lower blobs are already in the registry (skopeo mounts
them across repositories instead of uploading them again).

The release manifest is a small JSON file listing every image by digest; a site pulls the whole release
with ``hepstack pull --manifest FILE``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepstack.catalog import Catalog, PushRecord, now
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.private import write_atomically
from hepstack.registry.transfer import CopyResult, Registry, Transfer, storage_transport

MANIFEST_FORMAT = "hepstack-release/1"


@dataclass(frozen=True)
class PushedLayer:
    record: PushRecord
    uploaded: int  # blobs actually sent
    skipped: int  # blobs the registry already had


def push_stack(
    spec: Path,
    layers: list[str] | None,
    registry: Registry,
    context: Context,
    *,
    engine_name: str = "podman",
) -> list[PushedLayer]:
    """Push the built layers of ``spec`` (``layers`` and their ancestors, or all) and record the digests."""
    from hepstack.build.builder import Builder
    from hepstack.build.engines import get_engine
    from hepstack.spec import load_stack

    stack = load_stack(spec)
    catalog = Catalog(context.catalog_path)
    plan = Builder(stack, get_engine(engine_name), context, catalog).plan(layers or None)
    missing = [layer.name for layer in plan if layer.status != "cached"]
    if missing:
        raise HepstackError(
            f"not built in {engine_name} (current keys): {', '.join(missing)}",
            hint=f"build first: hepstack build {spec} {' '.join(missing)}",
        )
    release = stack.spec.release
    transfer = Transfer(registry)
    pushed = []
    for layer in plan:
        repository = registry.repository(stack.name, layer.name)
        local = layer.reference(stack.name)
        first = transfer.copy(
            storage_transport(engine_name, local), f"docker://{repository}:{layer.short_key}", push=True
        )
        # The release tag points at the same manifest: a registry-side copy, no blob leaves this host.
        second = transfer.copy_within(f"{repository}:{layer.short_key}", f"{repository}:{release}")
        if second.digest and first.digest and second.digest != first.digest:
            raise HepstackError(
                f"{repository}:{release} got digest {second.digest}, not {first.digest}",
                hint="another push to the same tag raced this one; re-run the push",
            )
        record = PushRecord(
            stack=stack.name,
            layer=layer.name,
            release=release,
            key=layer.key,
            image_id=layer.image_id,
            size=layer.size or 0,
            repository=repository,
            tags=(layer.short_key, release),
            digest=first.digest,
            pushed_at=now(),
        )
        catalog.record_push(record)
        pushed.append(PushedLayer(record, first.blobs_copied, first.blobs_skipped))
    return pushed


def release_manifest(catalog: Catalog, stack: str, release: str) -> dict[str, Any]:
    """Every image of ``release`` in a registry, newest push per layer, as a JSON-ready mapping."""
    newest: dict[str, PushRecord] = {}
    for push in catalog.pushes(stack=stack, release=release):
        newest.setdefault(push.layer, push)
    if not newest:
        raise HepstackError(
            f"no pushed images of {stack} release {release} in the catalog",
            hint="push them first: hepstack push SPEC --registry HOST/NAMESPACE",
        )
    images = [
        {
            "layer": push.layer,
            "key": push.key,
            "image_id": push.image_id,
            "size": push.size,
            "repository": push.repository,
            "tags": list(push.tags),
            "digest": push.digest,
            "pull": push.pull_reference,
        }
        for push in sorted(newest.values(), key=lambda push: push.pushed_at)
    ]
    return {"format": MANIFEST_FORMAT, "stack": stack, "release": release, "images": images}


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Atomically (temp file + rename), like every hepstack output; readable as the umask allows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(str(path), (json.dumps(manifest, indent=2) + "\n").encode(), 0o666)


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HepstackError(f"cannot read the release manifest {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise HepstackError(
            f"{path} is not a hepstack release manifest (format {MANIFEST_FORMAT})",
            hint="write one with: hepstack images --stack S --release R --manifest FILE",
        )
    return manifest


@dataclass(frozen=True)
class PulledImage:
    reference: str
    digest: str


def pull_reference(
    reference: str, transfer: Transfer, *, engine_name: str = "podman", expect_digest: str | None = None
) -> PulledImage:
    """Copy ``reference`` (``HOST/REPO:TAG`` or ``HOST/REPO@DIGEST``) into the local engine store."""
    local = reference.split("@", 1)[0]
    result: CopyResult = transfer.copy(
        f"docker://{reference}", storage_transport(engine_name, local), push=False
    )
    digest = result.digest or transfer.inspect_digest(reference)
    if expect_digest and digest != expect_digest:
        raise HepstackError(
            f"pulled {reference} has digest {digest}, the manifest says {expect_digest}",
            hint="the registry content changed under this release; ask the release manager",
        )
    return PulledImage(local, digest)


def pull_manifest(
    manifest: dict[str, Any], transfer: Transfer, *, engine_name: str = "podman"
) -> list[PulledImage]:
    """Pull every image of a release manifest by digest; tag it ``:<release>`` and ``:<key12>`` locally."""
    pulled = []
    for image in manifest["images"]:
        for tag in image["tags"]:
            target = f"{image['repository']}:{tag}"
            result = transfer.copy(
                f"docker://{image['pull']}", storage_transport(engine_name, target), push=False
            )
            if result.digest and result.digest != image["digest"]:
                raise HepstackError(
                    f"pulled {image['pull']} but got digest {result.digest}",
                    hint="the registry content changed under this release; ask the release manager",
                )
        pulled.append(PulledImage(f"{image['repository']}:{manifest['release']}", image["digest"]))
    return pulled
