"""The block structure of a FITS file, walked with constant memory before astropy parses anything.

astropy's reader is lenient: given ``SIMPLE  =`` followed by a gigabyte of zeros it keeps reading 2880-byte
blocks in search of an END card, holding them all (3.2 GB of memory for two 1 GB files), and bytes after
the last HDU it reads are ignored with at most a warning. This walk, after the FITS standard 4.0 (§3.3
header blocks of 36 ASCII cards up to END, §4.4.1 data size from BITPIX, NAXISn, PCOUNT, GCOUNT, padded to
2880 bytes), reads one block at a time and seeks over data, so it proves before astropy opens a file that
every header is ASCII text ending in END, that no HDU is cut short, and where the last HDU ends. Bytes
after that are *trailing bytes*: the comparer compares them instead of ignoring them.

gzip-compressed files are walked through :mod:`gzip`, in full: a corrupt or truncated stream, a bad CRC
or garbage after the last member is an input error here, never an exception from deep inside astropy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hepstack.verify._model import VerifyInputError
from hepstack.verify._streams import CORRUPT_HINT, InputReader, open_stream

BLOCK = 2880
CARD = 80
#: A header longer than this (360 000 cards) is refused: astropy would hold it all, three times over.
MAX_HEADER_BLOCKS = 10_000
BITPIX_VALUES = frozenset({8, 16, 32, 64, -32, -64})
_PRINTABLE_BLOCK = re.compile(rb"[\x20-\x7e]*")
_NOT_PRINTABLE = re.compile(rb"[^\x20-\x7e]")


@dataclass(frozen=True)
class FitsLayout:
    """Where each HDU starts and ends (offsets in the decompressed bytes), and what follows the last."""

    hdu_offsets: list[int]
    end: int
    size: int

    @property
    def trailing_bytes(self) -> int:
        return self.size - self.end


def scan_fits(path: Path, side: str) -> FitsLayout:
    """Walk every HDU of a FITS file (plain or gzip); an input error if any is malformed or cut short."""
    with open_stream(path, side) as stream:
        reader = InputReader(stream, path, side)
        offsets: list[int] = []
        while True:
            start = reader.offset
            block = reader.read(BLOCK)
            if offsets and not block.startswith(b"XTENSION="):
                reader.skip()  # zeros, a short block or anything but another extension: trailing bytes
                return FitsLayout(offsets, end=start, size=reader.offset)
            offsets.append(start)
            where = f"{side}: {path}: HDU {len(offsets) - 1} (header at byte {start})"
            keywords = _read_header(reader, block, where, primary=len(offsets) == 1)
            data = data_bytes(keywords, where, primary=len(offsets) == 1)
            padded = -(-data // BLOCK) * BLOCK
            moved = reader.skip(padded)
            if moved < padded:
                raise VerifyInputError(
                    f"{where} is truncated: its header declares {data} data bytes ({padded} with padding), "
                    f"the file ends {moved} bytes into them",
                    hint=CORRUPT_HINT,
                )


def _read_header(reader: InputReader, block: bytes, where: str, *, primary: bool) -> dict[str, bytes]:
    """The values of the keywords that size the data, from the header that starts with ``block``."""
    wanted: dict[str, bytes] = {}
    first_keyword = b"SIMPLE" if primary else b"XTENSION"
    for count in range(1, MAX_HEADER_BLOCKS + 1):
        if len(block) < BLOCK:
            raise VerifyInputError(
                f"{where} is truncated: the file ends inside its header (no END card)", hint=CORRUPT_HINT
            )
        bad = None if _PRINTABLE_BLOCK.fullmatch(block) else _NOT_PRINTABLE.search(block)
        if bad is not None:
            position = reader.offset - BLOCK + bad.start()
            raise VerifyInputError(
                f"{where}: byte {position} of the header is 0x{block[bad.start()]:02x}, not ASCII text "
                "(a FITS header is 80-character cards of printable ASCII up to an END card)",
                hint="this does not look like a FITS file, or it is corrupt",
            )
        for index in range(0, BLOCK, CARD):
            card = block[index : index + CARD]
            keyword = card[:8].rstrip()
            if count == 1 and index == 0 and keyword != first_keyword:
                raise VerifyInputError(
                    f"{where}: the header starts with {card[:8].decode()!r}, not {first_keyword.decode()!r}",
                    hint="this does not look like a FITS file, or it is corrupt",
                )
            if keyword == b"END":
                return wanted
            if card[8:10] == b"= ":
                wanted.setdefault(keyword.decode(), card[10:].split(b"/")[0].strip())
        block = reader.read(BLOCK)
    raise VerifyInputError(
        f"{where}: no END card in the first {MAX_HEADER_BLOCKS * BLOCK} bytes of the header",
        hint="this does not look like a FITS file, or it is corrupt",
    )


def data_bytes(keywords: dict[str, bytes], where: str, *, primary: bool) -> int:
    """The size of the data after a header (FITS 4.0 §4.4.1; random groups §6): |BITPIX| x GCOUNT x
    (PCOUNT + NAXIS1 x ... x NAXISn) / 8, NAXIS1 left out for random groups, 0 when NAXIS is 0."""
    bitpix = _integer(keywords, "BITPIX", where)
    if bitpix not in BITPIX_VALUES:
        raise VerifyInputError(f"{where}: BITPIX = {bitpix} is not one of 8, 16, 32, 64, -32, -64")
    naxis = _integer(keywords, "NAXIS", where)
    if not 0 <= naxis <= 999:
        raise VerifyInputError(f"{where}: NAXIS = {naxis} is not between 0 and 999")
    axes = [_integer(keywords, f"NAXIS{axis}", where) for axis in range(1, naxis + 1)]
    if any(length < 0 for length in axes):
        raise VerifyInputError(f"{where}: a NAXISn is negative: {axes}")
    if naxis == 0:
        return 0
    groups = primary and keywords.get("GROUPS") == b"T" and axes[0] == 0
    elements = 1
    for length in axes[1:] if groups else axes:
        elements *= length
    pcount = _integer(keywords, "PCOUNT", where, default=0)
    gcount = _integer(keywords, "GCOUNT", where, default=1)
    if pcount < 0 or gcount < 0:
        raise VerifyInputError(f"{where}: PCOUNT = {pcount}, GCOUNT = {gcount}: neither may be negative")
    return abs(bitpix) * gcount * (pcount + elements) // 8


def _integer(keywords: dict[str, bytes], name: str, where: str, default: int | None = None) -> int:
    raw = keywords.get(name)
    if raw is None:
        if default is not None:
            return default
        raise VerifyInputError(f"{where}: the header has no {name} keyword", hint=CORRUPT_HINT)
    try:
        return int(raw)
    except ValueError:
        raise VerifyInputError(
            f"{where}: {name} = {raw.decode()} is not an integer", hint=CORRUPT_HINT
        ) from None
