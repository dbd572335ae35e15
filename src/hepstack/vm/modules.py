"""Kernel modules: which ones a VM carries, in which order the initramfs loads them.

Pure functions over the text of ``modules.dep`` (kmod's depmod writes it: ``path: dependency...``,
paths relative to ``/lib/modules/RELEASE``) and ``modules.builtin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Loaded by the initramfs, in dependency order: disks (virtio, SCSI, SATA, NVMe: other hypervisors show
# the disk differently), ext4 (and the crc32c ext4's checksums ask the crypto API for), the network card,
# 9p over virtio (the shared directories), the entropy source and virtio serial ports.
BOOT_MODULES = (
    "virtio_pci",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "ahci",
    "ata_piix",
    "nvme",
    "crc32c_generic",
    "crc32c_intel",
    "ext4",
    "virtio_net",
    "9p",
    "9pnet_virtio",
    "virtio_rng",
    "virtio_console",
)
# Without these a VM cannot mount its root disk, reach the network or the shared directories.
REQUIRED_MODULES = ("virtio_pci", "virtio_blk", "ext4", "virtio_net", "9p", "9pnet_virtio")

# What the root filesystem carries for `modprobe` inside the VM: file systems, the network stack, the
# virtual hardware; not the drivers of physical machines (GPUs, sound, Wi-Fi: 300 of the kernel's 390 MB).
IMAGE_MODULE_DIRECTORIES = (
    "kernel/fs/",
    "kernel/net/",
    "kernel/lib/",
    "kernel/crypto/",
    "kernel/arch/",
    "kernel/block/",
    "kernel/mm/",
    "kernel/virt/",
    "kernel/drivers/virtio/",
    "kernel/drivers/block/",
    "kernel/drivers/char/",
    "kernel/drivers/md/",
    "kernel/drivers/ata/",
    "kernel/drivers/nvme/",
    "kernel/drivers/firmware/",
    "kernel/drivers/net/vxlan/",
    "kernel/drivers/net/wireguard/",
)
IMAGE_MODULES_LEFT_OUT = ("kernel/net/wireless/", "kernel/net/mac80211/", "kernel/net/bluetooth/")
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def module_name(path: str) -> str:
    """``kernel/drivers/char/hw_random/virtio-rng.ko`` -> ``virtio_rng`` (kmod treats - and _ alike)."""
    base = path.rsplit("/", 1)[-1]
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


@dataclass(frozen=True)
class ModuleGraph:
    """The modules of one kernel and what each needs loaded first."""

    dependencies: dict[str, tuple[str, ...]]  # path -> dependency paths
    builtin: frozenset[str]  # names of modules compiled into the kernel

    @classmethod
    def parse(cls, modules_dep: str, modules_builtin: str = "") -> ModuleGraph:
        dependencies = {}
        for line in modules_dep.splitlines():
            path, colon, rest = line.partition(":")
            if colon and path.strip():
                dependencies[path.strip()] = tuple(rest.split())
        builtin = frozenset(
            module_name(line.strip()) for line in modules_builtin.splitlines() if line.strip()
        )
        return cls(dependencies, builtin)

    def path_of(self, name: str) -> str | None:
        wanted = name.replace("-", "_")
        for path in self.dependencies:
            if module_name(path) == wanted:
                return path
        return None

    def closure(self, paths: Iterable[str]) -> set[str]:
        """``paths`` and everything they depend on."""
        found: set[str] = set()
        pending = list(paths)
        while pending:
            path = pending.pop()
            if path in found:
                continue
            found.add(path)
            pending.extend(self.dependencies.get(path, ()))
        return found

    def load_order(self, paths: Iterable[str]) -> list[str]:
        """``paths`` with their dependencies, every module after the ones it needs (for insmod)."""
        ordered: list[str] = []
        placed: set[str] = set()

        def place(path: str, trail: tuple[str, ...]) -> None:
            if path in placed or path in trail:  # a cycle cannot load either way; depmod reports it
                return
            for dependency in self.dependencies.get(path, ()):
                place(dependency, (*trail, path))
            placed.add(path)
            ordered.append(path)

        for path in paths:
            place(path, ())
        return ordered

    def boot_modules(self) -> list[str]:
        """The initramfs's modules in load order; missing required ones are named in the error."""
        chosen = []
        missing = []
        for name in BOOT_MODULES:
            path = self.path_of(name)
            if path is not None:
                chosen.append(path)
            elif name in REQUIRED_MODULES and name not in self.builtin:
                missing.append(name)
        if missing:
            from hepstack.errors import HepstackError

            raise HepstackError(
                f"the kernel has neither modules nor built-in drivers for {', '.join(missing)}",
                hint="a VM needs virtio disks, ext4, virtio-net and 9p: Debian's linux-image-amd64 has them",
            )
        return self.load_order(chosen)

    def image_modules(self) -> set[str]:
        """The modules the VM's root filesystem carries (see IMAGE_MODULE_DIRECTORIES), with dependencies."""
        chosen = [
            path
            for path in self.dependencies
            if (path.startswith(IMAGE_MODULE_DIRECTORIES) and not path.startswith(IMAGE_MODULES_LEFT_OUT))
            or (path.startswith("kernel/drivers/net/") and path.count("/") == 3)  # tun, veth, virtio_net...
            or path.startswith(("kernel/drivers/scsi/virtio_scsi", "kernel/drivers/scsi/sd_mod"))
        ]
        return self.closure([*chosen, *self.boot_modules()])
