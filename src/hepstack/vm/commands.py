"""`hepstack vm run` as a library call: parse the options, find or make the disk, boot it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from hepstack.runtimes.base import Bind, parse_env
from hepstack.vm import qemu, session
from hepstack.vm.guest import Account
from hepstack.vm.image import Disk, cached_disk, disk_format_of

MIB = 1024 * 1024


def memory_mib(text: str) -> int:
    from hepstack.registry.cache import parse_size

    size = parse_size(text)
    if size < 256 * MIB:
        raise HepstackError(
            f"--memory {text} is less than 256 MiB", hint="a VM needs at least 256MiB; 2GiB is the default"
        )
    return size // MIB


def parse_shares(items: list[str]) -> tuple[qemu.Share, ...]:
    """``--share DIR[:PATH][:ro]`` through the one bind parser; each source must be a directory."""
    shares = []
    for item in items:
        bind = Bind.parse(item)
        if not Path(bind.source).is_dir():
            raise HepstackError(f"--share {item}: {bind.source} is not a directory", hint="share a directory")
        shares.append(qemu.Share(bind.source, session.check_target(bind.target), bind.read_only))
    targets = [share.target for share in shares]
    if len(set(targets)) != len(targets):
        raise HepstackError(
            "two --share options name the same path in the VM", hint="give each its own PATH_IN_VM"
        )
    return tuple(shares)


def find_disk(image: str, context: Context, engine: str | None, keep_changes: bool) -> Disk:
    candidate = Path(image)
    invoker = invoking_user()
    if candidate.is_file():
        return Disk(candidate.absolute(), disk_format_of(candidate), str(candidate))
    if keep_changes:
        raise HepstackError(
            "--keep-changes writes to a disk file, and an image's disk is hepstack's cache",
            hint=f"hepstack export {image} --format qcow2 --output dev.qcow2, then vm run dev.qcow2",
        )
    if "/" not in image and image.endswith((".qcow2", ".raw", ".img")):
        raise HepstackError(
            f"no disk file {image}", hint="make one with hepstack export IMAGE --format qcow2"
        )
    from hepstack.catalog.resolve import resolve_image

    resolved = resolve_image(image, context, engine=engine)
    return cached_disk(resolved.reference, resolved.engine, resolved.image_id, context, invoker)


def vm_run(
    image: str,
    command: list[str],
    *,
    shares: list[str],
    env: list[str],
    workdir: str | None,
    accel: str,
    cpus: int,
    memory: str,
    as_root: bool,
    keep_changes: bool,
    boot_timeout: float,
    engine: str | None,
) -> int:
    """Boot the VM of ``image`` and return the command's exit status."""
    context = Context.from_environment()
    parsed_shares = parse_shares(shares)
    variables = tuple(parse_env(env).items())
    if workdir is not None:
        workdir = session.check_target(workdir)
    else:
        workdir = session.workdir_for(str(Path.cwd()), parsed_shares)
    accelerator = qemu.choose_accelerator(accel)
    megabytes = memory_mib(memory)
    qemu.require_qemu()  # before making a disk: a missing QEMU is said at once
    disk = find_disk(image, context, engine, keep_changes)
    size = shutil.get_terminal_size(fallback=(0, 0))
    request = session.Session(
        account=Account.of(invoking_user()),
        command=tuple(command),
        shares=parsed_shares,
        workdir=workdir,
        env=variables,
        as_root=as_root,
        terminal=os.environ.get("TERM", "linux") if sys.stdin.isatty() else "dumb",
        rows=size.lines or None,
        columns=size.columns or None,
    )
    return session.boot(
        disk.path,
        disk.disk_format,
        request,
        accelerator=accelerator,
        invoker=invoking_user(),
        label=disk.label,
        cpus=cpus,
        memory_mib=megabytes,
        keep_changes=keep_changes,
        boot_timeout=boot_timeout,
    )
