"""Builders of real ROOT, FITS and text files for the verify tests (uproot, astropy), and a CLI runner.

Every builder writes a small "reference" output; keyword arguments change one thing, so a test can make
the second file differ in exactly the way it is about.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

ENTRIES = 12


def reference_px() -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.arange(ENTRIES, dtype=np.float64) * 1.5


def reference_hits() -> list[list[float]]:
    return [[float(i), float(i) + 0.5][: i % 3] for i in range(ENTRIES)]


def reference_energy_bins() -> np.ndarray[Any, np.dtype[np.float64]]:
    # underflow, 4 bins, overflow: ROOT's layout of a TH1 content array
    return np.array([1.0, 5.0, 7.0, 3.0, 2.0, 4.0])


def write_root(
    path: Path,
    compression: Any = "zlib",
    *,
    px: np.ndarray[Any, Any] | None = None,
    hits: list[list[float]] | None = None,
    energy_bins: np.ndarray[Any, Any] | None = None,
    note: str = "calibration v1",
    extra_histogram: bool = False,
    entries: int = ENTRIES,
    profile_sum: float = 6.0,
) -> Path:
    """A TTree 'events' (px, n, jagged hits), TH1D 'energy', TProfile 'response', TH2D 'hitmap',
    TObjString 'meta/note' and an RNTuple 'summary' (record and nested jagged fields)."""
    import uproot
    import uproot.writing.identify as identify

    codec = {
        "zlib": uproot.ZLIB(4),
        "lz4": uproot.LZ4(4),
        "lzma": uproot.LZMA(6),
        "zstd": uproot.ZSTD(5),
        "none": None,
    }[compression]
    px = reference_px() if px is None else px
    hits = reference_hits() if hits is None else hits
    with uproot.recreate(path, compression=codec) as file:
        file.mktree("events", {"px": np.float64, "n": np.int32, "hits": "var * float32"}, title="toy events")
        half = entries // 2
        for start, stop in ((0, half), (half, entries)):  # two extends: two baskets per branch
            file["events"].extend(
                {
                    "px": px[start:stop],
                    "n": np.arange(start, stop, dtype=np.int32),
                    "hits": ak.Array(hits[start:stop]),
                }
            )
        bins = reference_energy_bins() if energy_bins is None else energy_bins
        axis = identify.to_TAxis("xaxis", "", 4, 0.0, 4.0)
        file["energy"] = identify.to_TH1x(
            "energy", "energy;E [GeV]", bins, float(bins.sum()), 22.0, 22.0, 40.0, 90.0, bins.copy(), axis
        )
        file["response"] = _profile(profile_sum)
        rng = np.random.default_rng(7)
        file["hitmap"] = np.histogram2d(rng.normal(size=200), rng.normal(size=200), bins=(3, 4))
        file["meta/note"] = note
        file["summary"] = {
            "track": ak.zip({"chi2": [1.0, 2.5, 0.5], "ndf": [3, 4, 5]}),
            "layers": ak.Array([[[1, 2], [3]], [], [[4]]]),
        }
        if extra_histogram:
            file["background"] = (np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    return path


def _profile(bin_two_sum: float) -> Any:
    """A 3-bin TProfile; ``bin_two_sum`` is the sum of y in bin 2, so its mean is bin_two_sum / 3."""
    import uproot.writing.identify as identify

    sum_y = np.array([0.0, 2.0, bin_two_sum, 9.0, 0.0])  # with under/overflow
    entries = np.array([0.0, 2.0, 3.0, 3.0, 0.0])
    sum_y2 = np.array([0.0, 2.5, 14.0, 30.0, 0.0])
    axis = identify.to_TAxis("xaxis", "", 3, 0.0, 3.0)
    return identify.to_TProfile(
        "response",
        "response;x;y",
        sum_y,
        8.0,
        8.0,
        8.0,
        12.0,
        24.0,
        17.0,
        46.5,
        sum_y2,
        entries,
        np.array([]),
        axis,
    )


def write_fits(
    path: Path,
    *,
    energy: np.ndarray[Any, Any] | None = None,
    image: np.ndarray[Any, Any] | None = None,
    observer: str = "Ada",
    date: str = "2024-05-01T10:00:00",
    origin: str = "native",
    energy_unit: str = "MeV",
) -> Path:
    """Primary HDU with a 4x5 float32 image and header keys; BINTABLE 'EVENTS' with scalar, vector and
    string columns."""
    from astropy.io import fits

    energy = np.linspace(10.0, 20.0, 6) if energy is None else energy
    image = np.arange(20, dtype=np.float32).reshape(4, 5) / 3 if image is None else image
    primary = fits.PrimaryHDU(image)
    primary.header["OBSERVER"] = observer
    primary.header["DATE"] = date
    primary.header["ORIGIN"] = origin
    primary.header["HISTORY"] = "made by the verify tests"
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="ENERGY", format="D", unit=energy_unit, array=energy),
            fits.Column(name="PHA", format="J", array=np.arange(6, dtype=np.int32)),
            fits.Column(name="DIR", format="2E", array=np.arange(12, dtype=np.float32).reshape(6, 2)),
            fits.Column(
                name="DETECTOR", format="4A", array=np.array(["LAT", "GBM", "LAT", "LAT", "GBM", "LAT"])
            ),
        ],
        name="EVENTS",
    )
    table.header["DATE"] = date
    fits.HDUList([primary, table]).writeto(path)
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


#: A prefix that runs a command without root's right to read any file (CAP_DAC_OVERRIDE and
#: CAP_DAC_READ_SEARCH dropped from the bounding set), so a mode-000 file is unreadable even for root.
UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []


def run_cli(*args: str, timeout: float = 120, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    """``hepstack verify ...`` through the real console entry point ``hepstack.cli:main`` in a subprocess.

    Imports the verify command module first and registers only it, so this runs before (and after) the
    lead adds ``verify`` to ``_register()`` and whatever the other command modules' state.
    ``unprivileged`` runs it with :data:`UNPRIVILEGED`; ``timeout`` fails a run that hangs.
    """
    code = "import hepstack.cli as cli, hepstack.cli.verify\ncli._register = lambda: None\ncli.main()\n"
    prefix = UNPRIVILEGED if unprivileged else []
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
