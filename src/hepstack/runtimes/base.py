"""What every runtime shares: the run request, binds, and the login-profile wrapper.

A runtime's ``argv`` is pure (golden-tested); ``prepare`` does any I/O a runtime needs first
(Charliecloud unpacks the image into its cache).
"""

from __future__ import annotations

import os
import shlex
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.names import ENV_NAME, VARIABLE_REFERENCE, is_image_reference
from hepstack.quoting import argument, check_text, job_variable, reject, shown
from hepstack.runtimes.secret_files import Secret, secret_variable

if TYPE_CHECKING:  # not at run time: it would load the cache code
    from hepstack.registry.entries import JobNodeCache
# The command runs under a login shell, so /etc/profile and /etc/profile.d/* (where layers put their
# `profile`) are sourced, as the seeds' images did; explicit --env values are applied after the
# profile by env(1), so they win over anything a profile sets.
LOGIN_SCRIPT = 'exec env "$@"'
WRAPPER_NAME = "hepstack"


@dataclass(frozen=True)
class Bind:
    """A host path seen at ``target`` in the container; checked when made, wherever it comes from.

    The one bind parser is :meth:`parse` (``--bind`` and site files). Each runtime then writes the
    bind with its format's quoting function (hepstack.quoting: mount options, ``SRC:DST`` fields).
    A ``source`` may hold job-time variables (a site's ``$SCRATCH``, see :func:`quoting.job_variable`).
    """

    source: str
    target: str
    read_only: bool = False

    def __post_init__(self) -> None:
        check_text(self.source, "bind source", job_variables=True)
        if ":" in self.source:
            reject(self.source, "bind source", "contains ':'", "binds are SRC:DST[:ro]; rename the path")
        check_container_path(self.target, "bind target")

    @classmethod
    def parse(cls, text: str, *, job_variables: bool = False) -> Bind:
        """``SRC:DST[:ro|rw]`` (or ``SRC`` for the same path inside).

        With ``job_variables`` (a site's binds), ``$VAR`` or ``${VAR}`` in SRC stays a variable that the
        job expands on the compute node, and SRC is not looked for on this host; otherwise SRC must exist.
        """
        check_text(text, "--bind", hint="write SRC:DST, SRC:DST:ro or SRC:DST:rw")
        parts = text.split(":")
        mode = "rw"
        if len(parts) == 3:
            mode = parts.pop()
        if len(parts) > 2 or mode not in {"ro", "rw"} or not all(parts):
            raise HepstackError(f"bad --bind {text!r}", hint="write SRC:DST, SRC:DST:ro or SRC:DST:rw")
        target = parts[1] if len(parts) == 2 else None
        if job_variables:
            if not parts[0].startswith(("/", "$")):
                reject(parts[0], "bind source", "is not absolute", "write /path or $VARIABLE/path")
            source = VARIABLE_REFERENCE.sub(lambda match: job_variable(match[1] or match[2]), parts[0])
            target = target or parts[0]
            if VARIABLE_REFERENCE.search(target):
                reject(target, "bind target", "names a variable", "write the path inside the container")
        else:
            source = str(Path(parts[0]).absolute())
            target = target or source
        if not target.startswith("/"):
            raise HepstackError(
                f"bad --bind {text!r}: the target {target!r} must be an absolute path",
                hint="write SRC:/path/in/container",
            )
        bind = cls(source, target, mode == "ro")
        if not job_variables and not Path(source).exists():
            raise HepstackError(
                f"bad --bind {text!r}: {source} does not exist",
                hint="create it first; hepstack never creates bind sources for you",
            )
        return bind

    def __str__(self) -> str:
        return f"{self.source}:{self.target}{':ro' if self.read_only else ''}"


def check_container_path(path: str, what: str) -> str:
    """An absolute path inside the container without ``..``: a runtime that creates mount points or
    the working directory in an image tree (Charliecloud) must never reach outside it."""
    check_text(path, what)
    if not path.startswith("/"):
        reject(path, what, "is not an absolute path", "write an absolute path inside the container")
    if ".." in path.split("/"):
        reject(path, what, "contains '..'", "write the path inside the container without '..'")
    return path


