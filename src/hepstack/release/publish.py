"""SBOMs published with the release manifest: one SPDX file per image beside the manifest, each named in
the manifest's entry for its image with its sha256, so a site that pulls a release by digest can check
what it holds against what was released."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from hepstack import private
from hepstack.catalog import Catalog


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
