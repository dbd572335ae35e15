"""Runtimes, registered by name. A missing tool is reported only when its runtime is chosen.

Each runtime's module is imported when that runtime is asked for, so `hepstack run --runtime podman`
loads podman's and no other (start latency, benchmarks/run_overhead.py).
"""

from __future__ import annotations

from importlib import import_module

from hepstack.errors import UnknownName
from hepstack.runtimes.base import Availability, Bind, RunRequest, Runtime, parse_env, shell_line

# name -> "module:class", in the order `hepstack doctor` lists them
RUNTIMES: dict[str, str] = {
    "native": "hepstack.runtimes.native:NativeRuntime",
    "podman": "hepstack.runtimes.podman:PodmanRuntime",
    "docker": "hepstack.runtimes.docker:DockerRuntime",
    "charliecloud": "hepstack.runtimes.charliecloud:CharliecloudRuntime",
    "apptainer": "hepstack.runtimes.apptainer:ApptainerRuntime",
    "shifter": "hepstack.runtimes.shifter:ShifterRuntime",
}


def ran_on_host(name: str) -> bool:
    """Whether a recorded runtime name (provenance, a bench arm) ran on the host, outside any image."""
    return name in RUNTIMES and not get_runtime(name).in_image


def get_runtime(name: str) -> Runtime:
    try:
        module, _, class_name = RUNTIMES[name].partition(":")
    except KeyError:
        raise UnknownName("runtime", name, list(RUNTIMES)) from None
    runtime_class: type[Runtime] = getattr(import_module(module), class_name)
    return runtime_class()


__all__ = [
    "RUNTIMES",
    "Availability",
    "Bind",
    "RunRequest",
    "Runtime",
    "get_runtime",
    "parse_env",
    "ran_on_host",
    "shell_line",
]
