"""Pair the inputs (file with file, directory with directory by relative path) and pick a comparer.

The format is detected from the first bytes, not the extension: ROOT files start with ``root`` (unless
the start is text longer than a TFile header: a log line ``root@host:~#`` is text), FITS files with
``SIMPLE  =`` (also inside gzip).
Everything else is compared as bytes, with a diff when both sides are text. Byte-identical files are
equal without being parsed.

A file whose first bytes claim a format must be readable as that format in full — the ROOT header must
describe the file, every FITS HDU must be complete, a gzip stream must decompress to its end — or it is
an input error (exit 2), never compared by a reader that skips what it cannot parse. Files of two
different kinds (ROOT and FITS, FITS and text, ROOT and an empty file) are a ``format`` difference.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from hepstack.errors import HepstackError
from hepstack.verify._model import FileComparison, VerifyInputError, VerifyOptions, VerifyReport
from hepstack.verify._paths import (
    NOT_REGULAR_HINT,
    read_error,
    require_regular,
    special_kind,
    stat_input,
    walk,
)
from hepstack.verify._streams import (
    CORRUPT_HINT,
    GZIP_MAGIC,
    InputReader,
    check_gzip,
    exception_text,
    open_stream,
)
from hepstack.verify.text import compare_bytes, first_byte_difference, looks_like_text

if TYPE_CHECKING:
    from hepstack.verify._fits_layout import FitsLayout
    from hepstack.verify.root import RootHeader

FileFormat = Literal["ROOT", "FITS", "other"]
ROOT_MAGIC = b"root"
FITS_MAGIC = b"SIMPLE  ="
#: How much of a file's start decides whether it is text (a ROOT header holds binary offsets: NUL bytes).
TEXT_PROBE_BYTES = 512
#: Bytes of the smallest TFile header; a shorter file starting with ``root`` is a cut ROOT file, not text.
ROOT_HEADER_BYTES = 45


@dataclass(frozen=True)
class Input:
    """One file to compare, its format and what checking it found (its ROOT header or FITS layout)."""

    path: Path
    format: FileFormat
    layout: RootHeader | FitsLayout | None = None


def compare_paths(
    a: str | os.PathLike[str], b: str | os.PathLike[str], options: VerifyOptions | None = None
) -> VerifyReport:
    """Compare two outputs: two files, or two directories file by file.

    >>> report = compare_paths("native/run42", "podman/run42", VerifyOptions(rtol=1e-9))
    >>> report.equal, report.files_compared, report.differences[:1]

    Returns a :class:`VerifyReport`; differences are data, not exceptions. Raises
    :class:`VerifyInputError` (a :class:`~hepstack.errors.HepstackError`) for a missing path, a file
    compared with a directory, a special file (FIFO, socket, device), a symlink loop, an unreadable file
    or directory, or a ROOT/FITS/gzip file that cannot be read in full.
    """
    options = options or VerifyOptions()
    path_a, path_b = Path(a), Path(b)
    kind_a, kind_b = _kind(stat_input(path_a, "A").st_mode), _kind(stat_input(path_b, "B").st_mode)
    report = VerifyReport(a=str(path_a), b=str(path_b))
    if kind_a == kind_b == "directory":
        _compare_directories(path_a, path_b, options, report)
    elif kind_a == kind_b == "file":
        label = path_a.name if path_a.name == path_b.name else f"{path_a.name} vs {path_b.name}"
        compare_files(path_a, path_b, FileComparison(label, options, report))
        report.files_compared.append(label)
    else:
        special = {kind_a, kind_b} - {"file", "directory"}
        raise VerifyInputError(
            f"cannot compare {'a ' if kind_a in special else ''}{kind_a} {path_a} with "
            f"{'a ' if kind_b in special else ''}{kind_b} {path_b}",
            hint=NOT_REGULAR_HINT if special else "give two files or two directories",
        )
    return report


def _kind(mode: int) -> str:
    special = special_kind(mode)
    return special if special else "directory" if stat.S_ISDIR(mode) else "file"


def _compare_directories(dir_a: Path, dir_b: Path, options: VerifyOptions, report: VerifyReport) -> None:
    """Every file and directory by relative path; one present on one side only is one difference (its
    contents are not listed again, as with ``diff -r``)."""
    tree_a, tree_b = walk(dir_a, "A"), walk(dir_b, "B")
    one_sided: list[str] = []
    for name in sorted(tree_a.files | tree_b.files | tree_a.directories | tree_b.directories):
        if any(name.startswith(f"{parent}/") for parent in one_sided):
            continue
        kind_a = "file" if name in tree_a.files else "directory" if name in tree_a.directories else None
        kind_b = "file" if name in tree_b.files else "directory" if name in tree_b.directories else None
        comparison = FileComparison(name, options, report)
        if kind_a is None or kind_b is None or kind_a != kind_b:
            one_sided.append(name)
            if kind_b is None:
                comparison.differ("missing", str(kind_a), "present", "absent")
            elif kind_a is None:
                comparison.differ("extra", str(kind_b), "absent", "present")
            else:
                comparison.differ("format", "file type", kind_a, kind_b)
        elif kind_a == "file":
            compare_files(dir_a / name, dir_b / name, comparison)
            report.files_compared.append(name)


def detect_format(path: Path, side: str = "A") -> FileFormat:
    """ROOT, FITS (plain or gzip-compressed) or other, from the bytes at the start of the file."""
    try:
        with path.open("rb") as file:
            head = file.read(TEXT_PROBE_BYTES)
    except OSError as exc:
        raise read_error(path, side, exc) from exc
    if head.startswith(GZIP_MAGIC):  # astropy reads gzip-compressed FITS; uproot reads no gzip
        with open_stream(path, side) as stream:
            inside = InputReader(stream, path, side).read(len(FITS_MAGIC))
        return "FITS" if inside.startswith(FITS_MAGIC) else "other"
    if head.startswith(ROOT_MAGIC) and (
        len(head) < ROOT_HEADER_BYTES or not looks_like_text(head, complete=False)
    ):
        return "ROOT"
    if head.startswith(FITS_MAGIC):
        return "FITS"
    return "other"


def read_input(path: Path, side: str) -> Input:
    """The file's format, checked in full for ROOT (its header), FITS (every HDU) and gzip (the stream)."""
    found = detect_format(path, side)
    if found == "ROOT":
        from hepstack.verify.root import read_root_header

        return Input(path, found, read_root_header(path, side))
    if found == "FITS":
        from hepstack.verify._fits_layout import scan_fits

        return Input(path, found, scan_fits(path, side))
    with path.open("rb") as file:
        compressed = file.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    if compressed:
        check_gzip(path, side)
    return Input(path, found)


