"""The ``hepstack`` command line. One module per command group; each parses, calls the library, prints.

Heavy libraries (pydantic, SQLAlchemy, numpy, uproot, astropy, matplotlib) are imported inside the
commands that need them, so ``hepstack --version`` and ``--help`` start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import typer

from hepstack import __version__
from hepstack.errors import HepstackError, print_error

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="hepstack",
    help="Build your experiment's software stack in layers, ship it to any farm, prove it matches native.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        print(f"hepstack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Log every command run and show tracebacks."),
) -> None:
    if debug:
        os.environ["HEPSTACK_DEBUG"] = "1"
        logging.basicConfig(level=logging.DEBUG, format="debug: %(name)s: %(message)s")


def _register() -> None:
    # Imported here so each module can `from hepstack.cli import app` without a cycle.
    from hepstack.cli import (  # noqa: F401
        batch,
        bench,
        build,
        doctor,
        images,
        inventory,
        pipeline,
        prune,
        registry,
        release,
        run,
        scale,
        schema,
        serve,
        verify,
        vm,
    )


def main() -> None:
    """Console entry point: run the app, turning HepstackError into `error:`/`hint:` and exit code 2."""
    _register()
    try:
        app()  # standalone: usage errors print click's message and exit 2
    except HepstackError as exc:
        if os.environ.get("HEPSTACK_DEBUG"):
            raise
        print_error(exc)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def make_console() -> Console:
    """A rich console; when output goes to a file or pipe, wide enough that tables are not squeezed."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)
