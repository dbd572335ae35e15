"""Developer VMs booted for real with QEMU (TCG where KVM is unusable, as on this PVM-nested machine).

A small stack (tests/vm/data: an env variable and a profile script on the example's bookworm and bullseye
bases) is exported as a qcow2 disk whose developer is the test user, then booted: a command on a share as
that user and as root through sudo (exit status, output, owner of the files on the host), the legacy
layer's console, the disk's contents against the image and the host's secrets, and the failure paths.
"""

from __future__ import annotations

import gzip
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import HEPSTACK, TEST_USER, hepstack
from tests.vm.test_vm_units import read_newc

pytestmark = [pytest.mark.slow, pytest.mark.podman, pytest.mark.qemu]
VM_STACK = Path(__file__).parent / "data" / "stack.yaml"
MIB = 1024 * 1024
ROOT_OFFSET = 65 * MIB  # hepstack.vm.disk: the ext4 partition after 1 MiB + 64 MiB of boot partition


@pytest.fixture(scope="module")
def vm_images(example_images: dict[str, str]) -> dict[str, str]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (scripts/setup-host.sh installs it)")
    hepstack("build", str(VM_STACK))
    return {"base": "vmtest/base", "legacy": "vmtest/legacy"}


@pytest.fixture(scope="module")
def test_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pytest.skip(f"no test user {TEST_USER} (scripts/setup-host.sh makes it)")