def compare_files(path_a: Path, path_b: Path, comparison: FileComparison) -> None:
    """Compare two files with the comparer their format calls for; writes into ``comparison``."""
    require_regular(path_a, "A")
    require_regular(path_b, "B")
    try:
        found = first_byte_difference(path_a, path_b)
        if found is None:
            return  # byte-identical
        input_a, input_b = read_input(path_a, "A"), read_input(path_b, "B")
        if input_a.format != input_b.format:
            comparison.differ("format", "file type", input_a.format, input_b.format)
        elif input_a.format == "other":
            compare_bytes(path_a, path_b, comparison, found)
        else:
            _compare_formats(input_a, input_b, comparison)
    except HepstackError:
        raise
    except OSError as exc:
        side = "B" if exc.filename == str(path_b) else "A"
        raise read_error(Path(str(exc.filename or path_a)), side, exc) from exc
    except MemoryError as exc:
        raise VerifyInputError(
            f"not enough memory to compare {path_a} with {path_b}",
            hint="compare smaller files, or on a machine with more memory",
        ) from exc
    except Exception as exc:  # the readers (uproot, awkward, astropy) raise any type for damaged data
        raise VerifyInputError(
            f"cannot compare {path_a} with {path_b}: {exception_text(exc)}", hint=CORRUPT_HINT
        ) from exc


def _compare_formats(input_a: Input, input_b: Input, comparison: FileComparison) -> None:
    if input_a.format == "ROOT":
        from hepstack.verify.root import RootHeader, compare_root

        assert isinstance(input_a.layout, RootHeader) and isinstance(input_b.layout, RootHeader)
        compare_root(input_a.path, input_b.path, comparison, (input_a.layout, input_b.layout))
    elif input_a.format == "FITS":
        from hepstack.verify._fits_layout import FitsLayout
        from hepstack.verify.fits import compare_fits

        assert isinstance(input_a.layout, FitsLayout) and isinstance(input_b.layout, FitsLayout)
        compare_fits(input_a.path, input_b.path, comparison, (input_a.layout, input_b.layout))
