"""docker: BuildKit (for RUN --mount secrets and binds), --network=host."""

from __future__ import annotations

from pathlib import Path

from hepstack import proc
from hepstack.build.engines.base import BuildRequest, Engine

# Debian's docker.io ships its client as /usr/bin/docker. Hosts may have another, newer client first
# on PATH (here /usr/local/bin/docker 28.x) whose `build` needs the buildx plugin the Debian engine
# lacks, so the engine's own client comes first. HEPSTACK_DOCKER overrides.
_CLIENT_CANDIDATES = ("/usr/bin/docker",)


def docker_binary(environment: dict[str, str] | None = None) -> str:
    import os

    environment = dict(os.environ) if environment is None else environment
    override = environment.get("HEPSTACK_DOCKER")
    if override:
        return override
    for candidate in _CLIENT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return proc.require("docker", "the docker engine", DockerEngine.install_hint)


class DockerEngine(Engine):
    name = "docker"
    tool = "docker"
    install_hint = "apt-get install docker.io and start dockerd (or run scripts/setup-host.sh)"

    def binary(self) -> str:
        return docker_binary()

    def build_env(self, request: BuildRequest) -> dict[str, str]:
        return {"DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}
