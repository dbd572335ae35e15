"""podman: rootless with --userns=keep-id, rootful with --user uid:gid; read-only root, host network."""

from __future__ import annotations

import sys

from hepstack import proc
from hepstack.context import Context
from hepstack.quoting import mount_option_value
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command


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


class PodmanRuntime(Runtime):
    name = "podman"
    tool = "podman"
    engine_name = "podman"
    install_hint = "apt-get install podman runc uidmap (or run scripts/setup-host.sh)"
    privilege_model = (
        "no daemon; rootless through user namespaces (setuid newuidmap/newgidmap, "
        "/etc/subuid ranges), or run by root"
    )
    runs_as_user = "yes: --userns=keep-id rootless, --user UID:GID when root starts it"
    batch_systems = "every scheduler: the job script execs podman (SLURM and SGE here; podman-hpc at NERSC)"
    image_formats = "OCI and Docker images in containers-storage; oci-archive and docker-archive files"
    image_caching = "the user's own store (~/.local/share/containers), layers shared between images"
    site_install = "podman, uidmap and /etc/subuid+/etc/subgid ranges for every user on every node"

    def argv(self, request: RunRequest) -> list[str]:
        identity = ["--user", request.user.user_group] if request.user.privileged else ["--userns=keep-id"]
        return [
            self.binary(),
            "run",
            *engine_run_options(request),
            *identity,
            request.image,
            *login_command(request),
        ]

    def job_stop(self, tool: str) -> list[str]:
        return engine_stop(tool)

    def job_setup(self, request: RunRequest) -> list[str]:
        # Rootless podman without XDG_RUNTIME_DIR keeps its runtime state (runc's, conmon's) under
        # $TMPDIR, which SGE points at a per-job directory it deletes when the job ends: the container
        # then cannot be stopped any more ("Stopping" for ever). Keep it where it outlives the job.
        return ['[ -n "${XDG_RUNTIME_DIR:-}" ] || export XDG_RUNTIME_DIR="/tmp/podman-run-$(id -u)"']

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        ensure_in_engine("podman", request, context)
        return request

    def plan_files(self, request: RunRequest) -> list[str] | None:
        return [] if request.engine == "podman" else None  # else each run checks the copy is still there

    def availability(self) -> Availability:
        basic = super().availability()
        if not basic.works:
            return basic
        info = proc.run(
            [self.binary(), "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}"],
            check=False,
            timeout=60,
        )
        if info.returncode != 0:
            return Availability(
                False, "podman info failed: " + (info.stderr.strip().splitlines() or ["?"])[-1]
            )
        return Availability(True, f"runtime/cgroups: {info.stdout.strip()}")
