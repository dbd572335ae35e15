"""Other files byte for byte (with a diff for text), directories paired by relative path, bad inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepstack.verify import VerifyInputError, compare_paths
from tests.verify.builders import write_fits, write_lines, write_root


def test_text_difference_shows_line_and_diff_excerpt(tmp_path: Path) -> None:
    lines = [f"event {i}: ok" for i in range(30)]
    changed = list(lines)
    changed[4] = "event 4: FAILED"
    changed[25] = "event 25: FAILED"

    report = compare_paths(write_lines(tmp_path / "a.log", lines), write_lines(tmp_path / "b.log", changed))

    [difference] = report.differences
    assert (difference.kind, difference.location) == ("text", "line 5")
    assert (difference.a, difference.b) == ("event 4: ok", "event 4: FAILED")
    assert difference.detail is not None
    assert difference.detail.splitlines() == [
        "--- A",
        "+++ B",
        "@@ -3,5 +3,5 @@",
        " event 2: ok",
        " event 3: ok",
        "-event 4: ok",
        "+event 4: FAILED",
        " event 5: ok",
        " event 6: ok",
        "@@ -24,5 +24,5 @@",
        " event 23: ok",
        " event 24: ok",
        "-event 25: ok",
        "+event 25: FAILED",
        " event 26: ok",
        " event 27: ok",
    ]


def test_diff_excerpt_keeps_the_first_hunks_only(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(100)]
    changed = [f"LINE {i}" if i % 10 == 0 else line for i, line in enumerate(lines)]
    report = compare_paths(write_lines(tmp_path / "a.txt", lines), write_lines(tmp_path / "b.txt", changed))
    detail = report.differences[0].detail or ""
    assert detail.count("@@ ") == 3
    assert detail.endswith("… and 7 more hunks")


def test_text_with_only_a_missing_final_newline(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\ny\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("x\ny", encoding="utf-8")
    [difference] = compare_paths(tmp_path / "a.txt", tmp_path / "b.txt").differences
    assert difference.location == "byte 3 (sizes 4 vs 3 bytes) (line endings or final newline)"


def test_binary_difference_names_the_offset_and_shows_bytes(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(bytes(range(64)) + b"\0")
    data = bytearray(bytes(range(64)) + b"\0")
    data[40] = 0xFF
    (tmp_path / "b.bin").write_bytes(bytes(data))

    [difference] = compare_paths(tmp_path / "a.bin", tmp_path / "b.bin").differences

    assert (difference.kind, difference.location) == ("bytes", "byte 40")
    assert difference.a.startswith("28 29 2a")
    assert difference.b.startswith("ff 29 2a")


def test_binary_size_difference(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\0\1\2\3")
    (tmp_path / "b.bin").write_bytes(b"\0\1\2\3\4")
    [difference] = compare_paths(tmp_path / "a.bin", tmp_path / "b.bin").differences
    assert (difference.location, difference.a, difference.b) == (
        "byte 4 (sizes 4 vs 5 bytes)",
        "(end of file)",
        "04",
    )


def make_output(
    directory: Path, compression: str, *, with_log: bool = True, with_extra: bool = False
) -> Path:
    (directory / "hist").mkdir(parents=True)
    write_root(directory / "hist" / "run1.root", compression)
    write_fits(directory / "events.fits")
    if with_log:
        write_lines(directory / "job.log", ["start", "end"])
    if with_extra:
        write_lines(directory / "hist" / "debug.txt", ["leftover"])
    return directory


def test_equal_directories(tmp_path: Path) -> None:
    report = compare_paths(make_output(tmp_path / "a", "zlib"), make_output(tmp_path / "b", "lz4"))
    assert report.equal
    assert report.files_compared == ["events.fits", "hist/run1.root", "job.log"]


def test_directories_with_a_missing_and_an_extra_file(tmp_path: Path) -> None:
    a = make_output(tmp_path / "a", "zlib")
    b = make_output(tmp_path / "b", "none", with_log=False, with_extra=True)

    report = compare_paths(a, b)

    assert not report.equal
    assert [(d.file, d.kind, d.a, d.b) for d in report.differences] == [
        ("hist/debug.txt", "extra", "absent", "present"),
        ("job.log", "missing", "present", "absent"),
    ]
    assert report.files_compared == ["events.fits", "hist/run1.root"]


def test_root_against_fits_is_a_format_difference(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_root(tmp_path / "a" / "out")
    write_fits(tmp_path / "b" / "out")

    [difference] = compare_paths(tmp_path / "a", tmp_path / "b").differences

    assert (difference.file, difference.kind, difference.a, difference.b) == ("out", "format", "ROOT", "FITS")


@pytest.mark.parametrize(
    ("a", "b", "message", "hint"),
    [
        ("missing", "present", "A does not exist: .*missing", "give two existing files or directories"),
        ("present", "missing", "B does not exist: .*missing", "give two existing files or directories"),
        ("present", ".", "cannot compare file .*present with directory", "give two files or two directories"),
        (
            ".",
            "present",
            "cannot compare directory .* with file .*present",
            "give two files or two directories",
        ),
    ],
)
def test_unusable_inputs_are_input_errors(tmp_path: Path, a: str, b: str, message: str, hint: str) -> None:
    write_lines(tmp_path / "present", ["x"])
    with pytest.raises(VerifyInputError, match=message) as caught:
        compare_paths(tmp_path / a, tmp_path / b)
    assert caught.value.hint == hint


def test_diff_excerpt_of_a_long_file_diffs_a_window_from_the_first_difference(tmp_path: Path) -> None:
    lines = [f"event {i}: ok" for i in range(5000)]
    changed = list(lines)
    changed[1499] = "event 1499: FAILED"
    changed[4800] = "event 4800: FAILED"  # beyond the window: not diffed, the excerpt says so
    [difference] = compare_paths(
        write_lines(tmp_path / "a.log", lines), write_lines(tmp_path / "b.log", changed)
    ).differences

    assert difference.location == "line 1500"
    assert difference.detail is not None
    assert difference.detail.splitlines() == [
        "--- A",
        "+++ B",
        "@@ -1498,5 +1498,5 @@",
        " event 1497: ok",
        " event 1498: ok",
        "-event 1499: ok",
        "+event 1499: FAILED",
        " event 1500: ok",
        " event 1501: ok",
        "… (not diffed beyond line 3497)",
    ]


def test_diff_excerpt_of_an_insertion_near_the_window_end_shows_no_artefact(tmp_path: Path) -> None:
    lines = [f"line {i}" for i in range(3000)]
    changed = [*lines[:10], "inserted", *lines[10:]]
    [difference] = compare_paths(
        write_lines(tmp_path / "a.txt", lines), write_lines(tmp_path / "b.txt", changed)
    ).differences
    assert difference.detail is not None
    assert [line for line in difference.detail.splitlines() if line.startswith("@@")] == ["@@ -9,4 +9,5 @@"]
