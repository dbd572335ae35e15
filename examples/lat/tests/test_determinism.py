"""Same seed -> the same bytes, in different directories; ROOT files carry no wall-clock time."""

from __future__ import annotations

import datetime
from pathlib import Path

from conftest import run_in_process

from lat.io.rootio import frozen_uproot_clock


def _run_small_chain(directory: Path, seed: int) -> dict[str, bytes]:
    directory.mkdir()
    run_in_process(
        [
            "simulate",
            "-n",
            "200",
            "--seed",
            str(seed),
            "--set",
            "source.eventsPerSubRun=120",
            "-o",
            "raw=raw_c{subrun}.ldf",
            "-o",
            "truth=mc.root",
        ],
        directory,
    )
    run_in_process(["digi", "-s", "raw_c0.ldf", "-o", "digi.root"], directory)
    run_in_process(
        [
            "recon",
            "-s",
            "digi.root",
            "-o",
            "recon.root",
            "--set",
            "source.firstEntry=20",
            "--set",
            "source.lastEntry=90",
        ],
        directory,
    )
    run_in_process(["merit", "-s", "recon.root", "-o", "merit.root"], directory)
    run_in_process(["makeFT1", "-s", "merit.root", "-o", "ft1.fits"], directory)
    run_in_process(
        ["artstudy", "-n", "4", "--set", "physics.producers.generate.length=5000", "-o", "study.root"],
        directory,
    )
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = _run_small_chain(tmp_path / "a", 5)
    second = _run_small_chain(tmp_path / "b", 5)
    assert sorted(first) == [
        "digi.root",
        "ft1.fits",
        "mc.root",
        "merit.root",
        "raw_c0.ldf",
        "raw_c1.ldf",
        "recon.root",
        "study.root",
    ]
    for name in first:
        assert first[name] == second[name], name


def test_other_seed_other_data(tmp_path: Path) -> None:
    run_in_process(["simulate", "-n", "50", "--seed", "1", "-o", "raw=a.ldf", "-o", "truth=a.root"], tmp_path)
    run_in_process(["simulate", "-n", "50", "--seed", "2", "-o", "raw=b.ldf", "-o", "truth=b.root"], tmp_path)
    assert (tmp_path / "a.ldf").read_bytes() != (tmp_path / "b.ldf").read_bytes()


def test_root_timestamps_are_fixed_and_clock_restored(tmp_path: Path) -> None:
    import uproot

    with frozen_uproot_clock():
        assert uproot.writing._cascade.datetime.datetime.now() == datetime.datetime(2001, 1, 1)
    assert uproot.writing._cascade.datetime is datetime  # restored after the job
    run_in_process(
        ["artstudy", "-n", "2", "--set", "physics.producers.generate.length=100", "-o", "s.root"], tmp_path
    )
    with uproot.open(str(tmp_path / "s.root")) as f:
        assert f.file.uuid == f.file.uuid  # readable
        assert f["Events"].num_entries == 2
    raw = (tmp_path / "s.root").read_bytes()
    assert b"s.root" in raw and b".lat-staging" not in raw  # final name embedded, never the staging path
