"""docker: --user uid:gid of the invoking user; read-only root with a private /tmp; host network."""

from __future__ import annotations

from hepstack import proc
from hepstack.context import Context
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command
from hepstack.runtimes.podman import engine_run_options, engine_stop, ensure_in_engine


class DockerRuntime(Runtime):
    name = "docker"
    tool = "docker"
    engine_name = "docker"
    install_hint = proc.DOCKER_INSTALL_HINT
    privilege_model = "root daemon (dockerd); the docker group is root-equivalent"
    runs_as_user = "only because hepstack passes --user UID:GID (the daemon's default is root)"
    batch_systems = "every scheduler where dockerd runs on the nodes (LSF + Docker at SLAC)"
    image_formats = "OCI and Docker images in the daemon's store; docker-archive files"
    image_caching = "one store per node, owned by root, shared by every user"
    site_install = "dockerd running as root on every node; users in the docker group"

    def binary(self) -> str:
        return proc.docker_binary()

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

    def job_stop(self, tool: str) -> list[str]:
        return engine_stop(tool)

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        ensure_in_engine("docker", request, context)
        return request

    def plan_files(self, request: RunRequest) -> list[str] | None:
        return [] if request.engine == "docker" else None  # else each run checks the copy is still there

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
