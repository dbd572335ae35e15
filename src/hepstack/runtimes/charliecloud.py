"""Charliecloud: ch-run on a directory unpacked from the engine image, from the per-node image cache.

The unpacked tree belongs to the invoking user, so ch-run needs no privileges; it is read-only
inside the container. Mount points for binds are made in the tree beforehand (ch-run cannot create
them in a read-only image). The tree comes from :mod:`hepstack.registry.cache` (one conversion per
node, atomic rename, LRU-bounded by HEPSTACK_CACHE_MAX). An IMAGE that is already a directory or a
SquashFS file (``hepstack export --format dir|squashfs``) is run as it is: ch-run 0.31 mounts SquashFS
itself through libsquashfuse (it needs /dev/fuse usable by the user).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.quoting import bind_field
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command
from hepstack.runtimes.job_cache import (
    cache_entry_command,
    engine_binary,
    image_key,
    mount_point_targets,
    mount_points_command,
)

if TYPE_CHECKING:
    from hepstack.registry.cache import JobNodeCache

SQUASHFS_SUFFIXES = (".sqfs", ".squashfs", ".sqsh")


class CharliecloudRuntime(Runtime):
    name = "charliecloud"
    tool = "ch-run"
    read_only_binds = False
    image_is_a_path = True
    install_hint = "apt-get install charliecloud-runtime (or run scripts/setup-host.sh)"
    privilege_model = "unprivileged user namespaces only: no setuid helper, no daemon"
    runs_as_user = "yes: ch-run keeps the user's uid (ch-run(1))"
    batch_systems = "every scheduler: the job script execs ch-run"
    image_formats = "unpacked directory trees; SquashFS files mounted through squashfuse"
    image_caching = (
        "hepstack's node cache: one tree per image id (HEPSTACK_NODE_CACHE, LRU, HEPSTACK_CACHE_MAX)"
    )
    site_install = "ch-run (charliecloud-runtime) and a kernel with unprivileged user namespaces"

    def argv(self, request: RunRequest) -> list[str]:
        argv = [self.binary(), "--unset-env=*", "--set-env", "--private-tmp"]
        # ch-run 0.31 has no read-only bind: a secret's file is bound read-write (it is the user's own)
        for bind in request.mounted_binds(secrets_read_only=False):
            if bind.read_only:
                raise HepstackError(
                    f"ch-run cannot bind {bind.source} read-only",
                    hint="Charliecloud binds are read-write; drop ':ro' or use another runtime",
                )
            source, target = bind_field(bind.source, "bind source"), bind_field(bind.target, "bind target")
            argv.append(f"--bind={source}:{target}")
        if request.workdir:
            argv.append(f"--cd={request.workdir}")
        return [*argv, request.image, "--", *login_command(request)]

    def job_setup(self, request: RunRequest) -> list[str]:
        # ch-run refuses to start without $USER (docs/host-facts.md); a batch job may not have it (root
        # under SGE, some sites' job environments): take it from the uid, not from the submitter.
        return ['[ -n "${USER:-}" ] || export USER="$(id -un)"']

    def process_env(self, request: RunRequest) -> dict[str, str]:
        return {"USER": request.user.name}  # ch-run refuses to start without $USER (docs/host-facts.md)

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        given = Path(request.image)
        if request.image.startswith("/") and given.is_file() and given.name.endswith(SQUASHFS_SUFFIXES):
            return request  # mount points for binds must already exist in a SquashFS image
        cache_entry = None
        if request.image.startswith("/") and given.is_dir():
            directory = given
        else:
            from hepstack.registry.convert import cached_image

            directory = cached_image(
                request.image, request.engine, "charliecloud", context, image_id=request.image_id
            )
            cache_entry = str(directory)
        targets = [bind.target for bind in request.binds] + ([request.workdir] if request.workdir else [])
        for target in targets:
            make_mount_point(directory, target)
        for secret in request.secrets:  # a file bind needs a file to mount on: an empty one
            make_mount_point(directory, secret.target.rsplit("/", 1)[0])
            with contextlib.suppress(OSError):  # there already; or a read-only tree: ch-run says so
                (directory / secret.target.lstrip("/")).touch(mode=0o600, exist_ok=False)
        return request.with_image(str(directory), cache_entry=cache_entry)

    def preview(self, request: RunRequest, context: Context) -> RunRequest:
        if request.image.startswith("/"):
            return self.prepare(request, context)  # no conversion: only the binds' mount points, checked
        from hepstack.registry.convert import node_cache

        entry = str(node_cache(context).lookup("charliecloud", image_key(request), request.image))
        return request.with_image(entry, cache_entry=entry)

    def job_image(
        self, request: RunRequest, cache: JobNodeCache, tool: str | None = None
    ) -> tuple[RunRequest, list[str]]:
        """A tree or SquashFS file given by path (a site's image_root) is run as it is; an engine or
        registry image is unpacked by the job into the node cache (once per node), then run from there."""
        targets = mount_point_targets(request)
        if request.image.startswith("/"):
            if request.image.endswith(SQUASHFS_SUFFIXES) or not targets:
                return request, []
            return request, [mount_points_command(request.image, targets)]
        from hepstack.registry.cache import entry_path

        entry = entry_path(cache.root, "charliecloud", image_key(request))
        converter = ["hepstack_unpack_engine", engine_binary(request), request.image]
        commands = [cache_entry_command("charliecloud", entry, request.image, cache, converter)]
        if targets:
            commands.append(mount_points_command(str(entry), targets))
        return request.with_image(str(entry), cache_entry=str(entry)), commands

    def plan_files(self, request: RunRequest) -> list[str] | None:
        return [request.image]  # converted again (a new inode) or replaced: resolve again

    def availability(self) -> Availability:
        basic = super().availability()
        if not basic.works:
            return basic
        for knob, bad in (
            ("/proc/sys/user/max_user_namespaces", "0"),
            ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        ):
            path = Path(knob)
            if path.exists() and path.read_text().strip() == bad:
                return Availability(False, f"user namespaces are off ({knob} = {bad})")
        return basic


def make_mount_point(tree: Path, target: str) -> None:
    """``target`` (an absolute path inside the image, without '..') as a directory of ``tree``.

    The image's own symlinks are followed as the kernel would on the host, so a link to ``/`` in the
    image must not make hepstack create directories outside ``tree``: each step is resolved and
    checked to stay inside. A read-only shared tree (CVMFS) without this mount point: ch-run then
    says so clearly.
    """
    root = tree.resolve()
    current = root
    for part in [piece for piece in target.split("/") if piece not in ("", ".")]:
        step = (current / part).resolve()
        if step != root and root not in step.parents:
            raise HepstackError(
                f"the mount point {target} leaves the image tree {tree} (through a symlink in the image)",
                hint="bind or work in a directory that is a real directory of the image",
            )
        with contextlib.suppress(OSError):
            step.mkdir(exist_ok=True)
        current = step
