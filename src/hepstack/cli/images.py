"""`hepstack images`: what the catalog knows was built."""

from __future__ import annotations

from typing import Annotated

import typer

from hepstack.cli import app, make_console


@app.command()
def images(
    stack: Annotated[str | None, typer.Option(help="Only this stack.")] = None,
    release: Annotated[str | None, typer.Option(help="Only this release.")] = None,
    engine: Annotated[str | None, typer.Option(help="Only images in this engine.")] = None,
) -> None:
    """List the images in the catalog, newest first."""
    from rich.table import Table

    from hepstack.build.builder import human_size
    from hepstack.catalog import Catalog
    from hepstack.context import Context

    context = Context.from_environment()
    records = Catalog(context.catalog_path).list(stack=stack, release=release, engine=engine)
    table = Table("stack/layer", "release", "key", "image id", "size", "engine", "built (UTC)", "seconds")
    for record in records:
        table.add_row(
            f"{record.stack}/{record.layer}",
            record.release,
            record.key[:12],
            record.image_id.removeprefix("sha256:")[:12],
            human_size(record.size),
            record.engine,
            record.built_at.strftime("%Y-%m-%d %H:%M:%S"),
            f"{record.seconds:.1f}",
        )
    console = make_console()
    if not records:
        console.print(f"no images in the catalog {context.catalog_path}")
        return
    console.print(table)
