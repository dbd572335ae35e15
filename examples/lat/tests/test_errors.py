"""Bad configurations fail with the file and key path, exit code 2, no traceback, no output."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from lat.framework.cli import resolve_config


def _digi_config(tmp_path: Path, edit: dict[str, object]) -> Path:
    config = yaml.safe_load(resolve_config("digi").read_text())
    for dotted, value in edit.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    (tmp_path / "l1").mkdir()
    path = tmp_path / "l1" / "digi.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


CASES = [
    (
        {"physics.producers.digitize.module_type": "Digitise"},
        "l1/digi.yaml: physics.producers.digitize.module_type: "
        "unknown module 'Digitise' (did you mean 'Digitize'?)",
    ),
    (
        {"outputs.digiOut.basketSize": "many"},
        "l1/digi.yaml: outputs.digiOut.basketSize: expected int, got str 'many'",
    ),
    (
        {"outputs.digiOut.treename": "Digi"},
        "l1/digi.yaml: outputs.digiOut.treename: unknown parameter 'treename' for module type 'RootOutput' "
        "(did you mean 'treeName'?)",
    ),
    (
        {"source.fileNames": ["missing.ldf"]},
        "l1/digi.yaml: source.fileNames[0]: input file 'missing.ldf' does not exist",
    ),
    (
        {"physics.paths": {"digi": ["digitise"]}},
        "l1/digi.yaml: physics.paths.digi[0]: unknown module label 'digitise' (did you mean 'digitize'?)",
    ),
    (
        {"source.module_type": "RootOutput"},
        "l1/digi.yaml: source.module_type: module 'RootOutput' is an output, not a source",
    ),
]


@pytest.mark.parametrize(("edit", "message"), CASES)
def test_bad_configuration(tmp_path: Path, edit: dict[str, object], message: str) -> None:
    _digi_config(tmp_path, edit)
    (tmp_path / "raw.ldf").write_bytes(b"")
    result = run_cli(["l1/digi.yaml", "-o", "out/digi.root", "--timing-db", "out/t.db"], tmp_path)
    assert result.returncode == 2
    assert f"lat-run: error: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_calibration_path_names_the_key(tmp_path: Path) -> None:
    result = run_cli(
        ["recon", "-s", "nothing.root", "--set", "physics.producers.cal.calibFile=nope.yaml"], tmp_path
    )
    assert result.returncode == 2
    assert "source.fileNames[0]: input file 'nothing.root' does not exist" in result.stderr
    (tmp_path / "digi.root").write_bytes(b"")
    result = run_cli(
        ["recon", "-s", "digi.root", "--set", "physics.producers.cal.calibFile=nope.yaml"], tmp_path
    )
    assert result.returncode == 2
    assert (
        "recon.yaml: physics.producers.cal.calibFile: input file 'nope.yaml' does not exist" in result.stderr
    )


def test_failure_mid_job_leaves_no_partial_output(tmp_path: Path) -> None:
    """A chunk that is truncated after some events: the job fails, and no output file is left."""
    result = run_cli(["simulate", "-n", "30", "-o", "raw=raw.ldf", "-o", "truth=mc.root"], tmp_path)
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "raw.ldf").read_bytes()
    (tmp_path / "cut.ldf").write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "out"
    result = run_cli(
        [
            "digi",
            "-s",
            "cut.ldf",
            "-o",
            "out/digi.root",
            "--timing-db",
            "out/t.db",
            "--set",
            "outputs.digiOut.basketSize=5",
        ],
        tmp_path,
    )
    assert result.returncode == 2
    assert "cut.ldf: truncated at record" in result.stderr or "corrupt record" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(out.iterdir()) == []


def test_not_an_ldf_file(tmp_path: Path) -> None:
    (tmp_path / "bad.ldf").write_bytes(struct.pack("<8s", b"NOTLDF!!") + bytes(56))
    result = run_cli(["digi", "-s", "bad.ldf", "-o", "d.root"], tmp_path)
    assert result.returncode == 2 and "not an LDF file (bad magic" in result.stderr
    assert not (tmp_path / "d.root").exists()


def test_unknown_shipped_config(tmp_path: Path) -> None:
    result = run_cli(["dgi"], tmp_path)
    assert result.returncode == 2 and "neither a file nor a shipped configuration" in result.stderr


def test_several_chunks_into_one_raw_file_is_a_config_error(tmp_path: Path) -> None:
    """simulate writes one raw file per chunk: a file name without {subrun} is named, not a traceback."""
    argv = [
        "simulate",
        "-n",
        "40",
        "--set",
        "source.eventsPerSubRun=20",
        "-o",
        "raw=raw.ldf",
        "-o",
        "truth=mc.root",
    ]
    result = run_cli(argv, tmp_path)
    assert result.returncode == 2
    assert "fileName" in result.stderr and "{subrun}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.ldf")) and not list(tmp_path.glob("*.root"))


def test_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    """The disk (here a directory that cannot exist), not the configuration: exit 1, a message, no file."""
    result = run_cli(["artstudy", "-q", "-n", "2", "-o", "/proc/no-such-dir/out.root"], tmp_path)
    assert result.returncode == 1
    assert "lat-run: error: /proc/no-such-dir" in result.stderr and "no output was kept" in result.stderr
    assert "Traceback" not in result.stderr
