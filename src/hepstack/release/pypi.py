"""The sha256 of every file of one release of a distribution, from the package index (PEP 691 JSON).

pip's ``--require-hashes`` checks the file it downloads against the requirement's hashes; listing every
file of the release (wheels for each platform and the sdist) lets pip choose the one for the image, as
``pip-compile --generate-hashes`` does. The index is PyPI unless ``HEPSTACK_PYPI_SIMPLE`` names another
(a local mirror): the same index the image's pip uses.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request

from hepstack.errors import HepstackError
from hepstack.release.contents import normalised

DEFAULT_INDEX = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"  # PEP 691
_WHEEL = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)-.+\.whl\Z")
_SDIST = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)\.(?:tar\.gz|zip|tar\.bz2)\Z")


def index_url() -> str:
    return os.environ.get("HEPSTACK_PYPI_SIMPLE", DEFAULT_INDEX).rstrip("/")


def release_hashes(name: str, version: str, index: str | None = None) -> tuple[str, ...]:
    """``sha256:<hex>`` of each file of ``name==version`` on the index, sorted; an error when none."""
    index = index or index_url()
    url = f"{index}/{normalised(name)}/"
    request = urllib.request.Request(url, headers={"Accept": _ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HepstackError(
            f"cannot read {url} for the hashes of {name}=={version}: {exc}",
            hint="hepstack lock needs the package index; set HEPSTACK_PYPI_SIMPLE to a mirror's simple/ URL",
        ) from None
    hashes = sorted(
        f"sha256:{entry['hashes']['sha256']}"
        for entry in body.get("files", [])
        if _is_release_file(entry.get("filename", ""), name, version) and "sha256" in entry.get("hashes", {})
    )
    if not hashes:
        raise HepstackError(
            f"{index} lists no file of {name}=={version}",
            hint="was it installed from somewhere else? local packages belong in the spec as ./path",
        )
    return tuple(hashes)


def _is_release_file(filename: str, name: str, version: str) -> bool:
    match = _WHEEL.match(filename) or _SDIST.match(filename)
    if match is None:
        return False
    return normalised(match["name"]) == normalised(name) and match["version"] == version
