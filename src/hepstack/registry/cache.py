"""The per-node image cache: local files made from an image once, shared by every job on the node.

Entries live in ``CACHE_DIR/<kind>/<image-id>`` (kind: ``charliecloud`` unpacked trees, ``squashfs``
and ``sif`` files). Safe under concurrency, as hundreds of jobs may start on a cold node at once:

- one conversion: the builder holds ``<id>.build.lock`` (flock, exclusive) and re-checks after waiting;
- no half-written image: it converts into ``.tmp-<id>-<pid>`` and renames that into place (atomic on one
  filesystem), so an entry either does not exist or is complete;
- bounded (``HEPSTACK_CACHE_MAX``, e.g. ``20GB``) with least-recently-used eviction; every use touches
  ``<id>.meta``, whose mtime is the last use;
- nothing in use is evicted: each user holds ``<id>.use.lock`` shared, on a descriptor the runtime process
  inherits across exec (so the lock lasts as long as the job); eviction takes it exclusive without waiting
  and skips the entry when it cannot.

Every conversion appends a line to ``CACHE_DIR/conversions.log`` (time, entry, seconds, bytes, pid), which
is how an operator, and the tests, see that a cold node converted once.

Whose entries are used (docs/security.md): by default the cache is the user's own, a private
directory (0700, refused if another user made or can write it), and only the user's entries count. A node
cache several users share has one owner (HEPSTACK_CACHE_OWNER, e.g. a site account): its directories are
0755 and only that account converts and evicts; everyone else uses the owner's entries and nothing else.

>>> cache = NodeCache(Path("/scratch/cache"), max_bytes=20 * 10**9)        # doctest: +SKIP
>>> tree = cache.get("charliecloud", "sha256:ab12...", unpack)              # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hepstack import private
from hepstack.cache_use import hold_shared, mark_used, open_lock, use_files
from hepstack.errors import HepstackError
from hepstack.registry.entries import KINDS, JobNodeCache, entry_path

__all__ = ["KINDS", "CacheEntry", "JobNodeCache", "NodeCache", "cache_limit", "entry_path", "parse_size"]
_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY = {"KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}


def parse_size(text: str) -> int:
    """``20GB``, ``500M``, ``1.5GiB``, ``1000000`` -> bytes (decimal units; ``Ki``/``Mi``/``Gi`` binary)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]I?)?B?\s*", text.upper())
    if not match:
        raise HepstackError(f"bad size {text!r}", hint="write e.g. 20GB, 500MB, 1.5GiB or a number of bytes")
    number, unit = float(match[1]), match[2] or ""
    return int(number * (_BINARY.get(unit) or _UNITS[unit]))


def cache_limit(environment: Mapping[str, str] | None = None) -> int | None:
    """HEPSTACK_CACHE_MAX in bytes, or None (unbounded)."""
    environment = os.environ if environment is None else environment
    text = environment.get("HEPSTACK_CACHE_MAX", "").strip()
    return parse_size(text) if text else None


@dataclass(frozen=True)
class CacheEntry:
    kind: str
    image_id: str
    path: Path
    size: int
    last_used: float


