"""What the inputs are on disk: regular files, directories, or something verify must refuse.

Only regular files are opened. A FIFO would block ``open()`` until a writer comes, a device or socket
has no content to compare, and a dangling symlink or a symlink loop has none either: each is an input
error (exit 2), found with ``stat`` before anything is opened. Directories are walked with every symlink
followed (to files and to directories alike, so a linked sub-tree is compared, not skipped); a symlink
that leads back to a directory it sits in is a loop and an input error. An unreadable directory is an
input error too, never a sub-tree silently left out.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from hepstack.verify._model import VerifyInputError

NOT_REGULAR_HINT = "verify compares regular files and directories; move special files out of the outputs"


@dataclass
class Tree:
    """Everything below a compared directory, as POSIX paths relative to it."""

    files: set[str] = field(default_factory=set)
    directories: set[str] = field(default_factory=set)


def special_kind(mode: int) -> str | None:
    """``"FIFO (named pipe)"`` etc. for a file type verify cannot compare; None for a file or directory."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def stat_input(path: Path, side: str) -> os.stat_result:
    """``stat`` of a given input (symlinks followed); a missing path, loop or dangling link is an error."""
    try:
        return path.stat()
    except OSError as exc:
        raise _stat_error(path, side, exc) from exc


def _stat_error(path: Path, side: str, exc: OSError) -> VerifyInputError:
    if exc.errno == errno.ELOOP:
        return VerifyInputError(
            f"{side}: {path} is a symlink loop", hint="point the symlink at a file or directory"
        )
    if exc.errno == errno.ENOENT and path.is_symlink():
        target = path.readlink()
        return VerifyInputError(
            f"{side}: {path} is a dangling symlink (to {target}, which does not exist)",
            hint="point the symlink at an existing file, or remove it",
        )
    if exc.errno == errno.ENOENT:
        return VerifyInputError(
            f"{side} does not exist: {path}", hint="give two existing files or directories"
        )
    return VerifyInputError(f"{side}: cannot access {path}: {exc.strerror}", hint=_access_hint(exc))


def _access_hint(exc: OSError) -> str | None:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "verify needs read permission on every file and directory it compares"
    return None


def read_error(path: Path, side: str, exc: OSError) -> VerifyInputError:
    """The input error for a failed open/read of an input file."""
    return VerifyInputError(f"{side}: cannot read {path}: {exc.strerror or exc}", hint=_access_hint(exc))


def require_regular(path: Path, side: str) -> None:
    """An error unless ``path`` (symlinks followed) is a regular file."""
    kind = special_kind(stat_input(path, side).st_mode)
    if kind is not None:
        raise VerifyInputError(f"{side}: {path} is a {kind}, not a regular file", hint=NOT_REGULAR_HINT)


def walk(directory: Path, side: str) -> Tree:
    """Every file and directory below ``directory``, symlinks followed, loops and special files refused."""
    tree = Tree()
    root = stat_input(directory, side)
    _walk(directory, "", [(root.st_dev, root.st_ino)], side, tree)
    return tree


def _walk(directory: Path, prefix: str, ancestors: list[tuple[int, int]], side: str, tree: Tree) -> None:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        raise VerifyInputError(
            f"{side}: cannot list directory {directory}: {exc.strerror}", hint=_access_hint(exc)
        ) from exc
    for entry in entries:
        path, relative = Path(entry.path), f"{prefix}{entry.name}"
        info = stat_input(path, side)
        if stat.S_ISDIR(info.st_mode):
            identity = (info.st_dev, info.st_ino)
            if identity in ancestors:
                raise VerifyInputError(
                    f"{side}: {path} is a symlink loop (it leads back to a directory that contains it)",
                    hint="remove the symlink, or compare the directories it points into separately",
                )
            tree.directories.add(relative)
            _walk(path, f"{relative}/", [*ancestors, identity], side, tree)
        elif stat.S_ISREG(info.st_mode):
            tree.files.add(relative)
        else:
            raise VerifyInputError(
                f"{side}: {path} is a {special_kind(info.st_mode)}, not a regular file", hint=NOT_REGULAR_HINT
            )
