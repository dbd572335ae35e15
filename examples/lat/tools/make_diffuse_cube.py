#!/usr/bin/env python3
"""Generate the Galactic diffuse model: a Fermi-like intensity cube in FITS, 2880 x 1440 x 28, 465 MB.

Fermi-LAT's Galactic interstellar emission model (gll_iem_v07.fits) is a CAR map of 0.125 degree
pixels with 28 energy planes, about 465 MB: the bulk of a release's data. This toy has the same shape
and size: l from 0 to 360 and b from -90 to +90 in 0.125 degree pixels (pixel edges on the whole
and eighth degrees), 28 planes log-spaced from 30 MeV to 100 GeV (the simulated band), float32, in
photons cm^-2 s^-1 sr^-1 MeV^-1; an ENERGIES table (MeV) follows the image, as in Fermi's file.

The sky: a thin disk brighter towards the inner Galaxy, a bulge, a broad halo and a few hundred
"clouds" (random positions from a fixed seed), each with a power-law spectrum — index 2.2 in the
bulge, 2.4 in the disk, 2.7 in the halo — normalised so that a pure index-2.4 pixel integrates to its
template value over the band. Everything is computed with +, -, *, / only (profiles are Lorentzian,
each energy plane is the previous one times a per-pixel ratio): no libm, so every platform with the
same numpy writes the same bytes. That matters because the file is too big to ship: it is generated
where it is installed (the `data` and `legacy` image layers, examples/lat/install-native.sh), and the
bullseye legacy image must simulate exactly what the bookworm release does.

    python3 tools/make_diffuse_cube.py lat/data/gll_iem_toy.fits
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

PIXEL_DEG = 0.125
N_L, N_B, N_E = 2880, 1440, 28
E_MIN_MEV = 30.0
E_RATIO = 1.350445277775488  # (100000 / 30) ** (1 / 27): 28 planes from 30 MeV to 100 GeV
# E_RATIO ** -index for the three spectral indices (written out: no pow() at run time)
STEP = {2.2: 0.5163576561134126, 2.4: 0.4862450829459391, 2.7: 0.4443366388038262}
TEMPLATE_SCALE = 3.0e-3  # ph cm^-2 s^-1 sr^-1 over the band, as the coarse map this replaces
CLOUDS = 300
SEED = 20080611  # Fermi's launch date


def energies() -> np.ndarray:
    values = [E_MIN_MEV]
    for _ in range(N_E - 1):
        values.append(values[-1] * E_RATIO)
    return np.array(values)


def band_integral(first: float, step: float, energy: np.ndarray) -> float:
    """Trapezoid over the planes of a spectrum whose planes are first, first*step, first*step^2, ..."""
    total, value = 0.0, first
    for k in range(len(energy) - 1):
        following = value * step
        total += 0.5 * (value + following) * (energy[k + 1] - energy[k])
        value = following
    return total


def lorentz(x: np.ndarray, width: float) -> np.ndarray:
    scaled = x / width
    return 1.0 / (1.0 + scaled * scaled)


def templates(l_mid: np.ndarray, b_mid: np.ndarray) -> dict[str, np.ndarray]:
    """Band-integrated intensity of each component on the (b, l) grid."""
    l_wrapped = (l_mid + 180.0) % 360.0 - 180.0
    ll, bb = l_wrapped[None, :], b_mid[:, None]
    disk = lorentz(bb, 2.5) * (0.3 + lorentz(ll, 40.0))
    disk = disk + _clouds(l_wrapped, b_mid)
    bulge = 0.5 / (1.0 + (ll / 12.0) ** 2 + (bb / 10.0) ** 2)
    halo = 0.02 * lorentz(bb, 30.0) * np.ones_like(ll)
    return {"disk": disk, "bulge": bulge, "halo": halo}


def _clouds(l_wrapped: np.ndarray, b_mid: np.ndarray) -> np.ndarray:
    """Small bright clumps near the plane, each evaluated in a window around it."""
    rng = np.random.default_rng(SEED)
    field = np.zeros((N_B, N_L))
    centre_l = rng.uniform(-90.0, 90.0, CLOUDS)
    centre_b = rng.uniform(-4.0, 4.0, CLOUDS)
    width = rng.uniform(0.3, 2.0, CLOUDS)
    height = rng.uniform(0.2, 1.0, CLOUDS)
    amplitude = rng.uniform(0.05, 0.6, CLOUDS)
    order = np.argsort(l_wrapped, kind="stable")
    sorted_l = l_wrapped[order]
    for i in range(CLOUDS):
        low, high = np.searchsorted(sorted_l, [centre_l[i] - 8 * width[i], centre_l[i] + 8 * width[i]])
        columns = order[low:high]
        rows = np.nonzero(np.abs(b_mid - centre_b[i]) < 8 * height[i])[0]
        dl = (l_wrapped[columns] - centre_l[i]) / width[i]
        db = (b_mid[rows] - centre_b[i]) / height[i]
        field[np.ix_(rows, columns)] += amplitude[i] / (1.0 + db[:, None] ** 2 + dl[None, :] ** 2)
    return field


def cube() -> tuple[np.ndarray, np.ndarray]:
    """(28, 1440, 2880) float32 intensities per MeV and the plane energies (MeV)."""
    energy = energies()
    l_mid = (np.arange(N_L) + 0.5) * PIXEL_DEG
    b_mid = -90.0 + (np.arange(N_B) + 0.5) * PIXEL_DEG
    parts = templates(l_mid, b_mid)
    unit = band_integral(1.0, STEP[2.4], energy)  # so an index-2.4 pixel integrates to its template
    first = TEMPLATE_SCALE / unit * (parts["disk"] + parts["bulge"] + parts["halo"])
    total = parts["disk"] + parts["bulge"] + parts["halo"]
    step = (STEP[2.4] * parts["disk"] + STEP[2.2] * parts["bulge"] + STEP[2.7] * parts["halo"]) / total
    data = np.empty((N_E, N_B, N_L), dtype=np.float32)
    plane = first
    for k in range(N_E):
        data[k] = plane
        plane = plane * step
    return data, energy


def write(path: Path) -> None:
    from astropy.io import fits

    data, energy = cube()
    primary = fits.PrimaryHDU(data)
    header = primary.header
    for axis, (ctype, start) in enumerate(
        [("GLON-CAR", 0.5 * PIXEL_DEG), ("GLAT-CAR", -90.0 + 0.5 * PIXEL_DEG)], 1
    ):
        header[f"CTYPE{axis}"] = ctype
        header[f"CRPIX{axis}"] = 1.0
        header[f"CRVAL{axis}"] = start
        header[f"CDELT{axis}"] = PIXEL_DEG
        header[f"CUNIT{axis}"] = "deg"
    header["CTYPE3"] = "Energy"
    header["BUNIT"] = "ph cm-2 s-1 sr-1 MeV-1"
    header["NPIXL"], header["NPIXB"] = N_L, N_B
    header["COMMENT"] = "Toy Galactic diffuse model of the LAT example (tools/make_diffuse_cube.py)"
    energies_hdu = fits.BinTableHDU.from_columns(
        [fits.Column(name="Energy", format="D", unit="MeV", array=energy)], name="ENERGIES"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        fits.HDUList([primary, energies_hdu]).writeto(partial, overwrite=True)
        partial.replace(path)  # never a half-written model under the real name
    finally:
        partial.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the FITS file to write, e.g. lat/data/gll_iem_toy.fits")
    args = parser.parse_args()
    try:
        write(args.output)
    except OSError as exc:
        sys.exit(f"make_diffuse_cube: cannot write {args.output}: {exc}")
    print(f"{args.output}: {N_L} x {N_B} x {N_E} float32, {args.output.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
