"""Site profiles: scheduler x runtime x binds x resources x environment, shipped as YAML data.

Shipped profiles live next to this module. Users add or override them with their own files:
``$HEPSTACK_SITES_PATH`` (a ``:``-separated list of directories), else ``~/.config/hepstack/sites``.
A user file with the same ``name`` as a shipped one replaces it. Errors name file, line and key.

>>> load_sites()["nersc"].scheduler                                            # doctest: +SKIP
'slurm'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hepstack.errors import LocatedErrors, SpecError
from hepstack.names import (
    COMMAND_NAME,
    ENV_NAME,
    LOGIN_HOST,
    LOGIN_HOST_RULE,
    NAME_PATTERN,
    NAME_RULE,
)
from hepstack.quoting import argument, check_text, reject
from hepstack.resources import MAX_CPUS, check_scheduler_name, duration_seconds, memory_mb
from hepstack.runtimes import Bind
from hepstack.runtimes.base import check_container_path
from hepstack.runtimes.secret_files import Secret, check_secret_name
from hepstack.spec.validation import checked, load_document

# Field checks: each the one check of its kind of value (hepstack.runtimes.Bind.parse for binds,
# hepstack.resources for resources), so a site file and the command line are held to the same rules.


def _check_bind(text: str) -> None:
    Bind.parse(text, job_variables=True)


def _check_env(env: dict[str, str]) -> None:
    for name, value in env.items():
        if not ENV_NAME.match(name):
            reject(
                name, "env name", "is not a variable name", "use letters, digits and '_', not first a digit"
            )
        argument(value, f"env {name}")


def _check_secrets(secrets: dict[str, str]) -> None:
    """Names and paths only: the files belong to whoever submits, so they are checked at submission."""
    for name, path in secrets.items():
        check_secret_name(name)
        check_text(path, f"secrets {name}")
        if not path.startswith(("/", "~/")):
            reject(path, f"secrets {name}", "is not an absolute path", "write /path/FILE or ~/path/FILE")


def _check_tool(text: str) -> None:
    if not COMMAND_NAME.match(text):
        reject(text, "runtime_tool", "is not a command", "write a command name or path, e.g. podman-hpc")


def _check_image_root(text: str) -> None:
    check_container_path(text, "image_root")


def _check_login_host(text: str) -> None:
    """An ssh destination, ``[USER@]HOST[:PORT]`` or a ~/.ssh/config alias; never an ssh option."""
    check_text(text, "login_host")
    match = LOGIN_HOST.match(text)
    if match is None:
        reject(text, "login_host", "is not an ssh destination", f"write {LOGIN_HOST_RULE}")
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        reject(text, "login_host", "has a port outside 1..65535", "write USER@HOST:PORT")


def _check_ssh_config(text: str) -> None:
    check_text(text, "ssh_config")
    if not text.startswith(("/", "~/")):
        reject(text, "ssh_config", "is not an absolute path", "write /path/to/config or ~/path")


Checked = Annotated[str, AfterValidator(checked(check_text, "value"))]


class SiteResources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpus: int | None = Field(default=None, ge=1, le=MAX_CPUS)
    memory: Annotated[str, AfterValidator(checked(memory_mb))] | None = None
    time: Annotated[str, AfterValidator(checked(duration_seconds))] | None = None
    queue: Annotated[str, AfterValidator(checked(check_scheduler_name, "queue"))] | None = None
    account: Annotated[str, AfterValidator(checked(check_scheduler_name, "account"))] | None = None


class SiteProfile(BaseModel):
    """One site. ``binds`` are SRC:DST[:ro]; ``$VAR`` in a source is expanded at submit time."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    scheduler: Checked
    runtime: Checked
    # a drop-in for the runtime's command, e.g. podman-hpc for podman
    runtime_tool: Annotated[str, AfterValidator(checked(_check_tool))] | None = None
    # how the site's nodes get images: the local engine store (local), a registry by digest (registry:
    # the image must have been pushed or pulled from one), or unpacked trees under image_root
    image_delivery: Literal["local", "registry", "image_root"] | None = None
    # images are unpacked directories under this root (grid, /cvmfs)
    image_root: Annotated[str, AfterValidator(checked(_check_image_root))] | None = None
    binds: list[Annotated[str, AfterValidator(checked(_check_bind))]] = Field(default_factory=list)
    env: Annotated[dict[str, str], AfterValidator(checked(_check_env))] = Field(default_factory=dict)
    # NAME: FILE (absolute or ~/...): each job gets FILE at /run/secrets/NAME (docs/site-services.md)
    secrets: Annotated[dict[str, str], AfterValidator(checked(_check_secrets))] = Field(default_factory=dict)
    resources: SiteResources = Field(default_factory=SiteResources)
    # extra scheduler options, one per entry; the scheduler checks and quotes them (site_directive)
    directives: list[Checked] = Field(default_factory=list)
    # a farm reached over ssh: [USER@]HOST[:PORT] or an ~/.ssh/config alias (docs/remote-sites.md);
    # submit, jobs, cancel and logs then run the scheduler's commands there
    login_host: Annotated[str, AfterValidator(checked(_check_login_host))] | None = None
    # an ssh_config(5) file for this site instead of ~/.ssh/config (ssh -F)
    ssh_config: Annotated[str, AfterValidator(checked(_check_ssh_config))] | None = None

    @property
    def delivery(self) -> str:
        """``image_delivery``, or for files without it: image_root when one is given, else local."""
        return self.image_delivery or ("image_root" if self.image_root else "local")


