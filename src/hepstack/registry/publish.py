"""Publishing a stack's layers to a registry, recording them per release, and the release manifest.

Each layer goes to its own repository ``HOST/NAMESPACE/STACK/LAYER`` tagged ``<key12>`` and ``<release>``.
Layers are pushed parents first, so a child's lower blobs are already in the registry (skopeo mounts
them across repositories instead of uploading them again).

The release manifest is a small JSON file listing every image by digest; a site pulls the whole release
with ``hepstack pull --manifest FILE``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepstack.catalog import Catalog, PushRecord, now
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.names import NAME, TAG_PATTERN, is_image_reference
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
    locked: bool = False,
) -> list[PushedLayer]:
    """Push the built layers of ``spec`` (``layers`` and their ancestors, or all) and record the digests;
    ``locked``: the images ``build --locked`` made from the spec's stack.lock (their keys include it)."""
    from hepstack.build.builder import Builder
    from hepstack.build.engines import get_engine
    from hepstack.spec import load_stack

    stack = load_stack(spec)
    catalog = Catalog(context.catalog_path)
    inputs = None
    if locked:
        from hepstack.release.lockfile import lock_path, locked_inputs, read_lock

        inputs = locked_inputs(read_lock(lock_path(stack.path)), stack.name)
    plan = Builder(stack, get_engine(engine_name), context, catalog, locked=inputs).plan(layers or None)
    missing = [layer.name for layer in plan if layer.status != "cached"]
    if missing:
        from hepstack.release.lockfile import lock_path

        how = "build --locked" if locked else "build"
        hint = f"build first: hepstack {how} {spec} {' '.join(missing)}"
        if not locked and lock_path(stack.path).exists():
            hint += f"; images made by `build --locked` are pushed with `hepstack push --locked {spec}`"
        raise HepstackError(
            f"not built in {engine_name} (current keys{', locked' if locked else ''}): {', '.join(missing)}",
            hint=hint,
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
    check_manifest(manifest, str(path))
    return manifest


_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
_KEY = re.compile(r"^[0-9a-f]{12,64}\Z")
_TAG = re.compile(TAG_PATTERN.removesuffix("$") + r"\Z")


def _is_repository(text: str) -> bool:
    """``HOST/NAME/...`` without a tag or digest."""
    return is_image_reference(text) and ":" not in text.rsplit("/", 1)[-1] and "@" not in text


def _is_tag(value: object) -> bool:
    return isinstance(value, str) and _TAG.match(value) is not None


def check_manifest(manifest: dict[str, Any], source: str) -> None:
    """Every value a manifest carries reaches skopeo's argv and the catalog: each is checked first, and
    all images must come from one registry host (the one the credentials are for)."""

    def bad(where: str, value: object, rule: str) -> HepstackError:
        return HepstackError(
            f"{source}: {where}: {rule} (got {value!r:.80})",
            hint="the manifest is not as `hepstack push --manifest` writes it; ask the release manager",
        )

    stack, release, images = manifest.get("stack"), manifest.get("release"), manifest.get("images")
    if not isinstance(stack, str) or not NAME.match(stack):
        raise bad("stack", stack, "not a stack name")
    if not isinstance(release, str) or not _TAG.match(release):
        raise bad("release", release, "not a release tag")
    if not isinstance(images, list) or not images:
        raise bad("images", images, "no images listed")
    hosts = set()
    for number, image in enumerate(images):
        where = f"images[{number}]"
        if not isinstance(image, dict):
            raise bad(where, image, "not a mapping")
        repository, digest, tags = image.get("repository"), image.get("digest"), image.get("tags")
        if (
            not isinstance(repository, str)
            or not is_image_reference(repository)
            or ":" in repository.split("/")[-1]
        ):
            raise bad(f"{where}.repository", repository, "not a repository name")
        host = registry_host(repository)
        if host is None:
            raise bad(f"{where}.repository", repository, "names no registry host")
        hosts.add(host)
        if not isinstance(image.get("layer"), str) or not NAME.match(image["layer"]):
            raise bad(f"{where}.layer", image.get("layer"), "not a layer name")
        if not isinstance(image.get("key"), str) or not _KEY.match(image["key"]):
            raise bad(f"{where}.key", image.get("key"), "not a layer key")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise bad(f"{where}.digest", digest, "not a sha256 digest")
        if image.get("pull") != f"{repository}@{digest}":
            raise bad(f"{where}.pull", image.get("pull"), "is not repository@digest")
        if (
            not isinstance(tags, list)
            or not tags
            or not all(isinstance(t, str) and _TAG.match(t) for t in tags)
        ):
            raise bad(f"{where}.tags", tags, "not a list of tags")
    if len(hosts) > 1:
        raise bad("images", sorted(hosts), "images from more than one registry host")


@dataclass(frozen=True)
class PulledImage:
    reference: str
    digest: str
    layer: str | None = None  # STACK/LAYER when the catalog now knows the image by that name


def registry_host(reference: str) -> str | None:
    """The registry host of ``reference`` (``HOST[:PORT]`` or ``localhost``), or None for a bare name.

    The rule of distribution/reference (normalize.go): the first component is a host only if it holds
    a ``.`` or a ``:``, or is ``localhost``. hepstack never falls back to docker.io: a bare name
    (``lat/digi``) is refused, not sent to a registry nobody chose.
    """
    first, slash, _rest = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def pull_reference(
    reference: str,
    transfer: Transfer,
    *,
    engine_name: str = "podman",
    expect_digest: str | None = None,
    catalog: Catalog | None = None,
) -> PulledImage:
    """Copy ``reference`` (``HOST/REPO:TAG`` or ``HOST/REPO@DIGEST``) into the local engine store; an
    image labelled as a hepstack layer is recorded in ``catalog`` (origin ``pulled``)."""
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
    layer = None
    if catalog is not None:
        from hepstack.registry.arrivals import inspect_local, record_arrival

        repository = local.rsplit(":", 1)[0] if ":" in local.rsplit("/", 1)[-1] else local
        record = record_arrival(
            catalog,
            inspect_local(engine_name, local),
            engine_name=engine_name,
            origin="pulled",
            repository=repository,
            digest=digest,
        )
        layer = f"{record.stack}/{record.layer}" if record else None
    return PulledImage(local, digest, layer)


def pull_manifest(
    manifest: dict[str, Any],
    transfer: Transfer,
    *,
    engine_name: str = "podman",
    catalog: Catalog | None = None,
) -> list[PulledImage]:
    """Pull every image of a release manifest by digest; tag it ``:<release>`` and ``:<key12>`` locally,
    and record each in ``catalog`` as a pulled build of its layer (so ``STACK/LAYER`` names it)."""
    from hepstack.registry.arrivals import inspect_local, record_arrival

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
        reference = f"{image['repository']}:{manifest['release']}"
        if catalog is not None:
            record_arrival(
                catalog,
                inspect_local(engine_name, reference),
                engine_name=engine_name,
                origin="pulled",
                repository=image["repository"],
                digest=image["digest"],
                expected=(manifest["stack"], image["layer"], image["key"]),
            )
        pulled.append(PulledImage(reference, image["digest"], f"{manifest['stack']}/{image['layer']}"))
    return pulled
