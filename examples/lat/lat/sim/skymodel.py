"""The sky: bright point sources with power-law spectra, a Galactic diffuse map, isotropic emission.

The model file (YAML, lat/data/sky_model.yaml) gives fluxes as photons cm^-2 s^-1 in the
simulated energy band and intensities in photons cm^-2 s^-1 sr^-1.  The Galactic diffuse model is
a Fermi-like FITS cube (lat/data/gll_iem_toy.fits, 465 MB, generated at install time by
tools/make_diffuse_cube.py; see lat/sim/galactic.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from lat import geometry
from lat.framework import portable
from lat.framework.errors import InputError
from lat.sim.galactic import GalacticCube, load_galactic_cube

ISOTROPIC_POINTS = 4096


@dataclass(frozen=True)
class PointSource:
    name: str
    ra: float
    dec: float
    flux: float
    index: float


@dataclass
class DiffuseComponent:
    """Intensity on a set of sky pixels (unit vectors, solid angles)."""

    name: str
    vectors: np.ndarray  # (n, 3) equatorial
    solid_angle: np.ndarray  # (n,) sr
    intensity: np.ndarray  # (n,) ph cm-2 s-1 sr-1
    index: float
    cube: GalacticCube | None = None  # the Galactic model: samples positions inside each block


@dataclass
class SkyModel:
    emin: float
    emax: float
    point_sources: list[PointSource]
    diffuse: list[DiffuseComponent]


def fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = math.pi * (1.0 + math.sqrt(5.0)) * i
    r = np.sqrt(1.0 - z * z)
    sin_phi, cos_phi = portable.sincos(phi)
    return np.stack([r * cos_phi, r * sin_phi, z], axis=1)


def load_sky_model(path: Path) -> SkyModel:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read sky model ({exc})") from None
    energy = data.get("energy", {})
    sources = [
        PointSource(s["name"], float(s["ra"]), float(s["dec"]), float(s["flux"]), float(s["index"]))
        for s in data.get("point_sources", []) or []
    ]
    diffuse: list[DiffuseComponent] = []
    galactic = (data.get("diffuse") or {}).get("galactic")
    if galactic:
        diffuse.append(
            _galactic_component(
                path.parent / galactic["file"],
                float(galactic["index"]),
                float(galactic.get("scale", 1.0)),
                float(energy.get("min", 30.0)),
                float(energy.get("max", 1e5)),
            )
        )
    isotropic = (data.get("diffuse") or {}).get("isotropic")
    if isotropic:
        vectors = fibonacci_sphere(ISOTROPIC_POINTS)
        diffuse.append(
            DiffuseComponent(
                "isotropic",
                vectors,
                np.full(ISOTROPIC_POINTS, 4 * math.pi / ISOTROPIC_POINTS),
                np.full(ISOTROPIC_POINTS, float(isotropic["intensity"])),
                float(isotropic["index"]),
            )
        )
    return SkyModel(float(energy.get("min", 30.0)), float(energy.get("max", 1e5)), sources, diffuse)


def _galactic_component(path: Path, index: float, scale: float, emin: float, emax: float) -> DiffuseComponent:
    """The cube integrated over the band, as 2° blocks (rates) that sample 0.125° pixels (positions)."""
    cube = load_galactic_cube(path, emin, emax, scale)
    l_mid = 0.5 * (cube.l_edges[1:] + cube.l_edges[:-1])
    b_mid = 0.5 * (cube.b_edges[1:] + cube.b_edges[:-1])
    ll, bb = np.meshgrid(l_mid, b_mid)
    ra, dec = geometry.galactic_to_equatorial(ll.ravel(), bb.ravel())
    return DiffuseComponent(
        "galactic",
        geometry.radec_to_vector(ra, dec),
        cube.block_solid_angle,
        cube.block_intensity,
        index,
        cube,
    )
