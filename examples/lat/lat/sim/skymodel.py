"""The sky: bright point sources with power-law spectra, a Galactic diffuse map, isotropic emission.

The model file (YAML, lat/data/sky_model.yaml) gives fluxes as photons cm^-2 s^-1 in the
simulated energy band and intensities in photons cm^-2 s^-1 sr^-1.  The Galactic diffuse map is
a (b, l) grid stored as .npy (lat/data/galactic_diffuse.npy, made by tools/make_diffuse_map.py).
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
    l_edges: np.ndarray | None = None  # for sampling inside Galactic map pixels
    b_edges: np.ndarray | None = None


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
                path.parent / galactic["file"], float(galactic["index"]), float(galactic.get("scale", 1.0))
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


def _galactic_component(path: Path, index: float, scale: float) -> DiffuseComponent:
    try:
        grid = np.load(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read diffuse map ({exc})") from None
    n_b, n_l = grid.shape
    l_edges = np.linspace(0.0, 360.0, n_l + 1)
    b_edges = np.linspace(-90.0, 90.0, n_b + 1)
    l_mid = 0.5 * (l_edges[1:] + l_edges[:-1])
    b_mid = 0.5 * (b_edges[1:] + b_edges[:-1])
    ll, bb = np.meshgrid(l_mid, b_mid)
    ra, dec = geometry.galactic_to_equatorial(ll.ravel(), bb.ravel())
    sin_b = portable.sin(np.radians(b_edges))
    solid = np.outer(np.diff(sin_b), np.radians(np.diff(l_edges))).ravel()
    return DiffuseComponent(
        "galactic",
        geometry.radec_to_vector(ra, dec),
        solid,
        grid.astype(np.float64).ravel() * scale,
        index,
        l_edges,
        b_edges,
    )
