"""Registry edges without a registry: a bare pull name, manifest values, export formats, site delivery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from hepstack.batch.plan import plan_submission
from hepstack.catalog import Catalog, ImageRecord, PushRecord, now
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.registry.publish import MANIFEST_FORMAT, read_manifest, registry_host
from hepstack.registry.transfer import skopeo_reason
from tests.registry.conftest import cli

DIGEST = "sha256:" + "ab" * 32
KEY = "0123456789abcdef" * 4


@pytest.mark.parametrize("name", ["lat/digi", "lat", "library/debian:12"])
def test_bare_pull_name_fails_at_once_with_a_hint(name: str) -> None:
    result = cli("pull", name, check=False)
    assert result.returncode == 2
    assert "names no registry host" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr and "docker.io" in result.stderr  # says it is never guessed


@pytest.mark.parametrize(
    ("reference", "host"),
    [("lat/digi", None), ("localhost/lat/x:1", "localhost"), ("127.0.0.1:5000/a/b", "127.0.0.1:5000")],
)
def test_registry_host(reference: str, host: str | None) -> None:
    assert registry_host(reference) == host


def test_export_unknown_format_is_refused_without_traceback() -> None:
    result = cli("export", "lat/release", "--format", "tar", check=False)
    assert result.returncode == 2
    assert "unknown export format 'tar'" in result.stderr and "oci-archive" in result.stderr
    assert "KeyError" not in result.stderr and "Traceback" not in result.stderr


def _manifest(tmp_path: Path, **image: object) -> Path:
    entry = {
        "layer": "release",
        "key": KEY,
        "repository": "reg.example.org/hep/lat/release",
        "tags": ["0123456789ab", "1.0"],
        "digest": DIGEST,
        "pull": f"reg.example.org/hep/lat/release@{DIGEST}",
        **image,
    }
    path = tmp_path / "m.json"
    path.write_text(
        json.dumps({"format": MANIFEST_FORMAT, "stack": "lat", "release": "1.0", "images": [entry]})
    )
    return path


def test_a_well_formed_manifest_reads(tmp_path: Path) -> None:
    assert read_manifest(_manifest(tmp_path))["stack"] == "lat"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("repository", "reg.example.org/hep/lat/release;rm -rf /"),
        ("repository", "lat/release"),
        ("digest", "sha256:zz"),
        ("pull", f"evil.example.org/x@{DIGEST}"),
        ("tags", ["1.0\n"]),
        ("layer", "../etc"),
        ("key", "not-hex"),
    ],
)
def test_hostile_manifest_values_are_refused(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(HepstackError, match=field):
        read_manifest(_manifest(tmp_path, **{field: value}))


def test_skopeo_reason_is_one_line() -> None:
    stderr = (
        'time="2026-12-02T10:00:00Z" level=fatal msg="initializing source docker://127.0.0.1:5000/x:1: '
        'pinging container registry 127.0.0.1:5000: Get \\"https://127.0.0.1:5000/v2/\\": http: server '
        'gave HTTP response to HTTPS client"\n'
    )
    reason = skopeo_reason(stderr)
    assert "\n" not in reason and reason.startswith("initializing source") and "level=" not in reason


def _record(catalog: Catalog, reference: str) -> None:
    catalog.record(
        ImageRecord(
            "lat", "release", "1.0", KEY, reference, "sha256:" + "cd" * 32, 1, "podman", now(), 0.1, ""
        )
    )


@pytest.mark.parametrize("site", ["nersc", "grid", "nersc-podman-hpc"])
def test_registry_site_without_a_push_is_refused(
    tmp_path: Path, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEPSTACK_CATALOG", str(tmp_path / "catalog.sqlite"))
    context = Context.from_environment()
    _record(Catalog(context.catalog_path), "localhost/lat/release:1.0")
    with pytest.raises(HepstackError, match="was never pushed") as raised:
        plan_submission(image="lat/release", command=["true"], context=context, site=site)
    assert raised.value.hint is not None and "hepstack push" in raised.value.hint
    assert "image_root" in raised.value.hint


@pytest.mark.parametrize("site", ["nersc", "grid", "nersc-podman-hpc"])
def test_registry_site_gets_the_pushed_digest(
    tmp_path: Path, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEPSTACK_CATALOG", str(tmp_path / "catalog.sqlite"))
    context = Context.from_environment()
    catalog = Catalog(context.catalog_path)
    _record(catalog, "localhost/lat/release:1.0")
    catalog.record_push(
        PushRecord(
            "lat",
            "release",
            "1.0",
            KEY,
            "sha256:x",
            1,
            "reg.example.org/hep/lat/release",
            ("1.0",),
            DIGEST,
            now(),
        )
    )
    submission = plan_submission(image="lat/release", command=["true"], context=context, site=site)
    assert submission.image == f"reg.example.org/hep/lat/release@{DIGEST}"
    assert submission.image_id is None


def test_old_catalog_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE images (id INTEGER PRIMARY KEY AUTOINCREMENT, stack TEXT NOT NULL,"
            " layer TEXT NOT NULL,"
            " release TEXT NOT NULL, key TEXT NOT NULL, reference TEXT NOT NULL, image_id TEXT NOT NULL,"
            " size INTEGER NOT NULL, engine TEXT NOT NULL, built_at TEXT NOT NULL, seconds REAL NOT NULL,"
            " spec_path TEXT NOT NULL)"
        )
    path.chmod(0o600)
    catalog = Catalog(path)
    _record(catalog, "localhost/lat/release:1.0")
    record = catalog.newest("lat", "release")
    assert record is not None and record.origin == "built" and record.registry_reference is None


def test_image_delivery_must_be_a_known_way(tmp_path: Path) -> None:
    from hepstack.errors import LocatedErrors
    from hepstack.sites import load_site_file

    path = tmp_path / "s.yaml"
    path.write_text("name: s\nscheduler: slurm\nruntime: podman\nimage_delivery: ftp\n")
    with pytest.raises(LocatedErrors, match="image_delivery"):
        load_site_file(path)
    path.write_text("name: s\nscheduler: slurm\nruntime: podman\nimage_root: /cvmfs/x\n")
    assert load_site_file(path).delivery == "image_root"
