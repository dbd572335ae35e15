"""Reading an input file's bytes in blocks, decompressed when it is gzip, with every error located.

Reading a damaged gzip stream raises :class:`gzip.BadGzipFile`, :class:`EOFError` or :class:`zlib.error`
(not an OSError) wherever the damage is; here each becomes an input error naming the file and the
decompressed offset, so no comparer sees them.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hepstack.verify._model import VerifyInputError
from hepstack.verify._paths import read_error

GZIP_MAGIC = b"\x1f\x8b"
READ_BLOCK = 1024 * 1024
CORRUPT_HINT = "the file may be truncated or corrupt; check that the job that wrote it finished"
STREAM_ERRORS = (OSError, EOFError, zlib.error)


@contextmanager
def open_stream(path: Path, side: str) -> Iterator[BinaryIO]:
    """The file's bytes, decompressed when it is gzip; read errors become input errors."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise read_error(path, side, exc) from exc
    with raw:
        try:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
        except OSError as exc:
            raise read_error(path, side, exc) from exc
        if not compressed:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            yield stream  # type: ignore[misc]  # GzipFile is a BinaryIO in all that is used here


class InputReader:
    """Sequential reads and skips over a (possibly gzip) stream, counting the offset; errors located."""

    def __init__(self, stream: BinaryIO, path: Path, side: str) -> None:
        self.stream, self.path, self.side = stream, path, side
        self.offset = 0
        self.seekable = not isinstance(stream, gzip.GzipFile)

    def read(self, count: int) -> bytes:
        try:
            data = self.stream.read(count)
        except STREAM_ERRORS as exc:
            raise self.corrupt(exc) from exc
        self.offset += len(data)
        return data

    def skip(self, count: int | None = None) -> int:
        """Move ``count`` bytes on (None: to the end), or to the end of the file; returns how far it moved."""
        if self.seekable:
            size = self.stream.seek(0, 2)
            moved = size - self.offset if count is None else max(0, min(count, size - self.offset))
            self.stream.seek(self.offset + moved)
            self.offset += moved
            return moved
        moved = 0
        while count is None or moved < count:
            chunk = self.read(READ_BLOCK if count is None else min(READ_BLOCK, count - moved))
            if not chunk:
                break
            moved += len(chunk)
        return moved

    def corrupt(self, exc: BaseException) -> VerifyInputError:
        if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and exc.strerror:
            return read_error(self.path, self.side, exc)
        return VerifyInputError(
            f"{self.side}: {self.path}: the gzip stream is corrupt after {self.offset} decompressed bytes: "
            f"{exception_text(exc)}",
            hint=CORRUPT_HINT,
        )


def exception_text(exc: BaseException) -> str:
    """``zlib.error: Error -3 ...``: the exception's type, with its module unless a builtin, and message."""
    kind = type(exc)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
    return f"{name}: {exc}"


def check_gzip(path: Path, side: str) -> None:
    """Decompress a whole gzip file with constant memory; an input error if any of it is corrupt."""
    with open_stream(path, side) as stream:
        InputReader(stream, path, side).skip()


class BoundedStream(io.RawIOBase):
    """The first ``end`` bytes of a seekable binary stream, read-only: a reader given it cannot read on.

    Wrap it in :class:`io.BufferedReader` to hand it to a library that wants a file object.
    """

    def __init__(self, stream: BinaryIO, end: int) -> None:
        super().__init__()
        self._stream, self._end, self._position = stream, end, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._end}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self._end - self._position))
        if not count:
            return 0
        self._stream.seek(self._position)
        data = self._stream.read(count)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)
