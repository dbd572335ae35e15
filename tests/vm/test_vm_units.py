"""The VM's pieces without QEMU: module order, the initramfs archive, accounts, quoting into the guest's
shell files, QEMU's command line, the MBR, the suite of an image, the accelerator choice."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.quoting import ValueRejected, qemu_option_value
from hepstack.vm import guest, qemu, session
from hepstack.vm.disk import BOOT_SIZE, BOOT_START, DiskLayout, master_boot_record
from hepstack.vm.initramfs import CpioWriter
from hepstack.vm.modules import ModuleGraph, module_name
from hepstack.vm.suite import NoKernelForImage, debian_suite, tree_path

MODULES_DEP = """\
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko
kernel/net/9p/9pnet.ko:
kernel/fs/netfs/netfs.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/gpu/drm/nouveau/nouveau.ko: kernel/drivers/video/fbdev/core/fb.ko
kernel/drivers/video/fbdev/core/fb.ko:
"""


def test_modules_load_after_what_they_need() -> None:
    graph = ModuleGraph.parse(MODULES_DEP)
    order = graph.boot_modules()
    for path, dependencies in graph.dependencies.items():
        if path in order:
            assert all(order.index(dependency) < order.index(path) for dependency in dependencies), path
    assert order.count("kernel/drivers/virtio/virtio.ko") == 1
    assert module_name("kernel/drivers/char/hw_random/virtio-rng.ko") == "virtio_rng"
    assert "kernel/drivers/char/hw_random/virtio-rng.ko" in order


def test_image_modules_leave_out_physical_drivers() -> None:
    kept = ModuleGraph.parse(MODULES_DEP).image_modules()
    assert "kernel/fs/ext4/ext4.ko" in kept and "kernel/net/core/failover.ko" in kept
    assert "kernel/drivers/gpu/drm/nouveau/nouveau.ko" not in kept


def test_a_kernel_without_virtio_or_9p_is_refused() -> None:
    graph = ModuleGraph.parse("kernel/fs/ext4/ext4.ko:\n", "kernel/drivers/virtio/virtio_pci.ko\n")
    with pytest.raises(HepstackError) as caught:
        graph.boot_modules()
    message = str(caught.value)
    assert "virtio_blk" in message and "9p" in message and "virtio_pci" not in message  # built in: fine
    assert caught.value.hint


def read_newc(data: bytes) -> dict[str, tuple[int, bytes, int, int]]:
    """name -> (mode, data, rdev major, minor): a reader of the kernel's newc format for the test."""
    entries = {}
    offset = 0
    while True:
        header = data[offset : offset + 110]
        assert header[:6] == b"070701", offset
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        mode, size, name_size = fields[1], fields[6], fields[11]
        name = data[offset + 110 : offset + 110 + name_size - 1].decode()
        offset += 110 + name_size
        offset += -offset % 4
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, data[offset : offset + size], fields[9], fields[10])
        offset += size
        offset += -offset % 4


def test_the_initramfs_archive_is_newc_with_a_console_node() -> None:
    archive = CpioWriter()
    archive.directory("dev")
    archive.character_device("dev/console", 5, 1)
    archive.file("init", b"#!/bin/sh\n", 0o755)
    archive.file("odd", b"12345")  # padding after data of length 5
    archive.symlink("bin/sh", "busybox")
    entries = read_newc(archive.getvalue())
    assert stat.S_ISDIR(entries["dev"][0])
    mode, _, major, minor = entries["dev/console"]
    assert stat.S_ISCHR(mode) and (major, minor) == (5, 1)
    assert entries["init"][1] == b"#!/bin/sh\n" and stat.S_IMODE(entries["init"][0]) == 0o755
    assert entries["odd"][1] == b"12345"
    assert entries["bin/sh"][1] == b"busybox" and stat.S_ISLNK(entries["bin/sh"][0])
    assert gzip.decompress(gzip.compress(archive.getvalue(), mtime=0))  # what build_initramfs writes


PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "lat:x:1001:1001::/home/lat:/bin/sh\n"
    "alice:x:1500:1500::/home/a:/bin/sh\n"
)
GROUP = "root:x:0:\nlat:x:1001:\n"
SHADOW = "root:*:19000:0:99999:7:::\nlat:!:19000:0:99999:7:::\nalice:!:1::::::\n"


