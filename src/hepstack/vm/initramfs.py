"""The VM's initramfs: a static busybox, the modules a virtual disk needs, and an ``/init`` that mounts
the root filesystem by UUID (templates/initramfs-init.sh).

Written here as a gzip-compressed ``newc`` cpio archive (the kernel's format, Documentation/
driver-api/early-userspace/buffer-format.rst), so no cpio tool, no root and no device node on the host
are needed; entries are in a fixed order with fixed times, so the same kernel gives the same bytes.
"""

from __future__ import annotations

import gzip
import lzma
import stat
from pathlib import Path

from hepstack.vm.guest import template
from hepstack.vm.kernel import KernelBundle

_MAGIC = b"070701"
_TRAILER = "TRAILER!!!"


class CpioWriter:
    """A ``newc`` archive built in memory (an initramfs is a few MB)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._inode = 0

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        self._inode += 1
        encoded = name.encode() + b"\0"
        fields = (self._inode, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, *rdev)
        header = _MAGIC + b"".join(f"{value:08X}".encode() for value in (*fields, len(encoded), 0))
        self._chunks += [header, encoded, _padding(len(header) + len(encoded))]
        self._chunks += [data, _padding(len(data))]

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def character_device(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def getvalue(self) -> bytes:
        self._entry(_TRAILER, 0)
        return b"".join(self._chunks)


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)


def module_bytes(path: Path) -> bytes:
    """A module as busybox's insmod loads it: xz-compressed ones (trixie's) are unpacked here."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.name.endswith(".xz") else data


def build_initramfs(bundle: KernelBundle) -> bytes:
    """The initramfs of ``bundle``'s kernel, gzip-compressed (every Debian kernel reads gzip)."""
    order = bundle.module_graph().boot_modules()
    archive = CpioWriter()
    for directory in ("bin", "dev", "lib", "lib/modules", "proc", "root", "sys"):
        archive.directory(directory)
    # The kernel opens /dev/console for init before anything is mounted.
    archive.character_device("dev/console", 5, 1)
    archive.file("bin/busybox", bundle.busybox.read_bytes(), 0o755)
    archive.file("init", template("initramfs-init.sh").encode(), 0o755)
    names = []
    for path in order:
        name = path.rsplit("/", 1)[-1].removesuffix(".xz")
        archive.file(f"lib/modules/{name}", module_bytes(bundle.modules / path))
        names.append(name)
    archive.file("lib/modules/load-order", "".join(f"{name}\n" for name in names).encode())
    return gzip.compress(archive.getvalue(), compresslevel=6, mtime=0)
