"""docker: BuildKit (for RUN --mount secrets and binds), --network=host."""

from __future__ import annotations

from hepstack import proc
from hepstack.build.engines.base import BuildRequest, Engine


class DockerEngine(proc.DockerClient, Engine):
    name = "docker"
    skopeo_transport = "docker-daemon"

    def has_image(self, reference: str) -> bool:
        # `hepstack run --runtime docker` asks this on every run of an image podman built. Starting the
        # docker client costs ~60 ms, a quarter of a container start; one request to the daemon's
        # socket costs ~1 ms. The client answers when the socket cannot (DOCKER_HOST=tcp://, no access).
        answer = daemon_has_image(reference)
        return super().has_image(reference) if answer is None else answer

    store_root_format = "{{.DockerRootDir}}"

    def build_env(self, request: BuildRequest) -> dict[str, str]:
        return {"DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}


def daemon_has_image(reference: str, environment: dict[str, str] | None = None) -> bool | None:
    """``GET /images/REF/json`` on the daemon's unix socket: True (200), False (404), None (ask the CLI)."""
    import os
    import socket
    from urllib.parse import quote

    environment = dict(os.environ) if environment is None else environment
    host = environment.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return None
    request = f"GET /images/{quote(reference, safe='/:@')}/json HTTP/1.0\r\nHost: docker\r\n\r\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(10)
            connection.connect(host.removeprefix("unix://"))
            connection.sendall(request.encode())
            status_line = connection.recv(64).split(b"\r\n", 1)[0].split()
    except OSError:
        return None
    status = status_line[1] if len(status_line) > 1 else b""
    return {b"200": True, b"404": False}.get(status)
