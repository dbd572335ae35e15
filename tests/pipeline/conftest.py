"""Fixtures for pipeline tests: a private state DB, data dir and sites directory per test, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEPSTACK = str(Path(sys.executable).parent / "hepstack")


@pytest.fixture
def pipeline_env(tmp_path: Path) -> dict[str, str]:
    """HEPSTACK_* for one test: state DB, data dir (job directories) and site files of its own."""
    sites = tmp_path / "sites"
    sites.mkdir()
    return {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_CACHE_DIR": str(tmp_path / "cache"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "HEPSTACK_SITES_PATH": str(sites),
    }


def hepstack_pipeline(
    *args: str, env: dict[str, str], check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`hepstack pipeline ARGS` in a new process."""
    result = subprocess.run(
        [HEPSTACK, "pipeline", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"pipeline {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


# --- the real farms: fixtures shared by test_l1_farm.py and test_production.py ------------------------

from tests.integration.conftest import (  # noqa: E402, F401 - fixtures, used by name
    image_archive,
    release_ref,
    rootless_image,
    shared_tmp,
    test_user,
    user_env,
)


@pytest.fixture(scope="session")
def farm_sites(shared_tmp: Path) -> Path:
    from tests.pipeline.farm import write_sites

    return write_sites(shared_tmp / "farm-sites")


@pytest.fixture(scope="session")
def delivery(shared_tmp: Path) -> Path:
    """A delivery of 2 runs x 3 chunks (lat-delivery), readable by every user."""
    from tests.pipeline.farm import CHUNK_EVENTS, NATIVE_BIN

    path = shared_tmp / "d001"
    subprocess.run(
        [str(NATIVE_BIN / "lat-delivery"), str(path), "--chunk-events", CHUNK_EVENTS, "--seed", "17"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def small_delivery(shared_tmp: Path) -> Path:
    """1 run x 2 chunks (1 and 2 crumbs): the production-condition tests' delivery (a short suite)."""
    from tests.pipeline.farm import NATIVE_BIN

    path = shared_tmp / "d002"
    subprocess.run(
        [str(NATIVE_BIN / "lat-delivery"), str(path), "--chunk-events", "1500,3200", "--seed", "18"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)
    return path


def _native_reference(delivery: Path, out: Path) -> dict[str, str]:
    """``delivery`` processed natively, step by step, by the example's host driver: sha256 by product."""
    from tests.pipeline.farm import NATIVE_BIN, products

    subprocess.run(
        [str(NATIVE_BIN / "lat-l1"), "delivery", str(delivery), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    subprocess.run(["chmod", "-R", "a+rX", str(out)], check=True)
    return products(out)


@pytest.fixture(scope="session")
def native_l1(delivery: Path, shared_tmp: Path) -> dict[str, str]:
    """The reference for ``delivery``."""
    sums = _native_reference(delivery, shared_tmp / "native-l1")
    # per run: 3 digi, 4 crumbs x (recon, merit), 3 chunks x (recon, merit, FT1), 3 run merges
    assert len(sums) == 2 * (3 + 4 * 2 + 3 * 3 + 3), sorted(sums)
    return sums


@pytest.fixture(scope="session")
def small_native_l1(small_delivery: Path, shared_tmp: Path) -> dict[str, str]:
    """The reference for ``small_delivery``."""
    sums = _native_reference(small_delivery, shared_tmp / "native-l1-small")
    assert len(sums) == 2 + 3 * 2 + 2 * 3 + 3, sorted(sums)
    return sums


@pytest.fixture(scope="session")
def user_slim_images(
    test_user: Any, example_images: dict[str, str], shared_tmp: Path, user_env: dict[str, str]
) -> dict[str, str]:
    """The slim step images (and the release) in the test user's rootless store, also as :latest."""
    layers = ("digi", "recon", "ft1", "release")
    archive = shared_tmp / "slim-images.tar"
    references = [example_images[layer] for layer in layers]
    subprocess.run(
        ["podman", "save", "-m", "--output", str(archive), *references], check=True, capture_output=True
    )
    archive.chmod(0o644)
    assignments = [f"{k}={v}" for k, v in user_env.items()]
    as_user = ["runuser", "-u", test_user.pw_name, "--", "env", *assignments]
    subprocess.run([*as_user, "podman", "load", "--input", str(archive)], check=True, capture_output=True)
    for layer, reference in zip(layers, references, strict=True):
        subprocess.run(
            [*as_user, "podman", "tag", reference, f"localhost/lat/{layer}:latest"],
            check=True,
            capture_output=True,
        )
    return dict(zip(layers, references, strict=True))
