"""SBOMs beside the release manifest: each written whole and named with its sha256 in the manifest, and
read back into a site's catalog on pull only when it is the file released, for the image pulled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hepstack.catalog import Catalog
from hepstack.errors import HepstackError
from hepstack.release.publish import attach_sboms, import_sboms
from hepstack.release.sbom import sbom_text
from tests.release.test_diff import sbom


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


def published(tmp_path: Path) -> tuple[dict[str, object], Path, str]:
    """A release manifest for one image whose real SPDX document was attached beside it."""
    document = sbom_text(sbom("24.0", "a" * 64, 1000))
    image_id = "sha256:" + "d" * 64  # the image the document describes
    catalog = Catalog(tmp_path / "release-manager" / "catalog.sqlite")
    catalog.record_sbom(image_id, "locktest", "app", "0.1", document)
    manifest = {
        "stack": "locktest",
        "release": "0.1",
        "images": [{"layer": "app", "image_id": image_id}],
    }
    path = tmp_path / "site" / "locktest-0.1.json"
    path.parent.mkdir()
    assert attach_sboms(manifest, catalog, path) == 1
    return manifest, path, image_id


def test_pulled_sboms_join_the_site_catalog(tmp_path: Path) -> None:
    manifest, path, image_id = published(tmp_path)
    site = Catalog(tmp_path / "site-state" / "catalog.sqlite")
    assert import_sboms(manifest, site, path) == 1
    assert site.sbom(image_id) == (path.parent / "locktest-0.1.app.spdx.json").read_text()
    (path.parent / "locktest-0.1.app.spdx.json").unlink()  # only the manifest copied: nothing to keep
    assert import_sboms(manifest, Catalog(tmp_path / "other" / "catalog.sqlite"), path) == 0


def test_a_changed_misnamed_or_foreign_sbom_is_refused(tmp_path: Path) -> None:
    manifest, path, _image_id = published(tmp_path)
    site = Catalog(tmp_path / "site-state" / "catalog.sqlite")
    beside = path.parent / "locktest-0.1.app.spdx.json"
    original = beside.read_bytes()
    beside.write_bytes(original.replace(b'"24.0"', b'"24.1"'))
    with pytest.raises(HepstackError, match="not the file released"):
        import_sboms(manifest, site, path)
    beside.write_bytes(original)
    images = manifest["images"]
    assert isinstance(images, list)
    images[0]["image_id"] = "sha256:" + "9" * 64
    with pytest.raises(HepstackError, match=r"describes image d{12}"):
        import_sboms(manifest, site, path)
    images[0]["sbom"]["file"] = "../../etc/passwd"
    with pytest.raises(HepstackError, match="not a file name beside the manifest"):
        import_sboms(manifest, site, path)
    assert site.sbom("sha256:" + "d" * 64) is None
