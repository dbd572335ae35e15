"""Shared fixtures: a small L1 chain on a bright test source, run once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from lat import geometry
from lat.framework.cli import main as lat_run

START_MET = 239557417.0
SOURCE_INDEX = 2.0


def run_cli(
    args: list[str], cwd: Path, module: str = "lat.framework.cli", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a lat command in a fresh interpreter (exit codes, stderr, imports); ``env`` adds variables."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def run_in_process(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        assert lat_run([*args, "-q"]) == 0
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def bright_source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A sky with one bright point source at the instrument axis at the start of the run."""
    workdir = tmp_path_factory.mktemp("bright")
    ra, dec = geometry.vector_to_radec(geometry.spacecraft_axes([START_MET + 120.0])["z"][0])
    sky = {
        "energy": {"min": 30.0, "max": 100000.0},
        "point_sources": [
            {"name": "Bright", "ra": float(ra), "dec": float(dec), "flux": 3.0e-3, "index": SOURCE_INDEX}
        ],
    }
    (workdir / "sky.yaml").write_text(yaml.safe_dump(sky))
    return {"dir": workdir, "ra": float(ra), "dec": float(dec)}


@pytest.fixture(scope="session")
def chain(bright_source: dict[str, object]) -> dict[str, Path]:
    """simulate -> digi -> recon -> merit -> makeFT1 on the bright source (in process, ~10 s)."""
    d = Path(bright_source["dir"])  # type: ignore[arg-type]
    run_in_process(
        [
            "simulate",
            "-n",
            "1500",
            "--seed",
            "11",
            "--set",
            f"source.skyModel={d / 'sky.yaml'}",
            "--set",
            "source.backgroundFraction=0.0",
            "--set",
            "source.eventsPerSubRun=100000",
            "-o",
            "raw=raw.ldf",
            "-o",
            "truth=mc.root",
            "--timing-db",
            "sim.db",
        ],
        d,
    )
    run_in_process(["digi", "-s", "raw.ldf", "-o", "digi.root"], d)
    run_in_process(["recon", "-s", "digi.root", "-o", "recon.root", "--timing-db", "recon.db"], d)
    run_in_process(["merit", "-s", "recon.root", "-o", "merit.root"], d)
    run_in_process(["makeFT1", "-s", "merit.root", "-o", "ft1.fits"], d)
    return {
        name: d / name
        for name in (
            "raw.ldf",
            "mc.root",
            "digi.root",
            "recon.root",
            "merit.root",
            "ft1.fits",
            "sim.db",
            "recon.db",
        )
    }


def matched_truth(chain: dict[str, Path]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """McTruth rows aligned with the merit rows (joined on the event number)."""
    import uproot

    with uproot.open(str(chain["mc.root"])) as f:
        mc = f["McTruth"].arrays(library="np")
    with uproot.open(str(chain["merit.root"])) as f:
        merit = f["MeritTuple"].arrays(library="np")
    index = {int(e): i for i, e in enumerate(mc["Event"])}
    rows = np.array([index[int(e)] for e in merit["Event"]])
    return {k: v[rows] for k, v in mc.items()}, merit


# A small delivery: run 1 of chunks with 120 and 40 events, run 2 of one chunk of 50; with crumbs of at
# least 40 events on average, chunk r000001/c000 has three crumbs and the others one each.
DELIVERY_ARGS = ["--chunk-events", "120,40/50", "--seed", "7", "--id", "dl7"]
CRUMB_ARGS = ["--crumb-min-average", "40"]
V2 = "@lat/calib/calib_v2.yaml"


def products(out: Path) -> dict[str, str]:
    """sha256 of every data product under an L1 output directory (not the logs, timing DBs, summary)."""
    import hashlib

    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.glob("r*/*/*"))
        if path.parent.name in ("digi", "recon", "merit", "ft1")
    }


@pytest.fixture(scope="session")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lat-delivery`` of two runs (120 + 40 and 50 events), in a fresh interpreter."""
    directory = tmp_path_factory.mktemp("delivery") / "dl7"
    result = run_cli([str(directory), *DELIVERY_ARGS], directory.parent, module="lat.delivery")
    assert result.returncode == 0, result.stderr + result.stdout
    return directory


@pytest.fixture(scope="session")
def l1_out(delivery: Path) -> Path:
    """The delivery through ``lat-l1 delivery`` natively (digi, recon and merit per crumb, merges, FT1)."""
    out = delivery.parent / "l1"
    result = run_cli(
        ["delivery", str(delivery), "--out", str(out), *CRUMB_ARGS], delivery.parent, module="lat.l1"
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return out


@pytest.fixture(scope="session")
def reprocessed(delivery: Path, l1_out: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """Run 2 of the L1 output (a copy without run 1's digi, to keep the test short) reprocessed with
    calibration v2 into a new directory; the copy's products before and after."""
    import shutil

    original = delivery.parent / "l1-run2"
    shutil.copytree(l1_out, original)
    shutil.rmtree(original / "r000001" / "digi")
    before = products(original)
    out = delivery.parent / "reprocessed"
    args = ["--out", str(out), "--digi-from", str(original), "--calib", V2, *CRUMB_ARGS]
    result = run_cli(["delivery", str(delivery), *args], delivery.parent, module="lat.l1")
    assert result.returncode == 0, result.stderr + result.stdout
    return out, before, products(original)
