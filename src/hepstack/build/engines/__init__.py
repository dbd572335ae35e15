"""Build engines, registered by name. A missing tool is reported only when its engine is chosen."""

from __future__ import annotations

from hepstack.build.engines.base import BuildRequest, Engine, ImageInfo
from hepstack.build.engines.docker import DockerEngine
from hepstack.build.engines.podman import PodmanEngine
from hepstack.errors import UnknownName

ENGINES: dict[str, type[Engine]] = {"podman": PodmanEngine, "docker": DockerEngine}


def get_engine(name: str) -> Engine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise UnknownName("engine", name, list(ENGINES)) from None


__all__ = [
    "ENGINES",
    "BuildRequest",
    "DockerEngine",
    "Engine",
    "ImageInfo",
    "PodmanEngine",
    "get_engine",
]
