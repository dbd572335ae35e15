#!/usr/bin/env python3
"""Generate lat/data/galactic_diffuse.npy: a toy Galactic diffuse intensity map.

A (b, l) grid with 2-degree pixels (90 x 180, float32, 64 kB): rows run from b = -90 to +90,
columns from l = 0 to 360.  Values are intensities in photons cm^-2 s^-1 sr^-1 in the simulated
band: a thin disk (exponential in |b|) brighter towards the inner Galaxy, plus a broad bulge.
Run once; the output is committed.
    python tools/make_diffuse_map.py -o lat/data/galactic_diffuse.npy
"""

from __future__ import annotations

import argparse

import numpy as np


def diffuse_map(pixel_deg: float = 2.0) -> np.ndarray:
    l_mid = np.arange(0.0, 360.0, pixel_deg) + pixel_deg / 2
    b_mid = np.arange(-90.0, 90.0, pixel_deg) + pixel_deg / 2
    ll, bb = np.meshgrid(l_mid, b_mid)
    l_wrapped = (ll + 180.0) % 360.0 - 180.0
    disk = np.exp(-np.abs(bb) / 3.0) * (0.3 + np.exp(-0.5 * (l_wrapped / 40.0) ** 2))
    bulge = 0.5 * np.exp(-0.5 * ((l_wrapped / 12.0) ** 2 + (bb / 10.0) ** 2))
    halo = 0.02 * np.exp(-np.abs(bb) / 30.0)
    return (3.0e-3 * (disk + bulge + halo)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-o", "--output", default="lat/data/galactic_diffuse.npy")
    args = parser.parse_args()
    np.save(args.output, diffuse_map())


if __name__ == "__main__":
    main()
