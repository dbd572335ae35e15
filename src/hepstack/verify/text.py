"""Byte-exact comparison for any file, with a unified diff excerpt when both sides are text.

Files are read in blocks (never whole) to find the first difference, so memory does not grow with their
size; only text files up to :data:`TEXT_DIFF_MAX_BYTES` are read whole, for the diff excerpt.
"""

from __future__ import annotations

import codecs
import difflib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hepstack.verify._model import FileComparison
from hepstack.verify._streams import READ_BLOCK, InputReader, open_stream

#: Text files larger than this are reported by first differing offset only (no diff in memory).
TEXT_DIFF_MAX_BYTES = 16 * 1024 * 1024
DIFF_MAX_HUNKS = 3
DIFF_MAX_LINES = 40
DIFF_LINE_WIDTH = 200
#: Lines diffed from the first difference on, for the excerpt (see :func:`diff_excerpt`).
DIFF_WINDOW_LINES = 2000
#: Bytes shown around the first differing offset of a binary file.
BYTES_WINDOW = 16


def first_byte_difference(path_a: Path, path_b: Path) -> ByteDifference | None:
    """Where two files' bytes first differ (or the shorter one ends); None when they are identical."""
    with path_a.open("rb") as file_a, path_b.open("rb") as file_b:
        return first_difference(file_a.read, file_b.read)


@dataclass(frozen=True)
class ByteDifference:
    """Where two byte streams first differ, and up to :data:`BYTES_WINDOW` bytes of each from there."""

    offset: int
    window_a: bytes
    window_b: bytes


def first_difference(read_a: Callable[[int], bytes], read_b: Callable[[int], bytes]) -> ByteDifference | None:
    """Over two streams whose ``read(n)`` returns n bytes until the end (files, gzip, :class:`ChunkReader`),
    a block at a time: memory does not grow with their length."""
    offset = 0
    while True:
        block_a, block_b = read_a(READ_BLOCK), read_b(READ_BLOCK)
        if block_a != block_b:
            at = _common_prefix(block_a, block_b)
            window_a = (block_a[at:] + read_a(BYTES_WINDOW))[:BYTES_WINDOW]
            window_b = (block_b[at:] + read_b(BYTES_WINDOW))[:BYTES_WINDOW]
            return ByteDifference(offset + at, window_a, window_b)
        if not block_a:
            return None
        offset += len(block_a)


