"""The Galactic diffuse cube: its shape, and the two-stage sampling (2° block, then 0.125° pixel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import lat
from lat.framework.errors import InputError
from lat.sim.galactic import BLOCK, load_galactic_cube

CUBE = Path(lat.__file__).parent / "data" / "gll_iem_toy.fits"


@pytest.fixture(scope="module")
def cube():  # type: ignore[no-untyped-def]
    if not CUBE.exists():
        pytest.fail(f"{CUBE} is missing: run examples/lat/install-native.sh (it generates the cube)")
    return load_galactic_cube(CUBE, 30.0, 1e5)


def test_cube_has_fermi_like_shape_and_size() -> None:
    assert CUBE.stat().st_size > 460e6  # the bulk of the release, like Fermi's gll_iem_v07.fits
    with fits.open(CUBE, memmap=True) as hdus:
        assert hdus[0].data.shape == (28, 1440, 2880)
        assert (hdus[0].header["CTYPE1"], hdus[0].header["CTYPE2"]) == ("GLON-CAR", "GLAT-CAR")
        assert hdus[0].header["CDELT1"] == 0.125
        energies = hdus["ENERGIES"].data["Energy"]
        assert energies[0] == 30.0 and abs(energies[-1] - 1e5) < 1e-6
        plane = hdus[0].data[:, 720, 0]  # b = +0.06, l = 0.06: the Galactic centre, along energy
        slopes = np.log(plane[1:] / plane[:-1]) / np.log(energies[1:] / energies[:-1])
        assert -2.5 < slopes.mean() < -2.1  # bulge and disk spectra


def test_blocks_tile_the_sky(cube) -> None:  # type: ignore[no-untyped-def]
    assert cube.block_solid_angle.shape == (90 * 180,)
    assert abs(cube.block_solid_angle.sum() - 4 * np.pi) < 1e-9
    assert cube.pixel_cdf.shape == (90 * 180, BLOCK * BLOCK)
    brightest = int(np.argmax(cube.block_intensity))
    row = brightest // 180
    assert abs(-90 + 2 * row + 1) < 4  # in the plane


def test_photons_land_in_their_block_in_proportion_to_pixel_weight(cube) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    block = int(np.argmax(cube.block_intensity))
    l_deg, b_deg = cube.sample(np.full(200_000, block), rng)
    row, col = divmod(block, 180)
    assert np.all((l_deg >= 2 * col) & (l_deg <= 2 * col + 2))
    assert np.all((b_deg >= -90 + 2 * row) & (b_deg <= -88 + 2 * row))
    pixel = (np.floor((b_deg + 90) / 0.125) - row * BLOCK) * BLOCK + np.floor(l_deg / 0.125) - col * BLOCK
    counts = np.bincount(pixel.astype(int), minlength=BLOCK * BLOCK)
    weights = np.diff(cube.pixel_cdf[block], prepend=0.0)
    expected = 200_000 * weights / weights.sum()
    bright = expected > 2000
    assert np.all(np.abs(counts[bright] - expected[bright]) < 5 * np.sqrt(expected[bright]))


def test_unusable_cube_names_the_file_and_how_to_make_it(tmp_path: Path) -> None:
    flat = tmp_path / "flat.fits"
    fits.PrimaryHDU(np.zeros((4, 8), dtype=np.float32)).writeto(flat)
    with pytest.raises(InputError, match=r"flat\.fits.*tools/make_diffuse_cube\.py"):
        load_galactic_cube(flat, 30.0, 1e5)
    with pytest.raises(InputError, match=r"missing\.fits.*cannot read diffuse model"):
        load_galactic_cube(tmp_path / "missing.fits", 30.0, 1e5)
