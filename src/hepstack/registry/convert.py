"""Images as local files: an unpacked tree, a SquashFS file, a SIF file; made through the node cache.

The tree is what ch-run runs (and the CVMFS "unpacked" pattern); SquashFS is what ch-run (through
squashfuse) and Shifter-style runtimes mount; SIF is Apptainer's format: a SquashFS partition in a SIF
container, made with siftool (https://github.com/apptainer/sif).
"""

from __future__ import annotations

import contextlib
import platform
import shlex
import stat
from pathlib import Path

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.private import write_atomically
from hepstack.registry.cache import NodeCache, cache_limit

COMPLETE_MARK = ".hepstack-unpacked"
SQUASHFS_NAME = "image.sqfs"
SIF_NAME = "image.sif"
MKSQUASHFS_HINT = "apt-get install squashfs-tools (or run scripts/setup-host.sh)"
SIFTOOL_HINT = "apt-get install siftool (or run scripts/setup-host.sh)"
# siftool add --partarch codes (siftool add --help).
SIF_ARCH = {"x86_64": "2", "i686": "1", "armv7l": "3", "aarch64": "4", "ppc64le": "6", "s390x": "11"}


def image_id_of(reference: str, engine_name: str) -> str:
    from hepstack.build.engines import get_engine

    engine = get_engine(engine_name)
    inspected = proc.run(
        [*engine.inspect_argv(reference)[:-1], "--format", "{{.Id}}", reference],
        hint=f"is {reference} in the {engine_name} store? see `hepstack images`",
    )
    image_id = inspected.stdout.strip()
    return image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"


def node_cache(context: Context) -> NodeCache:
    return NodeCache(context.node_cache, cache_limit(), context.cache_owner, context.node_cache_setting)


def cached_image(
    reference: str, engine_name: str, kind: str, context: Context, image_id: str | None = None
) -> Path:
    """The node-cache file or tree of ``reference`` in format ``kind`` (charliecloud | squashfs | sif)."""
    image_id = image_id or image_id_of(reference, engine_name)
    cache = node_cache(context)
    if kind == "charliecloud":
        return cache.get(kind, image_id, lambda scratch: unpack(engine_name, reference, scratch), reference)
    tree = cached_image(reference, engine_name, "charliecloud", context, image_id)
    if kind == "squashfs":
        convert = lambda scratch: make_squashfs(tree, scratch / SQUASHFS_NAME)  # noqa: E731
        return cache.get(kind, image_id, convert, reference) / SQUASHFS_NAME
    if kind == "sif":
        return cache.get(kind, image_id, lambda scratch: make_sif(tree, scratch), reference) / SIF_NAME
    raise ValueError(kind)


def unpack(engine_name: str, reference: str, target: Path) -> None:
    """Unpack the image's root filesystem into ``target`` (a new directory), with its environment."""
    from hepstack.build.engines import get_engine

    engine = get_engine(engine_name)
    target.mkdir(parents=True)
    container = proc.run(engine.create_argv(reference)).stdout.strip().splitlines()[-1]
    tarball = target.parent / f"{target.name}.tar"
    try:
        proc.run(engine.export_argv(container, tarball))
    finally:
        proc.run(engine.remove_container_argv(container), check=False)
    try:
        # GNU tar strips leading '/' and refuses '..' members; as root it must not keep image owners.
        proc.run(
            [
                "tar",
                "--extract",
                f"--file={tarball}",
                f"--directory={target}",
                "--no-same-owner",
                "--delay-directory-restore",
                "--exclude=./dev/*",
                "--exclude=dev/*",
            ]
        )
        proc.run(["chmod", "-R", "u+rwX", str(target)])  # so the cache can always be evicted
    finally:
        tarball.unlink(missing_ok=True)
    environment = proc.run(
        [
            *engine.inspect_argv(reference)[:-1],
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            reference,
        ]
    ).stdout
    write_runtime_metadata(target, [line for line in environment.splitlines() if "=" in line])
    write_atomically(str(target / COMPLETE_MARK), (reference + "\n").encode(), 0o644)


