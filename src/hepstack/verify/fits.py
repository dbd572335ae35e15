"""FITS files through astropy: every HDU in order, headers key by key, table columns and image pixels.

Header keys are compared by value (card comments are documentation, not physics), each repeated key
(COMMENT, HISTORY, duplicates) by occurrence. Volatile keys (DATE, CHECKSUM, DATASUM and whatever
``--ignore-header`` adds, fnmatch patterns) are skipped. Data are compared exactly, or within
rtol/atol for floating-point columns and images. Rows and pixels count from 0, as in astropy/numpy.

astropy opens a file only after :func:`hepstack.verify._fits_layout.scan_fits` has walked its blocks
(every header ASCII up to END, every HDU complete); bytes after the last HDU, which astropy skips, are
compared as bytes.
"""

from __future__ import annotations

import fnmatch
import io
import math
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hepstack.verify._fits_layout import FitsLayout
from hepstack.verify._model import FileComparison, VerifyInputError
from hepstack.verify._streams import BoundedStream, open_stream
from hepstack.verify._values import (
    describe_first_difference,
    equal_mask,
    format_value,
    report_array_differences,
    scalars_equal,
)
from hepstack.verify.text import compare_tails

#: Pixels compared at once (a slab of image rows): bounds memory for images of any size.
IMAGE_SLAB_PIXELS = 4_000_000
CORRUPT_HINT = "the file may be truncated or corrupt; check that the job that wrote it finished"


def compare_fits(
    path_a: Path, path_b: Path, comparison: FileComparison, layouts: tuple[FitsLayout, FitsLayout]
) -> None:
    """Compare two FITS files whose blocks :func:`~hepstack.verify._fits_layout.scan_fits` has walked."""
    ends, sizes = (layouts[0].end, layouts[1].end), (layouts[0].size, layouts[1].size)
    compare_tails((path_a, path_b), ends, sizes, "after the last HDU", comparison)
    with (
        _open(path_a, "A", layouts[0], comparison) as hdus_a,
        _open(path_b, "B", layouts[1], comparison) as hdus_b,
    ):
        if len(hdus_a) != len(hdus_b):
            comparison.differ("structure", "number of HDUs", str(len(hdus_a)), str(len(hdus_b)))
        for index, hdu_a in enumerate(hdus_a):
            if index >= len(hdus_b):
                comparison.differ("missing", hdu_name(index, hdu_a), type(hdu_a).__name__, "absent")
                continue
            _compare_hdu(hdu_a, hdus_b[index], hdu_name(index, hdu_a), comparison)
        for index in range(len(hdus_a), len(hdus_b)):
            comparison.differ("extra", hdu_name(index, hdus_b[index]), "absent", type(hdus_b[index]).__name__)


@contextmanager
def _open(path: Path, side: str, layout: FitsLayout, comparison: FileComparison) -> Iterator[list[Any]]:
    """The HDUs the layout found, and no more. astropy would parse bytes after the last HDU as one more
    header, holding them all in memory, so a file with trailing bytes (compared already) is given to it
    cut at the end of its last HDU. Warnings become notes."""
    from astropy.io import fits

    with ExitStack() as stack, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source: Any = path
        if layout.trailing_bytes:
            stream = stack.enter_context(open_stream(path, side))
            source = io.BufferedReader(BoundedStream(stream, layout.end))
        try:
            # memmap=False: mapped pages a comparison touched stay resident; sections read what they need
            hdus = fits.open(source, lazy_load_hdus=True, memmap=False)
        except Exception as exc:  # OSError("Empty or corrupt FITS file"), VerifyError, ValueError...
            raise VerifyInputError(
                f"{side}: {path} starts like a FITS file but cannot be read: {type(exc).__name__}: {exc}",
                hint=CORRUPT_HINT,
            ) from exc
        try:
            with hdus:
                yield [_hdu(hdus, index, path, side) for index in range(len(layout.hdu_offsets))]
        finally:
            messages = list(dict.fromkeys(str(w.message) for w in caught))
    truncated = [m for m in messages if "truncated" in m]
    if truncated:
        raise VerifyInputError(f"{side}: {path}: {truncated[0]}", hint=CORRUPT_HINT)
    for message in messages:
        comparison.note(f"astropy warned while reading {side}: {message}")


