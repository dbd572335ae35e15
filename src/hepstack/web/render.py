"""The templates' one set of filters, for the dashboard and for the pages written as files
(``hepstack inventory --format html``). Jinja2's autoescape is HTML's one quoting function here: every
value from the DB, a log or a file goes into a template as data, never as markup."""

from __future__ import annotations

import time
from datetime import datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

if TYPE_CHECKING:
    from hepstack.inventory.status import Inventory


def when(value: float | datetime | None) -> str:
    """Seconds since the epoch or a datetime as ``YYYY-MM-DD HH:MM:SS`` UTC; ``-`` for nothing."""
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(value)))


def duration(start: float | None, end: float | None) -> str:
    if start is None or end is None:
        return "-"
    seconds = max(0.0, float(end) - float(start))
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def size(value: int | None) -> str:
    from hepstack.build.builder import human_size

    return "-" if value is None else human_size(int(value))


def short(value: str | None, length: int = 19) -> str:
    return "-" if not value else (value if len(value) <= length else value[:length] + "…")


def configure_templates(environment: Environment) -> None:
    environment.filters.update(when=when, duration=duration, size=size, short=short)
    environment.globals.update(step_name=lambda step: str(step).rsplit(".", 1)[-1])


def standalone_page(template: str, **values: Any) -> str:
    """A page written as a file: the dashboard's template with its style sheet inline, no script, no
    links back to a server."""
    environment = Environment(
        loader=PackageLoader("hepstack.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )
    configure_templates(environment)
    css = resources.files("hepstack.web").joinpath("static/style.css").read_text(encoding="utf-8")
    return environment.get_template(template).render(standalone=True, inline_css=css, **values)


def inventory_page(inventory: Inventory) -> str:
    """``hepstack inventory --format html``: the table and its evidence as one self-contained page."""
    from hepstack.inventory import render

    return standalone_page(
        "inventory.html",
        inventory=inventory,
        cells=render.cells,
        mark=render.mark,
        image_text=render.image_text,
    )
