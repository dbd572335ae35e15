"""`hepstack run --runtime charliecloud IMAGE --print` shows the node-cache path the tree has or will
have, and converts nothing to show it (it used to unpack the whole image first); the real run then
makes the entry at exactly that path."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.batch.small_image import import_small_image, write_rootfs
from tests.conftest import hepstack, tool_works

pytestmark = [pytest.mark.podman, pytest.mark.charliecloud]


def test_print_names_the_entry_without_converting(tmp_path: Path) -> None:
    if not tool_works("podman", "--version") or shutil.which("ch-run") is None:
        pytest.skip("podman and ch-run are needed (scripts/setup-host.sh)")
    archive = tmp_path / "rootfs.tar"
    write_rootfs(archive)
    reference = f"localhost/hepstack-tests/print:{os.getpid()}"
    image_id = import_small_image(archive, reference, [])
    cache = tmp_path / "cache"
    env = {"HEPSTACK_CACHE_DIR": str(cache), "HEPSTACK_DATA_DIR": str(tmp_path / "data"), "USER": "root"}
    try:
        printed = hepstack("run", "--runtime", "charliecloud", "--print", reference, "--", "true", env=env)
        entry = cache / "charliecloud" / image_id.removeprefix("sha256:")
        assert f" {entry} -- " in printed.stdout, printed.stdout
        assert not entry.exists() and not (cache / "conversions.log").exists(), "--print converted"
        assert list((cache / "charliecloud").iterdir()) == []
        ran = hepstack(
            "run", "--runtime", "charliecloud", reference, "--", "sh", "-c", "echo $SMALL_IMAGE", env=env
        )
        assert ran.stdout == "it's small\n"
        assert (entry / ".hepstack-unpacked").is_file()
        again = hepstack("run", "--runtime", "charliecloud", "--print", reference, "--", "true", env=env)
        assert again.stdout == printed.stdout
        assert len((cache / "conversions.log").read_text().splitlines()) == 1
    finally:
        subprocess.run(["podman", "rmi", "--force", reference], capture_output=True, check=False)
