"""Old builds: catalog rows and engine images superseded by newer builds of the same layer.

Per stack/layer/engine the newest ``keep`` builds (distinct layer keys) stay; a key recorded twice keeps
its newest row. An older build goes unless a job or pipeline uses its image. Its engine image is
removed by untagging every tag it has in the layer's repository (``podman rmi TAG...``, never
``--force``), so the engine itself refuses an image a container or a kept child image still needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from hepstack import proc
from hepstack.catalog import Catalog, ImageRecord
from hepstack.errors import HepstackError, ProcessError
from hepstack.prune.model import Kept, PrunePlan, Removal


def plan_images(catalog: Catalog, keep: int, in_use: dict[str, str]) -> tuple[PrunePlan, set[str]]:
    """What goes and what stays, and the image ids kept (so the node cache keeps their entries)."""
    plan = PrunePlan()
    groups: dict[tuple[str, str, str], list[tuple[int, ImageRecord]]] = {}
    for row_id, record in catalog.rows():
        groups.setdefault((record.stack, record.layer, record.engine), []).append((row_id, record))
    superseded: list[tuple[int, ImageRecord, ImageRecord]] = []
    duplicates: list[tuple[int, ImageRecord, ImageRecord]] = []
    kept_ids: set[str] = set()
    for rows in groups.values():
        by_key: dict[str, list[tuple[int, ImageRecord]]] = {}
        for row_id, record in rows:  # newest first
            by_key.setdefault(record.key, []).append((row_id, record))
        newest = rows[0][1]
        for rank, same_key in enumerate(by_key.values()):
            row_id, record = same_key[0]
            duplicates += [(other_id, other, record) for other_id, other in same_key[1:]]
            what = f"{record.reference} ({record.engine})"
            if rank < keep:
                kept_ids.add(record.image_id)
                why = "the newest build of its layer" if rank == 0 else f"one of the newest {keep}"
                plan.kept.append(Kept("image", what, why))
            elif record.image_id in in_use:
                kept_ids.add(record.image_id)
                plan.kept.append(Kept("image", what, in_use[record.image_id]))
            else:
                superseded.append((row_id, record, newest))
    recorded = {(record.reference, record.engine) for rows in groups.values() for _, record in rows}
    for row_id, record, newest in superseded:
        plan.removals.append(_image_removal(catalog, [row_id], record, newest, kept_ids))
        if record.image_id not in kept_ids:
            plan.removals += _copies(record, newest, recorded)
    for row_id, record, primary in duplicates:
        plan.removals.append(_duplicate_removal(catalog, row_id, record, primary, kept_ids | set(in_use)))
    return plan, kept_ids


def _duplicate_removal(
    catalog: Catalog, row_id: int, record: ImageRecord, primary: ImageRecord, keep_ids: set[str]
) -> Removal:
    """An earlier row of a key built again (``--no-cache``). Its row goes; its image too if the rebuild
    left it without a tag (the key's tag moved to the new image) and nothing kept or in use is it."""
    what = f"{record.stack}/{record.layer} ({record.engine}) key {record.key[:12]}"
    what += f" built {record.built_at:%Y-%m-%d %H:%M:%S}"
    reason = "an earlier row of a key built again"
    if record.image_id == primary.image_id or record.image_id in keep_ids:
        return Removal("catalog", what, None, reason + " (same image)", _forgetter(catalog, [row_id]))
    from hepstack.build.engines import get_engine

    engine = get_engine(record.engine)
    try:
        found = proc.run(
            [*engine.inspect_argv(record.image_id)[:-1], "--format", "{{json .RepoTags}}", record.image_id],
            check=False,
            timeout=60,
        )
    except (ProcessError, HepstackError):
        return Removal("catalog", what, None, reason, _forgetter(catalog, [row_id]))
    if found.returncode != 0 or json.loads(found.stdout.strip() or "null"):
        return Removal(
            "catalog", what, None, reason + "; its image is gone or tagged", _forgetter(catalog, [row_id])
        )
    return Removal(
        "image",
        f"{record.image_id.removeprefix('sha256:')[:12]} ({record.engine}, untagged)",
        record.size,
        reason + f": the image it built before {primary.image_id.removeprefix('sha256:')[:12]}",
        _remover(catalog, [row_id], record.engine, [record.image_id]),
        engine=record.engine,
    )


def _forgetter(catalog: Catalog, row_ids: list[int]) -> Callable[[], str | None]:
    def forget() -> str | None:
        catalog.forget(row_ids)
        return None

    return forget


def _image_removal(
    catalog: Catalog, row_ids: list[int], record: ImageRecord, newest: ImageRecord, kept_ids: set[str]
) -> Removal:
    reason = f"superseded by key {newest.key[:12]} built {newest.built_at:%Y-%m-%d %H:%M}"
    what = f"{record.reference} ({record.engine})"
    if record.image_id in kept_ids:  # the same image is also a kept build: only the row goes
        return Removal("catalog", what, None, reason + "; its image is kept", _forgetter(catalog, row_ids))
    tags = engine_tags(record)
    if not tags:
        return Removal(
            "catalog", what, None, reason + f"; no longer in {record.engine}", _forgetter(catalog, row_ids)
        )

    remove = _remover(catalog, row_ids, record.engine, tags)
    return Removal("image", what, record.size, reason, remove, engine=record.engine)


def _copies(record: ImageRecord, newest: ImageRecord, recorded: set[tuple[str, str]]) -> list[Removal]:
    """The copies of a superseded image hepstack made in the other engines (``run --runtime docker`` of a
    podman build loads it into docker under the same reference and id); not one that engine's catalog
    rows account for, which its own group decides."""
    from dataclasses import replace

    from hepstack.build.engines import ENGINES

    found = []
    for engine_name in sorted(ENGINES):
        if engine_name == record.engine or (record.reference, engine_name) in recorded:
            continue
        copy = replace(record, engine=engine_name)
        tags = engine_tags(copy)
        if tags:
            found.append(
                Removal(
                    "image",
                    f"{record.reference} ({engine_name}, copy)",
                    record.size,
                    f"a copy of a build superseded by key {newest.key[:12]}",
                    _remover(None, [], engine_name, tags),
                    engine=engine_name,
                )
            )
    return found


def _remover(
    catalog: Catalog | None, row_ids: list[int], engine_name: str, names: list[str]
) -> Callable[[], str | None]:
    """``rmi NAMES`` (tags or an id, never --force), then the rows; the engine's refusal is the answer."""

    def remove() -> str | None:
        from hepstack.build.engines import get_engine

        engine = get_engine(engine_name)
        try:
            proc.run([engine.binary(), "rmi", *names], timeout=300)
        except (ProcessError, HepstackError) as exc:
            return exc.message.splitlines()[-1] if exc.message else "the engine refused"
        if catalog is not None:
            catalog.forget(row_ids)
        return None

    return remove


def engine_tags(record: ImageRecord) -> list[str]:
    """The tags the engine holds for ``record``'s image in the layer's own repository (empty: not there)."""
    from hepstack.build.engines import get_engine

    engine = get_engine(record.engine)
    try:
        result = proc.run(engine.inspect_images_argv([record.reference]), check=False, timeout=60)
    except (ProcessError, HepstackError):
        return []
    found = engine.parse_inspected(result.stdout, [record.reference]).get(record.reference)
    if found is None or found.image_id != record.image_id:
        return []  # gone, or the tag now names another image: that one is not this build's to remove
    repository = record.reference.rsplit(":", 1)[0]
    return sorted(tag for tag in found.tags if tag.rsplit(":", 1)[0] == repository)


def store_bytes(engine_name: str) -> int | None:
    """Bytes on disk of the engine's image store (its graph root), to measure what a removal freed."""
    from hepstack.build.engines import get_engine
    from hepstack.prune.model import tree_bytes

    engine = get_engine(engine_name)
    try:
        root = proc.run([engine.binary(), "info", "--format", engine.store_root_format], timeout=60)
        root_path = root.stdout.strip()
    except (ProcessError, HepstackError):
        return None
    return tree_bytes(root_path) if root_path else None
