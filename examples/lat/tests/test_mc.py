"""lat-mc: simulate -> digi -> recon -> merit in one process, deterministic per seed, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from lat import mc

NAMES = ["digi_s000005.root", "mc_s000005.root", "merit_s000005.root", "recon_s000005.root"]


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mc")
    assert mc.main(["--seed", "5", "--events", "60", "--out", str(out)]) == 0
    return out


def test_one_job_writes_four_outputs_with_its_seed(job: Path) -> None:
    import uproot

    from lat.io.rootio import read_metadata

    assert sorted(p.name for p in job.iterdir()) == NAMES  # no raw file, no staging directory left
    for name, tree in zip(NAMES, ("Digi", "McTruth", "MeritTuple", "Recon")):
        with uproot.open(str(job / name)) as handle:
            assert read_metadata(handle)["seed"] == "5"
            assert handle[tree].num_entries == 60
            assert set(handle[tree]["Run"].array(library="np")) == {5}  # run id = seed by default
    with uproot.open(str(job / "recon_s000005.root")) as handle:
        assert read_metadata(handle)["calibration"].startswith("calib_v1 1.1.0")


def test_same_seed_same_bytes(job: Path, tmp_path: Path) -> None:
    assert mc.main(["--seed", "5", "--events", "60", "--out", str(tmp_path)]) == 0
    assert {n: (tmp_path / n).read_bytes() for n in NAMES} == {n: (job / n).read_bytes() for n in NAMES}


def test_a_failed_step_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = mc.main(["--seed", "6", "--events", "20", "--out", str(tmp_path), "--calib", "no-such.yaml"])
    assert code == 2
    err = capsys.readouterr().err
    assert "calibFile: input file 'no-such.yaml' does not exist" in err
    assert "lat-mc: error: step recon failed (lat-run exit code 2); no output was kept" in err
    assert list(tmp_path.iterdir()) == []  # not even the truth and digi files the first steps made


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "out of range"),
        (["--seed", "1", "--events", "0"], "out of range"),
        (["--seed", "1", "--tag", "../x"], "not a file-name part"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert mc.main([*args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
