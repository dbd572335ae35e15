"""Pair the inputs (file with file, directory with directory by relative path) and pick a comparer.

The format is detected from the first bytes, not the extension: ROOT files start with ``root``, FITS files
with ``SIMPLE  =`` (also inside gzip, which astropy reads directly). Everything else is compared as bytes,
with a diff when both sides are text. Byte-identical files are equal without being parsed.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal

from hepstack.verify._model import FileComparison, VerifyInputError, VerifyOptions, VerifyReport
from hepstack.verify.text import compare_bytes, files_identical

FileFormat = Literal["ROOT", "FITS", "other"]
ROOT_MAGIC = b"root"
FITS_MAGIC = b"SIMPLE  ="
GZIP_MAGIC = b"\x1f\x8b"


def compare_paths(
    a: str | os.PathLike[str], b: str | os.PathLike[str], options: VerifyOptions | None = None
) -> VerifyReport:
    """Compare two outputs: two files, or two directories file by file.

    >>> report = compare_paths("native/run42", "podman/run42", VerifyOptions(rtol=1e-9))
    >>> report.equal, report.files_compared, report.differences[:1]

    Returns a :class:`VerifyReport`; differences are data, not exceptions. Raises
    :class:`VerifyInputError` (a :class:`~hepstack.errors.HepstackError`) for a missing path, a file
    compared with a directory, or a ROOT/FITS file that cannot be read.
    """
    options = options or VerifyOptions()
    path_a, path_b = Path(a), Path(b)
    for path, side in ((path_a, "A"), (path_b, "B")):
        if not path.exists():
            raise VerifyInputError(
                f"{side} does not exist: {path}", hint="give two existing files or directories"
            )
    report = VerifyReport(a=str(path_a), b=str(path_b))
    if path_a.is_dir() and path_b.is_dir():
        _compare_directories(path_a, path_b, options, report)
    elif path_a.is_file() and path_b.is_file():
        label = path_a.name if path_a.name == path_b.name else f"{path_a.name} vs {path_b.name}"
        compare_files(path_a, path_b, FileComparison(label, options, report))
        report.files_compared.append(label)
    else:
        raise VerifyInputError(
            f"cannot compare {_kind(path_a)} {path_a} with {_kind(path_b)} {path_b}",
            hint="give two files or two directories",
        )
    return report


def _kind(path: Path) -> str:
    return "directory" if path.is_dir() else "file" if path.is_file() else "special file"


def _compare_directories(dir_a: Path, dir_b: Path, options: VerifyOptions, report: VerifyReport) -> None:
    files_a, files_b = relative_files(dir_a), relative_files(dir_b)
    for name in sorted(files_a | files_b):
        comparison = FileComparison(name, options, report)
        if name not in files_b:
            comparison.differ("missing", "file", "present", "absent")
        elif name not in files_a:
            comparison.differ("extra", "file", "absent", "present")
        else:
            compare_files(dir_a / name, dir_b / name, comparison)
            report.files_compared.append(name)


def relative_files(directory: Path) -> set[str]:
    """Every regular file below ``directory`` (symlinks to files followed), as POSIX relative paths."""
    found: set[str] = set()
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = Path(root, name)
            if path.is_file():
                found.add(path.relative_to(directory).as_posix())
    return found


def detect_format(path: Path) -> FileFormat:
    """ROOT, FITS (plain or gzip-compressed) or other, from the magic bytes at the start of the file."""
    try:
        with path.open("rb") as file:
            head = file.read(len(FITS_MAGIC))
        if head.startswith(GZIP_MAGIC):
            with gzip.open(path, "rb") as file:
                head = file.read(len(FITS_MAGIC))
    except (OSError, EOFError) as exc:
        raise VerifyInputError(f"cannot read {path}: {exc}") from exc
    if head.startswith(ROOT_MAGIC):
        return "ROOT"
    if head.startswith(FITS_MAGIC):
        return "FITS"
    return "other"


def compare_files(path_a: Path, path_b: Path, comparison: FileComparison) -> None:
    """Compare two files with the comparer their format calls for; writes into ``comparison``."""
    format_a, format_b = detect_format(path_a), detect_format(path_b)
    try:
        if files_identical(path_a, path_b):
            return
    except OSError as exc:
        raise VerifyInputError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    if format_a != format_b:
        comparison.differ("format", "file type", format_a, format_b)
    elif format_a == "ROOT":
        from hepstack.verify.root import compare_root

        compare_root(path_a, path_b, comparison)
    elif format_a == "FITS":
        from hepstack.verify.fits import compare_fits

        compare_fits(path_a, path_b, comparison)
    else:
        compare_bytes(path_a, path_b, comparison)
