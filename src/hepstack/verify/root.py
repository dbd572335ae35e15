"""ROOT files through uproot: the key sets, then every object by what it is.

- TTree / TNtuple / RNTuple: branch (field) sets, entry counts, every column entry by entry.
- TH1/TH2/TH3/TProfile...: every bin with under/overflow, contents and errors, then the other members.
- Anything else uproot can read: its streamed members (``all_members``), recursively.
- Objects uproot cannot deserialise: their decompressed key payload, byte for byte, with a note saying so.

Keys and cycles: objects are paired by path (``dir/name``). For trees only the latest cycle is compared:
older cycles are AutoSave backups whose number depends on bytes written, hence on the compression. For
other objects every cycle is a separate ``Write()``; cycles present on one side only are differences.

Before uproot sees a file its header is checked (:func:`read_root_header`): uproot opens ``root`` followed
by zeros as an empty file with no keys, so two such files would compare equal. Bytes after the end the
header records (``fEND``) are compared too, as bytes: ROOT ignores them, but they are content.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepstack.verify._model import FileComparison, VerifyInputError
from hepstack.verify._paths import read_error
from hepstack.verify.text import compare_tails, describe_bytes_difference

TABLE_CLASSES = frozenset({"TTree", "TNtuple", "TNtupleD", "ROOT::RNTuple"})
DIRECTORY_CLASSES = frozenset({"TDirectory", "TDirectoryFile"})
CORRUPT_HINT = "the file may be truncated or corrupt; check that the job that wrote it finished"
NOT_CLOSED_HINT = "a ROOT file is complete only once TFile::Close() ran; did the job that wrote it finish?"

# The TFile header (ROOT's TFile::WriteHeader, "ROOT file format" in the reference guide): "root", then
# big-endian fVersion, fBEGIN, fEND, fSeekFree, fNbytesFree, nfree, fNbytesName, fUnits, fCompress,
# fSeekInfo, fNbytesInfo. From fVersion 1000000 on, fEND, fSeekFree and fSeekInfo are 64-bit.
_HEADER_SMALL = struct.Struct(">4siiiiiiiBiii")
_HEADER_LARGE = struct.Struct(">4siiqqiiiBiqi")
LARGE_FILE_VERSION = 1_000_000


@dataclass(frozen=True)
class RootHeader:
    """What the TFile header says: the version, where the first record starts and where the data end."""

    version: int
    begin: int
    end: int
    size: int

    @property
    def trailing_bytes(self) -> int:
        return self.size - self.end


def read_root_header(path: Path, side: str) -> RootHeader:
    """The TFile header, checked against the file: an input error if it is not one ROOT could have closed."""
    try:
        with path.open("rb") as file:
            head = file.read(_HEADER_LARGE.size)
            size = file.seek(0, 2)
    except OSError as exc:
        raise read_error(path, side, exc) from exc
    where = f"{side}: {path} starts with 'root' but its TFile header is invalid"
    if len(head) < _HEADER_SMALL.size:
        raise VerifyInputError(
            f"{where}: it has {size} bytes, shorter than a TFile header", hint=CORRUPT_HINT
        )
    version = struct.unpack_from(">i", head, 4)[0]
    large = version >= LARGE_FILE_VERSION
    if large and len(head) < _HEADER_LARGE.size:
        raise VerifyInputError(
            f"{where}: it has {size} bytes, shorter than a TFile header", hint=CORRUPT_HINT
        )
    fields = (_HEADER_LARGE if large else _HEADER_SMALL).unpack_from(head)
    _, version, begin, end, _seek_free, _nbytes_free, _nfree, _nbytes_name, units, _, seek_info, info = fields
    problem = _header_problem(version, begin, end, units, seek_info, info, large)
    if problem:
        raise VerifyInputError(
            f"{where}: {problem}", hint=NOT_CLOSED_HINT if "closed" in problem else CORRUPT_HINT
        )
    if end > size:
        raise VerifyInputError(
            f"{side}: {path} is truncated: its header says the data end at byte {end}, the file has {size}",
            hint=CORRUPT_HINT,
        )
    return RootHeader(version, begin, end, size)


def _header_problem(
    version: int, begin: int, end: int, units: int, seek_info: int, info: int, large: bool
) -> str | None:
    if version <= 0 or version % LARGE_FILE_VERSION == 0:
        return f"fVersion is {version}"
    if units != (8 if large else 4):
        return f"fUnits (bytes per file offset) is {units}, not {8 if large else 4}"
    if begin < _HEADER_SMALL.size or end <= begin:
        return f"fBEGIN = {begin} and fEND = {end} do not bound any data"
    if not begin <= seek_info < end or info <= 0:
        return f"it has no streamer info record (fSeekInfo = {seek_info}): it was not closed"
    return None


def compare_root(
    path_a: Path, path_b: Path, comparison: FileComparison, headers: tuple[RootHeader, RootHeader]
) -> None:
    """Compare two ROOT files whose headers :func:`read_root_header` has read."""
    ends, sizes = (headers[0].end, headers[1].end), (headers[0].size, headers[1].size)
    compare_tails((path_a, path_b), ends, sizes, "after the end of the ROOT data (fEND)", comparison)
    with _open(path_a, "A") as file_a, _open(path_b, "B") as file_b:
        for file, path, side in ((file_a, path_a, "A"), (file_b, path_b, "B")):
            _check_directory(file, "/", path, side)
        keys_a, keys_b = _key_cycles(file_a, path_a), _key_cycles(file_b, path_b)
        for name in [k for k in keys_a if k not in keys_b]:
            comparison.differ("missing", f"key '{name}'", _latest_class(keys_a[name]), "absent")
        for name in [k for k in keys_b if k not in keys_a]:
            comparison.differ("extra", f"key '{name}'", "absent", _latest_class(keys_b[name]))
        for name in [k for k in keys_a if k in keys_b]:
            for cycle_a, cycle_b, label in _cycle_pairs(name, keys_a[name], keys_b[name], comparison):
                _compare_key(file_a, file_b, (name, cycle_a, cycle_b), label, comparison)


@contextmanager
def _open(path: Path, side: str) -> Iterator[Any]:
    import uproot

    try:
        file = uproot.open(path, object_cache=None, array_cache=None)
    except Exception as exc:  # uproot raises ValueError, OSError, struct.error... for a bad file
        raise VerifyInputError(
            f"{path} ({side}) starts like a ROOT file but cannot be opened: {type(exc).__name__}: {exc}",
            hint=CORRUPT_HINT,
        ) from exc
    with file:
        yield file


def _check_directory(directory: Any, name: str, path: Path | str, side: str) -> None:
    """A directory whose key list was never written (fSeekKeys 0) reads as empty in uproot: refuse it."""
    if not directory.fSeekKeys:
        raise VerifyInputError(
            f"{side}: {path}: directory '{name}' has no list of keys (fSeekKeys = 0): it was not closed",
            hint=NOT_CLOSED_HINT,
        )


def _key_cycles(file: Any, path: Path) -> dict[str, dict[int, str]]:
    """``{"dir/name": {cycle: classname}}`` for every key, in file order, directories included."""
    try:
        listing = file.classnames(recursive=True, cycle=True)
    except Exception as exc:
        raise VerifyInputError(
            f"cannot list the keys of {path}: {type(exc).__name__}: {exc}", hint=CORRUPT_HINT
        ) from exc
    keys: dict[str, dict[int, str]] = {}
    for key, classname in listing.items():
        name, _, cycle = key.rpartition(";")
        keys.setdefault(name, {})[int(cycle)] = classname
    return keys


def _latest_class(cycles: dict[int, str]) -> str:
    return cycles[max(cycles)]


def _cycle_pairs(
    name: str, cycles_a: dict[int, str], cycles_b: dict[int, str], comparison: FileComparison
) -> list[tuple[int, int, str]]:
    """Which cycles to compare: ``(cycle in A, cycle in B, label)``."""
    latest_a, latest_b = max(cycles_a), max(cycles_b)
    if cycles_a[latest_a] in TABLE_CLASSES or cycles_b[latest_b] in TABLE_CLASSES:
        if sorted(cycles_a) != sorted(cycles_b):
            comparison.note(
                f"key '{name}': cycles {_cycles_text(cycles_a)} in A, {_cycles_text(cycles_b)} in B "
                "(tree backup cycles depend on bytes written); compared the latest of each"
            )
        return [(latest_a, latest_b, name)]
    for cycle in [c for c in cycles_a if c not in cycles_b]:
        comparison.differ("missing", f"key '{name};{cycle}'", cycles_a[cycle], "absent")
    for cycle in [c for c in cycles_b if c not in cycles_a]:
        comparison.differ("extra", f"key '{name};{cycle}'", "absent", cycles_b[cycle])
    common = sorted(c for c in cycles_a if c in cycles_b)
    return [(c, c, name if len(common) == 1 else f"{name};{c}") for c in common]


def _cycles_text(cycles: dict[int, str]) -> str:
    return "".join(f";{c}" for c in sorted(cycles))


def _compare_key(
    file_a: Any, file_b: Any, key: tuple[str, int, int], label: str, comparison: FileComparison
) -> None:
    import uproot

    from hepstack.verify._root_objects import compare_histogram, compare_members
    from hepstack.verify._root_tables import compare_table

    name, cycle_a, cycle_b = key
    class_a, class_b = file_a.classname_of(f"{name};{cycle_a}"), file_b.classname_of(f"{name};{cycle_b}")
    if class_a != class_b:
        comparison.differ("format", f"key '{label}' / class", class_a, class_b)
        return
    if class_a in DIRECTORY_CLASSES:  # its keys are listed (recursively) and compared on their own
        _check_directory(file_a[f"{name};{cycle_a}"], name, file_a.file_path, "A")
        _check_directory(file_b[f"{name};{cycle_b}"], name, file_b.file_path, "B")
        return
    object_a = _read_object(file_a, f"{name};{cycle_a}", class_a, "A")
    object_b = _read_object(file_b, f"{name};{cycle_b}", class_b, "B")
    if object_a is None or object_b is None:
        comparison.note(
            f"key '{label}' ({class_a}): uproot cannot deserialise this class; compared its decompressed "
            "serialised bytes instead of member by member"
        )
        _compare_key_bytes(file_a, file_b, key, label, comparison)
    elif class_a in TABLE_CLASSES:
        compare_table(object_a, object_b, label, comparison)
    elif isinstance(object_a, uproot.behaviors.TH1.Histogram):
        compare_histogram(object_a, object_b, label, comparison)
    else:
        compare_members(object_a, object_b, f"object '{label}' ({class_a})", comparison)


def _read_object(file: Any, key: str, classname: str, side: str) -> Any:
    """The deserialised object, or None when uproot has no model for its class (not a corrupt file)."""
    import uproot

    try:
        obj = file[key]
    except Exception as exc:
        if isinstance(exc, uproot.deserialization.DeserializationError) and classname not in TABLE_CLASSES:
            return None  # no usable streamer for this class; the caller falls back to the bytes
        raise VerifyInputError(
            f"cannot read '{key}' ({classname}) from {side} ({file.file_path}): {type(exc).__name__}: {exc}",
            hint=CORRUPT_HINT,
        ) from exc
    return None if isinstance(obj, uproot.model.UnknownClass) else obj


def _compare_key_bytes(
    file_a: Any, file_b: Any, key: tuple[str, int, int], label: str, comparison: FileComparison
) -> None:
    name, cycle_a, cycle_b = key
    payload_a = _key_payload(file_a, f"{name};{cycle_a}", "A")
    payload_b = _key_payload(file_b, f"{name};{cycle_b}", "B")
    if payload_a != payload_b:
        offset, text_a, text_b = describe_bytes_difference(payload_a, payload_b)
        comparison.differ("bytes", f"key '{label}' / serialised {offset}", text_a, text_b)


def _key_payload(file: Any, key: str, side: str) -> bytes:
    try:
        chunk, _cursor = file.key(key).get_uncompressed_chunk_cursor()
        return bytes(chunk.raw_data)
    except Exception as exc:
        raise VerifyInputError(
            f"cannot decompress '{key}' from {side} ({file.file_path}): {type(exc).__name__}: {exc}",
            hint=CORRUPT_HINT,
        ) from exc
