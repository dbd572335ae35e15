"""Site profiles: scheduler x runtime x binds x resources x environment, shipped as YAML data.

Shipped profiles live next to this module. Users add or override them with their own files:
``$HEPSTACK_SITES_PATH`` (a ``:``-separated list of directories), else ``~/.config/hepstack/sites``.
A user file with the same ``name`` as a shipped one replaces it. Errors name file, line and key.

>>> load_sites()["nersc"].scheduler                                            # doctest: +SKIP
'slurm'
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hepstack.batch.script import marker
from hepstack.errors import LocatedErrors, SpecError
from hepstack.runtimes import Bind
from hepstack.spec.validation import load_document

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _check_bind(text: str) -> str:
    parts = text.split(":")
    bad_mode = len(parts) == 3 and parts[2] not in {"ro", "rw"}
    if not 1 <= len(parts) <= 3 or not all(parts) or bad_mode:
        raise ValueError(f"bad bind {text!r}: write SRC:DST, SRC:DST:ro or SRC:DST:rw")
    if len(parts) > 1 and not parts[1].startswith("/"):
        raise ValueError(f"bad bind {text!r}: the target must be an absolute path")
    return text


class SiteResources(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpus: int | None = Field(default=None, ge=1)
    memory: str | None = None
    time: str | None = None
    queue: str | None = None
    account: str | None = None


class SiteProfile(BaseModel):
    """One site. ``binds`` are SRC:DST[:ro]; ``$VAR`` in a source is expanded at submit time."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    scheduler: str
    runtime: str
    runtime_tool: str | None = None  # a drop-in for the runtime's command, e.g. podman-hpc for podman
    image_root: str | None = None  # images are unpacked directories under this root (grid, /cvmfs)
    binds: list[Annotated[str, AfterValidator(_check_bind)]] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    resources: SiteResources = Field(default_factory=SiteResources)
    directives: list[str] = Field(default_factory=list)  # extra raw scheduler options


@dataclass(frozen=True)
class Site:
    profile: SiteProfile
    source: str  # the file it came from

    def job_binds(self) -> list[Bind]:
        """The site's binds; ``$VAR`` in a source stays a variable that the job's shell expands
        (``$SCRATCH``, ``$TMPDIR`` exist only on the compute node). Not checked on the submit host."""
        binds = []
        for text in self.profile.binds:
            parts = text.split(":")
            read_only = len(parts) == 3 and parts[2] == "ro"
            source = _VARIABLE.sub(lambda match: marker(match[1] or match[2]), parts[0])
            binds.append(Bind(source, parts[1] if len(parts) > 1 else parts[0], read_only))
        return binds


_HINTS = {
    "missing": "add this key (see the shipped sites in hepstack/sites/*.yaml)",
    "string_type": "write a string; quote values YAML reads as numbers or booleans",
    "greater_than_equal": "write a number of at least 1",
    "value_error": "binds are SRC:DST[:ro|rw]; SRC may name job-time variables such as $SCRATCH",
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
