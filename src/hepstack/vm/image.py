"""From an image (``STACK/LAYER`` or an engine reference) to a VM disk: for ``hepstack export --format
qcow2|raw`` and for ``hepstack vm run``, which keeps the disks it makes in ``CACHE_DIR/vm/disk``.

A disk depends on the image, the developer account (it is the invoking user's), the suite's kernel and
hepstack's VM format; its cache key hashes all four.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.private import open_exclusive
from hepstack.vm import guest
from hepstack.vm.disk import DEFAULT_FREE, FORMATS, make_disk
from hepstack.vm.kernel import kernel_bundle
from hepstack.vm.suite import debian_suite

VM_FORMAT = 1  # bump when what a disk holds changes: cached disks are then made again
QCOW2_MAGIC = b"QFI\xfb"


@dataclass(frozen=True)
class Disk:
    path: Path
    disk_format: str
    label: str


def disk_format_of(path: Path) -> str:
    """qcow2 (by its magic number) or raw."""
    with path.open("rb") as disk:
        return "qcow2" if disk.read(4) == QCOW2_MAGIC else "raw"


def _unpacked(reference: str, engine: str, image_id: str | None, context: Context) -> Path:
    from hepstack.registry.convert import cached_image

    return cached_image(reference, engine, "charliecloud", context, image_id=image_id)


def build_disk(
    reference: str,
    engine: str,
    image_id: str | None,
    output: Path,
    disk_format: str,
    context: Context,
    invoker: Invoker,
    free_bytes: int = DEFAULT_FREE,
) -> Path:
    """The disk of ``reference`` written to ``output`` (which must not exist), mode 0644."""
    if disk_format not in FORMATS:
        raise HepstackError(f"unknown disk format {disk_format!r}", hint=f"one of {', '.join(FORMATS)}")
    tree = _unpacked(reference, engine, image_id, context)
    bundle = kernel_bundle(debian_suite(tree, reference), context)
    account = guest.Account.of(invoker)
    work = Path(_work_directory(context))
    try:
        made = work / f"disk.{disk_format}"
        make_disk(
            tree,
            bundle,
            account,
            guest.hostname_for(reference),
            made,
            disk_format,
            work=work,
            free_bytes=free_bytes,
        )
        _place(made, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return output


def _work_directory(context: Context) -> str:
    import tempfile

    return tempfile.mkdtemp(dir=context.cache_path("vm", "work"), prefix="build-")


def _place(made: Path, output: Path) -> None:
    """``made`` at ``output``: renamed when on one file system, else copied under a fresh exclusive name
    next to it and renamed, so a reader never sees half a disk and nothing planted is written through."""
    output.parent.mkdir(parents=True, exist_ok=True)
    made.chmod(0o644)  # an export is for whoever boots it
    try:
        if output.exists() or output.is_symlink():
            raise HepstackError(f"{output} exists", hint="remove it or choose another --output")
        made.rename(output)
        return
    except OSError:
        pass
    descriptor, partial = open_exclusive(str(output), 0o644)
    with open(descriptor, "wb") as copy, made.open("rb") as source:
        copy_sparse(source, copy)
    Path(partial).rename(output)


def copy_sparse(source: BinaryIO, target: BinaryIO, block: int = 1024 * 1024) -> None:
    """Copy a disk, skipping (seeking over) blocks of zeros: a raw disk is mostly holes."""
    zeros = bytes(block)
    while chunk := source.read(block):
        if chunk == zeros[: len(chunk)]:
            target.seek(len(chunk), os.SEEK_CUR)
        else:
            target.write(chunk)
    target.truncate()


def cached_disk(
    reference: str, engine: str, image_id: str | None, context: Context, invoker: Invoker
) -> Disk:
    """The qcow2 disk of ``reference`` for ``invoker`` from ``CACHE_DIR/vm/disk``, made the first time."""
    from hepstack.registry.cache import NodeCache
    from hepstack.registry.convert import image_id_of

    image_id = image_id or image_id_of(reference, engine)
    account = guest.Account.of(invoker)
    tree = _unpacked(reference, engine, image_id, context)
    suite = debian_suite(tree, reference)
    bundle = kernel_bundle(suite, context)
    key = hashlib.sha256(
        f"{VM_FORMAT}\n{image_id}\n{account.name}:{account.uid}:{account.gid}\n{suite}:{bundle.release}".encode()
    ).hexdigest()[:40]

    def convert(scratch: Path) -> None:
        scratch.mkdir()
        build_disk(reference, engine, image_id, scratch / "disk.qcow2", "qcow2", context, invoker)

    cache = NodeCache(context.cache_path("vm"))
    entry = cache.get("disk", key, convert, reference)
    cache.release()
    return Disk(entry / "disk.qcow2", "qcow2", reference)
