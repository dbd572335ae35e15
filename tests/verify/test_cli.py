"""``hepstack verify``: exit codes 0 / 1 / 2, the human report, the JSON report, the options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hepstack.cli.verify  # noqa: F401  (registers the command on the shared app)
from hepstack.cli import app
from tests.verify.builders import reference_px, run_cli, write_fits, write_lines, write_root

runner = CliRunner()


def test_equal_exits_zero(tmp_path: Path) -> None:
    a, b = write_root(tmp_path / "a.root", "zlib"), write_root(tmp_path / "b.root", "lz4")

    result = runner.invoke(app, ["verify", str(a), str(b)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"equal: {a} and {b} have the same content (1 file compared)\n"


def test_different_exits_one_and_names_the_difference(tmp_path: Path) -> None:
    px = reference_px()
    px[7] = 99.25
    a, b = write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", px=px)

    result = runner.invoke(app, ["verify", str(a), str(b)])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"different: 1 difference between {a} and {b} (1 file compared)",
        "  a.root vs b.root: [value] tree 'events' / branch 'px' / entry 7",
        "      A: 10.5",
        "      B: 99.25",
    ]


def test_cap_and_count_of_the_rest(tmp_path: Path) -> None:
    a, b = write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", px=reference_px() + 1)

    result = runner.invoke(app, ["verify", str(a), str(b), "--max-differences", "2"])

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("different: 12 differences")
    assert result.stdout.count("[value]") == 2
    assert "… and 10 more not shown (raise --max-differences, or use --json)" in result.stdout


def test_json_report(tmp_path: Path) -> None:
    a = write_fits(tmp_path / "a.fits")
    b = write_fits(tmp_path / "b.fits", observer="Grace")

    result = runner.invoke(app, ["verify", str(a), str(b), "--json"])

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "equal": False,
        "a": str(a),
        "b": str(b),
        "files_compared": ["a.fits vs b.fits"],
        "difference_count": 1,
        "differences_omitted": 0,
        "differences": [
            {
                "file": "a.fits vs b.fits",
                "kind": "header",
                "location": "HDU 0 'PRIMARY' / header 'OBSERVER'",
                "a": "'Ada'",
                "b": "'Grace'",
            }
        ],
        "notes": [],
    }


def test_json_report_of_a_text_difference_carries_the_diff(tmp_path: Path) -> None:
    a, b = write_lines(tmp_path / "a.txt", ["x", "y"]), write_lines(tmp_path / "b.txt", ["x", "z"])
    result = runner.invoke(app, ["verify", str(a), str(b), "--json"])
    [difference] = json.loads(result.stdout)["differences"]
    assert difference["detail"] == "--- A\n+++ B\n@@ -1,2 +1,2 @@\n x\n-y\n+z"


def test_text_diff_is_printed(tmp_path: Path) -> None:
    a, b = write_lines(tmp_path / "a.txt", ["x", "y"]), write_lines(tmp_path / "b.txt", ["x", "z"])
    result = runner.invoke(app, ["verify", str(a), str(b)])
    assert result.exit_code == 1
    assert "      -y\n      +z\n" in result.stdout


@pytest.mark.parametrize(
    ("options", "exit_code"),
    [
        ([], 1),
        (["--ignore-header", "ORIGIN"], 0),
        (["--ignore-header", "origin"], 0),
        (["--ignore-header", "X"], 1),
    ],
)
def test_ignore_header_option(tmp_path: Path, options: list[str], exit_code: int) -> None:
    a, b = write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits", origin="podman")
    assert runner.invoke(app, ["verify", str(a), str(b), *options]).exit_code == exit_code


@pytest.mark.parametrize(
    ("options", "exit_code"),
    [([], 1), (["--rtol", "1e-6"], 0), (["--rtol", "1e-12"], 1), (["--atol", "1e-6"], 0)],
)
def test_tolerance_options(tmp_path: Path, options: list[str], exit_code: int) -> None:
    px = reference_px()
    px[3] *= 1 + 1e-9
    a, b = write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", px=px)
    assert runner.invoke(app, ["verify", str(a), str(b), *options]).exit_code == exit_code


# Through the console entry point main(): the exit codes a shell script or a CI job sees.


def test_entry_point_exit_codes_equal_and_different(tmp_path: Path) -> None:
    a, b = write_lines(tmp_path / "a.txt", ["same"]), write_lines(tmp_path / "b.txt", ["same"])
    c = write_lines(tmp_path / "c.txt", ["other"])

    equal, different = run_cli("verify", str(a), str(b)), run_cli("verify", str(a), str(c))

    assert (equal.returncode, equal.stderr) == (0, "")
    assert (different.returncode, different.stderr) == (1, "")
    assert "[text] line 1" in different.stdout


def test_entry_point_corrupt_root_file_is_exit_two_without_traceback(tmp_path: Path) -> None:
    good = write_root(tmp_path / "a.root")
    corrupt = tmp_path / "b.root"
    corrupt.write_bytes(good.read_bytes()[:100])

    result = run_cli("verify", str(good), str(corrupt))

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: B: {corrupt} is truncated: its header says the data end at byte ")
    assert lines[0].endswith(", the file has 100")
    assert (
        lines[-1] == "hint: the file may be truncated or corrupt; check that the job that wrote it finished"
    )
    assert "Traceback" not in result.stderr


def test_entry_point_missing_path_is_exit_two(tmp_path: Path) -> None:
    result = run_cli("verify", str(tmp_path / "nope"), str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: A does not exist: {tmp_path / 'nope'}",
        "hint: give two existing files or directories",
    ]


@pytest.mark.parametrize("tolerance", [["--rtol", "-1"], ["--rtol", "nan"], ["--atol", "inf"]])
def test_entry_point_negative_or_non_finite_tolerance_is_exit_two(
    tmp_path: Path, tolerance: list[str]
) -> None:
    a = write_lines(tmp_path / "a.txt", ["x"])
    result = run_cli("verify", str(a), str(a), *tolerance)
    assert result.returncode == 2
    assert result.stderr.startswith("error: tolerances must be finite and not negative")
