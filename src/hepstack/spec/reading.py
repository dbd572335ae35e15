"""Reading an input file safely: regular files only, a size limit before anything is parsed, strict UTF-8.

Every file hepstack parses (stack specs, Containerfiles, site files, study files, pipeline definitions)
is read here, so a FIFO, a device, ``/dev/zero`` or a 2 GB file is refused before a byte of it is
parsed, and a decoding error names the line and column. The limits are in docs/input-limits.md.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MiB = 2**20


@dataclass(frozen=True)
class Limits:
    """How much one input file may hold. The defaults are far above any real spec, site or study file
    (the example stack spec: 4 kB, 276 nodes, 4 levels deep) and keep the worst input under a second."""

    max_bytes: int = 1 * MiB  # the file itself
    max_depth: int = 50  # nested mappings and lists
    max_nodes: int = 20_000  # keys, values and items, each alias counted as the nodes it stands for
    max_text: int = 4 * MiB  # characters of all scalars, aliases expanded (a list of 1,000 *long)
    max_scalar: int = 64 * 2**10  # characters of one scalar (below Linux's 128 kB for one argv word)


DEFAULT_LIMITS = Limits()


class FileProblem(ValueError):
    """A problem with an input file's bytes or syntax; ``line`` (1-based) is None for the whole file,
    ``key_path`` names where in the document it is, when that is known."""

    def __init__(
        self, message: str, line: int | None = None, hint: str | None = None, key_path: str = "(file)"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint
        self.key_path = key_path


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def file_kind(mode: int) -> str:
    """``a FIFO``, ``a directory``, ... for a ``st_mode`` that is not a regular file's."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """The text of the regular file ``path``, at most ``limits.max_bytes``, strictly UTF-8 (a leading BOM
    is dropped). Raises :class:`FileProblem`; never blocks on a FIFO or reads a device."""
    try:
        # stat before open: opening a FIFO blocks and opening a device can have effects (tapes rewind)
        before = path.stat()
    except FileNotFoundError:
        raise FileProblem("file not found", hint="check the path") from None
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    _check_regular(before.st_mode, before.st_size, limits)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        now = os.fstat(handle.fileno())  # the file stat() saw may have been swapped since
        _check_regular(now.st_mode, now.st_size, limits)
        data = handle.read(limits.max_bytes + 1)  # files in /proc report size 0
    if len(data) > limits.max_bytes:
        raise _too_large(len(data), limits, more=True)
    return decode(data)


def decode(data: bytes) -> str:
    """``data`` as UTF-8 text; invalid bytes and NUL are reported with their line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = line_and_column(data, exc.start)
        raise FileProblem(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line}, column {column}",
            line,
            hint="save the file as UTF-8",
        ) from None
    nul = text.find("\0")
    if nul >= 0:
        line, column = line_and_column(text, nul)
        raise FileProblem(f"a NUL character at line {line}, column {column}", line, hint="remove it")
    return text.removeprefix("\ufeff")


def line_and_column(text: str | bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` (a character or byte index) in ``text``."""
    before = text[:offset]
    if isinstance(before, bytes):
        return before.count(b"\n") + 1, offset - before.rfind(b"\n")
    return before.count("\n") + 1, offset - before.rfind("\n")


def _check_regular(mode: int, size: int, limits: Limits) -> None:
    if not stat.S_ISREG(mode):
        raise FileProblem(
            f"not a regular file ({file_kind(mode)})",
            hint="give the path of a file; directories, FIFOs, sockets and devices are not read",
        )
    if size > limits.max_bytes:
        raise _too_large(size, limits)


def _too_large(size: int, limits: Limits, *, more: bool = False) -> FileProblem:
    shown = f"more than {limits.max_bytes:,}" if more else f"{size:,}"
    return FileProblem(
        f"the file has {shown} bytes, over the limit of {limits.max_bytes:,} (docs/input-limits.md)",
        hint="is this the right file? input files are small text files",
    )
