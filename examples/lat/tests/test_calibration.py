"""Calibrations v1 and v2, and the metadata that says which one (and which seed) made an output."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli, run_in_process

from lat.framework.module import PACKAGE_DIR

TOOLS = Path(__file__).resolve().parent.parent / "tools"
CALIB = PACKAGE_DIR / "calib"


def _metadata(path: Path) -> dict[str, str]:
    import uproot

    from lat.io.rootio import read_metadata

    with uproot.open(str(path)) as handle:
        return read_metadata(handle)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("calib_v1.yaml", ["--seed", "20080611"]),
        (
            "calib_v2.yaml",
            [
                "--update",
                str(CALIB / "calib_v1.yaml"),
                "--seed",
                "20090401",
                "--name",
                "calib_v2",
                "--version",
                "1,2,0",
            ],
        ),
    ],
)
def test_shipped_calibrations_are_what_make_calib_makes(tmp_path: Path, name: str, args: list[str]) -> None:
    made = tmp_path / name
    subprocess.run([sys.executable, str(TOOLS / "make_calib.py"), *args, "-o", str(made)], check=True)
    assert made.read_bytes() == (CALIB / name).read_bytes()


@pytest.fixture(scope="module")
def recon_v1_v2(chain: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The first 200 events of the chain's digi, reconstructed with v1 and with v2."""
    work = tmp_path_factory.mktemp("calib")
    outputs = []
    for version in ("v1", "v2"):
        out = work / f"recon_{version}.root"
        calib = f"physics.producers.cal.calibFile=@lat/calib/calib_{version}.yaml"
        run_in_process(
            [
                "recon",
                "-s",
                str(chain["digi.root"]),
                "-o",
                str(out),
                "--set",
                calib,
                "--set",
                "source.lastEntry=200",
            ],
            work,
        )
        outputs.append(out)
    return outputs[0], outputs[1]


def test_recon_records_the_calibration_it_used(recon_v1_v2: tuple[Path, Path]) -> None:
    import uproot

    v1, v2 = recon_v1_v2
    digest = hashlib.sha256((CALIB / "calib_v2.yaml").read_bytes()).hexdigest()[:16]
    assert _metadata(v2) == {"calibration": f"calib_v2 1.2.0 sha256:{digest}"}
    assert _metadata(v1)["calibration"].startswith("calib_v1 1.1.0 sha256:")
    with uproot.open(str(v1)) as a, uproot.open(str(v2)) as b:
        energy_v1, energy_v2 = (f["Recon"]["CalRecon_energy"].array(library="np") for f in (a, b))
        assert set(b["Recon"]["CalRecon_calibCal"].array(library="np")) == {2}
    assert len(energy_v1) == 200 and not np.array_equal(energy_v1, energy_v2)
    assert np.median(np.abs(energy_v2 / np.where(energy_v1 > 0, energy_v1, 1) - 1)[energy_v1 > 50]) < 0.05


def test_merit_carries_the_calibration_on(recon_v1_v2: tuple[Path, Path], tmp_path: Path) -> None:
    run_in_process(["merit", "-s", str(recon_v1_v2[1]), "-o", str(tmp_path / "merit.root")], tmp_path)
    assert _metadata(tmp_path / "merit.root")["calibration"].startswith("calib_v2 1.2.0")


def test_outputs_of_two_calibrations_do_not_mix(recon_v1_v2: tuple[Path, Path], tmp_path: Path) -> None:
    v1, v2 = (str(p) for p in recon_v1_v2)
    merge = run_cli(["root", "-o", str(tmp_path / "m.root"), v1, v2], tmp_path, module="lat.merge")
    assert merge.returncode == 2 and "Traceback" not in merge.stderr
    assert "lat-merge: error:" in merge.stderr and "calib_v2 1.2.0" in merge.stderr
    assert "lat-merge: hint: merge only outputs of the same processing" in merge.stderr
    merit = run_cli(["merit", "-q", "-s", v1, "-s", v2, "-o", str(tmp_path / "x.root")], tmp_path)
    assert merit.returncode == 2 and "metadata calibration is 'calib_v2 1.2.0" in merit.stderr
    assert not (tmp_path / "m.root").exists() and not (tmp_path / "x.root").exists()
    same = run_cli(["root", "-o", str(tmp_path / "m.root"), v2, v2], tmp_path, module="lat.merge")
    assert same.returncode == 0 and _metadata(tmp_path / "m.root")["calibration"].startswith("calib_v2")


def test_metadata_option(chain: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "digi.root"
    run_in_process(
        ["digi", "-s", str(chain["raw.ldf"]), "-o", str(out), "-n", "5", "--metadata", "seed=42"], tmp_path
    )
    assert _metadata(out) == {"seed": "42"}
    bad = run_cli(["digi", "-s", str(chain["raw.ldf"]), "-o", "x.root", "--metadata", "Digi=1"], tmp_path)
    assert bad.returncode == 2 and "--metadata 'Digi=1': expected KEY=VALUE with KEY matching" in bad.stderr
