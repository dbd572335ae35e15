"""docker: --user uid:gid of the invoking user; read-only root with a private /tmp; host network."""

from __future__ import annotations

from hepstack import proc
from hepstack.context import Context
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command
from hepstack.runtimes.podman import engine_run_options, ensure_in_engine


class DockerRuntime(Runtime):
    name = "docker"
    tool = "docker"
    install_hint = proc.DOCKER_INSTALL_HINT

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
            request.image,
            *login_command(request),
        ]

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
