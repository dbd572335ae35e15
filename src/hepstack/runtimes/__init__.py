"""Runtimes, registered by name. A missing tool is reported only when its runtime is chosen."""

from __future__ import annotations

from hepstack.errors import UnknownName
from hepstack.runtimes.apptainer import ApptainerRuntime
from hepstack.runtimes.base import Availability, Bind, RunRequest, Runtime, parse_env, shell_line
from hepstack.runtimes.charliecloud import CharliecloudRuntime
from hepstack.runtimes.docker import DockerRuntime
from hepstack.runtimes.native import NativeRuntime
from hepstack.runtimes.podman import PodmanRuntime
from hepstack.runtimes.shifter import ShifterRuntime

RUNTIMES: dict[str, type[Runtime]] = {
    "native": NativeRuntime,
    "podman": PodmanRuntime,
    "docker": DockerRuntime,
    "charliecloud": CharliecloudRuntime,
    "apptainer": ApptainerRuntime,
    "shifter": ShifterRuntime,
}


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]()
    except KeyError:
        raise UnknownName("runtime", name, list(RUNTIMES)) from None


__all__ = [
    "RUNTIMES",
    "Availability",
    "Bind",
    "RunRequest",
    "Runtime",
    "get_runtime",
    "parse_env",
    "shell_line",
]
