"""What an image holds: its Debian packages (dpkg's database) and Python distributions, read inside it.

One container run per image, no network, as root (dpkg's database is world-readable anyway): a shell
script runs ``dpkg-query`` and, when the image has ``python3``, a stdlib-only Python snippet (Python >= 3.8,
so the bullseye legacy image answers too). Both the lock (what a layer added) and the SBOM read this.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hepstack import proc
from hepstack.build.engines import Engine
from hepstack.errors import HepstackError

# dpkg-query(1) format fields; binary:Package carries :arch only for Multi-Arch: same packages.
_DPKG_FORMAT = (
    r"${db:Status-Abbrev}\t${binary:Package}\t${Version}\t${Architecture}\t${Installed-Size}"
    r"\t${source:Package}\n"
)
_SEPARATOR = "--hepstack-python--"
_SHELL = (
    f"dpkg-query -W -f '{_DPKG_FORMAT}' && echo '{_SEPARATOR}' && "
    'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$1"; else echo null; fi'
)
_PYTHON = r"""
import json, sys
from importlib import metadata
found = []
for dist in metadata.distributions():
    meta = dist.metadata
    try:
        direct = dist.read_text("direct_url.json")
    except Exception:
        direct = None
    classifiers = [c for c in (meta.get_all("Classifier") or []) if c.startswith("License ::")]
    found.append({
        "name": meta["Name"], "version": meta["Version"],
        "license": meta.get("License-Expression") or meta.get("License") or "",
        "license_classifiers": classifiers,
        "location": str(dist.locate_file("")),
        "installer": (dist.read_text("INSTALLER") or "").strip(),
        "direct_url": json.loads(direct) if direct else None,
    })
print(json.dumps(sorted(found, key=lambda d: (d["name"] or "").lower())))
"""

# Where Debian's python3-* packages put distributions: dpkg owns them, the lock's apt part pins them.
DEBIAN_PYTHON_DIRS = ("/usr/lib/python3/dist-packages", "/usr/lib/python3.")


@dataclass(frozen=True)
class DebianPackage:
    name: str  # binary:Package (name or name:arch)
    version: str
    architecture: str
    installed_kib: int
    source: str


@dataclass(frozen=True)
class PythonDistribution:
    name: str
    version: str
    license: str
    license_classifiers: tuple[str, ...]
    location: str
    installer: str
    local_url: str | None  # file:// URL when installed from a path (direct_url.json, PEP 610)

    @property
    def from_debian(self) -> bool:
        return self.location.startswith(DEBIAN_PYTHON_DIRS)


@dataclass
class ImageContents:
    debian: dict[str, DebianPackage] = field(default_factory=dict)
    python: dict[str, PythonDistribution] = field(default_factory=dict)  # by normalised name


def normalised(name: str) -> str:
    """PEP 503 name normalisation: ``PyYAML`` and ``pyyaml`` are one distribution."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def probe_argv(engine: Engine, reference: str) -> list[str]:
    return [
        engine.binary(), "run", "--rm", "--network=none", "--user=0", "--entrypoint=/bin/sh",
        reference, "-c", _SHELL, "hepstack-probe", _PYTHON,
    ]  # fmt: skip


def read_contents(engine: Engine, reference: str) -> ImageContents:
    """Run the probe in ``reference`` and parse what it printed."""
    result = proc.run(
        probe_argv(engine, reference),
        hint=f"hepstack reads dpkg's database in {reference}; is it a Debian-based image?",
    )
    return parse_probe(result.stdout, reference)


def parse_probe(stdout: str, reference: str) -> ImageContents:
    dpkg_text, separator, python_text = stdout.partition(_SEPARATOR + "\n")
    if not separator:
        raise HepstackError(f"the package probe of {reference} printed no dpkg list")
    contents = ImageContents()
    for line in dpkg_text.splitlines():
        status, name, version, architecture, size, source = (line.split("\t") + [""] * 6)[:6]
        if not status.startswith("ii"):  # installed; rc (config files left) is not in the image's software
            continue
        contents.debian[name] = DebianPackage(
            name, version, architecture, int(size) if size.isdigit() else 0, source or name.split(":")[0]
        )
    for raw in json.loads(python_text or "null") or []:
        if not raw.get("name"):
            continue
        url = (raw.get("direct_url") or {}).get("url")
        distribution = PythonDistribution(
            name=raw["name"],
            version=raw["version"],
            license=raw["license"],
            license_classifiers=tuple(raw["license_classifiers"]),
            location=raw["location"],
            installer=raw["installer"],
            local_url=url if isinstance(url, str) and url.startswith("file://") else None,
        )
        key = normalised(distribution.name)
        if key not in contents.python or not distribution.from_debian:  # pip's copy shadows Debian's
            contents.python[key] = distribution
    return contents
