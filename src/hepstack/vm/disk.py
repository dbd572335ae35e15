"""A bootable disk image of an unpacked layer, made in user space.

Layout (BIOS, MBR), so any PC hypervisor boots it, not only ``hepstack vm run``:

- the MBR: SYSLINUX's boot code and two partitions;
- partition 1, 64 MiB FAT16 at 1 MiB: SYSLINUX (``syslinux --offset`` through mtools), the suite's
  kernel, the initramfs and ``syslinux.cfg`` (the kernel command line: root by UUID, serial console);
- partition 2, ext4: the layer's root filesystem plus what :mod:`hepstack.vm.guest` adds, made by
  ``mke2fs -d`` straight from a directory, under fakeroot, so every file is root's (as in the image)
  and the developer's home is the developer's, with no mount, loop device or root.

The root filesystem is staged as hard links to the node cache's tree (seconds for a 1 GB layer, no
copy); files the VM changes are replaced by rename, never written through a link.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc
from hepstack.errors import HepstackError, ProcessError
from hepstack.vm import guest
from hepstack.vm.initramfs import build_initramfs
from hepstack.vm.kernel import KernelBundle

FORMATS = ("qcow2", "raw")
MIB = 1024 * 1024
SECTOR = 512
BOOT_START = 1 * MIB
BOOT_SIZE = 64 * MIB
DEFAULT_FREE = 4 * 1024 * MIB  # room to work in the VM; qcow2 and sparse raw files do not store it
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")
DISK_HINT = (
    "apt-get install e2fsprogs fakeroot dosfstools mtools syslinux syslinux-common qemu-utils "
    "(or run scripts/setup-host.sh)"
)
# Features every kernel since 4.x mounts: e2fsprogs 1.47 turns on orphan_file (kernel 5.15+) and
# metadata_csum_seed by default, and bullseye's 5.10 refuses a file system with orphan_file read-write.
EXT4_FEATURES = "^orphan_file,^metadata_csum_seed"


@dataclass(frozen=True)
class DiskLayout:
    root_bytes: int

    @property
    def root_start(self) -> int:
        return BOOT_START + BOOT_SIZE

    @property
    def total_bytes(self) -> int:
        return self.root_start + self.root_bytes

    @classmethod
    def for_tree(cls, tree_bytes: int, free_bytes: int) -> DiskLayout:
        # ext4's metadata (inode tables at one inode per 8 KiB, the journal) on top of the files
        root = int(tree_bytes * 1.15) + 256 * MIB + free_bytes
        return cls(root_bytes=-(-root // MIB) * MIB)


def master_boot_record(layout: DiskLayout, boot_code: bytes, signature: bytes) -> bytes:
    """SYSLINUX's boot code, the disk signature, a bootable FAT16 partition and a Linux one (LBA only)."""
    record = bytearray(SECTOR)
    record[: len(boot_code)] = boot_code[:440]
    record[440:444] = signature
    partitions = [
        (0x80, 0x0E, BOOT_START, BOOT_SIZE),  # FAT16 (LBA)
        (0x00, 0x83, layout.root_start, layout.root_bytes),  # Linux
    ]
    for index, (status, kind, start, size) in enumerate(partitions):
        entry = bytes([status, 0xFE, 0xFF, 0xFF, kind, 0xFE, 0xFF, 0xFF])
        entry += (start // SECTOR).to_bytes(4, "little") + (size // SECTOR).to_bytes(4, "little")
        record[446 + 16 * index : 462 + 16 * index] = entry
    record[510:512] = b"\x55\xaa"
    return bytes(record)


def tree_bytes(tree: Path) -> int:
    total = 0
    for folder, _, files in os.walk(tree):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_blocks * SECTOR
            except OSError:
                continue
    return total


def stage_tree(tree: Path, stage: Path) -> None:
    """``stage`` as hard links to ``tree`` (a copy where links cannot be made: another file system, or
    files of another user with protected_hardlinks)."""
    try:
        proc.run(["cp", "-a", "--link", f"{tree}/.", str(stage)])
    except ProcessError:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        proc.run(["cp", "-a", "--reflink=auto", f"{tree}/.", str(stage)])


def make_disk(
    tree: Path,
    bundle: KernelBundle,
    account: guest.Account,
    hostname: str,
    output: Path,
    disk_format: str,
    *,
    work: Path,
    free_bytes: int = DEFAULT_FREE,
) -> None:
    """The disk image of the unpacked ``tree`` at ``output`` (``qcow2`` or ``raw``); ``work`` is a
    scratch directory on the tree's file system, removed by the caller."""
    tools = {name: proc.require(name, f"a {disk_format} VM image", DISK_HINT) for name in TOOLS}
    if not SYSLINUX_MBR.is_file():
        raise HepstackError(f"{SYSLINUX_MBR} is missing (SYSLINUX's boot code)", hint=DISK_HINT)
    stage = work / "root"
    stage.mkdir()
    stage_tree(tree, stage)
    guest.install(stage, bundle, account, hostname)
    layout = DiskLayout.for_tree(tree_bytes(stage), free_bytes)
    identity = hashlib.sha256(f"{hostname}{os.urandom(16).hex()}".encode()).digest()
    root_uuid = str(uuid.UUID(bytes=identity[:16]))
    raw = work / "disk.raw"
    with open(raw, "wb") as disk:
        disk.truncate(layout.total_bytes)  # sparse: only what is written takes space
    _root_filesystem(tools, stage, account, raw, layout, root_uuid, work)
    shutil.rmtree(stage)
    _boot_partition(tools, bundle, raw, root_uuid, work)
    with open(raw, "r+b") as disk:
        disk.write(master_boot_record(layout, SYSLINUX_MBR.read_bytes(), identity[16:20]))
    if disk_format == "raw":
        raw.rename(output)
        return
    proc.run([tools["qemu-img"], "convert", "-f", "raw", "-O", "qcow2", str(raw), str(output)])


TOOLS = ("fakeroot", "mke2fs", "mkfs.fat", "mcopy", "mmd", "syslinux", "qemu-img")


def _root_filesystem(
    tools: dict[str, str],
    stage: Path,
    account: guest.Account,
    raw: Path,
    layout: DiskLayout,
    root_uuid: str,
    work: Path,
) -> None:
    """ext4 from the stage, every file root's but the developer's home, under fakeroot (whose chown
    changes only what mke2fs sees, never the cached files the stage links to)."""
    faked = work / "fakeroot.state"
    fakeroot = tools["fakeroot"]
    proc.run([fakeroot, "-s", str(faked), "--", "chown", "-R", "0:0", str(stage)])
    home = guest.home_of(stage, account)
    if home is not None:
        owner = f"{account.uid}:{account.gid}"
        proc.run([fakeroot, "-i", str(faked), "-s", str(faked), "--", "chown", "-R", owner, str(home)])
    proc.run(
        [
            fakeroot,
            "-i",
            str(faked),
            "--",
            tools["mke2fs"],
            "-q",
            "-F",
            "-t",
            "ext4",
            "-O",
            EXT4_FEATURES,
            "-E",
            f"offset={layout.root_start},nodiscard",
            "-L",
            "hepstack-root",
            "-U",
            root_uuid,
            "-i",
            "8192",
            "-m",
            "1",
            "-d",
            str(stage),
            str(raw),
            f"{layout.root_bytes // 1024}k",
        ]
    )


def _boot_partition(
    tools: dict[str, str], bundle: KernelBundle, raw: Path, root_uuid: str, work: Path
) -> None:
    """FAT16 at 1 MiB with SYSLINUX, the kernel, the initramfs and the boot configuration (mtools: no
    mount)."""
    proc.run(
        [
            tools["mkfs.fat"],
            "-F",
            "16",
            f"--offset={BOOT_START // SECTOR}",
            "-n",
            "HEPSTACK",
            str(raw),
            str(BOOT_SIZE // 1024),
        ]
    )
    initrd = work / "initrd.img"
    initrd.write_bytes(build_initramfs(bundle))
    config = work / "syslinux.cfg"
    config.write_text(guest.fill("syslinux.cfg", {"root_uuid": root_uuid}))
    volume = f"{raw}@@{BOOT_START}"
    environment = {"MTOOLS_SKIP_CHECK": "1"}  # mtools checks a floppy's geometry, meaningless here
    proc.run([tools["mmd"], "-i", volume, "::/syslinux"], env=environment)
    for source, name in (
        (bundle.vmlinuz, "vmlinuz"),
        (initrd, "initrd.img"),
        (config, "syslinux/syslinux.cfg"),
    ):
        proc.run([tools["mcopy"], "-i", volume, str(source), f"::/{name}"], env=environment)
    proc.run(
        [tools["syslinux"], "--offset", str(BOOT_START), "--install", "--directory", "/syslinux", str(raw)],
        env=environment,
    )


def scratch_directory(near: Path) -> Path:
    """A private scratch directory next to ``near`` (the same file system, for hard links)."""
    return Path(tempfile.mkdtemp(dir=near, prefix=".vm-"))
