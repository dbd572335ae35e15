"""`hepstack build`: build a stack's layers in order, skipping those whose content key is present."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from rich.console import Console

    from hepstack.build.builder import Builder
    from hepstack.build.plan import PlannedLayer
    from hepstack.release.lockfile import Lock
    from hepstack.spec import Stack


@app.command()
def build(
    spec: Annotated[Path, typer.Argument(help="The stack spec, e.g. examples/lat/stack.yaml.")],
    layers: Annotated[
        list[str] | None, typer.Argument(help="Layers to build (with their parents); default all.")
    ] = None,
    engine: Annotated[str, typer.Option(help="podman or docker.")] = "podman",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and keys; build nothing.")
    ] = False,
    show: Annotated[
        bool, typer.Option("--show", help="With --dry-run: print each rendered Containerfile.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Rebuild every layer, ignoring keys and engine caches.")
    ] = False,
    locked: Annotated[
        bool,
        typer.Option(
            "--locked", help="Install exactly the versions of stack.lock beside the spec, reproducibly."
        ),
    ] = False,
) -> None:
    """Build the stack's layers, parents first; a layer whose content key is in the engine is skipped."""

    from hepstack.build.builder import Builder, BuildEvents
    from hepstack.build.engines import get_engine
    from hepstack.context import Context
    from hepstack.spec import load_stack

    console = make_console()
    stack = load_stack(spec)
    chosen = get_engine(engine)
    lock = None
    if locked:
        from hepstack.release.archive import served_check
        from hepstack.release.lockfile import lock_hash, lock_path, locked_inputs, read_lock

        lock = read_lock(lock_path(stack.path))
        builder = Builder(
            stack,
            chosen,
            Context.from_environment(),
            locked=locked_inputs(lock, stack.name),
            extra_labels={"io.hepstack.lock": lock_hash(lock_path(stack.path))},
        )
        builder.before_build = served_check(lock, builder.catalog, stack)
    else:
        builder = Builder(stack, chosen, Context.from_environment())
    if dry_run:
        plan = builder.plan(layers or None, no_cache=no_cache)
        print_plan(console, stack, plan, show=show)
        return

    status = console.status("planning")

    def started(layer: PlannedLayer) -> None:
        if layer.status == "build":
            status.update(f"building {layer.name} ({layer.short_key})")

    def output(layer: PlannedLayer, line: str) -> None:
        if line.startswith(("STEP ", "#", "I: ", "COMMIT")) and len(line) < 200:
            status.update(f"building {layer.name} ({layer.short_key}): {line.strip()[:100]}")

    def finished(layer: PlannedLayer) -> None:
        verb = "built" if layer.status == "build" else "cached"
        console.print(f"  {layer.name:<16} {layer.short_key}  {verb} in {layer.seconds:.1f} s")

    with status:
        result = builder.build(
            layers or None,
            no_cache=no_cache,
            events=BuildEvents(layer_started=started, output_line=output, layer_finished=finished),
        )
    _print_result(console, stack, result, chosen.name)
    if lock is not None:
        _record_sboms(console, builder, result, lock)


def _record_sboms(console: Console, builder: Builder, layers: list[PlannedLayer], lock: Lock) -> None:
    """A locked build is a release candidate: keep each built image's SBOM in the catalog (for push)."""
    from hepstack.release.sbom import make_sbom, sbom_text

    stack = builder.stack
    for layer in layers:
        if builder.catalog.sbom(layer.image_id) is not None:
            continue
        document = make_sbom(
            builder.engine, layer.reference(stack.name), stack=stack, layer=layer.name, lock=lock
        )
        builder.catalog.record_sbom(
            layer.image_id, stack.name, layer.name, stack.spec.release, sbom_text(document)
        )
    console.print(f"SBOMs (SPDX 2.3) of {len(layers)} images kept in the catalog")


def print_plan(console: Console, stack: Stack, plan: list[PlannedLayer], *, show: bool) -> None:
    """The dry run's table (and with ``show`` each Containerfile). Values from the spec are shown as
    text, never read as rich markup: an image named ``x[/]`` must print, not raise."""
    from rich.table import Table
    from rich.text import Text

    title = Text(f"plan for {stack.name} {stack.spec.release}")
    table = Table("layer", "parent", "key", "status", title=title)
    for layer in plan:
        table.add_row(
            Text(layer.name),
            Text(layer.parent_layer or layer.parent_ref),
            layer.short_key,
            "cached" if layer.status == "cached" else "would build",
        )
    console.print(table)
    if show:
        for layer in plan:
            console.rule(Text(f"{layer.name} ({layer.short_key})"))
            console.print(layer.containerfile, markup=False, end="", soft_wrap=True)


def _print_result(console: Console, stack: Stack, layers: list[PlannedLayer], engine: str) -> None:
    from rich.table import Table

    from hepstack.build.builder import human_size

    table = Table(
        "layer", "key", "status", "size", "seconds", title=f"{stack.name} {stack.spec.release} ({engine})"
    )
    for layer in layers:
        size = human_size(layer.size) if layer.size is not None else "?"
        table.add_row(
            layer.name,
            layer.short_key,
            "built" if layer.status == "build" else "cached",
            f"[yellow]{size}[/]" if layer.warnings else size,
            f"{layer.seconds:.1f}",
        )
    console.print(table)
    for layer in layers:
        for warning in layer.warnings:
            console.print(f"[yellow]warning:[/] {layer.name}: {warning}")