@pytest.mark.parametrize(
    ("account", "gone", "new_group"),
    [
        (guest.Account("dev", 2000, 2000), [], "dev:x:2000:"),  # a new user and group
        (guest.Account("dev", 1001, 1001), ["lat"], None),  # the image's uid 1001 gives way; its group stays
        (guest.Account("alice", 1002, 1002), ["alice"], "alice:x:1002:"),  # the name gives way
    ],
)
def test_the_developer_account_replaces_what_collides(
    account: guest.Account, gone: list[str], new_group: str | None
) -> None:
    passwd, group, shadow = guest.merge_accounts(PASSWD, GROUP, SHADOW, account)
    users = [line.split(":")[0] for line in passwd.splitlines()]
    assert users.count(account.name) == 1 and not set(gone) & set(users) - {account.name}
    assert f"{account.name}:x:{account.uid}:{account.gid}:" in passwd and f":/home/{account.name}:" in passwd
    assert [line.split(":")[2] for line in passwd.splitlines()].count(str(account.uid)) == 1
    assert (new_group in group.splitlines()) if new_group else group == GROUP
    assert shadow is not None and f"{account.name}:!:" in shadow and "root:*:" in shadow


def test_root_adds_no_account() -> None:
    assert guest.merge_accounts(PASSWD, GROUP, SHADOW, guest.Account("root", 0, 0)) == (PASSWD, GROUP, SHADOW)


DEV = guest.Account("dev", 1234, 1234)
HOSTILE = ["it's", 'a "b" $HOME `id` $(id)', "semi; colon & amp | pipe", "new\nline", "back\\slash", "*", ""]


