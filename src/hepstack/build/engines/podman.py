"""podman: builds with --network=host; secrets are mounted per RUN step (``--secret``)."""

from __future__ import annotations

from hepstack.build.engines.base import Engine


class PodmanEngine(Engine):
    name = "podman"
    skopeo_transport = "containers-storage"
    tool = "podman"
    install_hint = "apt-get install podman runc (or run scripts/setup-host.sh)"
    build_options = ("--layers", "--pull=missing")
    # podman-build(1) --timestamp: "the created timestamp is always set to the time specified ... All files
    # committed to the layers of the image will be created with the timestamp" (podman >= 3.0).
    timestamp_option = "--timestamp"
