"""The SBOM of the example's release image says what the image really holds: every Debian package with the
version dpkg has, every pip-installed distribution (numpy, uproot, astropy among them) with the version
pip reports, inside the image; and it is valid SPDX 2.3 (the vendored JSON Schema)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hepstack.release.sbom import validate
from tests.conftest import EXAMPLE_STACK, hepstack

pytestmark = [pytest.mark.slow, pytest.mark.podman]


def _in_image(image: str, *argv: str) -> str:
    command = ["podman", "run", "--rm", "--network=none", image, *argv]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=300).stdout


def test_release_sbom_is_what_dpkg_and_pip_say_inside_the_image(
    example_images: dict[str, str], tmp_path: Path
) -> None:
    output = tmp_path / "release.spdx.json"
    hepstack("sbom", str(EXAMPLE_STACK), "release", "--output", str(output))
    document = json.loads(output.read_text())
    validate(document)
    image = example_images["release"]
    image_id = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Id}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert document["packages"][0]["checksums"][0]["checksumValue"] == image_id

    debs = {
        p["name"]: p["versionInfo"] for p in document["packages"] if p["SPDXID"].startswith("SPDXRef-deb-")
    }
    dpkg = _in_image(image, "dpkg-query", "-W", "-f", "${Package}=${Version}\n")
    assert debs == dict(line.split("=", 1) for line in dpkg.split())

    pypi = {
        p["name"].lower(): p["versionInfo"]
        for p in document["packages"]
        if p["SPDXID"].startswith("SPDXRef-pypi-")
    }
    listed = json.loads(_in_image(image, "python3", "-m", "pip", "list", "-v", "--format=json"))
    from_pip = {d["name"].lower(): d["version"] for d in listed if d["location"].startswith("/usr/local/")}
    assert pypi == from_pip
    assert {"numpy", "uproot", "astropy"} <= set(pypi), sorted(pypi)
    print(f"lat/release SBOM: {len(debs)} Debian packages = dpkg-query, {len(pypi)} Python = pip list; "
          f"numpy {pypi['numpy']}, uproot {pypi['uproot']}, astropy {pypi['astropy']}")  # fmt: skip
