"""`hepstack diff`: one pip pin and one release file changed show as exactly those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.release.contents import DebianPackage, ImageContents, PythonDistribution
from hepstack.release.diff import compare, load_side
from hepstack.release.lockfile import write_lock
from hepstack.release.sbom import ImageFacts, Subject, sbom_text, spdx_document, validate
from tests.conftest import hepstack
from tests.release.helpers import hand_lock


def test_two_locks(tmp_path: Path) -> None:
    before, after = tmp_path / "a.lock", tmp_path / "b.lock"
    write_lock(hand_lock(), before)
    write_lock(hand_lock(packaging="24.1", app_sha="c" * 64), after)
    changes = compare(load_side(before), load_side(after))
    assert [(c.layer, c.kind, c.name, c.verb, c.before, c.after) for c in changes] == [
        ("app", "pip", "packaging", "changed", "24.0", "24.1"),
        ("app", "file", "files/app.py", "changed", "a" * 64, "c" * 64),
    ]
    result = hepstack("diff", str(before), str(after))
    assert "packaging" in result.stdout and "24.0" in result.stdout and "24.1" in result.stdout
    assert "files/app.py" in result.stdout and "0 added, 0 removed, 2 changed" in result.stdout
    assert "python3-six" not in result.stdout


def sbom(packaging: str, app_sha256: str, size: int) -> dict[str, object]:
    contents = ImageContents(
        debian={"python3-six": DebianPackage("python3-six", "1.16.0-4", "all", 60, "six")},
        python={
            "packaging": PythonDistribution(
                "packaging", packaging, "", ("License :: OSI Approved :: Apache Software License",),
                "/usr/local/lib/python3.11/dist-packages", "pip", None,
            )
        },
    )  # fmt: skip
    facts = ImageFacts("localhost/locktest/app:0.1", "sha256:" + "d" * 64, "2025-12-01T00:00:00Z", size)
    files = {"/opt/app/app.py": ("e" * 40, app_sha256)}
    document = spdx_document(
        Subject("locktest", "app", "0.1"), facts, contents, files, {"/opt/app/app.py": "files/app.py"}, None
    )
    validate(document)
    return document


def test_two_sboms(tmp_path: Path) -> None:
    before, after = tmp_path / "a.spdx.json", tmp_path / "b.spdx.json"
    before.write_text(sbom_text(sbom("24.0", "a" * 64, 1000)))
    after.write_text(sbom_text(sbom("24.1", "c" * 64, 1500)))
    changes = compare(load_side(before), load_side(after))
    assert [(c.kind, c.name, c.before, c.after) for c in changes] == [
        ("pip", "packaging", "24.0", "24.1"),
        ("file", "/opt/app/app.py", "a" * 64, "c" * 64),
        ("size", "image", "1000", "1500"),
    ]
    assert "+500 bytes" in hepstack("diff", str(before), str(after)).stdout


def test_sbom_is_valid_spdx_and_a_broken_one_is_not() -> None:
    document = sbom("24.0", "a" * 64, 1)
    packages = document["packages"]
    assert isinstance(packages, list)
    pypi = [p for p in packages if p["SPDXID"].startswith("SPDXRef-pypi-")]
    assert pypi[0]["licenseDeclared"] == "Apache-2.0"
    broken = json.loads(json.dumps(document))
    del broken["files"][0]["checksums"]
    with pytest.raises(HepstackError, match=r"not valid SPDX 2\.3 at files/0"):
        validate(broken)
