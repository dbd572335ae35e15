"""``hepstack inventory FILE``: which package builds and runs where, from evidence; ``hepstack stamp DIR``:
say which runtime and image make the outputs in DIR, for ``hepstack verify`` to record."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console
from hepstack.errors import HepstackError

if TYPE_CHECKING:
    from hepstack.inventory.status import Inventory


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    html = "html"
    csv = "csv"
    json = "json"


@app.command()
def inventory(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The inventory file, e.g. examples/lat/inventory.yaml.")
    ],
    output_format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """The package inventory: per package its build platform, the images that carry it, where it ran and
    was proven equal (each mark citing its evidence; stale when the package changed since), its special
    dependencies, whether it is upgradable, links and comments.

    Example: hepstack inventory examples/lat/inventory.yaml --format markdown > inventory.md
    """
    from hepstack.context import Context
    from hepstack.inventory import render
    from hepstack.inventory.facts import build_inventory
    from hepstack.inventory.model import load_inventory

    result = build_inventory(load_inventory(file), Context.from_environment())
    if output_format is Format.table:
        make_console().print(render.render_table(result))
        return
    text = {
        Format.markdown: render.render_markdown,
        Format.html: _html_page,
        Format.csv: render.render_csv,
        Format.json: render.render_json,
    }[output_format](result)
    print(text, end="")


def _html_page(inventory: Inventory) -> str:
    try:
        from hepstack.web.render import inventory_page
    except ImportError as exc:
        raise HepstackError(
            f"--format html needs the dashboard's templates: {exc}", hint="pip install 'hepstack[web]'"
        ) from None
    return inventory_page(inventory)


@app.command()
def stamp(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The directory the outputs go to.")],
    runtime: Annotated[str, typer.Option(help="The runtime that runs the jobs writing DIR.")],
    image: Annotated[str, typer.Option(help="Their image (STACK/LAYER or a reference; a label natively).")],
) -> None:
    """Record in DIR/hepstack-provenance.json which runtime and image (resolved now: reference, id, key)
    make its outputs, so `hepstack verify` can say which platform it proved (the inventory's evidence).

    Example: hepstack stamp /tmp/l1-podman --runtime podman --image lat/release
    """
    from hepstack.context import Context
    from hepstack.inventory.evidence import PROVENANCE_FILE, mark_outputs

    written = mark_outputs(directory.absolute(), runtime, image, Context.from_environment())
    image_id = written["image"]["id"]
    shown = written["image"]["reference"] + (f" ({image_id[:19]})" if image_id else "")
    print(f"{directory / PROVENANCE_FILE}: {runtime}, {shown}")
