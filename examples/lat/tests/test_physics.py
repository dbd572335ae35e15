"""Physics sanity on the bright-source chain: PSF, energy dispersion, FT1 units."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import matched_truth

from lat import geometry
from lat.sim.response import PointSpread

CONFIGURED_PSF = PointSpread(3.0, 0.1, 0.8, 1.8)  # simulate.yaml tracker.psf
CONFIGURED_RESOLUTION = 0.10  # simulate.yaml calorimeter.energyResolution


def test_point_source_within_configured_psf(chain: dict[str, Path], bright_source: dict[str, object]) -> None:
    mc, merit = matched_truth(chain)
    good = merit["TkrStatus"] == 1
    assert good.mean() > 0.9
    truth = geometry.radec_to_vector(bright_source["ra"], bright_source["dec"])
    reco = geometry.radec_to_vector(merit["FT1Ra"][good].astype(float), merit["FT1Dec"][good].astype(float))
    separation = geometry.angular_separation_deg(reco, truth)
    back = mc["McTruth_convLayer"][good] >= 12
    psf68 = CONFIGURED_PSF.containment68_deg(mc["McTruth_energy"][good], back)
    contained = float(np.mean(separation < psf68))
    assert 0.62 < contained < 0.75, contained
    # the reconstructed source position (mean direction) is far inside the PSF
    centroid = reco.mean(axis=0)
    offset = float(geometry.angular_separation_deg(centroid / np.linalg.norm(centroid), truth))
    assert offset < 0.2 * float(np.median(psf68)), (offset, np.median(psf68))


def test_energy_resolution_matches_configured_dispersion(chain: dict[str, Path]) -> None:
    mc, merit = matched_truth(chain)
    good = merit["TkrStatus"] == 1
    log_ratio = np.log(merit["CalEnergyRaw"][good] / mc["McTruth_energy"][good])
    width = float(np.std(log_ratio))
    assert abs(width / CONFIGURED_RESOLUTION - 1.0) < 0.10, width
    assert abs(float(np.mean(log_ratio))) < 0.03


def test_ft1_columns_and_units(chain: dict[str, Path]) -> None:
    from astropy.io import fits

    expected_units = {
        "ENERGY": "MeV",
        "RA": "deg",
        "DEC": "deg",
        "L": "deg",
        "B": "deg",
        "THETA": "deg",
        "PHI": "deg",
        "ZENITH_ANGLE": "deg",
        "EARTH_AZIMUTH_ANGLE": "deg",
        "TIME": "s",
        "LIVETIME": "s",
    }
    unitless = [
        "EVENT_ID",
        "RUN_ID",
        "RECON_VERSION",
        "CALIB_VERSION",
        "EVENT_CLASS",
        "EVENT_TYPE",
        "CONVERSION_TYPE",
    ]
    with fits.open(chain["ft1.fits"], checksum=True) as hdus:
        assert [h.name for h in hdus] == ["PRIMARY", "EVENTS", "GTI"]
        events, gti = hdus["EVENTS"], hdus["GTI"]
        units = {c.name: c.unit for c in events.columns}
        assert list(units) == list(expected_units)[:10] + unitless[:6] + ["CONVERSION_TYPE", "LIVETIME"]
        for name, unit in expected_units.items():
            assert units[name] == unit
            assert events.header[f"TUNIT{events.columns.names.index(name) + 1}"] == unit
        for name in unitless:
            assert units[name] is None
        assert {c.name: c.unit for c in gti.columns} == {"START": "s", "STOP": "s"}
        assert "DATE" not in events.header and "DATE" not in hdus[0].header
        assert events.header["TELESCOP"] == "GLAST" and events.header["MJDREFI"] == 51910
        data = events.data
        assert len(data) > 1000
        assert np.all(data["ENERGY"] > 0) and np.all((data["DEC"] >= -90) & (data["DEC"] <= 90))
        times = data["TIME"]
        assert np.all((gti.data["START"][0] <= times) & (times <= gti.data["STOP"][-1]))
        classes = (data["EVENT_CLASS"].astype(np.int64) << np.arange(31, -1, -1)).sum(axis=1)
        assert np.all(classes & 1)  # every written event is at least TRANSIENT
        # L/B agree with astropy's ICRS -> Galactic transformation
        from astropy.coordinates import SkyCoord

        sky = SkyCoord(
            data["RA"][:50].astype(float), data["DEC"][:50].astype(float), unit="deg", frame="icrs"
        ).galactic
        assert np.allclose(sky.l.deg, data["L"][:50], atol=2e-3) and np.allclose(
            sky.b.deg, data["B"][:50], atol=2e-3
        )


def test_timing_dbs_from_the_chain(chain: dict[str, Path]) -> None:
    import sqlite3

    with sqlite3.connect(str(chain["recon.db"])) as db:
        modules = db.execute(
            "SELECT DISTINCT Path, ModuleLabel, ModuleType FROM TimeModule ORDER BY rowid"
        ).fetchall()
        assert modules[:3] == [
            ("reco", "cal", "CalRecon"),
            ("reco", "tkr", "TkrRecon"),
            ("reco", "astro", "AstroRecon"),
        ]
        assert ("end_path", "reconOut", "RootOutput(write)") in modules
        assert db.execute("SELECT COUNT(*) FROM TimeEvent").fetchone()[0] == 1500