class NodeCache:
    """Images converted to local files, keyed by image id, bounded by ``max_bytes``."""

    def __init__(
        self,
        root: Path,
        max_bytes: int | None = None,
        owner: int | None = None,
        setting: str = "HEPSTACK_CACHE_DIR",
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.owner = os.geteuid() if owner is None else owner  # whose entries are trusted
        self.shared = owner is not None
        self._setting = setting  # the variable an error's hint names
        self._held: list[int] = []  # use-lock descriptors this process holds (inherited by exec)

    @property
    def _mine(self) -> bool:
        """Whether this process is the cache's owner, the only one that converts and evicts."""
        return os.geteuid() == self.owner

    @property
    def _file_mode(self) -> int:
        return 0o644 if self.shared else 0o600

    def _directory(self, kind: str) -> Path:
        """The cache's folder for ``kind``, checked (made, if this user owns the cache)."""
        if not self._mine:
            private.trusted_dir(str(self.root), self.owner, self._setting)
            return Path(private.trusted_dir(str(self.root / kind), self.owner, self._setting))
        for path in (self.root, self.root / kind):
            private.private_dir(str(path), self._setting, shared=self.shared)
        return self.root / kind

    def _check_entry(self, final: Path) -> None:
        """An entry made by anyone but the cache's owner is never used (nor is one others can write)."""
        private.check_status(str(final), final.lstat(), self.owner, self._setting, "directory")

    def get(self, kind: str, image_id: str, convert: Callable[[Path], None], label: str = "") -> Path:
        """The entry for ``image_id``; ``convert(scratch)`` makes it (once per node) if missing.

        The caller keeps a shared use lock on the entry until its process (or the runtime it execs) exits.
        """
        final = entry_path(self.root, kind, image_id)
        directory = self._directory(kind)
        name = final.name
        use_lock, meta = use_files(str(final))
        while True:
            # others than the owner of a shared cache cannot make a missing use lock (nor the entry)
            use = hold_shared(use_lock) if self._mine or os.path.lexists(use_lock) else -1
            if final.exists():
                self._check_entry(final)
                mark_used(meta)
                if use >= 0:
                    self._held.append(use)
                return final
            if use >= 0:
                os.close(use)
            if not self._mine:
                raise self._not_made(kind, label or image_id)
            self._convert_once(directory, name, final, convert, label or image_id)

    def lookup(self, kind: str, image_id: str, label: str = "") -> Path:
        """Where the entry of ``image_id`` is or will be, checked as :meth:`get` checks it (the cache's
        folders, an existing entry's owner and mode), but nothing is converted nor held: what
        `hepstack run --print` shows."""
        final = entry_path(self.root, kind, image_id)
        self._directory(kind)
        if os.path.lexists(final):
            self._check_entry(final)
        elif not self._mine:
            raise self._not_made(kind, label or image_id)
        return final

    def _not_made(self, kind: str, label: str) -> HepstackError:
        return HepstackError(
            f"the shared node cache {self.root} has no {kind} entry of {label}, "
            f"and only its owner {private.owner_name(self.owner)} makes entries there",
            hint="ask them to run it once, or unset HEPSTACK_CACHE_OWNER to use your own cache",
        )

    def job_cache(self) -> JobNodeCache:
        return JobNodeCache(str(self.root), self.owner, self.shared)

    def release(self) -> None:
        """Drop the use locks this process holds (when it is done with the entries, without exec)."""
        while self._held:
            os.close(self._held.pop())

    def _convert_once(
        self, directory: Path, name: str, final: Path, convert: Callable[[Path], None], label: str
    ) -> None:
        lock = open_lock(str(directory / f"{name}.build.lock"))
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if final.exists():  # another job converted it while we waited
                return
            scratch = directory / f".tmp-{name}-{os.getpid()}"
            _remove(scratch)
            started = time.monotonic()
            try:
                convert(scratch)
                # writable by the owner alone whatever the umask (002 is common): others' entries are refused
                scratch.chmod(stat.S_IMODE(scratch.lstat().st_mode) & ~private.OTHERS_WRITE)
                size = _tree_size(scratch)
                _, meta = use_files(str(final))
                record = json.dumps({"size": size, "image": label}) + "\n"
                private.write_atomically(meta, record.encode(), self._file_mode)
                scratch.rename(final)
            finally:
                _remove(scratch)
            seconds = time.monotonic() - started
            private.append_line(
                str(self.root / "conversions.log"),
                f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{directory.name}/{name}\t{label}\t"
                f"{seconds:.1f}s\t{size}\tpid {os.getpid()}\n",
                self._setting,
                self._file_mode,
            )
        finally:
            os.close(lock)
        self.evict(keep={final})

    def entries(self) -> list[CacheEntry]:
        found = []
        for kind in KINDS:
            directory = self.root / kind
            if not directory.is_dir():
                continue
            for meta in directory.glob("*.meta"):
                name = meta.name.removesuffix(".meta")
                path = directory / name
                if not path.exists():
                    continue
                try:
                    size = int(json.loads(private.read_trusted(str(meta), (self.owner,)))["size"])
                    last_used = meta.stat().st_mtime
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # absent, damaged, or not the owner's: not an entry
                found.append(CacheEntry(kind, name, path, size, last_used))
        return found

    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries())

    def evict(self, keep: set[Path] | None = None) -> list[Path]:
        """Remove least-recently-used entries not in use until the cache fits ``max_bytes``."""
        if self.max_bytes is None:
            return []
        entries = sorted(self.entries(), key=lambda entry: entry.last_used)
        total = sum(entry.size for entry in entries)
        removed: list[Path] = []
        for entry in entries:
            if total <= self.max_bytes:
                break
            if keep and entry.path in keep:
                continue
            if self._remove_unused(entry):
                total -= entry.size
                removed.append(entry.path)
        if total > self.max_bytes:
            print(
                f"hepstack: the image cache {self.root} holds {total} bytes, over HEPSTACK_CACHE_MAX "
                f"({self.max_bytes}); the rest is in use or just made",
                file=sys.stderr,
            )
        return removed

    def _remove_unused(self, entry: CacheEntry) -> bool:
        directory = entry.path.parent
        use_lock, meta = use_files(str(entry.path))
        descriptor = open_lock(use_lock)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a job is using it
            trash = directory / f".evict-{entry.image_id}-{os.getpid()}"
            entry.path.rename(trash)  # gone for new users at once; removed below
            Path(meta).unlink(missing_ok=True)
            _remove(trash)
            return True
        finally:
            os.close(descriptor)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _tree_size(path: Path) -> int:
    if not path.is_dir():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_blocks * 512
            except OSError:
                continue
    return total
