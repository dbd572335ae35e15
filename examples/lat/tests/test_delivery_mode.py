"""lat-l1 delivery: a delivery through L1 natively, the reference for the pipeline's products (sha256)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import CRUMB_ARGS, products, run_cli

from lat.proc.crumbs import CrumbRules

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {"lat-run": "lat.framework.cli", "lat-merge": "lat.merge"}


def test_layout_of_the_outputs(l1_out: Path) -> None:
    assert sorted(products(l1_out)) == [
        f"r000001/{p}"
        for p in [
            "digi/digi_r000001_c000.root",
            "digi/digi_r000001_c001.root",
            "ft1/ft1_r000001.fits",
            "ft1/ft1_r000001_c000.fits",
            "ft1/ft1_r000001_c001.fits",
            "merit/merit_r000001.root",
            "merit/merit_r000001_c000.root",
            "merit/merit_r000001_c000_k00.root",
            "merit/merit_r000001_c000_k01.root",
            "merit/merit_r000001_c000_k02.root",
            "merit/merit_r000001_c001.root",
            "merit/merit_r000001_c001_k00.root",
            "recon/recon_r000001.root",
            "recon/recon_r000001_c000.root",
            "recon/recon_r000001_c000_k00.root",
            "recon/recon_r000001_c000_k01.root",
            "recon/recon_r000001_c000_k02.root",
            "recon/recon_r000001_c001.root",
            "recon/recon_r000001_c001_k00.root",
        ]
    ] + [
        f"r000002/{p}"
        for p in [
            "digi/digi_r000002_c000.root",
            "ft1/ft1_r000002.fits",
            "ft1/ft1_r000002_c000.fits",
            "merit/merit_r000002.root",
            "merit/merit_r000002_c000.root",
            "merit/merit_r000002_c000_k00.root",
            "recon/recon_r000002.root",
            "recon/recon_r000002_c000.root",
            "recon/recon_r000002_c000_k00.root",
        ]
    ]
    summary = json.loads((l1_out / "l1_summary.json").read_text())
    assert summary["delivery_id"] == "dl7" and summary["steps"]["recon"]["processes"] == 5


def test_crumbs_chunks_and_runs_merge_in_order(l1_out: Path) -> None:
    import uproot
    from astropy.io import fits

    def events(path: Path, tree: str) -> np.ndarray:
        with uproot.open(str(path)) as handle:
            return handle[tree]["Event"].array(library="np")  # type: ignore[no-any-return]

    merit = l1_out / "r000001" / "merit"
    crumbs = [events(merit / f"merit_r000001_c000_k0{k}.root", "MeritTuple") for k in range(3)]
    assert [len(c) for c in crumbs] == CrumbRules(min_events=40).sizes(120) == [34, 40, 46]
    assert np.array_equal(np.concatenate(crumbs), events(merit / "merit_r000001_c000.root", "MeritTuple"))
    assert np.array_equal(events(merit / "merit_r000001.root", "MeritTuple"), np.arange(160))
    assert np.array_equal(events(l1_out / "r000002" / "recon" / "recon_r000002.root", "Recon"), np.arange(50))
    ft1 = l1_out / "r000001" / "ft1"
    with uproot.open(str(merit / "merit_r000001_c000.root")) as handle:
        classified = int(np.count_nonzero(handle["MeritTuple"]["EventClass"].array(library="np") & 7))
    assert (
        len(fits.getdata(ft1 / "ft1_r000001_c000.fits", "EVENTS")) == classified
    )  # FT1 from the chunk's merit
    rows = sum(len(fits.getdata(ft1 / f"ft1_r000001_c00{c}.fits", "EVENTS")) for c in range(2))
    assert len(fits.getdata(ft1 / "ft1_r000001.fits", "EVENTS")) == rows


def _expand(argv: list[str], variables: dict[str, str]) -> list[str]:
    return [re.sub(r"\$\{([A-Z0-9_]+)\}", lambda m: variables[m.group(1)], arg) for arg in argv]


def _lat(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _summary(args: list[str], cwd: Path) -> list[dict[str, str]]:
    result = run_cli(["plan", *args], cwd, module="lat.l1")
    assert result.returncode == 0, result.stderr
    return [s["variables"] for s in json.loads(result.stdout)["substreams"]]


def test_a_chunk_run_as_the_pipeline_runs_it_matches_byte_for_byte(
    delivery: Path, l1_out: Path, tmp_path: Path
) -> None:
    """Only the public contract: planner summaries, the printed step table, another OUT directory."""
    out = tmp_path / "pipeline"
    table = {
        row["step"]: row for row in json.loads(run_cli(["steps", "--json"], tmp_path, module="lat.l1").stdout)
    }
    common = [str(delivery), "--out", str(out), *CRUMB_ARGS]
    chunk = _summary(["chunks", *common, "--run", "1"], tmp_path)[0]
    crumbs = _summary(["crumbs", *common, "--run", "1", "--chunk", "0"], tmp_path)

    def run(step: str, variables: dict[str, str], gathered: list[str] = ()) -> None:  # type: ignore[assignment]
        argv = _expand(table[step]["argv"], variables) + list(gathered)
        result = _lat(["-m", PROGRAMS[argv[0]], *argv[1:]], tmp_path)
        assert result.returncode == 0, result.stderr

    run("digi", chunk)
    for crumb in crumbs:
        run("recon", crumb)
        run("merit", crumb)
    run("mergeReconCrumbs", chunk, [c["RECON_CRUMB_FILE"] for c in crumbs])
    run("mergeMeritCrumbs", chunk, [c["MERIT_CRUMB_FILE"] for c in crumbs])
    run("makeFT1", chunk)
    mine = products(out)
    reference = {name: digest for name, digest in products(l1_out).items() if name in mine}
    assert len(mine) == 10 and mine == reference


def test_reprocessing_with_calibration_v2(reprocessed: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    import uproot
    from astropy.io import fits

    out, before, after = reprocessed
    assert after == before  # the original outputs are untouched
    new = products(out)
    assert not any("/digi/" in name for name in new)  # digi is read from the original output
    assert set(new) == {name for name in before if name.startswith("r000002/") and "/digi/" not in name}
    assert all(new[name] != before[name] for name in new)  # every product changed with the calibration
    with uproot.open(str(out / "r000002" / "recon" / "recon_r000002.root")) as handle:
        assert str(handle["calibration"]).startswith("calib_v2 1.2.0 sha256:")
        assert set(handle["Recon"]["CalRecon_calibCal"].array(library="np")) == {2}
    with uproot.open(str(out / "r000002" / "merit" / "merit_r000002_c000.root")) as handle:
        assert str(handle["calibration"]).startswith("calib_v2 1.2.0")
        assert set(handle["MeritTuple"]["CalibVersionCal"].array(library="np")) == {2}
    versions = fits.getdata(out / "r000002" / "ft1" / "ft1_r000002.fits", "EVENTS")["CALIB_VERSION"]
    assert {tuple(v) for v in versions} == {(1, 2, 0)}


def test_a_failed_step_stops_the_delivery(delivery: Path, tmp_path: Path) -> None:
    """A raw chunk cut short after its header: the plan is fine, its digi fails, nothing runs after it."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(delivery, broken)
    raw = broken / "raw" / "raw_r000001_c000.ldf"
    raw.write_bytes(raw.read_bytes()[:1000])
    args = ["delivery", str(broken), "--out", str(tmp_path / "o"), "--jobs", "1"]
    result = run_cli(args, tmp_path, module="lat.l1")
    assert result.returncode == 1
    assert "step digi_r000001_c000 failed with exit code 2" in result.stderr
    assert "raw_r000001_c000.ldf: corrupt record" in result.stderr
    assert products(tmp_path / "o") == {}


def test_reprocessing_must_not_write_into_its_input(delivery: Path, l1_out: Path, tmp_path: Path) -> None:
    result = run_cli(
        ["plan", "reprocess", str(delivery), "--out", str(l1_out), "--digi-from", str(l1_out)],
        tmp_path,
        module="lat.l1",
    )
    assert result.returncode == 2 and "write the reprocessing to a new --out" in result.stderr
