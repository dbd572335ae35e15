"""FITS comparison on real files written by astropy: HDU by HDU, header key by key, cell by cell."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from hepstack.verify import (
    DEFAULT_IGNORED_HEADERS,
    VerifyInputError,
    VerifyOptions,
    compare_paths,
    detect_format,
)
from tests.verify.builders import write_fits


def locations(a: Path, b: Path, options: VerifyOptions | None = None) -> dict[str, tuple[str, str]]:
    return {d.location: (d.a, d.b) for d in compare_paths(a, b, options).differences}


def test_same_content_is_equal(tmp_path: Path) -> None:
    report = compare_paths(write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits"))
    assert report.equal
    assert report.files_compared == ["a.fits vs b.fits"]


def test_column_value_change_names_hdu_column_and_row(tmp_path: Path) -> None:
    energy = np.linspace(10.0, 20.0, 6)
    energy[3] = 16.5
    a, b = write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits", energy=energy)

    assert locations(a, b) == {"HDU 1 'EVENTS' / column 'ENERGY' / row 3": ("16.0", "16.5")}


def test_header_change_names_hdu_and_key(tmp_path: Path) -> None:
    a, b = write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits", observer="Grace")

    report = compare_paths(a, b)

    assert [(d.kind, d.location, d.a, d.b) for d in report.differences] == [
        ("header", "HDU 0 'PRIMARY' / header 'OBSERVER'", "'Ada'", "'Grace'")
    ]


def test_date_is_ignored_by_default(tmp_path: Path) -> None:
    a = write_fits(tmp_path / "a.fits", date="2024-05-01T10:00:00")
    b = write_fits(tmp_path / "b.fits", date="2025-01-31T23:59:59")
    assert a.read_bytes() != b.read_bytes()
    assert compare_paths(a, b).equal
    strict = VerifyOptions(ignore_headers=frozenset())
    assert set(locations(a, b, strict)) == {
        "HDU 0 'PRIMARY' / header 'DATE'",
        "HDU 1 'EVENTS' / header 'DATE'",
    }


def test_ignore_header_key_is_honoured(tmp_path: Path) -> None:
    a, b = write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits", origin="podman")

    assert locations(a, b) == {"HDU 0 'PRIMARY' / header 'ORIGIN'": ("'native'", "'podman'")}
    assert compare_paths(a, b, VerifyOptions(ignore_headers=DEFAULT_IGNORED_HEADERS | {"ORIGIN"})).equal
    assert compare_paths(a, b, VerifyOptions(ignore_headers=frozenset({"ORIG*"}))).equal


def test_image_tolerance_works_both_ways(tmp_path: Path) -> None:
    image = np.arange(20, dtype=np.float32).reshape(4, 5) / 3
    nudged = image.copy()
    nudged[2, 3] = np.nextafter(nudged[2, 3], np.float32(100))  # one float32 ulp: ~1e-7 relative
    a, b = write_fits(tmp_path / "a.fits", image=image), write_fits(tmp_path / "b.fits", image=nudged)

    assert list(locations(a, b)) == ["HDU 0 'PRIMARY' / pixel [2, 3]"]
    assert compare_paths(a, b, VerifyOptions(rtol=1e-6)).equal
    assert not compare_paths(a, b, VerifyOptions(rtol=1e-9)).equal
    assert compare_paths(a, b, VerifyOptions(atol=1e-5)).equal


def test_column_tolerance(tmp_path: Path) -> None:
    energy = np.linspace(10.0, 20.0, 6)
    a = write_fits(tmp_path / "a.fits", energy=energy)
    b = write_fits(tmp_path / "b.fits", energy=energy + 1e-10)
    assert len(compare_paths(a, b).differences) == 6
    assert compare_paths(a, b, VerifyOptions(atol=1e-9)).equal


def test_nan_equals_nan(tmp_path: Path) -> None:
    image = np.full((4, 5), np.nan, dtype=np.float32)
    energy = np.array([np.nan, 1.0, 2.0, np.nan, 4.0, 5.0])
    a = write_fits(tmp_path / "a.fits", image=image, energy=energy)
    b = write_fits(tmp_path / "b.fits", image=image.copy(), energy=energy.copy())
    assert compare_paths(a, b).equal


def test_unit_change_is_a_structure_difference(tmp_path: Path) -> None:
    a, b = write_fits(tmp_path / "a.fits"), write_fits(tmp_path / "b.fits", energy_unit="GeV")
    report = compare_paths(a, b)
    assert [(d.kind, d.location, d.a, d.b) for d in report.differences] == [
        ("header", "HDU 1 'EVENTS' / header 'TUNIT1'", "'MeV'", "'GeV'"),
        ("structure", "HDU 1 'EVENTS' / column 'ENERGY' / unit", "MeV", "GeV"),
    ]


def test_gzipped_fits_is_detected_and_compared_by_content(tmp_path: Path) -> None:
    plain = write_fits(tmp_path / "a.fits")
    packed = tmp_path / "b.fits.gz"
    packed.write_bytes(gzip.compress(write_fits(tmp_path / "c.fits", date="2030-01-01").read_bytes()))
    assert detect_format(packed) == "FITS"
    assert compare_paths(plain, packed).equal


@pytest.mark.parametrize("keep", [100, 4000])
def test_truncated_fits_is_an_input_error(tmp_path: Path, keep: int) -> None:
    good = write_fits(tmp_path / "a.fits")
    bad = tmp_path / "b.fits"
    bad.write_bytes(good.read_bytes()[:keep])

    with pytest.raises(VerifyInputError) as caught:
        compare_paths(good, bad)

    assert "b.fits" in caught.value.message
    assert caught.value.hint


def test_images_compare_a_slab_of_rows_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hepstack.verify.fits as fits_comparer

    monkeypatch.setattr(fits_comparer, "IMAGE_SLAB_PIXELS", 7)  # 5 columns: one row per slab
    image = np.arange(20, dtype=np.float32).reshape(4, 5) / 3
    changed = image.copy()
    changed[0, 0] = changed[3, 4] = -1
    a = write_fits(tmp_path / "a.fits", image=image)

    assert compare_paths(a, write_fits(tmp_path / "same.fits", image=image.copy())).equal
    assert list(locations(a, write_fits(tmp_path / "b.fits", image=changed))) == [
        "HDU 0 'PRIMARY' / pixel [0, 0]",
        "HDU 0 'PRIMARY' / pixel [3, 4]",
    ]
    shape = locations(a, write_fits(tmp_path / "c.fits", image=np.zeros((5, 5), dtype=np.float32)))
    assert shape["HDU 0 'PRIMARY' / image shape and type"] == ("(4, 5) >f4", "(5, 5) >f4")