def _sh(script: str, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "script.sh"
    path.write_text(script)
    return subprocess.run(["sh", str(path), *args], capture_output=True, text=True, check=True).stdout


def test_image_variables_reach_the_guest_shell_unchanged(tmp_path: Path) -> None:
    pairs = [(f"V{index}", value) for index, value in enumerate(HOSTILE) if "\n" not in value]
    script = guest.environment_script(pairs)
    shown = _sh(script + "".join(f'printf "%s\\0" "${name}"\n' for name, _ in pairs), tmp_path)
    assert shown.split("\0")[:-1] == [value for _, value in pairs]
    profile = guest.profile_script([*pairs, ("PATH", "/nowhere")])
    assert "PATH" not in profile
    already = _sh(f'V0=kept\n{profile}printf %s "$V0"\n', tmp_path)
    assert already == "kept"  # a login that already has the variable keeps it
    with pytest.raises(ValueRejected):
        guest.environment_script([("BAD", "new\nline")])


def test_the_command_runs_with_its_arguments_unchanged(tmp_path: Path) -> None:
    words = [value for value in HOSTILE if "\n" not in value]
    request = session.Session(DEV, ("printf", "%s\\0", *words), workdir=str(tmp_path), env=(("X", "$y"),))
    script = session.command_script(request)
    assert _sh(script, tmp_path).split("\0")[:-1] == words
    with pytest.raises(ValueRejected):
        session.command_script(session.Session(DEV, ("true",), env=(("A-B", "1"),)))
    home = _sh(session.command_script(session.Session(DEV, ("pwd",))), tmp_path)
    assert home == os.path.realpath(os.environ["HOME"]) + "\n"  # no --workdir: the home of its user


def test_the_session_file_quotes_share_paths(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    shares = (qemu.Share("/host/a", "/data/it's here", False), qemu.Share("/host/b", "/ref", True))
    text = session.session_file(
        session.Session(DEV, ("true",), shares=shares, terminal="xterm", rows=40, columns=120)
    )
    golden("vm/session", text)
    calls = _sh('share() { printf \'%s|%s|%s\\n\' "$1" "$2" "$3"; }\n' + text, tmp_path)
    assert calls == "hepstack0|/data/it's here|rw\nhepstack1|/ref|ro\n"


@pytest.mark.parametrize("target", ["/", "/proc", "/run/hepstack", "relative", "/a/../b", "/x\ny"])
def test_share_targets_that_would_cover_the_vm_are_refused(target: str) -> None:
    with pytest.raises(HepstackError) as caught:
        session.check_target(target)
    assert caught.value.hint


def test_the_command_starts_where_the_caller_is_if_that_is_shared() -> None:
    shares = (qemu.Share("/home/alice/work", "/work", False),)
    assert session.workdir_for("/home/alice/work/run1", shares) == "/work/run1"
    assert session.workdir_for("/home/alice/work", shares) == "/work"
    assert session.workdir_for("/home/alice/workshop", shares) is None


def machine(**changes: object) -> qemu.Machine:
    values: dict[str, object] = {
        "disk": Path("/var/vm/lat,dev.qcow2"),
        "disk_format": "qcow2",
        "accelerator": qemu.Accelerator("tcg", "test"),
        "control": Path("/tmp/hepstack-vm-x/control"),
        "console_log": Path("/tmp/hepstack-vm-x/console.log"),
        "shares": (qemu.Share("/data/a,b", "/data", False), qemu.Share("/ref", "/ref", True)),
    }
    values.update(changes)
    return qemu.Machine(**values)  # type: ignore[arg-type]


def test_qemu_argv(golden) -> None:  # type: ignore[no-untyped-def]
    golden("vm/qemu-command", " \\\n  ".join(qemu.qemu_argv("qemu-system-x86_64", machine())) + "\n")
    console = qemu.qemu_argv(
        "qemu", machine(console_log=None, keep_changes=True, run_as="alice"), "-run-with"
    )
    assert console[console.index("-serial") + 1] == "mon:stdio" and "-snapshot" not in console
    assert console[-2:] == ["-run-with", "user=alice"]


def test_qemu_option_values_double_commas() -> None:
    assert qemu_option_value("/a,b,,c", "path") == "/a,,b,,,,c"
    with pytest.raises(ValueRejected):
        qemu_option_value("/a\nb", "path")


def test_9p_security_model_follows_who_runs_qemu() -> None:
    assert qemu.security_model(machine(privileged=True)) == "passthrough"  # root's VM: uids are the host's
    assert qemu.security_model(machine(privileged=True, run_as="alice")) == "none"
    assert qemu.security_model(machine()) == "none"


def test_master_boot_record() -> None:
    layout = DiskLayout(root_bytes=100 * 1024 * 1024)
    record = master_boot_record(layout, b"\xfa" * 440, b"\x01\x02\x03\x04")
    assert len(record) == 512 and record[510:] == b"\x55\xaa" and record[440:444] == b"\x01\x02\x03\x04"
    first, second = record[446:462], record[462:478]
    assert (
        first[0] == 0x80 and first[4] == 0x0E and int.from_bytes(first[8:12], "little") == BOOT_START // 512
    )
    assert int.from_bytes(first[12:16], "little") == BOOT_SIZE // 512
    assert second[4] == 0x83 and int.from_bytes(second[8:12], "little") * 512 == layout.root_start
    assert int.from_bytes(second[12:16], "little") * 512 == layout.root_bytes
    assert layout.total_bytes == layout.root_start + layout.root_bytes


def make_tree(tmp_path: Path, os_release: str) -> Path:
    tree = tmp_path / "tree"
    (tree / "usr" / "lib").mkdir(parents=True)
    (tree / "etc").mkdir()
    (tree / "usr" / "lib" / "os-release").write_text(os_release)
    (tree / "etc" / "os-release").symlink_to("/usr/lib/os-release")  # absolute: the image's, not the host's
    return tree


def test_the_suite_is_read_from_the_image(tmp_path: Path) -> None:
    tree = make_tree(
        tmp_path, 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nID=debian\nVERSION_CODENAME=bullseye\n'
    )
    assert debian_suite(tree, "img") == "bullseye"


@pytest.mark.parametrize(
    ("os_release", "said"),
    [
        ('ID=alpine\nPRETTY_NAME="Alpine Linux v3.19"\n', "Alpine Linux v3.19, not Debian"),
        ("ID=debian\nPRETTY_NAME=Debian\n", "names no release"),
        ("ID=debian\nVERSION_CODENAME='bad suite'\n", "names no release"),
    ],
)
def test_images_without_a_debian_suite_are_refused(tmp_path: Path, os_release: str, said: str) -> None:
    with pytest.raises(NoKernelForImage) as caught:
        debian_suite(make_tree(tmp_path, os_release), "img")
    assert said in str(caught.value) and caught.value.hint


def test_symlinks_in_the_image_never_reach_the_host(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "up").symlink_to("../../../../../../etc")
    (tree / "etc" / "passwd").write_text("image's\n")
    found = tree_path(tree, "/etc/up/passwd")
    assert found == tree / "etc" / "passwd"  # .. stops at the image's root, as in a chroot
    (tree / "loop").symlink_to("loop")
    assert tree_path(tree, "/loop/x") is None
    assert guest.stage_path(tree, "/etc/up/new") == tree / "etc" / "new"


def test_host_names_from_image_references() -> None:
    assert guest.hostname_for("localhost/lat/dev:2d6cbd54f6d5") == "lat-dev"
    assert guest.hostname_for("registry.example.org:5000/lat/release@sha256:ab") == "lat-release"
    assert guest.hostname_for("!!!") == "hepstack-vm"


def test_kvm_requested_but_unusable_is_an_error_with_a_hint() -> None:
    unusable = qemu.KvmStatus(False, "/dev/kvm is not open to you", "join the group kvm")
    with pytest.raises(HepstackError) as caught:
        qemu.choose_accelerator("kvm", unusable)
    assert "KVM is unusable here: /dev/kvm is not open to you" in str(caught.value)
    assert "join the group kvm" in (caught.value.hint or "") and "--accel" in (caught.value.hint or "")
    chosen = qemu.choose_accelerator("auto", unusable)
    assert chosen.name == "tcg" and "not open to you" in chosen.reason
    assert qemu.choose_accelerator("auto", qemu.KvmStatus(True, "KVM (kvm_intel)")).name == "kvm"
    with pytest.raises(HepstackError):
        qemu.choose_accelerator("hvf")


def test_kvm_checks(tmp_path: Path) -> None:
    assert "does not exist" in qemu.kvm_usable(tmp_path / "kvm").detail
    not_kvm = qemu.kvm_usable(Path("/dev/null"))  # opens, but is no KVM device
    assert not not_kvm.usable and "KVM_GET_API_VERSION" in not_kvm.detail
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        modules = tmp_path / "modules"
        (modules / "kvm_pvm").mkdir(parents=True)
        pvm = qemu.kvm_usable(Path("/dev/kvm"), modules)
        assert not pvm.usable and "PVM" in pvm.detail
        (modules / "kvm_intel").mkdir()
        assert qemu.kvm_usable(Path("/dev/kvm"), modules).usable


def test_a_raw_disk_is_copied_with_its_holes(tmp_path: Path) -> None:
    from hepstack.vm.image import copy_sparse

    source = tmp_path / "disk.raw"
    with source.open("wb") as disk:
        disk.write(b"MBR")
        disk.seek(64 * 1024 * 1024)
        disk.write(b"ext4")
        disk.truncate(128 * 1024 * 1024)
    target = tmp_path / "copy.raw"
    with source.open("rb") as reading, target.open("wb") as writing:
        copy_sparse(reading, writing)
    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_blocks * 512 < 8 * 1024 * 1024  # 128 MiB long, a few blocks stored


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--memory", "12MiB"], "--memory 12MiB is less than 256 MiB"),
        (["--memory", "lots"], "bad size 'lots'"),
        (["--share", "/nonexistent-share"], "/nonexistent-share does not exist"),
        (["--share", "/etc/hostname"], "/etc/hostname is not a directory"),
        (["--share", "/tmp:/data", "--share", "/var/tmp:/data"], "two --share options name the same path"),
        (["--share", "/tmp:/proc"], "is where the VM's own file systems are"),
        (["--env", "A B=1"], "bad --env"),
        (["--accel", "hvf"], "unknown accelerator 'hvf'"),
        (["--keep-changes"], "--keep-changes writes to a disk file"),
    ],
)
def test_bad_vm_run_options_are_refused_before_anything_runs(options: list[str], said: str) -> None:
    from tests.conftest import hepstack

    result = hepstack("vm", "run", *options, "lat/dev", "--", "true", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "\nhint: " in result.stderr, result.stderr
    assert said in result.stderr, result.stderr
