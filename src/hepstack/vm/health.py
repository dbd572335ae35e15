"""Whether VMs can run here (`hepstack doctor`): QEMU, the accelerator, the tools that make a disk."""

from __future__ import annotations

from dataclasses import dataclass

from hepstack import proc
from hepstack.vm import qemu
from hepstack.vm.disk import DISK_HINT, SYSLINUX_MBR, TOOLS
from hepstack.vm.kernel import KMOD_HINT, MMDEBSTRAP_HINT


@dataclass(frozen=True)
class VmCheck:
    item: str
    works: bool
    detail: str


def check_vm() -> list[VmCheck]:
    checks = [_qemu()]
    status = qemu.kvm_usable()
    if status.usable:
        checks.append(VmCheck("accelerator", True, f"{status.detail}: VMs run at near-native speed"))
    else:
        hint = f" (hint: {status.hint})" if status.hint else ""
        checks.append(
            VmCheck("accelerator", True, f"TCG only (QEMU's emulator, 5-20x slower): {status.detail}{hint}")
        )
    missing = [tool for tool in TOOLS if proc.which(tool) is None]
    if not SYSLINUX_MBR.is_file():
        missing.append(str(SYSLINUX_MBR))
    for tool, hint in (("mmdebstrap", MMDEBSTRAP_HINT), ("depmod", KMOD_HINT)):
        if proc.which(tool) is None:
            missing.append(f"{tool} ({hint})")
    if missing:
        checks.append(VmCheck("disk images", False, f"missing {', '.join(missing)}: {DISK_HINT}"))
    else:
        checks.append(VmCheck("disk images", True, f"{', '.join(TOOLS)}, mmdebstrap, depmod: all present"))
    return checks


def _qemu() -> VmCheck:
    path = proc.which(qemu.QEMU)
    if path is None:
        return VmCheck("qemu", False, f"{qemu.QEMU} not found: {qemu.QEMU_HINT}")
    result = proc.run([path, "-version"], check=False)
    version = (result.stdout.strip().splitlines() or ["version unknown"])[0]
    return VmCheck("qemu", result.returncode == 0, f"{path}: {version}")
