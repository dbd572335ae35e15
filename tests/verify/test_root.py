"""ROOT comparison on real files written by uproot: content counts, compression does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hepstack.verify import Difference, VerifyInputError, VerifyOptions, compare_paths
from tests.verify.builders import (
    ENTRIES,
    reference_energy_bins,
    reference_hits,
    reference_px,
    write_root,
)


def only_difference(a: Path, b: Path, options: VerifyOptions | None = None) -> Difference:
    report = compare_paths(a, b, options)
    assert report.difference_count == 1, report.differences
    return report.differences[0]


@pytest.mark.parametrize("other", ["lz4", "none", "lzma", "zstd"])
def test_same_content_other_compression_is_equal(tmp_path: Path, other: str) -> None:
    a = write_root(tmp_path / "a.root", "zlib")
    b = write_root(tmp_path / "b.root", other)
    assert a.read_bytes() != b.read_bytes()  # really a content comparison, not a byte one

    report = compare_paths(a, b)

    assert report.equal, report.differences
    assert report.files_compared == ["a.root vs b.root"]
    assert report.notes == []


def test_changed_branch_value_names_tree_branch_entry_and_values(tmp_path: Path) -> None:
    px = reference_px()
    px[7] = 99.25
    a = write_root(tmp_path / "a.root", "zlib")
    b = write_root(tmp_path / "b.root", "lz4", px=px)

    difference = only_difference(a, b)

    assert difference.kind == "value"
    assert difference.location == "tree 'events' / branch 'px' / entry 7"
    assert (difference.a, difference.b) == ("10.5", "99.25")


def test_jagged_element_difference_names_the_element(tmp_path: Path) -> None:
    hits = reference_hits()
    assert hits[5] == [5.0, 5.5]
    hits[5] = [5.0, 6.75]
    a = write_root(tmp_path / "a.root")
    b = write_root(tmp_path / "b.root", "none", hits=hits)

    difference = only_difference(a, b)

    assert difference.location == "tree 'events' / branch 'hits' / entry 5[1]"
    assert (difference.a, difference.b) == ("5.5", "6.75")


def test_jagged_length_difference_shows_both_entries_and_the_counter_branch(tmp_path: Path) -> None:
    hits = reference_hits()
    hits[4] = [4.0, 4.25, 4.5]
    a = write_root(tmp_path / "a.root")
    b = write_root(tmp_path / "b.root", hits=hits)

    report = compare_paths(a, b)

    locations = {d.location: (d.a, d.b) for d in report.differences}
    assert locations == {
        "tree 'events' / branch 'nhits' / entry 4": ("1", "3"),
        "tree 'events' / branch 'hits' / entry 4 (length 1 vs 3)": ("[4.0]", "[4.0, 4.25, 4.5]"),
    }


def test_histogram_bin_difference_names_the_bin_content_and_error(tmp_path: Path) -> None:
    bins = reference_energy_bins()
    bins[2] = 8.0  # the statistics member fEntries is the sum, so it changes too
    a = write_root(tmp_path / "a.root")
    b = write_root(tmp_path / "b.root", "lz4", energy_bins=bins)

    report = compare_paths(a, b)

    found = {d.location: (d.a, d.b) for d in report.differences}
    assert found["histogram 'energy' / bin 2 / content"] == ("7.0", "8.0")
    assert found["histogram 'energy' / bin 2 / error"] == (str(np.sqrt(7.0)), str(np.sqrt(8.0)))
    assert found["histogram 'energy' / fEntries"] == ("22.0", "23.0")
    assert report.difference_count == 3


def test_overflow_bin_difference_is_named_as_overflow(tmp_path: Path) -> None:
    bins = reference_energy_bins()
    bins[-1] += 1
    report = compare_paths(write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", energy_bins=bins))
    assert "histogram 'energy' / bin 5 (overflow) / content" in [d.location for d in report.differences]


def test_profile_bin_difference(tmp_path: Path) -> None:
    report = compare_paths(write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", profile_sum=7.5))

    found = {d.location: (d.a, d.b) for d in report.differences}
    assert found["histogram 'response' / bin 2 / content"] == ("2.0", "2.5")


def test_two_dimensional_bins_are_named_per_axis() -> None:
    from hepstack.verify._root_objects import bin_name

    assert bin_name((0, 3), (5, 6)) == "bin (x=0 underflow, y=3)"
    assert bin_name((2, 5), (5, 6)) == "bin (x=2, y=5 overflow)"


def test_other_objects_compare_by_content(tmp_path: Path) -> None:
    difference = only_difference(
        write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", note="calibration v2")
    )
    assert difference.location == "object 'meta/note' (TObjString)"
    assert (difference.a, difference.b) == ("'calibration v1'", "'calibration v2'")


def test_missing_and_extra_keys(tmp_path: Path) -> None:
    report = compare_paths(
        write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", extra_histogram=True)
    )
    assert [(d.kind, d.location, d.a, d.b) for d in report.differences] == [
        ("extra", "key 'background'", "absent", "TH1D")
    ]


def test_number_of_entries(tmp_path: Path) -> None:
    shorter = write_root(
        tmp_path / "b.root", px=reference_px()[:-2], hits=reference_hits()[:-2], entries=ENTRIES - 2
    )
    report = compare_paths(write_root(tmp_path / "a.root"), shorter)
    assert [(d.location, d.a, d.b) for d in report.differences] == [
        ("tree 'events' / number of entries", "12", "10")
    ]


def test_tolerance_works_both_ways(tmp_path: Path) -> None:
    px = reference_px()
    px[3] *= 1 + 1e-9
    a, b = write_root(tmp_path / "a.root"), write_root(tmp_path / "b.root", px=px)

    assert not compare_paths(a, b).equal  # exact by default
    assert compare_paths(a, b, VerifyOptions(rtol=1e-6)).equal
    assert not compare_paths(a, b, VerifyOptions(rtol=1e-12)).equal
    assert compare_paths(a, b, VerifyOptions(atol=1e-6)).equal


def test_nan_equals_nan(tmp_path: Path) -> None:
    px = reference_px()
    px[2] = np.nan
    a = write_root(tmp_path / "a.root", px=px)
    b = write_root(tmp_path / "b.root", "lz4", px=px.copy())
    assert compare_paths(a, b).equal


def test_rntuple_nested_field_difference(tmp_path: Path) -> None:
    import awkward as ak
    import uproot

    def ntuple(path: Path, chi2: list[float], layers: list[list[list[int]]]) -> Path:
        with uproot.recreate(path) as file:
            file["summary"] = {"track": ak.zip({"chi2": chi2, "ndf": [3, 4, 5]}), "layers": ak.Array(layers)}
        return path

    a = ntuple(tmp_path / "a.root", [1.0, 2.5, 0.5], [[[1, 2], [3]], [], [[4]]])
    b = ntuple(tmp_path / "b.root", [1.0, 2.5, 0.75], [[[1, 2], [7]], [], [[4]]])

    report = compare_paths(a, b)

    assert [(d.location, d.a, d.b) for d in report.differences] == [
        ("RNTuple 'summary' / field 'layers' / entry 0[1][0]", "3", "7"),
        ("RNTuple 'summary' / field 'track' / entry 2.chi2", "0.5", "0.75"),
    ]


def test_differences_are_capped_but_all_counted(tmp_path: Path) -> None:
    a = write_root(tmp_path / "a.root")
    b = write_root(tmp_path / "b.root", px=reference_px() + 1)

    report = compare_paths(a, b, VerifyOptions(max_differences=5))

    assert report.difference_count == ENTRIES
    assert len(report.differences) == 5
    assert report.omitted_count == ENTRIES - 5
    assert [d.location for d in report.differences][-1] == "tree 'events' / branch 'px' / entry 4"


def test_type_detection_is_by_magic_bytes_not_extension(tmp_path: Path) -> None:
    a = write_root(tmp_path / "a.dat", "zlib")
    b = write_root(tmp_path / "b.dat", "none")
    assert compare_paths(a, b).equal


@pytest.mark.parametrize("keep", [100, 2000])
def test_truncated_root_file_is_an_input_error(tmp_path: Path, keep: int) -> None:
    good = write_root(tmp_path / "a.root")
    corrupt = tmp_path / "b.root"
    corrupt.write_bytes(good.read_bytes()[:keep])

    with pytest.raises(VerifyInputError) as caught:
        compare_paths(good, corrupt)

    assert "b.root" in caught.value.message
    assert caught.value.hint


def test_objects_uproot_cannot_read_fall_back_to_their_serialised_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class without a usable streamer is compared by its decompressed payload, and the report says so."""
    import hepstack.verify.root as root

    def unreadable(file: object, key: str, classname: str, side: str) -> object:
        return None if classname in ("TObjString", "TH2D") else real_read(file, key, classname, side)

    real_read = root._read_object
    monkeypatch.setattr(root, "_read_object", unreadable)
    a = write_root(tmp_path / "a.root", "zlib")

    same = compare_paths(a, write_root(tmp_path / "b.root", "lzma"))
    changed = compare_paths(a, write_root(tmp_path / "c.root", "lzma", note="calibration v2"))

    assert same.equal
    assert [note.split(": uproot")[0] for note in same.notes] == [
        "a.root vs b.root: key 'hitmap' (TH2D)",
        "a.root vs b.root: key 'meta/note' (TObjString)",
    ]
    assert "compared its decompressed serialised bytes" in same.notes[0]
    assert [(d.kind, d.location) for d in changed.differences] == [
        ("bytes", "key 'meta/note' / serialised byte 30")
    ]


