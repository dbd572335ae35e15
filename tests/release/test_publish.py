"""SBOMs beside the release manifest: each written whole and named with its sha256 in the manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hepstack.catalog import Catalog
from hepstack.release.publish import attach_sboms


def test_sboms_are_written_beside_the_manifest(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "state" / "catalog.sqlite")
    catalog.record_sbom("sha256:" + "1" * 64, "locktest", "app", "0.1", '{"spdxVersion": "SPDX-2.3"}\n')
    manifest = {
        "images": [
            {"layer": "app", "image_id": "sha256:" + "1" * 64},
            {"layer": "tools", "image_id": "sha256:" + "2" * 64},  # built before SBOMs: left alone
        ]
    }
    assert attach_sboms(manifest, catalog, tmp_path / "release.json") == 1
    written = (tmp_path / "release.app.spdx.json").read_bytes()
    assert written == b'{"spdxVersion": "SPDX-2.3"}\n'
    assert manifest["images"][0]["sbom"] == {
        "file": "release.app.spdx.json",
        "sha256": hashlib.sha256(written).hexdigest(),
        "format": "SPDX-2.3",
    }
    assert "sbom" not in manifest["images"][1]
