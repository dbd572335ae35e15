"""`hepstack vm run`: boot a developer VM of a layer (or a disk file) with QEMU."""

from __future__ import annotations

from typing import Annotated

import typer

from hepstack.cli import app

vm_app = typer.Typer(
    name="vm",
    help="Virtual machines of a layer: boot one with QEMU, run a command in it or get a console.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(vm_app)


@vm_app.command("run")
def run(
    image: Annotated[
        str,
        typer.Argument(
            help="STACK/LAYER, an engine reference, or a disk file (.qcow2 or .raw) from hepstack export."
        ),
    ],
    command: Annotated[
        list[str] | None, typer.Argument(help="The command, after --; none: a console.", show_default=False)
    ] = None,
    share: Annotated[
        list[str] | None,
        typer.Option(
            "--share", "-s", help="DIR[:PATH_IN_VM][:ro], over 9p; repeatable (default path: the same)."
        ),
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="NAME=VALUE for the command, repeatable.")
    ] = None,
    workdir: Annotated[
        str | None,
        typer.Option(
            "--workdir", "-w", help="Where the command starts (default: this directory if shared, else home)."
        ),
    ] = None,
    accel: Annotated[str, typer.Option(help="auto (KVM if usable, else TCG), kvm or tcg.")] = "auto",
    cpus: Annotated[int, typer.Option(min=1, max=256, help="Virtual CPUs.")] = 2,
    memory: Annotated[str, typer.Option(help="Memory, e.g. 2GiB or 4096MiB.")] = "2GiB",
    root: Annotated[
        bool, typer.Option("--root", help="Run the command (or the console) as root in the VM.")
    ] = False,
    keep_changes: Annotated[
        bool,
        typer.Option(
            "--keep-changes", help="Write changes to the disk FILE (default: a throw-away overlay)."
        ),
    ] = False,
    boot_timeout: Annotated[float, typer.Option(min=1, help="Seconds the VM may take to boot.")] = 600,
    engine: Annotated[
        str | None, typer.Option(help="Engine that holds the image (default: from the catalog).")
    ] = None,
) -> None:
    """Boot IMAGE headless (KVM when usable, else TCG) and run CMD in it as you, or give a console.

    The exit status is the command's; its output is the command's, hepstack's own lines go to stderr.
    On the console, exit the shell to power off (Ctrl-a x stops QEMU at once).

    Example: hepstack vm run --share $PWD lat/dev -- lat-run digi -s raw_r000001_c000.ldf
    """
    from hepstack.vm.commands import vm_run

    status = vm_run(
        image,
        command or [],
        shares=share or [],
        env=env or [],
        workdir=workdir,
        accel=accel,
        cpus=cpus,
        memory=memory,
        as_root=root,
        keep_changes=keep_changes,
        boot_timeout=boot_timeout,
        engine=engine,
    )
    raise typer.Exit(status)
