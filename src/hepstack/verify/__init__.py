"""Prove that two outputs carry the same physics: ROOT and FITS by content, anything else by bytes.

>>> from hepstack.verify import VerifyOptions, compare_paths
>>> report = compare_paths("native/out", "container/out", VerifyOptions(rtol=1e-12))
>>> report.equal
True

ROOT files compare by content (keys, trees entry by entry, histograms bin by bin, other objects by their
streamed members), so the same data written with other compression settings is equal. FITS files compare
HDU by HDU (headers key by key, minus volatile keys; table cells; pixels). Other files compare byte for byte.
Numpy, uproot and astropy are imported only when a file needs them.
"""

from hepstack.verify._model import (
    DEFAULT_IGNORED_HEADERS,
    Difference,
    DifferenceKind,
    VerifyInputError,
    VerifyOptions,
    VerifyReport,
)
from hepstack.verify.compare import compare_paths, detect_format

__all__ = [
    "DEFAULT_IGNORED_HEADERS",
    "Difference",
    "DifferenceKind",
    "VerifyInputError",
    "VerifyOptions",
    "VerifyReport",
    "compare_paths",
    "detect_format",
]
