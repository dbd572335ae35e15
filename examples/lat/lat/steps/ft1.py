"""makeFT1: merit rows -> FT1 photon file (FITS: EVENTS table + GTI), written with astropy.

Columns follow the Fermi FT1 layout.  EVENT_CLASS and EVENT_TYPE are 32X bit arrays stored
big-endian, so the 4 bytes of the field read as an integer give the bit mask (bit k = 2**k).
No DATE keyword: DATE-OBS/DATE-END come from TSTART/TSTOP (the data), so the file is
reproducible.  CHECKSUM/DATASUM are added with a fixed comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from astropy.io import fits

from lat import __version__, geometry
from lat.framework.module import Event, OutputModule
from lat.framework.params import Param, Table

# name, FITS format, unit, merit field (None: computed)
EVENT_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("ENERGY", "E", "MeV", "FT1Energy"),
    ("RA", "E", "deg", "FT1Ra"),
    ("DEC", "E", "deg", "FT1Dec"),
    ("L", "E", "deg", "FT1L"),
    ("B", "E", "deg", "FT1B"),
    ("THETA", "E", "deg", "FT1Theta"),
    ("PHI", "E", "deg", "FT1Phi"),
    ("ZENITH_ANGLE", "E", "deg", "FT1ZenithTheta"),
    ("EARTH_AZIMUTH_ANGLE", "E", "deg", "FT1EarthAzimuth"),
    ("TIME", "D", "s", "EvtElapsedTime"),
    ("EVENT_ID", "J", "", "EvtEventId"),
    ("RUN_ID", "J", "", None),
    ("RECON_VERSION", "I", "", "ReconVersion"),
    ("CALIB_VERSION", "3I", "", None),
    ("EVENT_CLASS", "32X", "", "EventClass"),
    ("EVENT_TYPE", "32X", "", "EventType"),
    ("CONVERSION_TYPE", "I", "", "FT1ConvType"),
    ("LIVETIME", "D", "s", None),
)
CHECKSUM_COMMENT = "lat-example reproducible checksum"


def mask_to_bits(mask: np.ndarray) -> np.ndarray:
    """int32 masks -> (n, 32) booleans, most significant bit first (FITS X order)."""
    mask = np.asarray(mask, dtype=np.int64) & 0xFFFFFFFF
    return ((mask[:, None] >> np.arange(31, -1, -1)) & 1).astype(bool)


def bits_to_mask(bits: np.ndarray) -> np.ndarray:
    return (np.asarray(bits, dtype=np.int64) << np.arange(31, -1, -1)).sum(axis=1)


def merge_intervals(intervals: list[tuple[float, float]], join: float = 0.0) -> list[tuple[float, float]]:
    """Union of intervals; neighbours closer than ``join`` seconds are joined."""
    merged: list[list[float]] = []
    for start, stop in sorted(intervals):
        if merged and start <= merged[-1][1] + join:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b) for a, b in merged]


def gti_hdu(intervals: list[tuple[float, float]], tstart: float, tstop: float) -> fits.BinTableHDU:
    starts = np.array([a for a, _ in intervals], dtype=np.float64)
    stops = np.array([b for _, b in intervals], dtype=np.float64)
    hdu = fits.BinTableHDU.from_columns(
        [fits.Column("START", "D", unit="s", array=starts), fits.Column("STOP", "D", unit="s", array=stops)],
        name="GTI",
    )
    _common_keywords(hdu.header, tstart, tstop)
    hdu.header["HDUCLAS1"] = "GTI"
    hdu.header["HDUCLAS2"] = "STANDARD"
    hdu.header["ONTIME"] = (float((stops - starts).sum()), "[s] sum of GTIs")
    return hdu


def _common_keywords(header: fits.Header, tstart: float, tstop: float) -> None:
    header["TELESCOP"] = ("GLAST", "name of telescope generating data")
    header["INSTRUME"] = ("LAT", "name of instrument generating data")
    header["EQUINOX"] = 2000.0
    header["RADECSYS"] = "FK5"
    header["DATE-OBS"] = (geometry.met_to_isot(tstart), "start of observation (from TSTART)")
    header["DATE-END"] = (geometry.met_to_isot(tstop), "end of observation (from TSTOP)")
    header["TSTART"] = (tstart, "mission time of the start of the observation")
    header["TSTOP"] = (tstop, "mission time of the end of the observation")
    header["MJDREFI"] = (geometry.MJDREFI, "MJD of the MET epoch, integer part")
    header["MJDREFF"] = (geometry.MJDREFF, "MJD of the MET epoch, fraction")
    header["TIMEUNIT"] = "s"
    header["TIMEZERO"] = 0.0
    header["TIMESYS"] = "TT"
    header["TIMEREF"] = "LOCAL"
    header["CREATOR"] = (f"lat-example {__version__} makeFT1", "software that created this file")
    header["HDUCLASS"] = "OGIP"


def events_hdu(columns: Mapping[str, np.ndarray], tstart: float, tstop: float) -> fits.BinTableHDU:
    fits_columns = []
    for name, form, unit, _ in EVENT_COLUMNS:
        fits_columns.append(fits.Column(name, form, unit=unit or None, array=columns[name]))
    hdu = fits.BinTableHDU.from_columns(fits_columns, name="EVENTS")
    _common_keywords(hdu.header, tstart, tstop)
    hdu.header["HDUCLAS1"] = "EVENTS"
    hdu.header["NDSKEYS"] = 3
    hdu.header["DSTYP1"], hdu.header["DSUNI1"], hdu.header["DSVAL1"], hdu.header["DSREF1"] = (
        "TIME",
        "s",
        "TABLE",
        ":GTI",
    )
    hdu.header["DSTYP2"], hdu.header["DSUNI2"], hdu.header["DSVAL2"] = "POS(RA,DEC)", "deg", "CIRCLE(0,0,180)"
    hdu.header["DSTYP3"], hdu.header["DSUNI3"], hdu.header["DSVAL3"] = "ENERGY", "MeV", "20:1000000"
    return hdu


def write_ft1(path: Path, events: fits.BinTableHDU, gti: fits.BinTableHDU) -> None:
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "GLAST"
    primary.header["INSTRUME"] = "LAT"
    primary.header["FILENAME"] = path.name
    primary.header["CREATOR"] = f"lat-example {__version__} makeFT1"
    hdus = fits.HDUList([primary, events, gti])
    for hdu in hdus:
        hdu.add_checksum(when=CHECKSUM_COMMENT)
    hdus.writeto(path, checksum=False)


class FT1Output(OutputModule):
    """Writes events whose EVENT_CLASS has a bit of ``eventClassMask`` to an FT1 file.

    The GTI extension holds the good-time intervals (outside the SAA) between the first and
    last event of the input, processed or not.
    """

    parameters: ClassVar[Mapping[str, Param | Table]] = {
        **OutputModule.parameters,
        "product": Param("str", "MeritTuple"),
        "eventClassMask": Param("int", 0xFFFFFFFF, "keep events with any of these class bits"),
    }

    def begin_job(self) -> None:
        self._rows: dict[str, list[Any]] = {name: [] for name, *_ in EVENT_COLUMNS}
        self._first_met: float | None = None
        self._last_met = 0.0
        self._run = 0

    def write(self, event: Event) -> None:
        merit = event.get(self.params["product"])
        met = float(merit["EvtElapsedTime"])
        if self._first_met is None:
            self._first_met = met
            self._run = event.run
        self._last_met = max(self._last_met, met)
        if not int(merit["EventClass"]) & self.params["eventClassMask"]:
            return
        for name, _form, _unit, field in EVENT_COLUMNS:
            if field is not None:
                self._rows[name].append(merit[field])
        self._rows["RUN_ID"].append(event.run)
        self._rows["CALIB_VERSION"].append(
            (int(merit["CalibVersionTkr"]), int(merit["CalibVersionCal"]), int(merit["CalibVersionAcd"]))
        )

    def end_job(self) -> None:
        rows = self._rows
        n = len(rows["TIME"])
        columns: dict[str, np.ndarray] = {}
        for name, form, _unit, _field in EVENT_COLUMNS:
            if name == "LIVETIME":
                continue
            if form.endswith("X"):
                columns[name] = mask_to_bits(np.array(rows[name], dtype=np.int64).reshape(n))
            elif form == "3I":
                columns[name] = np.array(rows[name], dtype=np.int16).reshape(n, 3)
            else:
                dtype = {"E": np.float32, "D": np.float64, "J": np.int32, "I": np.int16}[form]
                columns[name] = np.array(rows[name], dtype=dtype).reshape(n)
        columns["LIVETIME"] = geometry.livetime_since_mission_start(columns["TIME"]).astype(np.float64)
        tstart = self._first_met if self._first_met is not None else 0.0
        tstop = self._last_met if self._first_met is not None else 0.0
        intervals = geometry.good_time_intervals(tstart, tstop)
        path = self.context.outputs.stage(self.params["fileName"].format(run=self._run, subrun=0))
        write_ft1(path, events_hdu(columns, tstart, tstop), gti_hdu(intervals, tstart, tstop))
