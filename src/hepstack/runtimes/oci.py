"""What podman and docker share as runtimes: the container's locked-down options, stop, image copies.

Both are OCI engines with their own store and almost the same ``run`` CLI; what differs (identity, docker's
/tmp and --init, podman's XDG_RUNTIME_DIR in jobs) stays in ``podman.py`` and ``docker.py``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from hepstack import proc
from hepstack.context import Context
from hepstack.names import registry_host
from hepstack.quoting import bash_word, mount_option_value
from hepstack.runtimes.base import RunRequest, Runtime

if TYPE_CHECKING:
    from hepstack.registry.entries import JobNodeCache


class EngineRuntime(Runtime):
    """A runtime that is a build engine's own store (``engine_name``): images built by the other engine
    are copied in once before a run; a run of its own images can be remembered (no files to watch)."""

    engine_name: str

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        ensure_in_engine(self.engine_name, request, context)
        return request

    def plan_files(self, request: RunRequest) -> list[str] | None:
        # an image copied from the other engine: each run checks the copy is still there
        return [] if request.engine == self.engine_name else None

    def job_stop(self, tool: str) -> list[str]:
        return engine_stop(tool)

    def job_image(
        self, request: RunRequest, cache: JobNodeCache, tool: str | None = None
    ) -> tuple[RunRequest, list[str]]:
        """An image from a registry is pulled into the user's store on the node by the first job that
        needs it, under a per-user, per-node lock the other jobs wait on (batch/templates/node_cache.sh,
        ``hepstack_store_image``): one pull per image per node, however many tasks start at once. The run
        itself keeps ``--pull=never``. A local name (``localhost/...``) must be in the node's store. The
        pull goes through the site's ``tool`` when it has one (``podman-hpc pull`` also readies its store)."""
        if registry_host(request.image) is None:
            return request, []
        words = ["hepstack_store_image", tool or self.binary(), request.image]
        return request, [" ".join(bash_word(word) for word in words)]


def engine_run_options(request: RunRequest) -> list[str]:
    """Options podman and docker share: a locked-down, throwaway container on the host network."""
    options = [
        "--rm",
        "--pull=never",
        "--read-only",
        "--security-opt=no-new-privileges",
        "--cap-drop=all",
        "--network=host",
    ]
    if request.tty:
        options += ["--interactive", "--tty"]
    for bind in request.mounted_binds():  # --bind's, then --secret's (read-only)
        source = mount_option_value(bind.source, "bind source")
        target = mount_option_value(bind.target, "bind target")
        options += [
            "--mount",
            f"type=bind,source={source},target={target}" + (",readonly" if bind.read_only else ""),
        ]
    if request.workdir:
        options += ["--workdir", request.workdir]
    if request.container_name:
        options += ["--name", request.container_name]
    return options


def engine_stop(tool: str) -> list[str]:
    """podman/docker: stop the named container (SIGTERM, SIGKILL after 5 s), then remove it even if
    the stop failed (a container stuck "Stopping" under rootless podman is killed by ``rm -f``)."""
    from hepstack.quoting import bash_word

    engine = bash_word(tool)
    return [
        f'{engine} stop -t 5 "$HEPSTACK_CONTAINER" >/dev/null 2>&1',
        f'{engine} rm -f "$HEPSTACK_CONTAINER" >/dev/null 2>&1',
    ]


def ensure_in_engine(target_engine: str, request: RunRequest, context: Context) -> None:
    """Copy the image from the engine that built it (request.engine) into ``target_engine`` if needed.

    Only called when the two differ, so a plain run costs no extra engine call.
    """
    if request.engine == target_engine:
        return
    import tempfile

    from hepstack.build.engines import get_engine

    target, source = get_engine(target_engine), get_engine(request.engine)
    if target.has_image(request.image):
        return
    print(f"hepstack: copying {request.image} from {source.name} to {target.name} (once)", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=context.cache_path(), prefix="transfer-") as scratch:
        archive = f"{scratch}/image.tar"
        proc.run(
            [source.binary(), "save", "--output", archive, request.image],
            hint=f"is {request.image} in the {source.name} store? see `hepstack images`",
        )
        proc.run([target.binary(), "load", "--input", archive])
