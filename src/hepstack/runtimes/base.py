"""What every runtime shares: the run request, binds, and the login-profile wrapper.

A runtime's ``argv`` is pure (golden-tested); ``prepare`` does any I/O a runtime needs first
(Charliecloud unpacks the image into its cache).
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.names import ENV_NAME

# The command runs under a login shell, so /etc/profile and /etc/profile.d/* (where layers put their
# `profile`) are sourced, as the seeds' images did; explicit --env values are applied after the
# profile by env(1), so they win over anything a profile sets.
LOGIN_SCRIPT = 'exec env "$@"'
WRAPPER_NAME = "hepstack"


@dataclass(frozen=True)
class Bind:
    source: str
    target: str
    read_only: bool = False

    @classmethod
    def parse(cls, text: str) -> Bind:
        """``SRC:DST[:ro|rw]`` (or ``SRC`` for the same path inside)."""
        parts = text.split(":")
        mode = "rw"
        if len(parts) == 3:
            mode = parts.pop()
        if len(parts) > 2 or mode not in {"ro", "rw"} or not all(parts):
            raise HepstackError(f"bad --bind {text!r}", hint="write SRC:DST, SRC:DST:ro or SRC:DST:rw")
        source = str(Path(parts[0]).absolute())
        target = parts[1] if len(parts) == 2 else source
        if not target.startswith("/"):
            raise HepstackError(
                f"bad --bind {text!r}: the target {target!r} must be an absolute path",
                hint="write SRC:/path/in/container",
            )
        if not Path(source).exists():
            raise HepstackError(
                f"bad --bind {text!r}: {source} does not exist",
                hint="create it first; hepstack never creates bind sources for you",
            )
        return cls(source, target, mode == "ro")

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


def parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not ENV_NAME.match(name):
            raise HepstackError(f"bad --env {item!r}", hint="write NAME=VALUE, NAME a valid variable name")
        env[name] = value
    return env


@dataclass(frozen=True)
class RunRequest:
    """One command to run in one image as one user.

    ``image`` is an engine reference for podman/docker, an unpacked directory for Charliecloud
    (after ``prepare``), and only a label for native.
    """

    image: str
    command: list[str]
    user: Invoker
    binds: list[Bind] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str | None = None
    tty: bool = False
    image_env: Mapping[str, str] = field(default_factory=dict)  # native: the layer chain's `env`
    profiles: list[str] = field(default_factory=list)  # native: the layer chain's `profile` scripts
    image_id: str | None = None  # for caches keyed by image id
    engine: str = "podman"  # the engine that holds `image`
    cache_entry: str | None = None  # the node-cache entry `image` is (after `prepare`), held while it runs

    def with_image(self, image: str, cache_entry: str | None = None) -> RunRequest:
        return replace(self, image=image, cache_entry=cache_entry)


def login_command(request: RunRequest) -> list[str]:
    """``/bin/sh -l -c 'exec env "$@"' hepstack K=V ... CMD ...``: profile first, explicit env last."""
    check_command(request)
    assignments = [f"{name}={value}" for name, value in request.env.items()]
    return ["/bin/sh", "-l", "-c", LOGIN_SCRIPT, WRAPPER_NAME, *assignments, *request.command]


def check_command(request: RunRequest) -> None:
    """A command, and not one that env(1) in the login wrapper would take for an assignment."""
    if not request.command:
        raise HepstackError("no command to run", hint="put the command after --, e.g. -- python3 -V")
    if "=" in request.command[0]:
        raise HepstackError(
            f"the command {request.command[0]!r} looks like an assignment",
            hint="use --env NAME=VALUE for environment variables",
        )


@dataclass(frozen=True)
class Availability:
    works: bool
    detail: str


class Runtime(ABC):
    """A way to run a command in an image (or natively), registered by name."""

    name: str
    tool: str
    install_hint: str

    def binary(self) -> str:
        return proc.require(self.tool, f"the {self.name} runtime", self.install_hint)

    @abstractmethod
    def argv(self, request: RunRequest) -> list[str]:
        """The exact command line that runs ``request``; pure, no I/O beyond finding the tool."""

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        """Anything to do before ``argv`` (unpack an image, create mount points); default nothing."""
        return request

    def process_env(self, request: RunRequest) -> dict[str, str]:
        """Environment the runtime's own process needs (not the container's); default nothing."""
        return {}

    def plan_files(self, request: RunRequest) -> list[str] | None:
        """Files whose change must make `hepstack run` resolve ``request`` again, beyond those every run
        watches (hepstack.launch_plan); None if its run cannot be remembered, the default."""
        return None

    # --- batch jobs: a job script execs the runtime directly (no Python in the job) -------------------

    def job_preamble(self, request: RunRequest, scheduler: str) -> list[str]:
        """Scheduler directive lines this runtime needs, e.g. Shifter's ``#SBATCH --image=...``."""
        return []

    def job_setup(self, request: RunRequest) -> list[str]:
        """Shell lines to run in the job before the container starts (e.g. ``shifterimg pull``)."""
        return []

    def availability(self) -> Availability:
        """Whether this runtime works on this host and, if not, why (for `hepstack doctor`)."""
        path = proc.which(self.tool)
        if path is None:
            return Availability(False, f"'{self.tool}' not installed ({self.install_hint})")
        return Availability(True, path)


def shell_line(argv: list[str]) -> str:
    """``argv`` as one copy-pasteable shell line."""
    return shlex.join(argv)
