"""podman: builds with --network=host; secrets are mounted per RUN step (``--secret``)."""

from __future__ import annotations

from hepstack.build.engines.base import BuildRequest, Engine


class PodmanEngine(Engine):
    name = "podman"
    tool = "podman"
    install_hint = "apt-get install podman runc (or run scripts/setup-host.sh)"

    def build_argv(self, request: BuildRequest) -> list[str]:
        argv = [
            self.binary(),
            "build",
            "--network=host",
            "--layers",
            "--pull=missing",
            "--file",
            str(request.containerfile),
        ]
        for tag in request.tags:
            argv += ["--tag", tag]
        for key, value in sorted(request.labels.items()):
            argv += ["--label", f"{key}={value}"]
        for secret_id, path in sorted(request.secrets.items()):
            argv += ["--secret", f"id={secret_id},src={path}"]
        if request.no_cache:
            argv.append("--no-cache")
        return [*argv, str(request.context)]
