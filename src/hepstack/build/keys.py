"""Content keys: a layer's key = hash(rendered Containerfile + files it reads + parent's key).

Same key means the same image, so a layer whose key is already in the engine is not built again;
a change anywhere in a layer changes its key and, through the parent key, every descendant's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from hepstack.spec.paths import ignored

KEY_VERSION = "hepstack-layer-key-v1"
KEY_LENGTH = 12  # shown in tags: <stack>/<layer>:<key12>


def walk_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` (or ``root`` itself), sorted, without ignored names; symlinks are not followed."""
    if not root.is_dir() or root.is_symlink():
        yield root
        return
    for current, directories, files in os.walk(root):
        directories[:] = sorted(d for d in directories if not ignored(d))
        for file in sorted(files):
            if not ignored(file):
                yield Path(current) / file


def layer_key(containerfile_text: str, inputs: Iterable[Path], base_dir: Path, parent_key: str) -> str:
    """Full hex key of a layer. ``inputs`` are the files and directories the build reads; they are hashed
    by their paths relative to ``base_dir`` (the spec's directory), so a key depends on content only."""
    base = base_dir.resolve()
    digest = hashlib.sha256()
    digest.update(f"{KEY_VERSION}\nparent {parent_key}\n".encode())
    digest.update(containerfile_text.encode())
    for top in sorted({Path(path).resolve() for path in inputs}):
        for file in walk_files(top):
            # Relative to the spec's directory, never absolute: the same spec named by a relative or an
            # absolute path, or checked out anywhere else, gives the same keys (and shares a cache).
            relative = os.path.relpath(file, base)
            if file.is_symlink():
                digest.update(f"\nlink {relative} -> {file.readlink()}".encode())
                continue
            executable = os.access(file, os.X_OK)
            digest.update(f"\nfile {relative} {'x' if executable else '-'} {file.stat().st_size}\n".encode())
            digest.update(_file_digest(file))
    return digest.hexdigest()


def external_key(reference: str) -> str:
    """Parent key for an image hepstack did not build: its reference (an image ID once resolved)."""
    return hashlib.sha256(f"{KEY_VERSION}\nexternal {reference}".encode()).hexdigest()


def _file_digest(path: Path) -> bytes:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()
