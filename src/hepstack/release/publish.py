"""SBOMs published with the release manifest: one SPDX file per image beside the manifest, each named in
the manifest's entry for its image with its sha256, so a site that pulls a release by digest can check
what it holds against what was released; ``pull --manifest`` brings them back into the site's catalog."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from hepstack import private
from hepstack.catalog import Catalog
from hepstack.errors import HepstackError

# What attach_sboms names the files: MANIFEST-STEM.LAYER.spdx.json, beside the manifest (no directory).
SBOM_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.spdx\.json\Z")


def attach_sboms(manifest: dict[str, Any], catalog: Catalog, manifest_path: Path) -> int:
    """Write each image's catalogued SBOM beside ``manifest_path`` and name it in ``manifest``; returns
    how many were attached (images built without an SBOM are left as they are)."""
    attached = 0
    for image in manifest["images"]:
        document = catalog.sbom(str(image["image_id"]))
        if document is None:
            continue
        name = f"{manifest_path.stem}.{image['layer']}.spdx.json"
        data = document.encode()
        private.write_atomically(str(manifest_path.parent / name), data, mode=0o666)
        image["sbom"] = {"file": name, "sha256": hashlib.sha256(data).hexdigest(), "format": "SPDX-2.3"}
        attached += 1
    return attached


def import_sboms(manifest: dict[str, Any], catalog: Catalog, manifest_path: Path) -> int:
    """Record in ``catalog`` the SBOM of each pulled image whose manifest entry names one and whose file
    is beside ``manifest_path``; returns how many. A file that is not the one released (sha256), not
    SPDX 2.3, or describes another image is refused: a site must not keep a false account of an image."""
    from hepstack.release.sbom import validate

    imported = 0
    for image in manifest["images"]:
        entry = image.get("sbom")
        if entry is None:
            continue
        where = f"{manifest_path}: the SBOM of layer {image['layer']}"
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not SBOM_FILE.match(name):
            raise HepstackError(
                f"{where}: not a file name beside the manifest (got {name!r:.80})",
                hint="the manifest is not as `hepstack push --manifest` writes it; ask the release manager",
            )
        path = manifest_path.parent / name
        if not path.is_file():
            continue  # the manifest alone was copied: the images are pulled, their SBOMs are not known
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise HepstackError(
                f"{where}: {path} is not the file released (sha256 differs from the manifest's)",
                hint="copy the SBOM files as published with the manifest, unchanged",
            )
        try:
            document = json.loads(data)
            validate(document)
        except (ValueError, HepstackError) as exc:
            raise HepstackError(f"{where}: {path}: {exc}", hint="copy the published SBOM unchanged") from None
        packages = document.get("packages") or [{}]
        described = (packages[0].get("checksums") or [{}])[0].get("checksumValue")
        expected = str(image.get("image_id")).removeprefix("sha256:")  # SPDX checksums are bare hex
        if described != expected:
            raise HepstackError(
                f"{where}: {path} describes image {str(described)[:19]}, not {expected[:19]}",
                hint="the SBOM files and the manifest are of different releases",
            )
        catalog.record_sbom(
            image["image_id"], manifest["stack"], image["layer"], manifest["release"], data.decode()
        )
        imported += 1
    return imported
