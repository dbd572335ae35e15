"""Value comparison and printing shared by the ROOT and FITS comparers (numpy; imported lazily)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from hepstack.verify._model import FileComparison, VerifyOptions

#: Longest printed value; a whole jagged entry or a long string is cut with an ellipsis.
VALUE_PRINT_LIMIT = 160


def format_value(value: object, limit: int = VALUE_PRINT_LIMIT) -> str:
    """Printable text of one value: numpy scalars without their ``np.float64(...)`` wrapper, arrays short."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, max_line_width=10**6, separator=", ")
    elif isinstance(value, np.generic):
        text = str(value)
    elif isinstance(value, bytes | str):
        text = repr(value)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(format_value(item, limit) for item in value) + "]"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_float_like(array: npt.NDArray[Any]) -> bool:
    return array.dtype.kind in "fc"


def equal_mask(a: npt.NDArray[Any], b: npt.NDArray[Any], options: VerifyOptions) -> npt.NDArray[np.bool_]:
    """Elementwise "same value" for two arrays of one shape: exact or within tolerance, NaN equals NaN.

    Tolerance applies when both sides are floating point; integers, strings and records compare exactly.
    """
    if is_float_like(a) and is_float_like(b):
        if options.exact:
            same: npt.NDArray[np.bool_] = np.asarray(a == b) | (np.isnan(a) & np.isnan(b))
            return same
        close: npt.NDArray[np.bool_] = np.isclose(a, b, rtol=options.rtol, atol=options.atol, equal_nan=True)
        return close
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        flat = [scalars_equal(x, y, options) for x, y in zip(a.ravel(), b.ravel(), strict=True)]
        return np.array(flat, dtype=bool).reshape(a.shape)
    return np.asarray(a == b, dtype=bool).reshape(a.shape)


def scalars_equal(a: object, b: object, options: VerifyOptions) -> bool:
    """Python-level equality with the same float rules as :func:`equal_mask`."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(equal_mask(x, y, options).all())
    float_types = float | np.floating
    if isinstance(a, float_types) and isinstance(b, float_types):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        if options.exact:
            return fa == fb
        return abs(fa - fb) <= options.atol + options.rtol * abs(fb)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return repr(a) == repr(b)


def first_difference(
    a: object, b: object, options: VerifyOptions, path: str = ""
) -> tuple[str, object, object] | None:
    """Where two nested Python values (lists, dicts, scalars) first differ: ``(path, a_part, b_part)``.

    A length difference is reported at the list itself, so both whole lists are shown.
    """
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if list(a) != list(b):
            return (path, list(a), list(b))
        for key in a:
            found = first_difference(a[key], b[key], options, f"{path}.{key}")
            if found:
                return found
        return None
    sequence_types = (list, tuple, np.ndarray)
    if isinstance(a, sequence_types) and isinstance(b, sequence_types):
        if len(a) != len(b):
            return (path, a, b)
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, options, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if scalars_equal(a, b, options) else (path, a, b)


def describe_first_difference(a: object, b: object, options: VerifyOptions) -> tuple[str, str, str]:
    """``(location suffix, a text, b text)`` for two differing nested values, e.g. ``("[1]", "2.0", "2.5")``.

    A length difference names the lengths: ``(" (length 2 vs 3)", "[1.0, 2.0]", "[1.0, 2.0, 3.0]")``.
    """
    found = first_difference(a, b, options)
    path, part_a, part_b = found if found else ("", a, b)
    sequences = (list, tuple, np.ndarray)
    if isinstance(part_a, sequences) and isinstance(part_b, sequences) and len(part_a) != len(part_b):
        path += f" (length {len(part_a)} vs {len(part_b)})"
    return path, format_value(part_a), format_value(part_b)


def report_array_differences(
    a: npt.NDArray[Any],
    b: npt.NDArray[Any],
    comparison: FileComparison,
    location: Callable[[tuple[int, ...]], str],
) -> int:
    """Compare two same-shape arrays; report the first differing cells by index, count the rest.

    ``location`` turns a numpy index into the text of :attr:`Difference.location`. Returns the count.
    """
    differing = ~equal_mask(a, b, comparison.options)
    count = int(differing.sum())
    if not count:
        return 0
    shown = np.argwhere(differing)[: comparison.room]
    for index in shown:
        cell = tuple(int(i) for i in index)
        comparison.differ("value", location(cell), format_value(a[cell]), format_value(b[cell]))
    comparison.count_more(count - len(shown))
    return count