def check_image(image: str) -> str:
    """What a runtime can be given as its image: an OCI reference (localhost/lat/release:1.0), an
    absolute path (a SIF or SquashFS file, an unpacked tree) or a reference with the transport prefix
    apptainer or Shifter read (``docker://``, ``oras://``, ``docker:``, ...)."""
    check_text(image, "image")
    if image.startswith("/"):
        return image
    for prefix in REFERENCE_TRANSPORTS:
        if image.startswith(prefix) and is_image_reference(image.removeprefix(prefix)):
            return image
    for prefix in PATH_TRANSPORTS:
        if image.startswith(prefix) and image.removeprefix(prefix):
            return image
    if not is_image_reference(image):
        reject(
            image,
            "image",
            "is neither an image reference nor an absolute path",
            "give STACK/LAYER, a reference such as localhost/lat/release:1.0 (lower-case repository, "
            "tag of letters, digits, '_', '.', '-') or the absolute path of an image file or directory",
        )
    return image


# Prefixes apptainer (apptainer-exec(1)) and Shifter (docker:REPO:TAG) put before a reference or a path.
REFERENCE_TRANSPORTS = ("docker://", "oras://", "docker:")
PATH_TRANSPORTS = ("library://", "shub://", "docker-archive:", "oci-archive:")


def parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not ENV_NAME.match(name):
            raise HepstackError(
                f"bad --env {shown(item)}", hint="write NAME=VALUE, NAME of letters, digits and '_'"
            )
        env[name] = argument(value, f"--env {name}")
    return env


def check_environment(env: Mapping[str, str], what: str) -> None:
    """Names env(1) takes as assignments (never as options), values an argv can hold."""
    for name, value in env.items():
        if not ENV_NAME.match(name):
            reject(name, f"{what} name", "is not a variable name", "use letters, digits and '_'")
        argument(value, f"{what} {name}")


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
    # A batch task's container name (a job-time variable, validated by the job script): what the task's
    # trap and watcher stop on cancel (docs/cancel.md). None outside batch jobs.
    container_name: str | None = None
    secrets: list[Secret] = field(default_factory=list)  # --secret NAME=FILE: runtimes bind them

    def __post_init__(self) -> None:
        check_image(self.image)
        names = [secret.name for secret in self.secrets]
        if len(set(names)) != len(names):
            raise HepstackError("a secret name is given twice", hint="give each --secret NAME once")
        for word in self.command:
            argument(word, "command argument")
        check_environment(self.env, "--env")
        check_environment(self.image_env, "image env")
        if self.workdir is not None:
            check_container_path(self.workdir, "--workdir")

    def with_image(self, image: str, cache_entry: str | None = None) -> RunRequest:
        return replace(self, image=image, cache_entry=cache_entry)

    def mounted_binds(self, *, secrets_read_only: bool = True) -> list[Bind]:
        """What a container runtime binds: ``binds``, then each secret's file at /run/secrets/NAME."""
        files = [Bind(secret.source, secret.target, secrets_read_only) for secret in self.secrets]
        return [*self.binds, *files]

    def secret_assignments(self, *, in_image: bool = True) -> list[str]:
        """``HEPSTACK_SECRET_<NAME>=PATH`` per secret: the path the job reads it at, never the content."""
        return [f"{secret_variable(s.name)}={s.target if in_image else s.source}" for s in self.secrets]


def login_command(request: RunRequest) -> list[str]:
    """``/bin/sh -l -c 'exec env "$@"' hepstack K=V ... CMD ...``: profile first, explicit env last."""
    check_command(request)
    assignments = [f"{name}={value}" for name, value in request.env.items()]
    secrets = request.secret_assignments()
    return ["/bin/sh", "-l", "-c", LOGIN_SCRIPT, WRAPPER_NAME, *secrets, *assignments, *request.command]


def check_command(request: RunRequest) -> None:
    """A command, and not one that env(1) in the login wrapper would take for an assignment."""
    if not request.command:
        raise HepstackError("no command to run", hint="put the command after --, e.g. -- python3 -V")
    if "=" in request.command[0]:
        raise HepstackError(
            f"the command {request.command[0]!r} looks like an assignment",
            hint="use --env NAME=VALUE for environment variables",
        )
    if request.command[0].startswith("-"):
        raise HepstackError(
            f"the command {shown(request.command[0])} starts with '-', which env(1) would take as its option",
            hint="name the program first, e.g. -- python3 -V",
        )


