"""The example experiment's L1 chain: byte-identical data products natively, in the release image and
on the bullseye legacy platform; slim step images run their step and lack the simulation; a delivery
through the slim images, step by step as the pipeline runs it, makes the native reference's bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK, REPO, hepstack

pytestmark = [pytest.mark.slow, pytest.mark.podman]
RUN_L1 = REPO / "examples" / "lat" / "run-l1.sh"
NATIVE = Path(os.environ.get("LAT_NATIVE", "/opt/lat-native")) / "bin"  # as run-l1.sh
PRODUCTS = ("raw", "mc", "digi", "recon", "merit", "ft1")
SMALL_RUN = ["--run-id", "7", "--chunks", "2", "--crumbs", "2", "--events", "400", "--seed", "11"]


def _chain(runtime: str, work: Path, image: str = "lat/release") -> dict[str, str]:
    if not (NATIVE / "lat-l1").exists():
        pytest.skip("the example's native install is missing (examples/lat/install-native.sh)")
    environment = {**os.environ, "HEPSTACK": HEPSTACK, "LAT_IMAGE": image}
    result = subprocess.run(
        [str(RUN_L1), runtime, str(work), *SMALL_RUN],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "median s/event" in result.stdout and "recon" in result.stdout
    return {
        str(path.relative_to(work)): hashlib.sha256(path.read_bytes()).hexdigest()
        for product in PRODUCTS
        for path in sorted((work / product).rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def native_dir(example_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("native")


@pytest.fixture(scope="module")
def native_products(native_dir: Path) -> dict[str, str]:
    return _chain("native", native_dir)


def test_release_image_matches_native_byte_for_byte(native_products: dict[str, str], tmp_path: Path) -> None:
    in_podman = _chain("podman", tmp_path / "podman")
    assert len(native_products) >= 20  # raw, mc, digi, recon/merit/ft1 at crumb, chunk and run level
    assert in_podman == native_products


def test_legacy_bullseye_image_matches_native_byte_for_byte(
    native_products: dict[str, str], tmp_path: Path
) -> None:
    """bullseye's glibc 2.31 and bookworm's 2.36 round asin/acos/atan2/hypot differently in the last bit;
    the example takes its trigonometry from lat.framework.portable (no libm), so every file is the same
    (examples/lat/README.md)."""
    legacy = _chain("podman", tmp_path / "legacy", image="lat/legacy")
    assert len(native_products) >= 20
    assert legacy == native_products


def test_slim_digi_image_runs_digi_but_has_no_simulation(example_images: dict[str, str]) -> None:
    listing = hepstack(
        "run",
        "lat/digi",
        "--",
        "sh",
        "-c",
        "lat-config --list; ls /opt/lat/lat; python3 -c 'import astropy' 2>&1 | tail -1",
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert "digi" in listing.stdout
    assert "sim" not in listing.stdout.split() and "data" not in listing.stdout.split()
    assert "No module named 'astropy'" in listing.stdout
    simulate = hepstack("run", "lat/digi", "--", "lat-run", "simulate", "-n", "1", check=False)
    assert simulate.returncode == 2
    assert "lat.sim" in simulate.stderr or "simulat" in simulate.stderr.lower()
    assert "Traceback" not in simulate.stderr


def _delivery_products(out: Path) -> dict[str, str]:
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("r*/*/*"))
        if path.parent.name in ("digi", "recon", "merit", "ft1")
    }


def test_delivery_through_the_slim_images_matches_native(
    example_images: dict[str, str], tmp_path: Path
) -> None:
    """Every step in its slim image (digi; recon: recon, merit, ROOT merges; ft1: makeFT1, FT1 merges)."""
    if not (NATIVE / "lat-delivery").exists():
        pytest.skip("the example's native install is missing (examples/lat/install-native.sh)")
    delivery = tmp_path / "dl7"
    made = subprocess.run(
        [str(NATIVE / "lat-delivery"), str(delivery), "--chunk-events", "120,40/50", "--seed", "7"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    outputs = {}
    binds = f"--bind {tmp_path}:{tmp_path} --workdir {tmp_path}"
    for name, prefix in (
        ("native", ""),
        ("slim", f"{HEPSTACK} run --runtime podman {binds} lat/{{image}} --"),
    ):
        out = tmp_path / name
        args = ["delivery", str(delivery), "--out", str(out), "--crumb-min-average", "40", "--prefix", prefix]
        result = subprocess.run([str(NATIVE / "lat-l1"), *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        outputs[name] = _delivery_products(out)
    log = (tmp_path / "slim" / "logs" / "mergeFT1Chunks_r000001.log").read_text()
    assert " lat/ft1 -- lat-merge fits -o " in log  # the FT1 merge ran in the slim ft1 image
    assert len(outputs["native"]) == 28 and outputs["slim"] == outputs["native"]