def _hdu(hdus: Any, index: int, path: Path, side: str) -> Any:
    try:
        return hdus[index]
    except IndexError:
        raise VerifyInputError(
            f"{side}: {path}: astropy finds no HDU {index}, though its blocks hold one", hint=CORRUPT_HINT
        ) from None


def hdu_name(index: int, hdu: Any) -> str:
    """``HDU 1 'EVENTS'``: index in the file (0 = primary) and EXTNAME when there is one."""
    name = hdu.name if getattr(hdu, "name", "") else ""
    return f"HDU {index} '{name}'" if name else f"HDU {index}"


def _compare_hdu(hdu_a: Any, hdu_b: Any, where: str, comparison: FileComparison) -> None:
    if type(hdu_a) is not type(hdu_b):
        comparison.differ("format", f"{where} / HDU type", type(hdu_a).__name__, type(hdu_b).__name__)
        return
    compare_headers(hdu_a.header, hdu_b.header, where, comparison)
    if hasattr(hdu_a, "section") and not hasattr(hdu_a, "columns"):
        _compare_image(hdu_a, hdu_b, where, comparison)
        return
    try:
        data_a, data_b = hdu_a.data, hdu_b.data
    except Exception as exc:
        raise VerifyInputError(
            f"cannot read the data of {where}: {type(exc).__name__}: {exc}", hint=CORRUPT_HINT
        ) from exc
    if data_a is None or data_b is None:
        if (data_a is None) != (data_b is None):
            comparison.differ("structure", f"{where} / data", _data_text(data_a), _data_text(data_b))
        return
    if hasattr(hdu_a, "columns"):
        _compare_table(hdu_a.columns, hdu_b.columns, data_a, data_b, where, comparison)
    else:  # an HDU astropy gives neither a section nor columns: its data as one array
        _compare_pixels(np.asarray(data_a), np.asarray(data_b), where, 0, comparison)


def _data_text(data: Any) -> str:
    return "no data" if data is None else f"data of shape {np.shape(data)}"


def compare_headers(header_a: Any, header_b: Any, where: str, comparison: FileComparison) -> None:
    ignored = [pattern.upper() for pattern in comparison.options.ignore_headers]
    cards_a, cards_b = _cards(header_a, ignored), _cards(header_b, ignored)
    for key, value in cards_a.items():
        location = f"{where} / header '{_key_text(key)}'"
        if key not in cards_b:
            comparison.differ("header", location, format_value(value), "absent")
        elif not _header_values_equal(value, cards_b[key]):
            comparison.differ("header", location, format_value(value), format_value(cards_b[key]))
    for key in [k for k in cards_b if k not in cards_a]:
        comparison.differ(
            "header", f"{where} / header '{_key_text(key)}'", "absent", format_value(cards_b[key])
        )


def _cards(header: Any, ignored: list[str]) -> dict[tuple[str, int], object]:
    """``{(keyword, occurrence): value}``; occurrences count repeated keys like COMMENT and HISTORY."""
    seen: dict[str, int] = {}
    cards: dict[tuple[str, int], object] = {}
    for card in header.cards:
        keyword = card.keyword.upper()
        if any(fnmatch.fnmatchcase(keyword, pattern) for pattern in ignored):
            continue
        occurrence = seen.get(keyword, 0)
        seen[keyword] = occurrence + 1
        cards[(keyword, occurrence)] = card.value
    return cards


def _key_text(key: tuple[str, int]) -> str:
    keyword, occurrence = key
    return keyword if occurrence == 0 else f"{keyword} #{occurrence + 1}"


def _header_values_equal(a: object, b: object) -> bool:
    # 1, 1.0 and True are different FITS values even though Python calls them equal.
    return type(a) is type(b) and (a == b or repr(a) == repr(b))


