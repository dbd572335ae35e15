"""`hepstack lock`, `hepstack sbom`, `hepstack diff`: a release manager's commands (docs/releases.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hepstack.cli import app, make_console

if TYPE_CHECKING:
    from hepstack.release.diff import Snapshot


@app.command()
def lock(
    spec: Annotated[Path, typer.Argument(help="The stack spec, e.g. examples/lat/stack.yaml.")],
    engine: Annotated[str, typer.Option(help="podman or docker.")] = "podman",
) -> None:
    """Build the stack (cached layers are reused), then write stack.lock beside the spec: every apt
    package and pip distribution each layer installed, with versions, hashes and parent digests."""
    from rich.table import Table

    from hepstack.build.builder import Builder
    from hepstack.build.engines import get_engine
    from hepstack.context import Context
    from hepstack.release.lockfile import lock_hash, lock_path, read_lock, write_lock
    from hepstack.release.resolve import make_lock
    from hepstack.spec import load_stack

    console = make_console()
    stack = load_stack(spec)
    chosen = get_engine(engine)
    path = lock_path(stack.path)
    previous = read_lock(path) if path.exists() else None
    builder = Builder(stack, chosen, Context.from_environment())
    with console.status("building the stack to resolve its versions"):
        plan = builder.build()
    with console.status("reading what each layer installed"):
        resolved = make_lock(stack, chosen, plan, previous=previous)
    write_lock(resolved, path)
    table = Table("layer", "apt", "pip", "parent digest", title=f"{path} ({lock_hash(path)[:19]})")
    for name, entry in resolved.layers.items():
        table.add_row(name, str(len(entry.apt)), str(len(entry.pip)), entry.parent_digest or "")
    console.print(table)
    console.print(f"SOURCE_DATE_EPOCH {resolved.source_date_epoch}, revision {resolved.revision or '-'}")


@app.command()
def sbom(
    spec: Annotated[Path, typer.Argument(help="The stack spec, e.g. examples/lat/stack.yaml.")],
    layer: Annotated[str, typer.Argument(help="The layer whose newest built image to describe.")],
    engine: Annotated[str, typer.Option(help="podman or docker.")] = "podman",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the SPDX JSON here (default: stdout).")
    ] = None,
) -> None:
    """Write the SPDX 2.3 SBOM of a layer's image (Debian packages, Python distributions, the release's
    files, the image digest), validated against the SPDX schema, and keep it in the catalog."""
    import sys

    from hepstack.build.engines import get_engine
    from hepstack.catalog import Catalog
    from hepstack.context import Context
    from hepstack.errors import HepstackError
    from hepstack.release.lockfile import lock_path, read_lock
    from hepstack.release.sbom import make_sbom, sbom_text, write_sbom
    from hepstack.spec import load_stack

    stack = load_stack(spec)
    stack.check_names([layer])
    catalog = Catalog(Context.from_environment().catalog_path)
    record = catalog.newest(stack.name, layer, engine)
    if record is None:
        raise HepstackError(
            f"layer '{layer}' of {stack.name} was never built with {engine}",
            hint=f"build it first: `hepstack build {spec} {layer}`",
        )
    lock_file = lock_path(stack.path)
    locked = read_lock(lock_file) if lock_file.exists() else None
    document = make_sbom(get_engine(engine), record.reference, stack=stack, layer=layer, lock=locked)
    catalog.record_sbom(record.image_id, stack.name, layer, stack.spec.release, sbom_text(document))
    if output is None:
        sys.stdout.write(sbom_text(document))
    else:
        write_sbom(document, output)
        make_console().print(
            f"{output}: SPDX 2.3, {len(document['packages']) - 1} packages, {len(document['files'])} files, "
            f"image {record.image_id[:19]}"
        )


@app.command()
def diff(
    before: Annotated[str, typer.Argument(help="A stack.lock, an SBOM (SPDX JSON) or a built image.")],
    after: Annotated[str, typer.Argument(help="The same kind, of the other release.")],
    engine: Annotated[str, typer.Option(help="podman or docker (for images).")] = "podman",
) -> None:
    """Packages added, removed and changed per layer, release files changed, size changes."""
    from rich.table import Table
    from rich.text import Text

    from hepstack.release.diff import compare, size_delta

    changes = compare(_diff_side(before, engine), _diff_side(after, engine))
    console = make_console()
    if not changes:
        console.print(f"no differences between {before} and {after}")
        return
    table = Table("layer", "kind", "name", "change", "before", "after", title=Text(f"{before} -> {after}"))
    for change in changes:
        shown_after = change.after if change.kind != "size" else f"{change.after} ({size_delta(change)})"
        table.add_row(
            *(Text(value) for value in (change.layer, change.kind, change.name, change.verb)),
            Text(change.before[:24]),
            Text(shown_after[:40]),
        )
    console.print(table)
    counts = {verb: sum(1 for c in changes if c.verb == verb) for verb in ("added", "removed", "changed")}
    console.print(", ".join(f"{count} {verb}" for verb, count in counts.items()))


def _diff_side(value: str, engine: str) -> dict[str, Snapshot]:
    from hepstack.release.diff import load_side, snapshot_of_sbom

    path = Path(value)
    if path.exists():
        return load_side(path)
    from hepstack.build.engines import get_engine
    from hepstack.release.sbom import make_sbom

    return {"image": snapshot_of_sbom(make_sbom(get_engine(engine), value))}