def test_branches_uproot_cannot_interpret_compare_their_baskets_a_basket_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hepstack.verify._root_tables as tables

    monkeypatch.setattr(tables, "_uninterpretable", lambda branch: branch.name == "px")
    a = write_root(tmp_path / "a.root", "zlib")
    px = reference_px()
    px[9] = -1.0

    same = compare_paths(a, write_root(tmp_path / "b.root", "lz4"))
    changed = compare_paths(a, write_root(tmp_path / "c.root", "lz4", px=px))

    assert same.equal
    assert "compared its decompressed basket bytes" in same.notes[0]
    [difference] = changed.differences
    # entry 9 is the 4th of the second basket (entries 6-11), 8 bytes each: byte 6 * 8 + 3 * 8 = 72
    assert (difference.kind, difference.location) == (
        "bytes",
        "tree 'events' / branch 'px' / raw basket data / byte 72",
    )
    assert difference.b.startswith("bf f0 00 00")  # -1.0, big-endian


def test_first_difference_does_not_depend_on_how_the_bytes_are_chunked() -> None:
    from hepstack.verify.text import ChunkReader, first_difference

    data = bytes(range(256)) * 40
    changed = data[:5000] + b"\xff" + data[5001:]
    for sizes_a, sizes_b in (((7,), (4096,)), ((1000, 1), (3,)), ((10240,), (1,))):
        reader_a = ChunkReader(_chunks(data, sizes_a))
        reader_b = ChunkReader(_chunks(changed, sizes_b))
        found = first_difference(reader_a.read, reader_b.read)
        assert found is not None
        assert (found.offset, found.window_a[:2], found.window_b[:2]) == (
            5000,
            bytes([5000 % 256, 5001 % 256]),
            b"\xff" + bytes([5001 % 256]),
        )
    assert (
        first_difference(ChunkReader(_chunks(data, (5,))).read, ChunkReader(_chunks(data, (9,))).read) is None
    )


def _chunks(data: bytes, sizes: tuple[int, ...]) -> Iterator[bytes]:
    position, index = 0, 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        yield data[position : position + size]
        position, index = position + size, index + 1
