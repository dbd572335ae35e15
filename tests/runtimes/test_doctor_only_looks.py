"""`hepstack doctor` only looks: an image that only podman holds is not copied into docker to time it."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from hepstack.context import Context
from hepstack.doctor import check_runtimes

pytestmark = [pytest.mark.podman, pytest.mark.docker]
DOCKER = "/usr/bin/docker"


def _podman_only_image(tmp_path: Path, reference: str) -> None:
    """An image of one file, imported into podman alone (it holds no `true`: it is never run)."""
    archive = tmp_path / "root.tar"
    with tarfile.open(archive, "w") as tar:
        data = b"doctor only looks\n"
        member = tarfile.TarInfo("README")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    subprocess.run(["podman", "import", str(archive), reference], check=True, capture_output=True)


def test_doctor_copies_no_image_into_docker(tmp_path: Path) -> None:
    reference = f"localhost/doctor-looks/{tmp_path.name.lower()}:1"
    _podman_only_image(tmp_path, reference)
    try:
        context = Context(data_dir=tmp_path, cache_dir=tmp_path / "cache", catalog_path=tmp_path / "c.sqlite")
        reports = {report.name: report for report in check_runtimes(reference, context, repeats=1)}
        assert "not in docker's store: start latency not measured" in reports["docker"].detail
        assert reports["docker"].latency_ms is None
        missing = subprocess.run([DOCKER, "image", "inspect", reference], capture_output=True, check=False)
        assert missing.returncode != 0, "doctor copied the image into docker"
    finally:
        subprocess.run(["podman", "rmi", "-f", reference], capture_output=True, check=False)
        subprocess.run([DOCKER, "rmi", "-f", reference], capture_output=True, check=False)
