"""Histograms bin by bin, and any other ROOT object by its streamed member values.

uproot exposes every deserialised object's members as ``all_members`` (the TObject bits, names, titles,
arrays, nested objects, TLists...). Comparing those is comparing the object's serialised content without
the file layout, so ZLIB, LZ4 and uncompressed copies of one object compare equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hepstack.verify._model import FileComparison
from hepstack.verify._values import format_value, report_array_differences, scalars_equal

#: Nested objects deeper than this are not followed (guards against reference cycles).
MAX_DEPTH = 12
#: Histogram members already compared bin by bin (as errors), so not reported twice.
HISTOGRAM_MEMBERS_COVERED = frozenset({"fSumw2"})


def compare_histogram(a: Any, b: Any, name: str, comparison: FileComparison) -> None:
    """Every bin's content and error, under/overflow included, then the remaining members."""
    where = f"histogram '{name}'"
    values_a, values_b = np.asarray(a.values(flow=True)), np.asarray(b.values(flow=True))
    if values_a.shape != values_b.shape:
        shape_a, shape_b = _bins_text(values_a.shape), _bins_text(values_b.shape)
        comparison.differ("structure", f"{where} / number of bins (with under/overflow)", shape_a, shape_b)
    else:
        shape = values_a.shape
        report_array_differences(
            values_a, values_b, comparison, lambda cell: f"{where} / {bin_name(cell, shape)} / content"
        )
        errors_a, errors_b = np.asarray(a.errors(flow=True)), np.asarray(b.errors(flow=True))
        report_array_differences(
            errors_a, errors_b, comparison, lambda cell: f"{where} / {bin_name(cell, shape)} / error"
        )
    compare_members(a, b, where, comparison, skip=HISTOGRAM_MEMBERS_COVERED)


def _bins_text(shape: tuple[int, ...]) -> str:
    return " x ".join(str(n) for n in shape)


def bin_name(cell: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """``bin 0 (underflow)`` or ``bin (x=3, y=5 overflow)``; index 0 is the underflow bin, as in ROOT."""

    def flow(index: int, size: int) -> str:
        return "underflow" if index == 0 else "overflow" if index == size - 1 else ""

    if len(cell) == 1:
        word = flow(cell[0], shape[0])
        return f"bin {cell[0]}" + (f" ({word})" if word else "")
    axes = zip("xyz", cell, shape, strict=False)
    parts = [f"{axis}={index} {flow(index, size)}".rstrip() for axis, index, size in axes]
    return f"bin ({', '.join(parts)})"


def compare_members(
    a: Any, b: Any, where: str, comparison: FileComparison, skip: frozenset[str] = frozenset(), depth: int = 0
) -> None:
    """Compare two uproot model objects by class, string value, members and (for collections) items."""
    if a.classname != b.classname:
        comparison.differ("format", f"{where} / class", a.classname, b.classname)
        return
    if (isinstance(a, str) or isinstance(b, str)) and str(a) != str(b):  # TObjString: the text is the content
        comparison.differ("value", where, format_value(str(a)), format_value(str(b)))
    members_a, members_b = a.all_members, b.all_members
    for name in [m for m in members_a if m not in members_b]:
        comparison.differ("missing", f"{where} / {name}", format_value(members_a[name]), "absent")
    for name in [m for m in members_b if m not in members_a]:
        comparison.differ("extra", f"{where} / {name}", "absent", format_value(members_b[name]))
    for name in members_a:
        if name in members_b and name not in skip:
            compare_values(members_a[name], members_b[name], f"{where} / {name}", comparison, depth + 1)
    if _is_collection(a) and _is_collection(b):  # TList, TObjArray, TClonesArray (not TObjString)
        _compare_items(list(a), list(b), where, comparison, depth)


def compare_values(a: Any, b: Any, where: str, comparison: FileComparison, depth: int) -> None:
    """Compare two member values of any kind uproot produces."""
    import uproot

    if depth > MAX_DEPTH:
        comparison.note(f"{where}: nested deeper than {MAX_DEPTH} levels; not compared further")
        return
    arrays = (np.ndarray, uproot.models.TArray.Model_TArray)
    if isinstance(a, arrays) and isinstance(b, arrays):
        array_a, array_b = np.asarray(a), np.asarray(b)
        if array_a.shape != array_b.shape:
            comparison.differ("structure", f"{where} / shape", str(array_a.shape), str(array_b.shape))
            return
        report_array_differences(array_a, array_b, comparison, lambda cell: f"{where} {list(cell)}")
    elif isinstance(a, uproot.model.Model) and isinstance(b, uproot.model.Model):
        compare_members(a, b, where, comparison, depth=depth)
    elif isinstance(a, Mapping) and isinstance(b, Mapping):
        if list(a) != list(b):
            comparison.differ("structure", f"{where} / keys", format_value(list(a)), format_value(list(b)))
            return
        for key in a:
            compare_values(a[key], b[key], f"{where} [{key!r}]", comparison, depth + 1)
    elif _is_collection(a) and _is_collection(b):
        _compare_items(list(a), list(b), where, comparison, depth)
    elif type(a) is not type(b) and not (_is_number(a) and _is_number(b)):
        comparison.differ("structure", f"{where} / type", type(a).__name__, type(b).__name__)
    elif not scalars_equal(a, b, comparison.options):
        comparison.differ("value", where, format_value(a), format_value(b))


def _compare_items(a: list[Any], b: list[Any], where: str, comparison: FileComparison, depth: int) -> None:
    if len(a) != len(b):
        comparison.differ("structure", f"{where} / number of items", str(len(a)), str(len(b)))
        return
    for index, (item_a, item_b) in enumerate(zip(a, b, strict=True)):
        compare_values(item_a, item_b, f"{where} [{index}]", comparison, depth + 1)


def _is_collection(value: object) -> bool:
    return isinstance(value, Sequence | set | frozenset) and not isinstance(value, str | bytes)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)