def write_runtime_metadata(tree: Path, environment: list[str]) -> None:
    """The image's environment where ch-run (``/ch/environment``) and Apptainer (``/.singularity.d``)
    read it.

    The tree is the image's: a ``/ch`` or ``/.singularity.d`` that is a symlink (to ``/etc``, say) must
    not make hepstack, perhaps root, write outside it. So each folder is checked to be a real one and
    each file is written atomically, which replaces a symlink instead of following it.
    """
    _image_folder(tree, "ch")
    text = "".join(f"{line}\n" for line in environment)
    write_atomically(str(tree / "ch" / "environment"), text.encode(), 0o644)
    # Apptainer sources /.singularity.d/env/*.sh and runs the action scripts (layout as `apptainer build`
    # writes it from a docker:// source); SIF files without them are not runnable.
    singularity = tree / ".singularity.d"
    for sub in ("env", "actions", "libs"):
        _image_folder(tree, ".singularity.d", sub)
    exports = "#!/bin/sh\n" + "".join(
        f"export {name}={shlex.quote(value)}\n"
        for name, _, value in (line.partition("=") for line in environment)
    )
    write_atomically(str(singularity / "env" / "90-environment.sh"), exports.encode(), 0o644)
    actions = {
        "exec": 'for script in /.singularity.d/env/*.sh; do [ -f "$script" ] && . "$script"; done\n'
        'exec "$@"\n',
        "run": 'exec /.singularity.d/actions/exec /.singularity.d/runscript "$@"\n',
        "shell": "exec /.singularity.d/actions/exec /bin/sh\n",
    }
    for name, body in actions.items():
        write_atomically(str(singularity / "actions" / name), ("#!/bin/sh\n" + body).encode(), 0o755)
    write_atomically(str(singularity / "runscript"), b'#!/bin/sh\nexec /bin/sh "$@"\n', 0o755)
    (tree / "singularity").unlink(missing_ok=True)
    (tree / "singularity").symlink_to(".singularity.d/runscript")


def _image_folder(tree: Path, *parts: str) -> None:
    """``tree/parts...`` as real directories of the tree (made if missing), never through a symlink."""
    folder = tree
    for part in parts:
        folder = folder / part
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        if not stat.S_ISDIR(folder.lstat().st_mode):
            raise HepstackError(
                f"the image has /{folder.relative_to(tree)} as a {_kind(folder)}, where hepstack writes the "
                "image's environment for ch-run and Apptainer",
                hint="build the image without it (ch-run reads /ch/environment, Apptainer /.singularity.d)",
            )


def _kind(path: Path) -> str:
    return "symlink" if path.is_symlink() else "file"


def make_squashfs(tree: Path, output: Path, compression: str = "lz4") -> None:
    """``mksquashfs`` of ``tree``. lz4 by default: made in ~2 s for a 350 MB image (gzip took 46 s here)."""
    mksquashfs = proc.require("mksquashfs", "a SquashFS image", MKSQUASHFS_HINT)
    output.parent.mkdir(parents=True, exist_ok=True)
    proc.run(
        [
            mksquashfs,
            str(tree),
            str(output),
            "-noappend",
            "-no-progress",
            "-quiet",
            "-comp",
            compression,
            "-all-root",  # files belong to whoever runs the container, not to the builder's uid
        ]
    )


def make_sif(tree: Path, scratch: Path) -> None:
    """A SIF file (``scratch/image.sif``) with ``tree`` as its primary SquashFS system partition."""
    siftool = proc.require("siftool", "a SIF image", SIFTOOL_HINT)
    scratch.mkdir(parents=True, exist_ok=True)
    partition = scratch / "rootfs.sqfs"
    # Apptainer reads gzip- or xz-compressed SquashFS in every version; lz4 only in newer ones.
    make_squashfs(tree, partition, compression="gzip")
    sif = scratch / SIF_NAME
    proc.run([siftool, "new", str(sif)])
    arch = SIF_ARCH.get(platform.machine(), "2")
    # datatype 4 = partition, parttype 2 = primary system, partfs 1 = SquashFS (siftool add --help).
    proc.run(
        [
            siftool,
            "add",
            "--datatype",
            "4",
            "--parttype",
            "2",
            "--partfs",
            "1",
            "--partarch",
            arch,
            str(sif),
            str(partition),
        ]
    )
    partition.unlink()
