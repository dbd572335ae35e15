"""A job's image as an entry of the per-node image cache, for runtimes that run files (ch-run, apptainer).

At submit time hepstack names the entry (``CACHE/<kind>/<content id>``, the rule of
:func:`hepstack.registry.cache.entry_path`) and writes the shell line that makes it on the node: the
job calls ``hepstack_cache_entry`` of batch/templates/node_cache.sh, which follows the cache's lock
protocol in bash, so no Python runs in the job and jobs share entries with `hepstack run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hepstack.quoting import bash_word

if TYPE_CHECKING:
    from pathlib import Path

    from hepstack.registry.cache import JobNodeCache
    from hepstack.runtimes.base import RunRequest


def pinned_digest(reference: str) -> str | None:
    """The digest a reference pins (``REPO@sha256:...``, with or without ``docker://``), else None."""
    _, at, digest = reference.removeprefix("docker://").rpartition("@")
    return digest if at and digest.startswith("sha256:") else None


def image_key(request: RunRequest) -> str:
    """What names the entry: the image id, else the pinned digest, else the id the engine store gives
    (asked at submit time: a mutable tag must not name an entry)."""
    if request.image_id:
        return request.image_id
    digest = pinned_digest(request.image)
    if digest:
        return digest
    from hepstack.errors import HepstackError
    from hepstack.registry.convert import image_id_of

    image_id = image_id_of(request.image, request.engine)
    if image_id.removeprefix("sha256:"):
        return image_id
    raise HepstackError(
        f"{request.engine} gave no image id for {request.image}",
        hint=f"is it in the {request.engine} store of this user? see `{request.engine} images`",
    )


def engine_binary(request: RunRequest) -> str:
    """The engine that holds the image, as the job calls it (the path found on the submit host)."""
    from hepstack.build.engines import get_engine

    return get_engine(request.engine).binary()


def cache_entry_command(kind: str, entry: Path, label: str, cache: JobNodeCache, converter: list[str]) -> str:
    """The job's ``hepstack_cache_entry`` call: ``entry`` exists (made by ``converter TARGET`` if not)."""
    words = [
        "hepstack_cache_entry",
        kind,
        str(entry),
        label,
        str(cache.owner),
        "1" if cache.shared else "0",
        "" if cache.max_bytes is None else str(cache.max_bytes),
        *converter,
    ]
    return " ".join(bash_word(word) for word in words)


def mount_point_targets(request: RunRequest) -> list[str]:
    """Paths ch-run needs as directories of the tree: every bind target and the working directory."""
    return [bind.target for bind in request.binds] + ([request.workdir] if request.workdir else [])


def mount_points_command(tree: str, targets: list[str]) -> str:
    return " ".join(bash_word(word) for word in ["hepstack_mount_points", tree, *targets])
