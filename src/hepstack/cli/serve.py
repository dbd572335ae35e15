"""``hepstack serve``: the web dashboard (pipelines live, streams, instances and logs, images, studies,
the inventory, the runtime comparison). Read-only and on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepstack.cli import app


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback exposes the dashboard.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port, printed).")] = 8470,
    inventory: Annotated[
        Path | None, typer.Option(help="An inventory file to show on the inventory page.")
    ] = None,
    allow_actions: Annotated[
        bool,
        typer.Option(
            "--allow-actions", help="Allow rollback and cancel, for sessions that log in with the token."
        ),
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="The action token (made 0600 with a random token if missing; default: DATA_DIR/serve-token)."
        ),
    ] = None,
    threads: Annotated[int, typer.Option(min=1, max=64, help="Requests served at once.")] = 4,
) -> None:
    """Serve the dashboard until interrupted.

    Example: hepstack serve --inventory examples/lat/inventory.yaml   (then open http://127.0.0.1:8470/)
    """
    from hepstack.web.serve import serve_dashboard

    serve_dashboard(
        host=host,
        port=port,
        inventory=inventory,
        allow_actions=allow_actions,
        token_file=token_file,
        threads=threads,
    )
