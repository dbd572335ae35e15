"""Make a lock from the images of a built stack: what each layer really installed, at which version.

The build is the resolver: apt and pip already chose every version (dependencies too) when the layer
was built, so the lock reads the result instead of simulating the choice. A layer's entry is what it
added or changed over its parent: for a bootstrap layer the whole package set mmdebstrap installed, for
an apt step the packages it brought in, for a pip step the distributions it installed, with every file
hash the package index lists for each.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from hepstack import proc
from hepstack.build.engines import Engine
from hepstack.build.keys import walk_files
from hepstack.build.plan import PlannedLayer
from hepstack.errors import HepstackError
from hepstack.provenance import git_revision, source_date_epoch
from hepstack.release.contents import ImageContents, normalised, read_contents
from hepstack.release.lockfile import Archive, LayerLock, Lock, PipPin
from hepstack.release.pypi import release_hashes
from hepstack.spec import Stack, local_pip_path

Hashes = Callable[[str, str], tuple[str, ...]]


def make_lock(
    stack: Stack,
    engine: Engine,
    plan: list[PlannedLayer],
    *,
    previous: Lock | None = None,
    hashes: Hashes = release_hashes,
) -> Lock:
    """A lock of ``plan``'s built images (every layer must be built: status cached or built)."""
    contents: dict[str, ImageContents] = {}
    lock = Lock(
        stack=stack.name,
        release=stack.spec.release,
        source_date_epoch=source_date_epoch(
            stack.directory, previous.source_date_epoch if previous else None
        ),
        revision=git_revision(stack.directory),
    )
    known_hashes: dict[tuple[str, str], tuple[str, ...]] = {}
    for layer in plan:
        contents[layer.name] = read_contents(engine, layer.reference(stack.name))
        parent = _parent_contents(engine, layer, contents)
        entry = LayerLock(files=input_hashes(stack, layer))
        entry.archive = _archive(stack, layer.name)
        mine = contents[layer.name]
        entry.apt = {
            name: package.version
            for name, package in sorted(mine.debian.items())
            if (old := parent.debian.get(name)) is None or old.version != package.version
        }
        entry.local_pip = [
            str(local_pip_path(r)) for r in stack.layer(layer.name).pip if _is_local_package(r)
        ]
        for key, distribution in sorted(mine.python.items()):
            old_dist = parent.python.get(key)
            if distribution.from_debian or (
                old_dist is not None and old_dist.version == distribution.version
            ):
                continue
            if distribution.local_url is not None:
                continue  # from the spec's tree: its files are in the layer key already
            pin = (distribution.name, distribution.version)
            if pin not in known_hashes:
                known_hashes[pin] = hashes(*pin)
            entry.pip.append(PipPin(normalised(distribution.name), distribution.version, known_hashes[pin]))
        if layer.parent_layer is None and layer.rootfs_ref is None:
            entry.parent_digest = parent_digest(engine, layer.parent_ref)
        lock.layers[layer.name] = entry
    return lock


def _parent_contents(
    engine: Engine, layer: PlannedLayer, contents: dict[str, ImageContents]
) -> ImageContents:
    if layer.parent_layer is not None:
        return contents[layer.parent_layer]
    if layer.rootfs_ref is not None:
        return ImageContents()  # a bootstrap layer: everything in it is its own
    return read_contents(engine, layer.parent_ref)


def _archive(stack: Stack, name: str) -> Archive | None:
    """The archive of the bootstrap layer at the root of ``name``'s chain (None on an external image)."""
    root = stack.layer(stack.chain(name)[0])
    if root.bootstrap is None:
        return None
    return Archive(root.bootstrap.mirror, root.bootstrap.suite, root.bootstrap.architecture)


def _is_local_package(requirement: str) -> bool:
    return local_pip_path(requirement) is not None and not requirement.startswith("-r ")


def input_hashes(stack: Stack, layer: PlannedLayer) -> dict[str, str]:
    """sha256 of every release file the layer copies in (``copy``, ``profile``; all COPY sources of a
    Containerfile layer), by path relative to the spec's directory. Requirement files are not release
    files: what they resolve to is in the lock's pip part."""
    spec_layer = stack.layer(layer.name)
    if layer.name in stack.containerfiles:
        tops = layer.inputs
    else:
        relative = [*spec_layer.copy_, *([spec_layer.profile] if spec_layer.profile else [])]
        tops = sorted({(stack.directory / path).resolve() for path in relative})
    base = stack.directory.resolve()
    found: dict[str, str] = {}
    for top in tops:
        for file in walk_files(top):
            relative_path = os.path.relpath(file, base)
            if file.is_symlink():
                found[relative_path] = "symlink:" + str(file.readlink())
            else:
                with file.open("rb") as handle:
                    found[relative_path] = hashlib.file_digest(handle, "sha256").hexdigest()
    return dict(sorted(found.items()))


def parent_digest(engine: Engine, reference: str) -> str:
    """``repository@sha256:...`` of an external parent the engine pulled."""
    result = proc.run(
        [engine.binary(), "image", "inspect", "--format", "{{json .RepoDigests}}", reference], check=False
    )
    digests = json.loads(result.stdout or "null") or [] if result.returncode == 0 else []
    repository = reference.split("@")[0].rsplit(":", 1)[0] if "/" in reference else reference
    for digest in digests:
        if digest.split("@")[0].endswith(repository.split("/", 1)[-1]):
            return str(digest)
    if digests:
        return str(digests[0])
    raise HepstackError(
        f"{engine.name} has no registry digest for {reference}",
        hint=f"pull it first (`{engine.name} pull {reference}`); a lock names external images by digest",
    )