@dataclass(frozen=True)
class Site:
    profile: SiteProfile
    source: str  # the file it came from

    def job_binds(self) -> list[Bind]:
        """The site's binds; ``$VAR`` in a source stays a variable that the job's shell expands
        (``$SCRATCH``, ``$TMPDIR`` exist only on the compute node). Not checked on the submit host."""
        return [Bind.parse(text, job_variables=True) for text in self.profile.binds]

    def job_secrets(self, uid: int, home: str) -> list[Secret]:
        """The site's secrets, their files checked now: the submitter's (``uid``, ``~`` = ``home``), 0600."""
        items = self.profile.secrets.items()
        return [Secret.from_site(name, path, uid=uid, home=home) for name, path in items]


_HINTS = {
    "missing": "add this key (see the shipped sites in hepstack/sites/*.yaml)",
    "string_type": "write a string; quote values YAML reads as numbers or booleans",
    "string_pattern_mismatch": f"use {NAME_RULE}",
    "greater_than_equal": "write a number of at least 1",
    "less_than_equal": f"write a number of at most {MAX_CPUS:,}",
}


def user_site_dirs(environment: Mapping[str, str] | None = None) -> list[Path]:
    environment = os.environ if environment is None else environment
    configured = environment.get("HEPSTACK_SITES_PATH")
    if configured:
        return [Path(part) for part in configured.split(":") if part]
    from hepstack.context import xdg_dir

    return [xdg_dir("XDG_CONFIG_HOME", environment) / "sites"]


def shipped_site_files() -> list[Path]:
    directory = Path(str(resources.files("hepstack.sites")))
    return sorted(directory.glob("*.yaml"))


def load_site_file(path: Path) -> SiteProfile:
    """One site file, validated; raises :class:`LocatedErrors` with file:line of each problem."""
    profile, _source = load_document(path, SiteProfile, subject="the site file", hints=_HINTS)
    return profile


def load_sites(environment: Mapping[str, str] | None = None) -> dict[str, Site]:
    """Shipped sites, then the user's (which win on equal names). Every file is checked; all problems
    of all files are reported together, so a broken user file never half-loads."""
    files = [*shipped_site_files()]
    problems: list[SpecError] = []
    for directory in user_site_dirs(environment):
        try:
            if directory.is_dir():
                files += sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
        except OSError as exc:  # a name too long, a loop: the directory cannot be listed
            problems.append(
                SpecError(
                    f"cannot list the site directory: {exc.strerror}",
                    file=str(directory),
                    line=None,
                    key_path="(file)",
                    hint="check HEPSTACK_SITES_PATH",
                )
            )
    sites: dict[str, Site] = {}
    for path in files:
        try:
            profile = load_site_file(path)
        except LocatedErrors as exc:
            problems += exc.errors
            continue
        sites[profile.name] = Site(profile, str(path))
    if problems:
        raise SiteErrors(problems, subject="the site files", plural=True, note="nothing was submitted")
    return sites


#: The name callers catch; the one aggregate of located errors.
SiteErrors = LocatedErrors


def get_site(name: str, environment: Mapping[str, str] | None = None) -> Site:
    from hepstack.errors import UnknownName

    sites = load_sites(environment)
    if name not in sites:
        raise UnknownName("site", name, list(sites))
    return sites[name]


__all__ = ["Site", "SiteErrors", "SiteProfile", "get_site", "load_site_file", "load_sites", "user_site_dirs"]
