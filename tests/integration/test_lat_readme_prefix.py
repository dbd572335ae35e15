"""examples/lat/README.md's `lat-l1 --prefix "hepstack run --runtime podman ..."` example, run as written
(in a fresh directory, `hepstack` and the native `lat-l1` on PATH): every step runs in the release image
and its products are byte-identical to the native chain's with the same options (run-l1.sh native)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK, REPO

pytestmark = [pytest.mark.slow, pytest.mark.podman]
README = REPO / "examples" / "lat" / "README.md"
RUN_L1 = REPO / "examples" / "lat" / "run-l1.sh"
NATIVE = Path(os.environ.get("LAT_NATIVE", "/opt/lat-native")) / "bin"
PRODUCTS = ("raw", "mc", "digi", "recon", "merit", "ft1")


def documented_command() -> str:
    """The README's fenced `lat-l1 ... --prefix "hepstack run --runtime podman ..."` block."""
    blocks = re.findall(r"```\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    found = [block for block in blocks if block.startswith("lat-l1 ") and '--prefix "hepstack run' in block]
    assert len(found) == 1, found
    return found[0].strip()


def _products(work: Path) -> dict[str, str]:
    return {
        str(path.relative_to(work)): hashlib.sha256(path.read_bytes()).hexdigest()
        for product in PRODUCTS
        for path in sorted((work / product).rglob("*"))
        if path.is_file()
    }


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PATH": f"{Path(HEPSTACK).parent}:{NATIVE}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


def test_the_documented_container_chain_keeps_its_outputs(
    example_images: dict[str, str], tmp_path: Path
) -> None:
    if not (NATIVE / "lat-l1").exists():
        pytest.skip("the example's native install is missing (examples/lat/install-native.sh)")
    command = documented_command()
    assert "--bind $PWD/l1-work:$PWD/l1-work" in command
    (tmp_path / "podman").mkdir()
    in_podman = _run(command, tmp_path / "podman")
    assert in_podman.returncode == 0, in_podman.stdout[-3000:] + in_podman.stderr[-3000:]
    logged = (tmp_path / "podman" / "l1-work" / "logs" / "merge_recon_run.log").read_text()
    assert logged.startswith("hepstack run --runtime podman --bind ")  # the step did run in podman

    options = command.split("--workdir")[0].split()[1:]  # lat-l1's own options, before --workdir
    natively = subprocess.run(
        [str(RUN_L1), "native", str(tmp_path / "native"), *options],
        env={**os.environ, "HEPSTACK": HEPSTACK},
        capture_output=True,
        text=True,
        check=False,
    )
    assert natively.returncode == 0, natively.stdout[-3000:] + natively.stderr[-3000:]

    products = _products(tmp_path / "podman" / "l1-work")
    assert "recon/recon_r000001.root" in products and "ft1/ft1_r000001.fits" in products, sorted(products)
    assert len(products) >= 15  # raw, mc, digi, and recon/merit/ft1 at crumb, chunk and run level
    assert products == _products(tmp_path / "native")