@pytest.fixture(scope="module")
def public_directory() -> Iterator[Path]:
    """A directory the test user can reach (pytest's tmp_path is root's, 0700)."""
    path = Path(tempfile.mkdtemp(prefix="hepstack-vm-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def release_disk(vm_images: dict[str, str], public_directory: Path) -> Path:
    """vmtest/base as qcow2, exported by root (a release manager): made for root, booted by others."""
    disk = public_directory / "release.qcow2"
    result = hepstack("export", vm_images["base"], "--format", "qcow2", "--output", str(disk))
    assert f"qcow2: {disk}" in result.stdout and "hepstack vm run" in result.stdout
    return disk


def shared_directory(parent: Path, owner: pwd.struct_passwd) -> Path:
    share = Path(tempfile.mkdtemp(dir=parent, prefix="share-"))
    os.chown(share, owner.pw_uid, owner.pw_gid)
    share.chmod(0o755)
    return share


COMMAND = (
    'id -un; id -u; echo "$VMTEST_RELEASE/$VMTEST_PROFILE/$VMTEST_QUOTED"; pwd; '
    "printf data > made; mkdir sub; echo err >&2; exit 3"
)


def check_command_run(
    result: subprocess.CompletedProcess[str], share: Path, owner: pwd.struct_passwd, workdir: str
) -> None:
    assert result.returncode == 3, result.stderr
    assert (
        result.stdout
        == f'{owner.pw_name}\n{owner.pw_uid}\n0.1/profile applied/it\'s `x`; "y" & z\n{workdir}\n'
    )
    assert "vm: booting" in result.stderr and "vm: booted in" in result.stderr, result.stderr
    assert " with TCG " in result.stderr or " with KVM " in result.stderr
    assert result.stderr.rstrip().endswith("err") and "Traceback" not in result.stderr
    for name in ("made", "sub"):
        status = (share / name).stat()
        assert (status.st_uid, status.st_gid) == (owner.pw_uid, owner.pw_gid), name
    assert (share / "made").read_bytes() == b"data"


def test_a_command_on_a_share_runs_as_the_user_and_its_files_are_theirs(
    release_disk: Path, test_user: pwd.struct_passwd, public_directory: Path
) -> None:
    """The test user boots root's disk (QEMU unprivileged): the VM's developer is the test user (uid and
    gid), the command runs as them with the layer's environment, and its files on the share are theirs."""
    share = shared_directory(public_directory, test_user)
    argv = [
        "runuser",
        "-u",
        TEST_USER,
        "--",
        HEPSTACK,
        "vm",
        "run",
        "--share",
        str(share),
        str(release_disk),
    ]
    result = subprocess.run(
        [*argv, "--", "sh", "-c", COMMAND],
        capture_output=True,
        text=True,
        cwd=share,
        check=False,
        timeout=900,
    )
    check_command_run(result, share, test_user, str(share))  # started where the caller was


def test_root_through_sudo_boots_as_the_user(
    release_disk: Path, test_user: pwd.struct_passwd, public_directory: Path
) -> None:
    """hepstack as root for a sudo user: QEMU drops to that user, so the share's new files are theirs."""
    share = shared_directory(public_directory, test_user)
    sudo = {"SUDO_UID": str(test_user.pw_uid), "SUDO_GID": str(test_user.pw_gid)}
    options = ["--share", f"{share}:/work", "--workdir", "/work", str(release_disk)]
    result = hepstack("vm", "run", *options, "--", "sh", "-c", COMMAND, check=False, env=sudo)
    check_command_run(result, share, test_user, "/work")


def test_the_legacy_layer_boots_to_a_console(vm_images: dict[str, str]) -> None:
    """bullseye (the frozen platform) with its own kernel; the console takes typed lines, exit powers off.

    Lines are typed once the shell's prompt is there: a serial line drops what arrives before its
    reader opens it (a person at the console sees the prompt first too)."""
    typed = 'cat /etc/debian_version; echo "release=$VMTEST_RELEASE profile=$VMTEST_PROFILE user=$(id -un)"\n'
    with subprocess.Popen(
        [HEPSTACK, "vm", "run", vm_images["legacy"]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        seen = bytearray()
        reader = threading.Thread(target=_read_all, args=(child.stdout, seen), daemon=True)
        reader.start()
        deadline = time.monotonic() + 1200
        while not re.search(rb"power off\r?\n.*[#$] $", bytes(seen), re.DOTALL) and child.poll() is None:
            assert time.monotonic() < deadline, bytes(seen)[-2000:]
            time.sleep(0.1)
        child.stdin.write(typed.encode() + b"exit\n")
        child.stdin.flush()
        child.wait(timeout=600)
        reader.join(timeout=10)
        errors = child.stderr.read()
    console = bytes(seen).decode(errors="replace").replace("\r", "")
    assert child.returncode == 0, errors.decode() + console[-3000:]
    assert re.search(r"^11\.[0-9]+$", console, re.MULTILINE), console[-3000:]
    assert "release=0.1-legacy profile=profile applied user=root" in console  # root's VM: root's account


def _read_all(stream: IO[bytes], sink: bytearray) -> None:
    while chunk := stream.read1(4096):  # type: ignore[attr-defined]
        sink.extend(chunk)


def disk_files(raw: Path, target: Path) -> tuple[Path, Path]:
    """The root file system (debugfs rdump) and the boot partition (mtools) of ``raw``, unpacked."""
    root, boot = target / "root", target / "boot"
    root.mkdir()
    boot.mkdir()
    subprocess.run(
        ["debugfs", "-R", f"rdump / {root}", f"{raw}?offset={ROOT_OFFSET}"], check=True, capture_output=True
    )
    subprocess.run(
        ["mcopy", "-s", "-n", "-i", f"{raw}@@{MIB}", "::/", str(boot)],
        check=True,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )
    return root, boot


# What hepstack adds to the layer's tree (hepstack.vm.guest): anything else must be the image's own.
ADDED = (
    "usr/lib/hepstack-vm/",
    "etc/hepstack/",
    "etc/profile.d/00-hepstack-environment.sh",
    "etc/passwd",
    "etc/group",
    "etc/shadow",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/fstab",
    "usr/lib/modules/",
    "lib/modules/",
    f"home/{TEST_USER}/",
)


def host_secrets(test_user: pwd.struct_passwd) -> dict[str, bytes]:
    candidates = [*Path("/etc/ssh").glob("ssh_host_*"), Path("/etc/ssl/certs/ca-certificates.crt")]
    for home in (Path("/root"), Path(test_user.pw_dir)):
        candidates += [
            *home.glob(".ssh/*"),
            home / ".config/containers/auth.json",
            home / ".docker/config.json",
        ]
    candidates += [Path("/run/containers/0/auth.json"), Path("/etc/munge/munge.key")]
    secrets = {
        str(path): path.read_bytes() for path in candidates if path.is_file() and path.stat().st_size > 20
    }
    shadow = Path("/etc/shadow").read_text().splitlines()
    for line in shadow:
        fields = line.split(":")
        if len(fields) > 1 and len(fields[1]) > 20:  # a real password hash
            secrets[f"/etc/shadow hash of {fields[0]}"] = fields[1].encode()
    return secrets


def test_the_disk_holds_the_image_and_no_host_secret(
    vm_images: dict[str, str], test_user: pwd.struct_passwd, tmp_path: Path
) -> None:
    """A raw disk made by root through sudo for the test user: every file is the image's or one hepstack
    adds, and none holds a secret of the host."""
    from hepstack.context import Context
    from hepstack.registry.convert import cached_image

    raw = tmp_path / "dev.raw"
    sudo = {"SUDO_UID": str(test_user.pw_uid), "SUDO_GID": str(test_user.pw_gid)}
    hepstack("export", vm_images["base"], "--format", "raw", "--output", str(raw), env=sudo)
    assert raw.stat().st_blocks * 512 < raw.stat().st_size / 2  # sparse: the free space takes nothing
    root, boot = disk_files(raw, tmp_path)
    tree = cached_image("localhost/vmtest/base:latest", "podman", "charliecloud", Context.from_environment())
    secrets = host_secrets(test_user)
    assert any("ssh_host" in name for name in secrets), (
        "sshd's host keys: set up by scripts/setup-services.sh"
    )
    added = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        inside = str(path.relative_to(root))
        image_file = tree / inside
        data = path.read_bytes()
        if image_file.is_file() and not image_file.is_symlink() and image_file.read_bytes() == data:
            continue  # the image's own file, unchanged
        assert inside.startswith(ADDED), f"{inside} is neither the image's nor one hepstack adds"
        added.append(inside)
        for name, secret in secrets.items():
            assert secret not in data, f"{inside} holds the host's {name}"
    assert "usr/lib/hepstack-vm/init" in added and "etc/hepstack/vm.conf" in added
    image_passwd = (tree / "etc" / "passwd").read_text().splitlines()
    disk_passwd = (root / "etc" / "passwd").read_text().splitlines()
    assert set(disk_passwd) - set(image_passwd) == {
        f"{TEST_USER}:x:{test_user.pw_uid}:{test_user.pw_gid}:hepstack developer:/home/{TEST_USER}:/bin/bash"
    }
    assert (root / "etc" / "resolv.conf").read_text() == ""
    boot_files = sorted(str(path.relative_to(boot)) for path in boot.rglob("*") if path.is_file())
    assert boot_files == [
        "initrd.img",
        "syslinux/ldlinux.c32",
        "syslinux/ldlinux.sys",
        "syslinux/syslinux.cfg",
        "vmlinuz",
    ]
    initramfs = read_newc(gzip.decompress((boot / "initrd.img").read_bytes()))
    assert set(initramfs) - {"bin", "dev", "lib", "lib/modules", "proc", "root", "sys", "dev/console"} == {
        name for name in initramfs if name in ("bin/busybox", "init") or name.startswith("lib/modules/")
    }
    for path in boot.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [name for name, secret in secrets.items() if secret in data], path


# --- failure paths: an error and a hint, exit 2, no traceback -------------------------------------------


def check_refused(result: subprocess.CompletedProcess[str], *said: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and any(line.startswith("hint: ") for line in lines), result.stderr
    for text in said:
        assert text in result.stderr, result.stderr


def test_a_missing_qemu_is_said_before_any_disk_is_made(release_disk: Path, tmp_path: Path) -> None:
    result = hepstack("vm", "run", str(release_disk), "--", "true", check=False, env={"PATH": str(tmp_path)})
    check_refused(result, "qemu-system-x86_64", "apt-get install qemu-system-x86")


def test_kvm_asked_for_where_it_is_unusable(release_disk: Path, test_user: pwd.struct_passwd) -> None:
    kvm = Path("/dev/kvm")
    if kvm.exists() and kvm.stat().st_mode & 0o006:
        pytest.skip("/dev/kvm is open to everyone here")
    # The test user without supplementary groups (kvm among them): /dev/kvm is root's and kvm's.
    uid, gid = str(test_user.pw_uid), str(test_user.pw_gid)
    argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
    command = [HEPSTACK, "vm", "run", "--accel", "kvm", str(release_disk), "--", "true"]
    result = subprocess.run([*argv, *command], capture_output=True, text=True, check=False, cwd="/")
    check_refused(result, "--accel kvm, but KVM is unusable here: /dev/kvm", "leave out --accel")


def import_image(tmp_path: Path, name: str, os_release: str) -> str:
    """A one-file image (just /etc/os-release) in podman's store."""
    tree = tmp_path / name
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "os-release").write_text(os_release)
    tarball = tmp_path / f"{name}.tar"
    subprocess.run(["tar", "-C", str(tree), "-cf", str(tarball), "."], check=True)
    reference = f"localhost/vmtest-{name}:1"
    subprocess.run(["podman", "import", str(tarball), reference], check=True, capture_output=True)
    return reference


@pytest.mark.parametrize(
    ("name", "os_release", "said"),
    [
        ("alien", 'ID=alpine\nPRETTY_NAME="Alpine Linux v3.19"\n', "is Alpine Linux v3.19, not Debian"),
        ("nosuite", "ID=debian\nVERSION_CODENAME=nosuchsuite\n", "no kernel for Debian nosuchsuite"),
    ],
)
def test_a_layer_without_a_kernel_for_its_suite(
    vm_images: dict[str, str], tmp_path: Path, name: str, os_release: str, said: str
) -> None:
    reference = import_image(tmp_path, name, os_release)
    try:
        output = tmp_path / "x.qcow2"
        result = hepstack("export", reference, "--format", "qcow2", "--output", str(output), check=False)
        check_refused(result, said)
        assert not output.exists()
    finally:
        subprocess.run(["podman", "rmi", "--force", reference], check=False, capture_output=True)


def test_doctor_says_whether_vms_run_here(vm_images: dict[str, str]) -> None:
    """QEMU, the accelerator (and why not KVM), the disk tools scripts/setup-host.sh installs."""
    result = hepstack("doctor", "--repeats", "1")
    table = result.stdout[result.stdout.index("virtual machines") :]
    assert "QEMU emulator version" in table and "disk images" in table and "all present" in table
    assert "KVM (kvm_" in table or "TCG only" in table
