"""The lat-l1 driver: every step as its own process, merges, timing summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from conftest import run_cli


def test_l1_chain_and_merges(tmp_path: Path) -> None:
    import uproot
    from astropy.io import fits

    work = tmp_path / "work"
    result = run_cli(
        [
            "--run-id",
            "7",
            "--chunks",
            "2",
            "--crumbs",
            "2",
            "--events",
            "240",
            "--seed",
            "3",
            "--workdir",
            str(work),
            "--jobs",
            "2",
        ],
        tmp_path,
        module="lat.l1",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "median s/event" in out and "total wall time" in out
    for step in ("simulate", "digi", "recon", "merit", "makeFT1"):
        assert step in out
    assert "reco:tkr:TkrRecon" in out and "end_path:reconOut:RootOutput(write)" in out
    assert len(list((work / "timing").glob("*.db"))) == 1 + 2 + 3 * 4
    with uproot.open(str(work / "merit" / "merit_r000007.root")) as f:
        merit = f["MeritTuple"].arrays(["Run", "Event"], library="np")
    assert len(merit["Event"]) == 240 and np.all(merit["Run"] == 7)
    assert np.array_equal(merit["Event"], np.arange(240))  # crumbs and chunks merged in order
    with uproot.open(str(work / "recon" / "recon_r000007_c000.root")) as f:
        chunk = f["Recon"].arrays(["Event", "CalRecon_layerEnergy"], library="ak")
    assert len(chunk) == 120 and len(chunk["CalRecon_layerEnergy"][0]) == 8
    crumb_rows = sum(
        len(fits.getdata(p, "EVENTS")) for p in sorted((work / "ft1").glob("ft1_r000007_c*_k*.fits"))
    )
    with fits.open(work / "ft1" / "ft1_r000007.fits", checksum=True) as hdus:
        assert len(hdus["EVENTS"].data) == crumb_rows
        gti = hdus["GTI"].data
        assert np.all(gti["STOP"] > gti["START"]) and np.all(gti["START"][1:] > gti["STOP"][:-1])
        assert hdus["EVENTS"].header["TSTART"] <= hdus["EVENTS"].data["TIME"].min()


def test_l1_step_failure_is_reported(tmp_path: Path) -> None:
    result = run_cli(
        [
            "--events",
            "20",
            "--chunks",
            "1",
            "--crumbs",
            "1",
            "--workdir",
            str(tmp_path / "w"),
            "--calib",
            "no-such-calib.yaml",
        ],
        tmp_path,
        module="lat.l1",
    )
    assert result.returncode != 0
    assert "step recon_c000_k00 failed with exit code 2" in result.stderr
    assert "calibFile: input file 'no-such-calib.yaml' does not exist" in result.stderr