class ChunkReader:
    """``read(n)`` over an iterator of byte chunks of any sizes (e.g. a branch's baskets), buffering one."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data


def compare_tails(
    files: tuple[Path, Path],
    ends: tuple[int, int],
    sizes: tuple[int, int],
    what: str,
    comparison: FileComparison,
) -> None:
    """Compare the bytes from ``ends`` to ``sizes`` (decompressed offsets) of two files: what a format's
    reader skips (data after ROOT's fEND, after a FITS file's last HDU) is content all the same."""
    tails = (sizes[0] - ends[0], sizes[1] - ends[1])
    if tails == (0, 0):
        return
    with open_stream(files[0], "A") as stream_a, open_stream(files[1], "B") as stream_b:
        reader_a, reader_b = InputReader(stream_a, files[0], "A"), InputReader(stream_b, files[1], "B")
        reader_a.skip(ends[0])
        reader_b.skip(ends[1])
        found = first_difference(reader_a.read, reader_b.read)
    if found is None:
        return  # the same bytes follow on both sides
    count = ", ".join(f"{side} has {tail}" for side, tail in zip("AB", tails, strict=True))
    location = f"{what}: trailing byte {found.offset} ({count} trailing bytes)"
    comparison.differ("bytes", location, hex_window(found.window_a), hex_window(found.window_b))


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix, by bisection over slice comparisons (C speed, not a Python loop)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high) // 2
        if a[low : middle + 1] == b[low : middle + 1]:
            low = middle + 1
        else:
            high = middle
    return low


def looks_like_text(data: bytes, *, complete: bool = True) -> bool:
    """UTF-8 without NUL bytes: what an editor, a log or a CSV file is.

    ``complete=False`` for the start of a file: a character cut at the end of ``data`` still counts.
    """
    if b"\0" in data:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def compare_bytes(
    path_a: Path, path_b: Path, comparison: FileComparison, found: ByteDifference | None = None
) -> None:
    """Exact bytes; on a difference, a diff excerpt for text or the first differing offset for binary.

    ``found`` is :func:`first_byte_difference` of the two files when the caller has it already.
    """
    found = found or first_byte_difference(path_a, path_b)
    if found is None:
        return
    size_a, size_b = path_a.stat().st_size, path_b.stat().st_size
    if max(size_a, size_b) <= TEXT_DIFF_MAX_BYTES:
        data_a, data_b = path_a.read_bytes(), path_b.read_bytes()
        if looks_like_text(data_a) and looks_like_text(data_b):
            _report_text(data_a.decode("utf-8"), data_b.decode("utf-8"), comparison)
            return
    sizes = f" (sizes {size_a} vs {size_b} bytes)" if size_a != size_b else ""
    comparison.differ(
        "bytes", f"byte {found.offset}{sizes}", hex_window(found.window_a), hex_window(found.window_b)
    )


def describe_bytes_difference(a: bytes, b: bytes) -> tuple[str, str, str]:
    """``("byte 1234 (sizes 5000 vs 5002)", hex window of A, hex window of B)`` for two differing buffers."""
    offset = _common_prefix(a, b)
    location = f"byte {offset}" + (f" (sizes {len(a)} vs {len(b)} bytes)" if len(a) != len(b) else "")
    return location, _window(a, offset), _window(b, offset)


def _window(data: bytes, offset: int) -> str:
    return hex_window(data[offset : offset + BYTES_WINDOW])


def hex_window(chunk: bytes) -> str:
    """``28 29 2a``: bytes as the reports show them; ``(end of file)`` for none."""
    return chunk.hex(" ") if chunk else "(end of file)"


def _report_text(text_a: str, text_b: str, comparison: FileComparison) -> None:
    lines_a, lines_b = text_a.splitlines(), text_b.splitlines()
    first = next(
        (i for i, (x, y) in enumerate(itertools.zip_longest(lines_a, lines_b)) if x != y),
        None,
    )
    if first is None:  # only line endings or the final newline differ
        location, a, b = describe_bytes_difference(text_a.encode(), text_b.encode())
        comparison.differ("text", f"{location} (line endings or final newline)", a, b)
        return
    line_a = _shorten(lines_a[first]) if first < len(lines_a) else "(end of file)"
    line_b = _shorten(lines_b[first]) if first < len(lines_b) else "(end of file)"
    detail = diff_excerpt(lines_a, lines_b, first)
    comparison.differ("text", f"line {first + 1}", line_a, line_b, detail=detail)


def _shorten(line: str) -> str:
    return line if len(line) <= DIFF_LINE_WIDTH else line[: DIFF_LINE_WIDTH - 1] + "…"


def diff_excerpt(lines_a: list[str], lines_b: list[str], first: int = 0) -> str:
    """The first few hunks of a unified diff, cut at :data:`DIFF_MAX_LINES` lines.

    Only :data:`DIFF_WINDOW_LINES` lines from the first difference (``first``) are diffed: difflib's
    matcher is quadratic in the worst case (a 14 MB log with 400 changed lines took 91 s and 250 MB
    whole), and the excerpt shows three hunks. Hunk headers count lines in the whole files.
    """
    start = max(0, first - 2)
    window_a, window_b = (
        lines_a[start : start + DIFF_WINDOW_LINES],
        lines_b[start : start + DIFF_WINDOW_LINES],
    )
    cut = max(len(lines_a), len(lines_b)) > start + DIFF_WINDOW_LINES
    groups = list(difflib.SequenceMatcher(None, window_a, window_b).get_grouped_opcodes(2))
    if cut and groups and _reaches_end(groups[-1], len(window_a), len(window_b)):
        groups.pop()  # an artefact of cutting both files at the same line
    kept = ["--- A", "+++ B"]
    for group in groups[:DIFF_MAX_HUNKS]:
        kept.append(_hunk_header(group, start))
        for tag, a_start, a_stop, b_start, b_stop in group:
            if tag == "equal":
                kept.extend(f" {line}" for line in window_a[a_start:a_stop])
                continue
            kept.extend(f"-{line}" for line in window_a[a_start:a_stop])
            kept.extend(f"+{line}" for line in window_b[b_start:b_stop])
    kept = [_shorten(line) for line in kept]
    if len(kept) > DIFF_MAX_LINES:
        kept = [*kept[:DIFF_MAX_LINES], "…"]
    more_hunks = len(groups) - min(len(groups), DIFF_MAX_HUNKS)
    if more_hunks > 0:
        kept.append(f"… and {more_hunks}{'+' if cut else ''} more hunk{'s' if more_hunks != 1 else ''}")
    elif cut:
        kept.append(f"… (not diffed beyond line {start + DIFF_WINDOW_LINES})")
    return "\n".join(kept)


Opcode = tuple[str, int, int, int, int]


def _reaches_end(group: list[Opcode], length_a: int, length_b: int) -> bool:
    _tag, _a1, a_stop, _b1, b_stop = group[-1]
    return a_stop >= length_a or b_stop >= length_b


def _hunk_header(group: list[Opcode], offset: int) -> str:
    """``@@ -3,5 +3,5 @@`` as :func:`difflib.unified_diff` writes it, in lines of the whole files."""
    first, last = group[0], group[-1]
    range_a = _unified_range(first[1] + offset, last[2] + offset)
    range_b = _unified_range(first[3] + offset, last[4] + offset)
    return f"@@ -{range_a} +{range_b} @@"


def _unified_range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return f"{start + 1}"
    return f"{start + 1 if length else start},{length}"
