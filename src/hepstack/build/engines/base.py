"""What a build engine offers hepstack. Methods return argv lists or parse output; they run nothing."""

from __future__ import annotations

import json
from abc import ABC
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc


@dataclass(frozen=True)
class ImageInfo:
    reference: str
    image_id: str
    size: int | None  # bytes; None when the engine does not say
    tags: tuple[str, ...] = ()  # every tag of this image, e.g. the friendly :latest


@dataclass(frozen=True)
class BuildRequest:
    containerfile: Path
    context: Path
    tags: list[str]
    labels: Mapping[str, str]
    secrets: Mapping[str, Path]
    no_cache: bool = False
    timestamp: int | None = None  # locked builds: SOURCE_DATE_EPOCH for image, history and file times


class Engine(proc.Tool, ABC):
    """A container engine hepstack builds with (podman, docker)."""

    role = "engine"
    skopeo_transport: str  # how skopeo names this engine's store: containers-storage, docker-daemon

    def build_env(self, request: BuildRequest) -> dict[str, str]:
        """Extra environment for the build command."""
        return {}

    # Engine-specific options right after `build` (podman: layer cache, pull policy).
    build_options: tuple[str, ...] = ()

    # The option that sets the image's creation time, its history's and every committed file's mtime to a
    # given epoch (reproducible images); None when the engine has none (docker 20.10: docs/releases.md).
    timestamp_option: str | None = None

    def build_argv(self, request: BuildRequest) -> list[str]:
        """`build` on the host network, with tags, labels and per-step secrets."""
        argv = [
            self.binary(),
            "build",
            "--network=host",
            *self.build_options,
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
        if request.timestamp is not None and self.timestamp_option is not None:
            argv.append(f"{self.timestamp_option}={int(request.timestamp)}")
        return [*argv, str(request.context)]

    # `info --format` template printing the directory of the engine's image store (prune measures it).
    store_root_format = "{{.Store.GraphRoot}}"

    def inspect_images_argv(self, references: list[str]) -> list[str]:
        """One call that tells which of ``references`` exist, with id, size and tags. It exits non-zero
        when some are missing and still prints the others (podman and docker alike)."""
        return [
            self.binary(),
            "image",
            "inspect",
            "--format",
            "{{.Id}}\t{{.Size}}\t{{json .RepoTags}}",
            *references,
        ]

    def parse_inspected(self, stdout: str, references: list[str]) -> dict[str, ImageInfo]:
        wanted = set(references)
        found: dict[str, ImageInfo] = {}
        for line in stdout.splitlines():
            image_id, _, rest = line.partition("\t")
            size, _, tags = rest.partition("\t")
            if not tags:
                continue
            image_id = image_id if image_id.startswith("sha256:") else f"sha256:{image_id}"
            all_tags = tuple(json.loads(tags) or [])
            for tag in all_tags:
                if tag in wanted:
                    found[tag] = ImageInfo(tag, image_id, int(size) if size.isdigit() else None, all_tags)
        return found

    def import_argv(self, tarball: Path, reference: str) -> list[str]:
        return [self.binary(), "import", str(tarball), reference]

    def tag_argv(self, source: str, target: str) -> list[str]:
        return [self.binary(), "tag", source, target]

    def inspect_argv(self, reference: str) -> list[str]:
        return [self.binary(), "image", "inspect", reference]

    def has_image(self, reference: str) -> bool:
        """Whether this engine's store holds ``reference`` (asks the engine's CLI)."""
        found = proc.run([*self.inspect_argv(reference)[:-1], "--format", "{{.Id}}", reference], check=False)
        return found.returncode == 0

    def create_argv(self, reference: str) -> list[str]:
        """Create (not start) a container, to export its filesystem; prints the container id."""
        return [self.binary(), "create", reference, "/bin/true"]

    def export_argv(self, container: str, tarball: Path) -> list[str]:
        return [self.binary(), "export", "--output", str(tarball), container]

    def remove_container_argv(self, container: str) -> list[str]:
        return [self.binary(), "rm", "--force", container]

    def history_argv(self, reference: str) -> list[str]:
        return [self.binary(), "history", "--no-trunc", "--format", "{{.CreatedBy}}", reference]

    def save_argv(self, reference: str, tarball: Path) -> list[str]:
        return [self.binary(), "save", "--output", str(tarball), reference]
