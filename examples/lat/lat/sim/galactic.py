"""The Galactic diffuse model as the simulation uses it: 2° blocks for rates, 0.125° pixels for positions.

The model (lat/data/gll_iem_toy.fits, made by tools/make_diffuse_cube.py) is a Fermi-like cube:
2880 x 1440 pixels of 0.125° in (l, b), 28 energy planes, photons cm^-2 s^-1 sr^-1 MeV^-1. It is
integrated over the simulated band (trapezoid over the planes inside it). The source recomputes
every diffuse component's rate at each pointing step; doing that for 4.1 million pixels would
dominate the job, so the rate uses blocks of 16 x 16 pixels (a 2° grid of 16,200 blocks) and a
photon's direction is drawn in two stages: its block by rate (in the source), then a pixel inside
the block by intensity x solid angle (here), then a uniform point on the sphere inside that pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lat.framework import portable
from lat.framework.errors import InputError

BLOCK = 16  # pixels per block side: 0.125° x 16 = 2°
MAKE_HINT = "generate it with: python3 tools/make_diffuse_cube.py PATH (examples/lat/install-native.sh does)"


@dataclass(frozen=True)
class GalacticCube:
    """The band-integrated model: per block for rates, per pixel (inside its block) for positions."""

    l_edges: np.ndarray  # block edges (deg), n_l_blocks + 1
    b_edges: np.ndarray  # block edges (deg), n_b_blocks + 1
    block_intensity: np.ndarray  # (n_blocks,) mean intensity over the block, ph cm^-2 s^-1 sr^-1
    block_solid_angle: np.ndarray  # (n_blocks,) sr
    pixel_cdf: np.ndarray  # (n_blocks, BLOCK * BLOCK) cumulative pixel weights inside each block
    pixel_deg: float

    def sample(self, block: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(l, b) in degrees of one photon in each of ``block`` (block indices, row-major over (b, l))."""
        n_l_blocks = len(self.l_edges) - 1
        cdf = self.pixel_cdf[block]
        pick = rng.random(len(block)) * cdf[:, -1]
        inside = np.minimum((cdf <= pick[:, None]).sum(axis=1), BLOCK * BLOCK - 1)
        block_row, block_col = np.divmod(block, n_l_blocks)
        row = block_row * BLOCK + inside // BLOCK
        col = block_col * BLOCK + inside % BLOCK
        l_low = col * self.pixel_deg
        l_deg = l_low + rng.random(len(block)) * self.pixel_deg
        b_low = -90.0 + row * self.pixel_deg
        sin_low = portable.sin(np.radians(b_low))
        sin_high = portable.sin(np.radians(b_low + self.pixel_deg))
        b_deg = np.degrees(portable.arcsin(sin_low + rng.random(len(block)) * (sin_high - sin_low)))
        return l_deg, b_deg


def load_galactic_cube(path: Path, emin: float, emax: float, scale: float = 1.0) -> GalacticCube:
    """Read ``path`` and integrate it over [emin, emax] MeV; InputError naming the file if it is unusable."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=True) as hdus:
            cube = hdus[0].data
            energies = np.asarray(hdus["ENERGIES"].data["Energy"], dtype=np.float64)
            if cube is None or cube.ndim != 3 or cube.shape[0] != len(energies):
                raise InputError(f"{path}: not an (energy, b, l) cube with an ENERGIES table; {MAKE_HINT}")
            _planes, n_b, n_l = cube.shape
            if n_b % BLOCK or n_l % BLOCK or n_l != 2 * n_b:
                raise InputError(f"{path}: a {n_l} x {n_b} map does not tile the sky in {BLOCK}-pixel blocks")
            intensity = _band_integral(cube, energies, emin, emax, path)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read diffuse model ({exc}); {MAKE_HINT}") from None
    return _blocked(intensity * scale, n_l, n_b)


def _band_integral(
    cube: np.ndarray, energies: np.ndarray, emin: float, emax: float, path: Path
) -> np.ndarray:
    inside = np.nonzero((energies >= emin * (1 - 1e-9)) & (energies <= emax * (1 + 1e-9)))[0]
    if len(inside) < 2:
        raise InputError(f"{path}: fewer than two energy planes inside the band {emin}-{emax} MeV")
    total = np.zeros(cube.shape[1:])
    previous = np.asarray(cube[inside[0]], dtype=np.float64)
    for k in inside[1:]:
        current = np.asarray(cube[k], dtype=np.float64)
        total += 0.5 * (previous + current) * (energies[k] - energies[k - 1])
        previous = current
    return total


def _blocked(intensity: np.ndarray, n_l: int, n_b: int) -> GalacticCube:
    pixel_deg = 360.0 / n_l
    b_pixel_edges = -90.0 + np.arange(n_b + 1) * pixel_deg
    sin_b = portable.sin(np.radians(b_pixel_edges))
    pixel_solid_angle = np.diff(sin_b) * np.radians(pixel_deg)  # per row
    weight = intensity * pixel_solid_angle[:, None]  # (n_b, n_l): photons cm^-2 s^-1 per pixel
    blocks = weight.reshape(n_b // BLOCK, BLOCK, n_l // BLOCK, BLOCK).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(-1, BLOCK * BLOCK)
    pixel_cdf = np.cumsum(blocks, axis=1)
    block_deg = pixel_deg * BLOCK
    l_edges = np.arange(n_l // BLOCK + 1) * block_deg
    b_edges = -90.0 + np.arange(n_b // BLOCK + 1) * block_deg
    block_sin = portable.sin(np.radians(b_edges))
    block_solid_angle = np.outer(np.diff(block_sin), np.full(n_l // BLOCK, np.radians(block_deg))).ravel()
    return GalacticCube(
        l_edges=l_edges,
        b_edges=b_edges,
        block_intensity=pixel_cdf[:, -1] / block_solid_angle,
        block_solid_angle=block_solid_angle,
        pixel_cdf=pixel_cdf,
        pixel_deg=pixel_deg,
    )
