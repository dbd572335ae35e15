"""`hepstack run`: a command in an image (or natively) as the invoking user."""

from __future__ import annotations

from typing import Annotated

import typer

from hepstack.cli import app


@app.command()
def run(
    image: Annotated[
        str, typer.Argument(help="STACK/LAYER (newest build in the catalog) or an engine reference.")
    ],
    command: Annotated[list[str], typer.Argument(help="The command, after --.", show_default=False)],
    runtime: Annotated[
        str,
        typer.Option("--runtime", "-r", help="native, podman, docker, charliecloud, apptainer or shifter."),
    ] = "podman",
    bind: Annotated[list[str] | None, typer.Option("--bind", "-b", help="SRC:DST[:ro], repeatable.")] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="NAME=VALUE, repeatable.")] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            help="NAME=FILE, repeatable: FILE (yours, mode 0600) read-only at /run/secrets/NAME; "
            "$HEPSTACK_SECRET_<NAME> is its path in the job.",
        ),
    ] = None,
    workdir: Annotated[str | None, typer.Option("--workdir", "-w", help="Working directory inside.")] = None,
    engine: Annotated[
        str | None, typer.Option(help="Engine that holds the image (default: from the catalog).")
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the exact command instead of running it.")
    ] = False,
) -> None:
    """Run CMD in IMAGE as you: read-only image, no new privileges, only the binds you ask for.

    Example: hepstack run --runtime docker --bind /data:/data lat/release -- python3 -V
    """
    from hepstack.run.launch import run as launch

    launch(
        image,
        command,
        runtime_name=runtime,
        bind=bind or [],
        env=env or [],
        secret=secret or [],
        workdir=workdir,
        engine=engine,
        print_only=print_only,
    )