def _compare_image(hdu_a: Any, hdu_b: Any, where: str, comparison: FileComparison) -> None:
    """Pixels read a slab of rows at a time through astropy's ``section`` (scaled like ``data``), so
    memory does not grow with the image."""
    shape_a, shape_b = tuple(hdu_a.shape), tuple(hdu_b.shape)
    if not shape_a or not shape_b:  # NAXIS = 0: no data
        if shape_a != shape_b:
            comparison.differ("structure", f"{where} / data", _shape_text(shape_a), _shape_text(shape_b))
        return
    rows = max(1, IMAGE_SLAB_PIXELS // max(1, math.prod(shape_a[1:])))
    for start in range(0, max(shape_a[0], shape_b[0]), rows):
        slab_a = np.asarray(hdu_a.section[start : start + rows])
        slab_b = np.asarray(hdu_b.section[start : start + rows])
        if shape_a != shape_b or slab_a.dtype != slab_b.dtype:
            text_a, text_b = f"{shape_a} {slab_a.dtype}", f"{shape_b} {slab_b.dtype}"
            comparison.differ("structure", f"{where} / image shape and type", text_a, text_b)
            return
        _compare_pixels(slab_a, slab_b, where, start, comparison)


def _shape_text(shape: tuple[int, ...]) -> str:
    return f"data of shape {shape}" if shape else "no data"


def _compare_pixels(data_a: Any, data_b: Any, where: str, first_row: int, comparison: FileComparison) -> None:
    """Two same-shape pixel arrays whose first index starts at ``first_row`` of the image."""
    if data_a.shape != data_b.shape or data_a.dtype != data_b.dtype:
        text_a, text_b = f"{data_a.shape} {data_a.dtype}", f"{data_b.shape} {data_b.dtype}"
        comparison.differ("structure", f"{where} / image shape and type", text_a, text_b)
        return

    def location(cell: tuple[int, ...]) -> str:
        return f"{where} / pixel {[cell[0] + first_row, *cell[1:]] if cell else []}"

    report_array_differences(data_a, data_b, comparison, location)


def _compare_table(
    columns_a: Any, columns_b: Any, data_a: Any, data_b: Any, where: str, comparison: FileComparison
) -> None:
    names_a, names_b = list(columns_a.names), list(columns_b.names)
    for name in [n for n in names_a if n not in names_b]:
        comparison.differ("missing", f"{where} / column '{name}'", "present", "absent")
    for name in [n for n in names_b if n not in names_a]:
        comparison.differ("extra", f"{where} / column '{name}'", "absent", "present")
    common = [n for n in names_a if n in names_b]
    if common != [n for n in names_b if n in names_a]:
        comparison.differ("structure", f"{where} / column order", ", ".join(names_a), ", ".join(names_b))
    rows_a, rows_b = len(data_a), len(data_b)
    if rows_a != rows_b:
        comparison.differ("structure", f"{where} / number of rows", str(rows_a), str(rows_b))
    rows = min(rows_a, rows_b)
    for name in common:
        column_where = f"{where} / column '{name}'"
        if _column_layout_differs(columns_a[name], columns_b[name], column_where, comparison):
            continue
        _compare_column(data_a[name][:rows], data_b[name][:rows], column_where, comparison)


def _column_layout_differs(column_a: Any, column_b: Any, where: str, comparison: FileComparison) -> bool:
    """Format, unit and dimensions; a format or dimension change makes the values incomparable."""
    differs = False
    for attribute in ("format", "dim", "unit"):
        value_a, value_b = getattr(column_a, attribute), getattr(column_b, attribute)
        if str(value_a) != str(value_b):
            comparison.differ("structure", f"{where} / {attribute}", str(value_a), str(value_b))
            differs = differs or attribute != "unit"
    return differs


def _compare_column(values_a: Any, values_b: Any, where: str, comparison: FileComparison) -> None:
    array_a, array_b = np.asarray(values_a), np.asarray(values_b)
    if array_a.dtype.kind == "O" or array_b.dtype.kind == "O":  # variable-length arrays: row by row
        options = comparison.options
        differing = [
            r
            for r, (x, y) in enumerate(zip(array_a, array_b, strict=True))
            if not scalars_equal(x, y, options)
        ]
    else:
        same = equal_mask(array_a, array_b, comparison.options)
        differing = [int(r) for r in np.flatnonzero(~same.reshape(len(array_a), -1).all(axis=1))]
    shown = differing[: comparison.room]
    for row in shown:
        path, text_a, text_b = describe_first_difference(
            _cell(array_a[row]), _cell(array_b[row]), comparison.options
        )
        comparison.differ("value", f"{where} / row {row}{path}", text_a, text_b)
    comparison.count_more(len(differing) - len(shown))


def _cell(value: Any) -> object:
    # A list of numpy scalars (not .tolist()) keeps float32 printing as float32: 0.1, not 0.10000000149011612.
    return list(value) if isinstance(value, np.ndarray) and value.ndim else value
