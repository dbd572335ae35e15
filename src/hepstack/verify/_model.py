"""What a comparison is asked to do, what it found, and the errors it raises on unreadable input."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from hepstack.errors import HepstackError

#: FITS header keys that change on every run and carry no physics. ``--ignore-header`` adds to these.
DEFAULT_IGNORED_HEADERS: frozenset[str] = frozenset({"DATE", "CHECKSUM", "DATASUM"})

#: What a :class:`Difference` is about; JSON consumers can switch on it.
#:
#: - ``missing`` / ``extra``: a file (directory comparison) or key/branch/HDU present only in A / only in B
#: - ``format``: the two files are not the same kind (ROOT vs FITS, or ROOT class TH1D vs TH1F)
#: - ``structure``: counts, shapes, types, names of columns, bin edges: the containers differ
#: - ``value``: a data value (branch entry, histogram bin, table cell, pixel, object member)
#: - ``header``: a FITS header keyword value
#: - ``text`` / ``bytes``: files compared as text or as raw bytes
DifferenceKind = Literal["missing", "extra", "format", "structure", "value", "header", "text", "bytes"]


class VerifyInputError(HepstackError):
    """An input that cannot be compared: a missing path, a corrupt ROOT/FITS file, a file vs a directory."""


@dataclass(frozen=True)
class VerifyOptions:
    """How strictly to compare.

    >>> VerifyOptions(rtol=1e-6, ignore_headers=DEFAULT_IGNORED_HEADERS | {"ORIGIN"})

    ``rtol``/``atol`` follow ``numpy.isclose`` (``|a - b| <= atol + rtol * |b|``, B is the reference) and
    apply to floating-point data only: branch values, histogram bins, FITS table cells and pixels.
    Integers, strings and headers always compare exactly. NaN equals NaN.
    ``ignore_headers`` are FITS keywords (``fnmatch`` patterns such as ``DATE-*`` work, case-insensitive).
    ``max_differences`` caps the differences kept in the report; all of them are still counted.
    """

    rtol: float = 0.0
    atol: float = 0.0
    ignore_headers: frozenset[str] = DEFAULT_IGNORED_HEADERS
    max_differences: int = 20

    def __post_init__(self) -> None:
        # NaN would make every float differ, inf every float equal: neither is a tolerance
        if not (math.isfinite(self.rtol) and math.isfinite(self.atol)) or self.rtol < 0 or self.atol < 0:
            raise VerifyInputError(
                f"tolerances must be finite and not negative (rtol={self.rtol}, atol={self.atol})",
                hint="use --rtol 1e-9 or --atol 1e-12 style values; 0 means exact",
            )
        if self.max_differences < 1:
            raise VerifyInputError(f"max_differences must be at least 1, got {self.max_differences}")

    @property
    def exact(self) -> bool:
        return self.rtol == 0 and self.atol == 0


@dataclass(frozen=True)
class Difference:
    """One way in which A and B differ, named precisely enough to find it again.

    ``file`` is the path relative to the compared directories (or the file A when two files are compared),
    ``location`` the place inside it (``tree 'events' / branch 'px' / entry 7``), ``a`` and ``b`` the two
    values as printable text. ``detail`` carries longer context, e.g. a unified diff excerpt for text files.
    """

    file: str
    kind: DifferenceKind
    location: str
    a: str
    b: str
    detail: str | None = None


@dataclass
class VerifyReport:
    """The outcome of :func:`hepstack.verify.compare_paths`.

    ``differences`` holds the first ``max_differences`` found; ``difference_count`` counts all of them.
    ``notes`` says what could not be compared in full (e.g. an object uproot cannot read, compared by its
    serialised bytes instead), so "equal" is never claimed silently for something that was skipped.
    """

    a: str
    b: str
    files_compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    difference_count: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.difference_count == 0

    @property
    def omitted_count(self) -> int:
        return self.difference_count - len(self.differences)

    def to_json_dict(self) -> dict[str, object]:
        return {
            "equal": self.equal,
            "a": self.a,
            "b": self.b,
            "files_compared": list(self.files_compared),
            "difference_count": self.difference_count,
            "differences_omitted": self.omitted_count,
            "differences": [
                {
                    "file": d.file,
                    "kind": d.kind,
                    "location": d.location,
                    "a": d.a,
                    "b": d.b,
                    **({"detail": d.detail} if d.detail is not None else {}),
                }
                for d in self.differences
            ],
            "notes": list(self.notes),
        }


class FileComparison:
    """The context one comparer writes into: the file label, the options and the shared report.

    Comparers call :meth:`differ` for each difference; once the cap is reached the report only counts.
    For large arrays a comparer asks :attr:`room` how many differences are still worth building and
    reports the rest with :meth:`count_more`.
    """

    def __init__(self, label: str, options: VerifyOptions, report: VerifyReport) -> None:
        self.label = label
        self.options = options
        self._report = report

    @property
    def room(self) -> int:
        return max(0, self.options.max_differences - len(self._report.differences))

    @property
    def found(self) -> int:
        return self._report.difference_count

    def differ(self, kind: DifferenceKind, location: str, a: str, b: str, detail: str | None = None) -> None:
        self._report.difference_count += 1
        if self.room:
            self._report.differences.append(Difference(self.label, kind, location, a, b, detail))

    def count_more(self, count: int) -> None:
        self._report.difference_count += count

    def note(self, text: str) -> None:
        self._report.notes.append(f"{self.label}: {text}")
