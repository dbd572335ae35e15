"""Paths named in input files: resolved, kept inside their directory, regular files and directories only.

A copy source, profile, Containerfile, pip requirement file or COPY source is read by the dry run (its
content is part of the layer key) and sent to the engine as build context. So each one is resolved
with every symlink followed, must stay inside the directory it is relative to, and must be a regular
file, or a directory of regular files, directories and symlinks (symlinks are copied as links, never
followed). FIFOs, sockets and devices would block or fail the read; they are refused by name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

from hepstack.spec.reading import file_kind

NAME_MAX = 255  # bytes in one path component (Linux)
PATH_MAX = 4095  # bytes in a whole path, without the final NUL
MAX_TREE_DEPTH = 100  # directory levels under a copied directory

Expect = Literal["file", "directory", "file or directory"]


class PathProblem(ValueError):
    """Why a path was refused; ``message`` follows the path's name ("copy source " + "not found: ...").
    ``reason`` is one of: empty, too long, outside, missing, kind, unreadable."""

    def __init__(self, reason: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.hint = hint


# Never part of a layer's content: caches and build droppings that change when code merely runs.
IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", ".eggs"}
)
IGNORED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def ignored(name: str) -> bool:
    """True for a file or directory name that is never part of a layer's content (nor checked)."""
    return name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES)


def checked_path(root: Path, text: str, *, expect: Expect, copied: bool = True) -> Path:
    """``text`` relative to ``root``, resolved; raises :class:`PathProblem` unless it is of the
    ``expect``-ed kind. A path whose content is ``copied`` (into a build context, a layer key) must
    also stay inside ``root``, and a directory is walked to check that it holds only regular files,
    directories and symlinks; a path that is only bound (study inputs) may be anywhere."""
    if not text.strip():
        raise PathProblem("empty", "is empty", hint=f"name a path relative to {root}")
    encoded = text.encode("utf-8", "surrogateescape")
    if len(encoded) > PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/")):
        raise PathProblem(
            "too long",
            f"is too long (at most {NAME_MAX} bytes a component, {PATH_MAX} in all)",
            hint="shorten the name",
        )
    base = root.resolve()
    lexical = Path(os.path.normpath(base / text))
    try:
        candidate = (base / text).resolve(strict=True)
    except FileNotFoundError:
        if copied and not _is_within(lexical, base):
            raise _outside(base) from None
        raise PathProblem("missing", f"not found: {lexical}", hint=f"paths are relative to {base}") from None
    except RuntimeError:  # Python 3.11 reports a symlink loop so
        raise PathProblem("unreadable", "is a symlink loop", hint="fix the symlinks") from None
    except OSError as exc:
        raise PathProblem("unreadable", f"cannot be read: {exc.strerror}") from None
    if copied and not _is_within(candidate, base):
        raise _outside(base)
    try:
        mode = candidate.stat().st_mode
    except OSError as exc:
        raise PathProblem("unreadable", f"cannot be read: {exc.strerror}") from None
    if stat.S_ISREG(mode) and expect != "directory":
        return candidate
    if stat.S_ISDIR(mode) and expect != "file":
        if copied:
            check_tree(candidate)
        return candidate
    raise PathProblem(
        "kind",
        f"is {file_kind(mode) if not stat.S_ISREG(mode) else 'a regular file'}, not {_article(expect)}: "
        f"{candidate}",
        hint="name a regular file" if expect == "file" else f"name {_article(expect)}",
    )


def check_tree(directory: Path) -> None:
    """Raise :class:`PathProblem` if anything under ``directory`` is not a regular file, directory or
    symlink, or the tree is deeper than :data:`MAX_TREE_DEPTH`. Names the layer key ignores are skipped."""
    pending = [(directory, 0)]
    while pending:
        current, depth = pending.pop()
        if depth > MAX_TREE_DEPTH:
            raise PathProblem("kind", f"nests directories deeper than {MAX_TREE_DEPTH} levels: {current}")
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if ignored(entry.name) or entry.is_symlink() or entry.is_file(follow_symlinks=False):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((Path(entry.path), depth + 1))
                        continue
                    kind = file_kind(entry.stat(follow_symlinks=False).st_mode)
                    raise PathProblem(
                        "kind",
                        f"holds {kind}: {entry.path}",
                        hint="a copied directory may hold regular files, directories and symlinks only",
                    )
        except OSError as exc:
            raise PathProblem("unreadable", f"cannot read {current}: {exc.strerror}") from None


def _is_within(path: Path, base: Path) -> bool:
    return path == base or base in path.parents


def _outside(base: Path) -> PathProblem:
    return PathProblem(
        "outside",
        f"must be inside {base}",
        hint="paths are relative to the file's directory and may not leave it; move the file there",
    )


def _article(expect: Expect) -> str:
    return {"file": "a regular file", "directory": "a directory", "file or directory": "a file or directory"}[
        expect
    ]
