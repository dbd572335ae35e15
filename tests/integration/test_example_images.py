"""The example's images as built: the slim per-step images are at most half the full release."""

from __future__ import annotations

import pytest

SLIM = ("digi", "recon", "ft1")


@pytest.fixture(scope="module")
def sizes(example_images: dict[str, str]) -> dict[str, int]:
    from hepstack.catalog import Catalog
    from hepstack.context import Context

    catalog = Catalog(Context.from_environment().catalog_path)
    newest: dict[str, int] = {}
    for record in catalog.list(stack="lat", engine="podman"):  # newest first
        newest.setdefault(record.layer, record.size)
    return newest


@pytest.mark.podman
@pytest.mark.parametrize("layer", SLIM)
def test_slim_image_is_at_most_half_the_release(sizes: dict[str, int], layer: str) -> None:
    assert sizes[layer] <= sizes["release"] / 2, (
        f"{layer} {sizes[layer] / 1e6:.0f} MB, release {sizes['release'] / 1e6:.0f} MB"
    )


@pytest.mark.podman
def test_the_diffuse_cube_is_in_the_data_layer_only(sizes: dict[str, int]) -> None:
    """What makes the release big is the sky model: the data layer adds the 465 MB cube to framework."""
    assert sizes["data"] - sizes["framework"] > 460e6
    assert sizes["release"] - sizes["data"] < 5e6  # the release's own code is small
    assert sizes["ft1"] - sizes["framework"] < 5e6  # ft1 = framework + the step code, no cube
