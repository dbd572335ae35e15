"""TTree and RNTuple comparison: column sets, entry counts, then every column entry by entry.

Columns are read in entry ranges (not whole) so a multi-GB tree does not have to fit in memory, and both
files are read over the *same* ranges so baskets/clusters of different sizes do not matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import awkward as ak
import numpy as np
import numpy.typing as npt

from hepstack.verify._model import FileComparison, VerifyInputError, VerifyOptions
from hepstack.verify._values import describe_first_difference, equal_mask
from hepstack.verify.text import ChunkReader, first_difference, hex_window

#: Aim for about this many uncompressed bytes per column read; bounds memory for huge trees.
READ_CHUNK_BYTES = 64 * 1024 * 1024
#: Entries per read when a column's size per entry is unknown (RNTuple fields).
DEFAULT_CHUNK_ENTRIES = 200_000


def compare_table(a: Any, b: Any, name: str, comparison: FileComparison) -> None:
    """Compare two TTrees (or two RNTuples) called ``name``; ``a``/``b`` are uproot objects."""
    is_tree = _is_ttree(a)
    container = f"{'tree' if is_tree else 'RNTuple'} '{name}'"
    column_word = "branch" if is_tree else "field"
    columns_a, columns_b = _columns(a), _columns(b)
    for missing in [c for c in columns_a if c not in columns_b]:
        comparison.differ("missing", f"{container} / {column_word} '{missing}'", "present", "absent")
    for extra in [c for c in columns_b if c not in columns_a]:
        comparison.differ("extra", f"{container} / {column_word} '{extra}'", "absent", "present")
    if is_tree and a.title != b.title:
        comparison.differ("value", f"{container} / title", repr(a.title), repr(b.title))
    entries_a, entries_b = int(a.num_entries), int(b.num_entries)
    if entries_a != entries_b:
        comparison.differ("structure", f"{container} / number of entries", str(entries_a), str(entries_b))
    entries = min(entries_a, entries_b)
    for column in [c for c in columns_a if c in columns_b]:
        where = f"{container} / {column_word} '{column}'"
        column_a, column_b = columns_a[column], columns_b[column]
        if column_a.typename != column_b.typename:
            comparison.differ("structure", f"{where} / type", column_a.typename, column_b.typename)
            continue
        if is_tree and _uninterpretable(column_a):
            _compare_raw_baskets(column_a, column_b, where, comparison)
            continue
        _compare_column(column_a, column_b, entries, where, comparison)


def _is_ttree(obj: Any) -> bool:
    import uproot

    return isinstance(obj, uproot.behaviors.TBranch.HasBranches)


def _columns(table: Any) -> dict[str, Any]:
    if _is_ttree(table):
        # Only leaf branches hold data; a split object's parent branch would read its leaves twice.
        return {name: branch for name, branch in table.iteritems(recursive=True) if not branch.branches}
    return dict(table.iteritems(recursive=False))


def _uninterpretable(branch: Any) -> bool:
    import uproot

    return isinstance(branch.interpretation, uproot.interpretation.identify.UnknownInterpretation)


def _chunk_entries(column: Any) -> int:
    uncompressed = getattr(column, "uncompressed_bytes", None)
    entries = int(column.num_entries)
    if not uncompressed or not entries:
        return DEFAULT_CHUNK_ENTRIES
    per_entry = max(1.0, uncompressed / entries)
    return max(1000, int(READ_CHUNK_BYTES / per_entry))


def _read(column: Any, start: int, stop: int, where: str, side: str) -> Any:
    try:
        return column.array(entry_start=start, entry_stop=stop, library="ak")
    except Exception as exc:  # uproot raises many types for corrupt data; all mean "cannot read"
        raise VerifyInputError(
            f"cannot read {where}, entries {start}-{stop - 1}, from {side}: {type(exc).__name__}: {exc}",
            hint="the file may be truncated or corrupt; check that the job that wrote it finished",
        ) from exc


def _compare_column(
    column_a: Any, column_b: Any, entries: int, where: str, comparison: FileComparison
) -> None:
    step = _chunk_entries(column_a)
    for start in range(0, entries, step):
        stop = min(entries, start + step)
        array_a = _read(column_a, start, stop, where, "A")
        array_b = _read(column_b, start, stop, where, "B")
        type_a, type_b = str(array_a.type.content), str(array_b.type.content)
        if type_a != type_b:
            comparison.differ("structure", f"{where} / data type", type_a, type_b)
            return
        differing = np.flatnonzero(entry_mismatch(array_a, array_b, comparison.options))
        shown = differing[: comparison.room]
        for index in shown:
            _report_entry(array_a[index], array_b[index], start + int(index), where, comparison)
        comparison.count_more(len(differing) - len(shown))


def _report_entry(entry_a: Any, entry_b: Any, entry: int, where: str, comparison: FileComparison) -> None:
    path, text_a, text_b = describe_first_difference(
        _to_python(entry_a), _to_python(entry_b), comparison.options
    )
    comparison.differ("value", f"{where} / entry {entry}{path}", text_a, text_b)


def _to_python(value: Any) -> object:
    """A numpy array for a flat list entry (keeps float32 printing as float32), else Python lists/dicts."""
    if isinstance(value, ak.Array):
        try:
            return list(ak.to_numpy(value))
        except (ValueError, TypeError):  # jagged below the first level, records, strings
            return value.to_list()
    return value.to_list() if isinstance(value, ak.Record) else value


def entry_mismatch(a: Any, b: Any, options: VerifyOptions) -> npt.NDArray[np.bool_]:
    """One bool per entry: does entry i of awkward array ``a`` differ from entry i of ``b``?

    Works through the layout: records field by field, lists by length then by their flattened contents
    (reduced back to entries), options by which entries are None. Vectorised; no Python loop over entries.
    """
    length = len(a)
    if length == 0:
        return np.zeros(0, dtype=bool)
    layout_a, layout_b = a.layout, b.layout
    if layout_a.is_indexed and not layout_a.is_option:
        return entry_mismatch(ak.to_packed(a), b, options)
    if layout_b.is_indexed and not layout_b.is_option:
        return entry_mismatch(a, ak.to_packed(b), options)
    if _is_string(a) or _is_string(b) or layout_a.is_union or layout_b.is_union:
        return np.array([x != y for x, y in zip(a.to_list(), b.to_list(), strict=True)], dtype=bool)
    if layout_a.is_option or layout_b.is_option:
        return _option_mismatch(a, b, options)
    if layout_a.is_record or layout_b.is_record:
        fields = ak.fields(a)
        if fields != ak.fields(b):
            return np.ones(length, dtype=bool)
        result = np.zeros(length, dtype=bool)
        for name in fields:
            result |= entry_mismatch(a[name], b[name], options)
        return result
    if layout_a.is_list or layout_a.is_regular:
        if not (layout_b.is_list or layout_b.is_regular):
            return np.ones(length, dtype=bool)
        return _list_mismatch(a, b, options)
    values_a, values_b = ak.to_numpy(a), ak.to_numpy(b)
    if values_a.shape != values_b.shape:
        return np.ones(length, dtype=bool)
    same = equal_mask(values_a, values_b, options)
    differs: npt.NDArray[np.bool_] = np.asarray(~same.reshape(length, -1).all(axis=1), dtype=bool)
    return differs


def _is_string(array: Any) -> bool:
    return array.layout.parameter("__array__") in ("string", "bytestring")


def _list_mismatch(a: Any, b: Any, options: VerifyOptions) -> npt.NDArray[np.bool_]:
    counts_a, counts_b = np.asarray(ak.num(a, axis=1)), np.asarray(ak.num(b, axis=1))
    same_length: npt.NDArray[np.bool_] = counts_a == counts_b
    result: npt.NDArray[np.bool_] = ~same_length
    if same_length.any():
        inner = entry_mismatch(
            ak.flatten(a[same_length], axis=1), ak.flatten(b[same_length], axis=1), options
        )
        per_entry = ak.any(ak.unflatten(inner, counts_a[same_length]), axis=1)
        result[same_length] = np.asarray(per_entry, dtype=bool)
    return result


def _option_mismatch(a: Any, b: Any, options: VerifyOptions) -> npt.NDArray[np.bool_]:
    none_a = np.asarray(ak.is_none(a, axis=0), dtype=bool)
    none_b = np.asarray(ak.is_none(b, axis=0), dtype=bool)
    result: npt.NDArray[np.bool_] = none_a != none_b
    both = ~none_a & ~none_b
    if both.any():
        present_a = ak.drop_none(a[both], axis=0)
        present_b = ak.drop_none(b[both], axis=0)
        result[both] = entry_mismatch(present_a, present_b, options)
    return result


def _compare_raw_baskets(branch_a: Any, branch_b: Any, where: str, comparison: FileComparison) -> None:
    """Fallback for a branch type uproot cannot interpret: compare its decompressed basket payloads."""
    comparison.note(
        f"{where}: uproot cannot interpret type {branch_a.typename!r}; compared its decompressed basket "
        "bytes instead of entry by entry"
    )
    reader_a = ChunkReader(_basket_bytes(branch_a, where, "A"))
    reader_b = ChunkReader(_basket_bytes(branch_b, where, "B"))
    found = first_difference(reader_a.read, reader_b.read)  # a basket at a time, not the whole branch
    if found is not None:
        location = f"{where} / raw basket data / byte {found.offset}"
        comparison.differ("bytes", location, hex_window(found.window_a), hex_window(found.window_b))


def _basket_bytes(branch: Any, where: str, side: str) -> Iterator[bytes]:
    for index in range(branch.num_baskets):
        try:
            data = bytes(branch.basket(index).data)
        except Exception as exc:
            raise VerifyInputError(
                f"cannot read basket {index} of {where} from {side}: {type(exc).__name__}: {exc}",
                hint="the file may be truncated or corrupt",
            ) from exc
        yield data
