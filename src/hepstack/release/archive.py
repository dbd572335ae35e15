"""Whether the Debian archive still serves every apt version a lock pins, asked before any build.

A suite's index (``dists/SUITE/main/binary-ARCH/Packages.xz``, Debian policy 5 and the archive layout
https://wiki.debian.org/DebianRepository/Format) lists every version the mirror serves. A point release
replaces versions in place, so a lock older than the last point release names versions the mirror no longer
has: building it would fail half-way through (or, worse, silently install another version). The released
image, pulled by digest, is then the way to get that release back.
"""

from __future__ import annotations

import lzma
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hepstack.errors import HepstackError
from hepstack.release.lockfile import Archive, Lock

if TYPE_CHECKING:
    from hepstack.build.plan import PlannedLayer
    from hepstack.catalog import Catalog
    from hepstack.spec import Stack

Index = dict[str, set[str]]  # package name (no :arch) -> versions served


class LockedVersionGone(HepstackError):
    """A locked version that the archive no longer serves (exit 2 like every HepstackError)."""


def fetch_index(archive: Archive) -> Index:
    url = f"{archive.mirror.rstrip('/')}/dists/{archive.suite}/main/binary-{archive.architecture}/Packages.xz"
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            text = lzma.decompress(response.read()).decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, lzma.LZMAError) as exc:
        raise HepstackError(
            f"cannot read the archive index {url}: {exc}",
            hint="a locked build checks every pinned version first; is the mirror reachable?",
        ) from None
    return parse_index(text)


def parse_index(text: str) -> Index:
    """Package -> versions from a Packages file (deb822 stanzas; only Package and Version are read)."""
    index: Index = {}
    name = None
    for line in text.splitlines():
        if line.startswith("Package: "):
            name = line[9:].strip()
        elif line.startswith("Version: ") and name is not None:
            index.setdefault(name, set()).add(line[9:].strip())
        elif not line.strip():
            name = None
    return index


def check_served(
    lock: Lock,
    layers: Iterable[str],
    *,
    fetch: Callable[[Archive], Index] = fetch_index,
    released: Callable[[str], str | None] = lambda layer: None,
) -> None:
    """Raise :class:`LockedVersionGone` naming every pinned package of ``layers`` the archive lacks.

    ``released(layer)`` gives the registry reference by digest of that layer's pushed image, if any.
    """
    indexes: dict[Archive, Index] = {}
    missing: list[tuple[str, str, str, Archive]] = []
    for layer in layers:
        entry = lock.layers[layer]
        if entry.archive is None or not entry.apt:
            continue
        if entry.archive not in indexes:
            indexes[entry.archive] = fetch(entry.archive)
        index = indexes[entry.archive]
        for name, version in entry.apt.items():
            if version not in index.get(name.split(":")[0], set()):
                missing.append((layer, name, version, entry.archive))
    if not missing:
        return
    layer, name, version, archive = missing[0]
    more = f" (and {len(missing) - 1} more: " + ", ".join(
        f"{n}={v} in {lay}" for lay, n, v, _ in missing[1:4]
    )
    more = more + (", ..." if len(missing) > 4 else "") + ")" if len(missing) > 1 else ""
    pulled = released(layer)
    how = (
        f"`podman pull {pulled}`"
        if pulled
        else "pull its pushed image by digest (`hepstack images` lists them)"
    )
    raise LockedVersionGone(
        f"layer '{layer}': locked apt package {name} version {version} is no longer served by "
        f"{archive.mirror} {archive.suite}/main {archive.architecture}{more}; nothing was built",
        hint=f"the archive has moved on: to run release {lock.release} as it was, {how}; "
        f"to make a new release on today's archive, re-lock with `hepstack lock`",
    )


def served_check(
    lock: Lock, catalog: Catalog, stack: Stack | None = None
) -> Callable[[list[PlannedLayer]], None]:
    """The check a locked build runs on its plan before building, on the layers it will build: the
    release files they copy are those the lock recorded (with ``stack``), and the archive still serves
    every pinned apt version."""

    def check(layers: list[PlannedLayer]) -> None:
        to_build = [layer for layer in layers if layer.status == "build"]
        pushes = catalog.pushes(stack=lock.stack, release=lock.release)
        pushed = {push.layer: push.pull_reference for push in reversed(pushes)}  # newest wins
        check_served(lock, [layer.name for layer in to_build], released=pushed.get)
        if stack is not None:
            check_files(lock, stack, to_build)

    return check


def check_files(lock: Lock, stack: Stack, layers: list[PlannedLayer]) -> None:
    """A locked build copies the release's files from the tree: they must be the files the lock names,
    else the image would claim a lock (its io.hepstack.lock label, its SBOM) it was not built from."""
    from hepstack.release.resolve import input_hashes

    for layer in layers:
        locked = lock.layers[layer.name].files
        now = input_hashes(stack, layer)
        changed = sorted(path for path in locked.keys() | now.keys() if locked.get(path) != now.get(path))
        if not changed:
            continue
        path = changed[0]
        was, is_now = locked.get(path, "absent"), now.get(path, "absent")
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise HepstackError(
            f"layer '{layer.name}': release file {path}{more} is not the one stack.lock recorded "
            f"(locked {was[:12]}, now {is_now[:12]}); nothing was built",
            hint=f"build the locked revision ({lock.revision or 'see the lock'}) as it was committed, or "
            f"commit the change and re-lock with `hepstack lock {stack.path}`",
        )
