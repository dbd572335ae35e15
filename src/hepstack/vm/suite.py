"""Which Debian suite an unpacked image is: read from its own ``/etc/os-release``.

The tree is the image's, not the host's: a symlink in it (Debian's ``/etc/os-release`` is one, to
``../usr/lib/os-release``) is resolved inside the tree, never on the host.
"""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

from hepstack.errors import HepstackError
from hepstack.names import DEBIAN_SUITE

_MAX_LINKS = 40  # as the kernel's own limit on symlinks followed in one lookup
_MAX_OS_RELEASE = 64 * 1024


class NoKernelForImage(HepstackError):
    """The image is not one hepstack can give a Debian kernel to."""


def tree_path(tree: Path, inside: str) -> Path | None:
    """The host path of ``inside`` (an absolute path in the image), symlinks resolved within ``tree``;
    None if it does not exist. A symlink that climbs above the image's root stops at it, as in a chroot."""
    parts = [part for part in inside.split("/") if part]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = tree.joinpath(*resolved, part)
        try:
            status = candidate.lstat()
        except OSError:
            return None
        if stat.S_ISLNK(status.st_mode):
            links += 1
            if links > _MAX_LINKS:
                return None
            target = str(candidate.readlink())
            if target.startswith("/"):
                resolved = []
            parts = [piece for piece in target.split("/") if piece] + parts
            continue
        resolved.append(part)
    return tree.joinpath(*resolved)


def os_release(tree: Path) -> dict[str, str]:
    """The image's ``/etc/os-release`` (or ``/usr/lib/os-release``) as a dict; empty if it has none."""
    for name in ("/etc/os-release", "/usr/lib/os-release"):
        path = tree_path(tree, name)
        if path is not None and path.is_file():
            text = path.read_bytes()[:_MAX_OS_RELEASE].decode("utf-8", "replace")
            return _parse_os_release(text)
    return {}


def _parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values optionally shell-quoted."""
    values = {}
    for line in text.splitlines():
        key, equals, value = line.strip().partition("=")
        if not equals or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            continue
        values[key] = words[0] if words else ""
    return values


def debian_suite(tree: Path, label: str) -> str:
    """The Debian suite (codename) of the image unpacked at ``tree``; :class:`NoKernelForImage` if the
    image is not Debian or does not say which release it is."""
    release = os_release(tree)
    name = release.get("PRETTY_NAME") or release.get("NAME") or "an image without /etc/os-release"
    if release.get("ID") != "debian":
        raise NoKernelForImage(
            f"{label} is {name}, not Debian: hepstack gives a VM the Debian kernel of the image's suite",
            hint="make the VM of a layer on a Debian base (bootstrap: {suite: bookworm}, or FROM debian:...)",
        )
    suite = release.get("VERSION_CODENAME", "")
    if not DEBIAN_SUITE.match(suite):
        raise NoKernelForImage(
            f"{label} is {name} but its /etc/os-release names no release (VERSION_CODENAME={suite!r})",
            hint="build the layer from a Debian release with a codename (bookworm, bullseye, trixie)",
        )
    return suite
