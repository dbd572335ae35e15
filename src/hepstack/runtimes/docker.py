"""docker: --user uid:gid of the invoking user; read-only root with a private /tmp; host network."""

from __future__ import annotations

from hepstack import proc
from hepstack.runtimes.base import Availability, RunRequest, login_command
from hepstack.runtimes.oci import EngineRuntime, engine_run_options


class DockerRuntime(proc.DockerClient, EngineRuntime):
    name = "docker"
    engine_name = "docker"
    privilege_model = "root daemon (dockerd); the docker group is root-equivalent"
    runs_as_user = "only because hepstack passes --user UID:GID (the daemon's default is root)"
    batch_systems = "every scheduler where dockerd runs on the nodes (LSF + Docker at SLAC)"
    image_formats = "OCI and Docker images in the daemon's store; docker-archive files"
    image_caching = "one store per node, owned by root, shared by every user"
    site_install = "dockerd running as root on every node; users in the docker group"

    def argv(self, request: RunRequest) -> list[str]:
        # docker's --read-only, unlike podman's, leaves /tmp read-only too: give it a private tmpfs.
        return [
            self.binary(),
            "run",
            *engine_run_options(request),
            "--tmpfs",
            "/tmp:rw,nosuid,nodev,exec",
            "--user",
            request.user.user_group,
            # docker-init (tini) as PID 1: the payload then gets SIGTERM (a PID 1 without a handler
            # ignores it) and its zombies are reaped. Only in batch jobs, where stop must work.
            *(["--init"] if request.container_name else []),
            request.image,
            *login_command(request),
        ]

    def availability(self) -> Availability:
        if proc.which("docker") is None and proc.which("/usr/bin/docker") is None:
            return Availability(False, f"'docker' not installed ({self.install_hint})")
        info = proc.run(
            [self.binary(), "info", "--format", "{{.ServerVersion}} {{.CgroupDriver}}"],
            check=False,
            timeout=60,
        )
        if info.returncode != 0:
            reason = (info.stderr.strip().splitlines() or ["no answer"])[-1]
            return Availability(False, f"the docker engine does not answer: {reason}")
        return Availability(True, f"engine/cgroups: {info.stdout.strip()}")
