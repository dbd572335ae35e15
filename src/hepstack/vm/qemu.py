"""QEMU's command line for a hepstack VM, and which accelerator it can use here.

Pure but for :func:`kvm_usable` (which opens ``/dev/kvm``) and :func:`privilege_drop_option` (which asks
QEMU's ``-help``): :func:`qemu_argv` returns the argv, :mod:`hepstack.vm.session` runs it.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc
from hepstack.errors import HepstackError
from hepstack.quoting import qemu_option_value

QEMU = "qemu-system-x86_64"
QEMU_HINT = "apt-get install qemu-system-x86 (or run scripts/setup-host.sh)"
ACCELERATORS = ("auto", "kvm", "tcg")
KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00), linux/kvm.h
KVM_API_VERSION = 12  # the only stable KVM API version (Documentation/virt/kvm/api.rst, 4.1)
CONTROL_TAG = "hepstack"  # the 9p tag of the control share; shared directories are hepstack0, 1, ...


@dataclass(frozen=True)
class Accelerator:
    name: str  # "kvm" or "tcg"
    reason: str  # why this one: shown with every boot


@dataclass(frozen=True)
class KvmStatus:
    usable: bool
    detail: str
    hint: str = ""


def kvm_usable(device: Path = Path("/dev/kvm"), modules: Path = Path("/sys/module")) -> KvmStatus:
    """Whether this process can run a stock kernel with KVM: the device opens read-write, speaks the KVM
    API, and is backed by hardware virtualisation (kvm_intel or kvm_amd).

    Nested set-ups may offer PVM instead (kvm_pvm, a software hypervisor that runs only guest kernels
    built for it): /dev/kvm opens and QEMU starts, but a Debian kernel hangs after its real-mode set-up.
    """
    if not device.exists():
        return KvmStatus(
            False, f"{device} does not exist", "no KVM in this kernel, or not passed into this VM"
        )
    try:
        descriptor = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            status = device.stat()
            return KvmStatus(
                False,
                f"{device} is not open to you (mode {status.st_mode & 0o777:04o}, uid {status.st_uid}, "
                f"gid {status.st_gid})",
                "join the group of /dev/kvm (usually kvm): usermod -aG kvm $USER, then log in again",
            )
        return KvmStatus(False, f"{device}: {exc.strerror}")
    try:
        version = fcntl.ioctl(descriptor, KVM_GET_API_VERSION)
    except OSError as exc:
        return KvmStatus(False, f"{device} does not answer KVM_GET_API_VERSION: {exc.strerror}")
    finally:
        os.close(descriptor)
    if version != KVM_API_VERSION:
        return KvmStatus(False, f"{device} speaks KVM API {version}, not {KVM_API_VERSION}")
    hardware = [name for name in ("kvm_intel", "kvm_amd") if (modules / name).is_dir()]
    if hardware:
        return KvmStatus(True, f"KVM ({hardware[0]})")
    if (modules / "kvm_pvm").is_dir():
        return KvmStatus(
            False,
            "KVM here is PVM (kvm_pvm, nested software virtualisation): it runs only guest kernels built "
            "for PVM, and a Debian kernel hangs under it",
            "a host with hardware virtualisation (kvm_intel or kvm_amd) boots VMs with KVM",
        )
    return KvmStatus(True, "KVM")


def choose_accelerator(requested: str, status: KvmStatus | None = None) -> Accelerator:
    """``auto``: KVM when usable, else TCG (QEMU's emulator, 5-20x slower); ``kvm`` insists."""
    if requested not in ACCELERATORS:
        raise HepstackError(f"unknown accelerator {requested!r}", hint=f"one of {', '.join(ACCELERATORS)}")
    if requested == "tcg":
        return Accelerator("tcg", "asked for with --accel tcg")
    status = kvm_usable() if status is None else status
    if status.usable:
        return Accelerator("kvm", status.detail)
    if requested == "kvm":
        raise HepstackError(
            f"--accel kvm, but KVM is unusable here: {status.detail}",
            hint=f"{status.hint + '; or ' if status.hint else ''}leave out --accel (TCG: slower, anywhere)",
        )
    return Accelerator("tcg", f"KVM unusable: {status.detail}")


@dataclass(frozen=True)
class Share:
    """A host directory seen at ``target`` in the VM, over 9p."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Machine:
    disk: Path
    disk_format: str
    accelerator: Accelerator
    control: Path | None  # the control share (session, command; output and status come back)
    console_log: Path | None  # None: the console is this terminal
    shares: tuple[Share, ...] = ()
    cpus: int = 2
    memory_mib: int = 2048
    keep_changes: bool = False  # write to the disk file instead of a throw-away overlay
    run_as: str | None = None  # drop to this user after opening devices (hepstack run as root by sudo)
    privileged: bool = False  # QEMU keeps root: 9p can create files of any owner (passthrough)


def security_model(machine: Machine) -> str:
    """9p's ``security_model``: ``passthrough`` when QEMU is root (the VM's uids are the host's, so the
    developer's files are the developer's); ``none`` when QEMU runs as the user: every file it creates is
    the user's by construction, and chown by the VM's root is ignored instead of failing its writes
    (passthrough would refuse them, mapped-* would hide the owner in xattrs and make files 0600)."""
    return "passthrough" if machine.privileged and machine.run_as is None else "none"


def qemu_argv(qemu: str, machine: Machine, drop_option: str = "-runas") -> list[str]:
    """The QEMU command line: headless, only the devices asked for (``-nodefaults``), booting the
    disk's own bootloader (SeaBIOS, then SYSLINUX)."""
    disk = qemu_option_value(str(machine.disk), "VM disk path")
    accelerator = machine.accelerator.name
    argv = [
        qemu,
        "-nodefaults",
        "-no-user-config",
        "-machine",
        f"q35,accel={accelerator}",
        "-cpu",
        "host" if accelerator == "kvm" else "max",
        "-smp",
        str(machine.cpus),
        "-m",
        f"{machine.memory_mib}M",
        "-display",
        "none",
        "-no-reboot",  # a guest that reboots (a kernel panic) ends QEMU
        "-drive",
        f"file={disk},if=none,id=disk,format={machine.disk_format},cache=unsafe"
        if not machine.keep_changes
        else f"file={disk},if=none,id=disk,format={machine.disk_format}",
        "-device",
        "virtio-blk-pci,drive=disk,bootindex=0",
        "-nic",
        "user,model=virtio-net-pci",
        "-device",
        "virtio-rng-pci",
    ]
    if not machine.keep_changes:
        argv.append("-snapshot")  # changes go to a temporary overlay, dropped at exit
    if machine.console_log is None:
        argv += ["-serial", "mon:stdio"]  # Ctrl-a x quits QEMU, Ctrl-a c its monitor
    else:
        log = qemu_option_value(str(machine.console_log), "VM console log")
        argv += ["-chardev", f"file,id=console,path={log}", "-serial", "chardev:console", "-monitor", "none"]
    model = security_model(machine)
    exported = [(CONTROL_TAG, str(machine.control), False)] if machine.control is not None else []
    exported += [
        (f"hepstack{index}", share.source, share.read_only) for index, share in enumerate(machine.shares)
    ]
    for tag, source, read_only in exported:
        path = qemu_option_value(source, "shared directory")
        options = f"local,path={path},mount_tag={tag},security_model={model},id={tag}"
        argv += ["-virtfs", options + (",readonly=on" if read_only else "")]
    if machine.run_as is not None:
        argv += [drop_option, machine.run_as if drop_option == "-runas" else f"user={machine.run_as}"]
    return argv


@functools.cache
def privilege_drop_option(qemu: str) -> str:
    """``-runas USER`` (QEMU up to 9.0) or ``-run-with user=USER`` (9.1 on, where -runas is deprecated)."""
    result = proc.run([qemu, "-help"], check=False)
    return "-run-with" if "-run-with" in result.stdout and "user=" in result.stdout else "-runas"


def require_qemu() -> str:
    return proc.require(QEMU, "running a VM", QEMU_HINT)
