"""`hepstack push`, `pull` and `export`: publishing a stack and shipping its images to sites."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hepstack.cli import app, make_console

TLS_HELP = "Require HTTPS with a verified certificate (--no-tls-verify for a plain-HTTP loopback registry)."
STDIN_HELP = "Read the registry password from stdin (user from HEPSTACK_REGISTRY_USER)."


def _registry(location: str, tls_verify: bool, password_stdin: bool):  # type: ignore[no-untyped-def]
    from hepstack.registry.transfer import Registry, credentials_from

    password = sys.stdin.readline() if password_stdin else None
    return Registry(location, tls_verify=tls_verify, credentials=credentials_from(password_stdin=password))


@app.command()
def push(
    spec: Annotated[Path, typer.Argument(help="The stack spec (stack.yaml).")],
    layers: Annotated[
        list[str] | None, typer.Argument(help="Layers (with their ancestors); default all.")
    ] = None,
    registry: Annotated[str, typer.Option(help="HOST[:PORT]/NAMESPACE to push to.")] = "",
    tls_verify: Annotated[bool, typer.Option("--tls-verify/--no-tls-verify", help=TLS_HELP)] = True,
    engine: Annotated[str, typer.Option(help="Engine that holds the built images.")] = "podman",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
    manifest: Annotated[
        Path | None, typer.Option(help="Also write the release manifest (JSON) to this file.")
    ] = None,
    locked: Annotated[
        bool, typer.Option("--locked", help="Push the images `build --locked` made from stack.lock.")
    ] = False,
) -> None:
    """Push every layer image of the stack (each its own repository, tags <key12> and <release>).

    Example: hepstack push examples/lat/stack.yaml --registry registry.example.org/lat
    """
    from rich.table import Table

    from hepstack.catalog import Catalog
    from hepstack.context import Context
    from hepstack.errors import HepstackError
    from hepstack.registry.publish import push_stack, release_manifest, write_manifest

    if not registry:
        raise HepstackError("no --registry given", hint="e.g. --registry registry.example.org:5000/lat")
    context = Context.from_environment()
    pushed = push_stack(
        spec,
        layers,
        _registry(registry, tls_verify, password_stdin),
        context,
        engine_name=engine,
        locked=locked,
    )
    table = Table("layer", "repository", "tags", "digest", "blobs uploaded", "blobs already there")
    for item in pushed:
        record = item.record
        table.add_row(
            record.layer,
            record.repository,
            ", ".join(record.tags),
            record.digest,
            str(item.uploaded),
            str(item.skipped),
        )
    console = make_console()
    console.print(table)
    uploaded = sum(item.uploaded for item in pushed)
    skipped = sum(item.skipped for item in pushed)
    console.print(f"pushed {len(pushed)} images; {uploaded} blobs uploaded, {skipped} already there")
    if manifest is not None and pushed:
        from hepstack.release.publish import attach_sboms

        first = pushed[0].record
        catalog = Catalog(context.catalog_path)
        document = release_manifest(catalog, first.stack, first.release)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        sboms = attach_sboms(document, catalog, manifest)
        write_manifest(document, manifest)
        console.print(f"release manifest: {manifest} ({sboms} SBOMs beside it)")


@app.command()
def pull(
    reference: Annotated[str | None, typer.Argument(help="HOST[:PORT]/REPO:TAG or @DIGEST.")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Pull every image of this release manifest.")] = None,
    tls_verify: Annotated[bool, typer.Option("--tls-verify/--no-tls-verify", help=TLS_HELP)] = True,
    engine: Annotated[str, typer.Option(help="Engine store to pull into.")] = "podman",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=STDIN_HELP)] = False,
) -> None:
    """Pull one image, or a whole release from its manifest, into the local engine store.

    Pulled layer images join your catalog (origin "pulled"), so STACK/LAYER names them in run, submit
    and pipelines. Example: hepstack pull --manifest lat-1.0.json
    """
    from hepstack.catalog import Catalog
    from hepstack.context import Context
    from hepstack.errors import HepstackError
    from hepstack.names import is_image_reference
    from hepstack.registry.publish import pull_manifest, pull_reference, read_manifest, registry_host
    from hepstack.registry.transfer import Transfer

    if (reference is None) == (manifest is None):
        raise HepstackError("give either REFERENCE or --manifest FILE", hint="hepstack pull HOST/REPO:TAG")
    catalog = Catalog(Context.from_environment().catalog_path)
    console = make_console()
    if manifest is not None:
        content = read_manifest(manifest)
        host = registry_host(content["images"][0]["repository"]) or ""
        transfer = Transfer(_registry(host, tls_verify, password_stdin))
        for image in pull_manifest(content, transfer, engine_name=engine, catalog=catalog):
            console.print(f"{image.reference}  {image.digest}  as {image.layer}", markup=False)
        from hepstack.release.publish import import_sboms

        sboms = import_sboms(content, catalog, manifest)
        console.print(f"{sboms} SBOMs (SPDX 2.3) from beside the manifest kept in the catalog")
        return
    assert reference is not None
    reference_host = registry_host(reference)
    if not is_image_reference(reference) or reference_host is None:
        raise HepstackError(
            f"{reference!r} names no registry host",
            hint="write HOST[:PORT]/REPOSITORY:TAG, e.g. registry.example.org:5000/hep/lat/release:1.0, "
            "or pull a release with --manifest FILE; hepstack never guesses a registry (no docker.io)",
        )
    transfer = Transfer(_registry(reference_host, tls_verify, password_stdin))
    pulled = pull_reference(reference, transfer, engine_name=engine, catalog=catalog)
    named = f"  as {pulled.layer}" if pulled.layer else "  (no hepstack layer labels: not in the catalog)"
    console.print(f"{pulled.reference}  {pulled.digest}{named}", markup=False)


@app.command()
def export(
    image: Annotated[str, typer.Argument(help="STACK/LAYER (newest build) or an engine reference.")],
    export_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="oci-archive, squashfs, dir (unpacked tree), sif, or a bootable VM disk: qcow2, raw.",
        ),
    ] = "oci-archive",
    output: Annotated[
        Path | None, typer.Option(help="Where to write (default: from the image name).")
    ] = None,
    engine: Annotated[str | None, typer.Option(help="Engine that holds the image.")] = None,
) -> None:
    """Export an image for HPC runtimes and shared filesystems.

    Example: hepstack export lat/release --format squashfs --output /shared/lat-1.0.sqfs

    A qcow2 or raw disk boots the layer as a developer VM (you are its user): hepstack vm run FILE.
    """
    from hepstack.catalog.resolve import resolve_image
    from hepstack.context import Context
    from hepstack.errors import HepstackError
    from hepstack.registry.export import (
        FORMATS,
        VM_FORMATS,
        check_output,
        default_output,
        export_image,
        sif_report,
    )

    if export_format not in FORMATS:  # before anything else: the default output name needs a known format
        raise HepstackError(
            f"unknown export format {export_format!r}",
            hint=f"one of {', '.join(FORMATS)}; oci-archive is the tar that `podman load` and "
            "`docker load` read",
        )
    context = Context.from_environment()
    resolved = resolve_image(image, context, engine=engine)
    target = output or default_output(resolved.reference, export_format)
    if export_format in VM_FORMATS:
        from hepstack.identity import invoking_user
        from hepstack.vm.image import build_disk

        check_output(target)
        written = build_disk(
            resolved.reference,
            resolved.engine,
            resolved.image_id,
            target,
            export_format,
            context,
            invoking_user(),
        )
    else:
        written = export_image(
            resolved.reference,
            export_format,
            target,
            context,
            engine_name=resolved.engine,
            image_id=resolved.image_id,
        )
    console = make_console()
    console.print(f"{export_format}: {written}")
    if export_format in ("qcow2", "raw"):
        console.print(f"boot it: hepstack vm run {written} [--share DIR] [-- CMD]")
    if export_format == "sif":
        console.print(sif_report(written).rstrip())
        console.print("checked with siftool; whether Apptainer runs it cannot be checked without Apptainer")
