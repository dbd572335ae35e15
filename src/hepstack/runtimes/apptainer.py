"""Apptainer (formerly Singularity): ``apptainer exec`` on a SIF file, ``docker://`` or ``oras://``.

Options follow the documented CLI (apptainer-exec(1), https://apptainer.org/docs/user/main/cli/apptainer_exec.html;
bind syntax https://apptainer.org/docs/user/latest/bind_paths_and_mounts.html):

- ``--containall``  contain file systems, PID, IPC and environment: no $HOME, private /tmp, as decision 4 asks
                    (only the binds that were asked for);
- ``--cleanenv``    start from a clean environment (the image's own env applies, then ours);
- ``--bind src:dst[:ro]`` one per bind (``ro``/``rw`` are the documented mount options);
- ``--pwd DIR``     initial working directory inside.

Explicit ``--env`` values go through the login wrapper (``env NAME=VALUE``) like every other runtime, not
through ``apptainer --env``: that flag is a comma-split list, so values containing commas would break, and the
wrapper guarantees they win over the image profile.

Apptainer runs as the invoking user by default and a SIF image is read-only, so no option is needed for
either. A local engine reference is converted to SIF through the node cache by ``prepare``; job scripts
should name a SIF path on a shared filesystem or a registry reference (``docker://``, ``oras://``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepstack import proc
from hepstack.context import Context
from hepstack.quoting import bind_field
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command
from hepstack.runtimes.job_cache import cache_entry_command, engine_binary, image_key, pinned_digest

if TYPE_CHECKING:
    from hepstack.registry.cache import JobNodeCache

# Image sources apptainer reads itself (apptainer-exec(1), "supports the following formats").
REMOTE_SCHEMES = ("docker://", "oras://", "library://", "shub://", "docker-archive:", "oci-archive:")
LOCAL_SUFFIXES = (".sif", ".sqsh", ".sqfs", ".squashfs", ".img")


def apptainer_source(image: str) -> str:
    """What apptainer is given: files, directories and URIs as they are; other names as ``docker://``."""
    if image.startswith(REMOTE_SCHEMES) or image.startswith("/") or image.endswith(LOCAL_SUFFIXES):
        return image
    return f"docker://{image}"


def is_local_engine_image(request: RunRequest) -> bool:
    """An image only the local engine has (built here, or named ``localhost/...``), not a registry's."""
    if apptainer_source(request.image) != f"docker://{request.image}":
        return False
    return request.image_id is not None or request.image.startswith("localhost/")


class ApptainerRuntime(Runtime):
    name = "apptainer"
    tool = "apptainer"
    install_hint = (
        "install Apptainer (https://apptainer.org/docs/admin/main/installation.html); it is not in "
        "Debian 12. Older sites ship it as 'singularity'."
    )
    privilege_model = "unprivileged user namespaces, or a setuid-root starter where the site installs one"
    runs_as_user = "yes: apptainer's default; --containall --cleanenv contain the rest"
    batch_systems = "every scheduler: the job script execs apptainer (UGE at CC-IN2P3, HTCondor on the grid)"
    image_formats = "SIF, SquashFS and sandbox directories; docker:// and oras:// converted to SIF"
    image_caching = "the user's APPTAINER_CACHEDIR for pulls; hepstack's node cache for SIFs it converts"
    site_install = "apptainer on every node (setuid starter optional)"

    def command_name(self) -> str:
        """``apptainer`` (or ``singularity``) where installed; the bare name for job scripts elsewhere."""
        return proc.which("apptainer") or proc.which("singularity") or "apptainer"

    def argv(self, request: RunRequest) -> list[str]:
        argv = [self.command_name(), "exec", "--containall", "--cleanenv"]
        for bind in request.mounted_binds():  # --bind's, then --secret's (read-only)
            source, target = bind_field(bind.source, "bind source"), bind_field(bind.target, "bind target")
            argv += ["--bind", f"{source}:{target}:{'ro' if bind.read_only else 'rw'}"]
        if request.workdir:
            argv += ["--pwd", request.workdir]
        return [*argv, apptainer_source(request.image), *login_command(request)]

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        if not is_local_engine_image(request):
            return request  # a SIF path or a registry reference: apptainer reads it itself
        self.binary()  # fail with the install hint before a conversion nobody can run
        from hepstack.registry.convert import cached_image

        # An image in the local engine: one SIF per image id, shared by every job on the node.
        sif = cached_image(request.image, request.engine, "sif", context, image_id=request.image_id)
        return request.with_image(str(sif))

    def preview(self, request: RunRequest, context: Context) -> RunRequest:
        if not is_local_engine_image(request):
            return request
        from hepstack.registry.convert import SIF_NAME, node_cache

        entry = node_cache(context).lookup("sif", image_key(request), request.image)
        return request.with_image(f"{entry}/{SIF_NAME}", cache_entry=str(entry))

    def job_image(
        self, request: RunRequest, cache: JobNodeCache, tool: str | None = None
    ) -> tuple[RunRequest, list[str]]:
        """A SIF built by the job into the node cache, once per node: ``apptainer build`` of a
        docker-archive the engine saves (an image of this host's store), or of ``docker://REPO@sha256:...``
        (a registry's, pinned by digest). SIF paths and other URIs are given to apptainer as they are."""
        source = apptainer_source(request.image)
        digest = pinned_digest(source) if source.startswith("docker://") else None
        if is_local_engine_image(request):
            engine = engine_binary(request)
            converter = ["hepstack_sif_from_engine", self.command_name(), engine, request.image]
        elif digest:
            converter = ["hepstack_sif_from_source", self.command_name(), source]
        else:
            return request, []
        from hepstack.registry.cache import entry_path
        from hepstack.registry.convert import SIF_NAME

        entry = entry_path(cache.root, "sif", image_key(request))
        command = cache_entry_command("sif", entry, request.image, cache, converter)
        return request.with_image(f"{entry}/{SIF_NAME}", cache_entry=str(entry)), [command]

    def binary(self) -> str:
        found = proc.which("apptainer") or proc.which("singularity")
        if found is None:
            return proc.require(self.tool, f"the {self.name} runtime", self.install_hint)
        return found

    def availability(self) -> Availability:
        found = proc.which("apptainer") or proc.which("singularity")
        if found is None:
            return Availability(False, f"'apptainer' (or 'singularity') not installed ({self.install_hint})")
        return Availability(True, found)