@dataclass(frozen=True)
class Invocation:
    """A prepared request, the argv that runs it and the environment to start that argv with."""

    request: RunRequest
    argv: list[str]
    environment: dict[str, str]


@dataclass(frozen=True)
class Availability:
    works: bool
    detail: str


class Runtime(proc.Tool, ABC):
    """A way to run a command in an image (or natively), registered by name."""

    role = "runtime"
    # What `hepstack doctor --compare` and the dashboard's runtime page show (docs/inventory.md): how the
    # runtime gets its privileges, whose uid the job has, where images come from and what a site installs, as
    # this module's documentation (cited in each runtime's docstring) and its argv say.
    privilege_model: str = ""
    runs_as_user: str = ""
    batch_systems: str = ""
    image_formats: str = ""
    image_caching: str = ""
    site_install: str = ""
    # What callers outside this package may ask instead of switching on the runtime's name:
    in_image = True  # runs in an image (native: on the host, with the layer chain's env and profile)
    engine_name: str | None = None  # the build engine that is this runtime's own store (podman, docker)
    read_only_binds = True  # takes ':ro' binds (ch-run refuses them: every bind is read-write)
    image_is_a_path = False  # its argv names an unpacked tree or file, not an engine reference

    @abstractmethod
    def argv(self, request: RunRequest) -> list[str]:
        """The exact command line that runs ``request``; pure, no I/O beyond finding the tool."""

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        """Anything to do before ``argv`` (unpack an image, create mount points); default nothing."""
        return request

    def preview(self, request: RunRequest, context: Context) -> RunRequest:
        """``prepare`` without converting anything (`hepstack run --print`); default ``prepare``."""
        return self.prepare(request, context)

    def process_env(self, request: RunRequest) -> dict[str, str]:
        """Environment the runtime's own process needs (not the container's); default nothing."""
        return {}

    def command_line(self, request: RunRequest, context: Context) -> Invocation:
        """Prepare ``request``, then its argv and the full environment to start it with (this process's
        environment plus :meth:`process_env`): how ``run``, ``bench`` and ``doctor`` all start a runtime."""
        request = self.prepare(request, context)
        environment = dict(os.environ)
        environment.update(self.process_env(request))
        return Invocation(request, self.argv(request), environment)

    def plan_files(self, request: RunRequest) -> list[str] | None:
        """Files whose change must make `hepstack run` resolve ``request`` again, beyond those every run
        watches (hepstack.run.plan); None if its run cannot be remembered, the default."""
        return None

    # --- batch jobs: a job script execs the runtime directly (no Python in the job) -------------------

    def job_directives(self, request: RunRequest, scheduler: str) -> list[tuple[str, str]]:
        """Scheduler options this runtime needs, as (option, value), e.g. Shifter's ``--image`` on
        SLURM; the scheduler writes and quotes them like its own."""
        return []

    def job_image(
        self, request: RunRequest, cache: JobNodeCache, tool: str | None = None
    ) -> tuple[RunRequest, list[str]]:
        """The request as the job runs it and the commands that make its image ready on the node (a
        node-cache entry, batch/templates/node_cache.sh); ``tool`` is the site's drop-in for the runtime's
        command (podman-hpc), as in ``job_stop``. Default: the image as given, no commands."""
        return request, []

    def job_setup(self, request: RunRequest) -> list[str]:
        """Shell lines to run in the job before the container starts (e.g. ``shifterimg pull``)."""
        return []

    def job_stop(self, tool: str) -> list[str]:
        """Shell lines that stop the task's container, named ``$HEPSTACK_CONTAINER``, from outside it.

        Run by the job's signal trap and by its watcher (its own session: it outlives a SIGKILL of the
        job's process group). Default: none, for a payload that is a plain child of the job (ch-run,
        apptainer, native), which the signal reaches directly (docs/cancel.md).
        """
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
