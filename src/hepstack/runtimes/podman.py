"""podman: rootless with --userns=keep-id, rootful with --user uid:gid; read-only root, host network."""

from __future__ import annotations

from hepstack import proc
from hepstack.runtimes.base import Availability, RunRequest, login_command
from hepstack.runtimes.oci import EngineRuntime, engine_run_options


class PodmanRuntime(EngineRuntime):
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

    def job_setup(self, request: RunRequest) -> list[str]:
        # Rootless podman without XDG_RUNTIME_DIR keeps its runtime state (runc's, conmon's) under
        # $TMPDIR, which SGE points at a per-job directory it deletes when the job ends: the container
        # then cannot be stopped any more ("Stopping" for ever). Keep it where it outlives the job.
        return ['[ -n "${XDG_RUNTIME_DIR:-}" ] || export XDG_RUNTIME_DIR="/tmp/podman-run-$(id -u)"']

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
