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
    args: list[str], cwd: Path, module: str = "lat.framework.cli"
) -> subprocess.CompletedProcess[str]:
    """Run a lat command in a fresh interpreter (exit codes, stderr, imports)."""
    env = dict(os.environ)
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
