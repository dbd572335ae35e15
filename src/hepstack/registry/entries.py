"""How node-cache entries are named, and the cache as a job script sees it: pure values, no I/O.

Shared by :class:`hepstack.registry.cache.NodeCache`, `hepstack run --print` and the job scripts of
Charliecloud and Apptainer (:mod:`hepstack.runtimes.job_cache`), so all of them agree on every path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hepstack.errors import HepstackError

KINDS = ("charliecloud", "squashfs", "sif")


def entry_path(root: Path | str, kind: str, image_id: str) -> Path:
    """Where the entry of ``image_id`` is (or will be): ``root/<kind>/<id without sha256:>``; no I/O.

    The one naming rule, shared by :meth:`NodeCache.get`, ``hepstack run --print`` and job scripts."""
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", kind):  # KINDS (images), and the VM's kernel and disk
        raise ValueError(kind)
    name = image_id.removeprefix("sha256:")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", name):
        raise HepstackError(
            f"{image_id!r} is not an image id or digest (sha256:<hex digits>)",
            hint="node-cache entries are named by content: give an image of the engine store or a registry",
        )
    return Path(root) / kind / name


@dataclass(frozen=True)
class JobNodeCache:
    """The node cache as a job script sees it: its directory (the submitting user's setting, which the
    nodes must have: a node-local path such as /tmp/... or a shared one) and whose entries it trusts."""

    root: str
    owner: int  # uid: the only account that converts there
    shared: bool  # HEPSTACK_CACHE_OWNER: others read the owner's entries (0755 folders, 0644 files)
    max_bytes: int | None = None  # HEPSTACK_CACHE_MAX: after a conversion the job evicts down to it
