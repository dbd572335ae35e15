"""`hepstack images`: what the catalog knows was built, and where each image was pushed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from hepstack.catalog import ImageRecord

#: What ``origin`` says of a catalog image found in another engine's store than the one that has it.
COPIED = "copied"


@app.command()
def images(
    stack: Annotated[str | None, typer.Option(help="Only this stack.")] = None,
    release: Annotated[
        str | None, typer.Option(help="Only this release: every image of it, with digest and size.")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Only images in this engine.")] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="Write the release manifest (JSON; needs --stack and --release) for `hepstack pull`."
        ),
    ] = None,
) -> None:
    """List the images in the catalog, newest first, with registry digests and locations once pushed."""
    from rich.table import Table

    from hepstack.build.builder import human_size
    from hepstack.catalog import Catalog
    from hepstack.context import Context
    from hepstack.errors import HepstackError

    context = Context.from_environment()
    catalog = Catalog(context.catalog_path)
    console = make_console()
    if manifest is not None:
        if stack is None or release is None:
            raise HepstackError(
                "--manifest needs --stack and --release", hint="e.g. --stack lat --release 1.0"
            )
        from hepstack.registry.publish import release_manifest, write_manifest

        write_manifest(release_manifest(catalog, stack, release), manifest)
        console.print(f"release manifest: {manifest}")
    if release is not None and stack is not None:
        records = catalog.release_images(stack, release, engine)
    else:
        records = catalog.list(stack=stack, release=release, engine=engine)
    if engine is not None:  # images `hepstack run --runtime docker` copied there from podman, say
        records = sorted(
            records + copied_into(engine, catalog.list(stack=stack, release=release), records),
            key=lambda record: record.built_at,
            reverse=True,
        )
    pushes: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for push in catalog.pushes(stack=stack, release=release):
        pushes.setdefault((push.stack, push.layer, push.key), []).append((push.digest, push.repository))
    # Per release: what it is made of and where (full digests, no room for build details);
    # otherwise the build history, with the digests of what was pushed.
    per_release = release is not None
    columns = ["stack/layer", "key", "image id", "size", "digest", "registry"]
    if not per_release:
        columns[1:1] = ["release"]
        columns[5:5] = ["engine", "built (UTC)"]
    table = Table(*columns)
    for record in records:
        located = pushes.get((record.stack, record.layer, record.key), [])
        digests = "\n".join(sorted({digest for digest, _ in located})) or "-"
        if not per_release:
            digests = "\n".join(digest[:19] for digest in digests.splitlines())
        row = [
            f"{record.stack}/{record.layer}",
            record.key[:12],
            record.image_id.removeprefix("sha256:")[:12],
            human_size(record.size),
            digests,
            "\n".join(sorted({repository for _, repository in located})) or "-",
        ]
        if not per_release:
            row[1:1] = [record.release]
            shown_engine = record.engine + (" (copy)" if record.origin == COPIED else "")
            row[5:5] = [shown_engine, record.built_at.strftime("%Y-%m-%d %H:%M:%S")]
        table.add_row(*row)
    if not records:
        console.print(f"no images in the catalog {context.catalog_path}")
        return
    console.print(table)


def copied_into(
    engine_name: str, candidates: list[ImageRecord], listed: list[ImageRecord]
) -> list[ImageRecord]:
    """Catalog images of other engines that ``engine_name``'s store holds too, by the same reference and
    image id: what hepstack copied there (``run --runtime docker`` of a podman build saves and loads it).
    One ``image inspect`` of every candidate; an engine that cannot be asked holds no copies."""
    from dataclasses import replace

    from hepstack import proc
    from hepstack.build.engines import get_engine
    from hepstack.errors import HepstackError

    known = {(record.reference, record.image_id) for record in listed}
    newest: dict[str, ImageRecord] = {}
    for record in candidates:  # newest first: one row per reference
        if record.engine != engine_name and (record.reference, record.image_id) not in known:
            newest.setdefault(record.reference, record)
    if not newest:
        return []
    engine = get_engine(engine_name)
    try:
        inspected = proc.run(engine.inspect_images_argv(sorted(newest)), check=False, timeout=120)
    except HepstackError:
        return []
    found = engine.parse_inspected(inspected.stdout, sorted(newest))
    return [
        replace(record, engine=engine_name, origin=COPIED, size=info.size or record.size)
        for reference, record in newest.items()
        if (info := found.get(reference)) is not None and info.image_id == record.image_id
    ]
