"""``hepstack export``: an image as an OCI archive, a SquashFS file, an unpacked tree or a SIF file.

- ``oci-archive``: an OCI image layout (uncompressed layers) in a tar, plus a ``manifest.json`` in the
  docker-archive form pointing at the same blobs, so ``podman load`` and ``docker load`` (20.10, which
  predates OCI archive support) both read it.
- ``squashfs``: for ch-run (which mounts it itself) and Shifter-style runtimes; from the node cache.
- ``dir``: the unpacked tree with ``/ch/environment``, for a shared filesystem (the CVMFS "unpacked" pattern).
- ``sif``: a SquashFS primary partition in a SIF container (siftool). Checked with ``siftool list``/``info``;
  whether Apptainer runs it cannot be checked on a host without Apptainer.
- ``qcow2``, ``raw``: a bootable developer VM disk of the layer (:mod:`hepstack.vm`, docs/vm.md).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.private import open_exclusive
from hepstack.registry.transfer import SKOPEO_HINT, storage_transport

FORMATS = ("oci-archive", "squashfs", "dir", "sif", "qcow2", "raw")
SUFFIXES = {
    "oci-archive": ".oci.tar",
    "squashfs": ".sqfs",
    "dir": "",
    "sif": ".sif",
    "qcow2": ".qcow2",
    "raw": ".raw",
}
VM_FORMATS = ("qcow2", "raw")  # bootable disks: hepstack.vm


def default_output(reference: str, export_format: str) -> Path:
    name = reference.split("/", 1)[-1].replace("/", "-").replace(":", "-").replace("@", "-")
    return Path(f"{name}{SUFFIXES[export_format]}")


def check_output(output: Path) -> None:
    """An export never overwrites: refuse an existing output, make its directory."""
    if output.exists():
        raise HepstackError(f"{output} exists", hint="remove it or choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True)


def export_image(
    reference: str,
    export_format: str,
    output: Path,
    context: Context,
    *,
    engine_name: str = "podman",
    image_id: str | None = None,
) -> Path:
    if export_format not in FORMATS:
        raise HepstackError(f"unknown export format {export_format!r}", hint=f"one of {', '.join(FORMATS)}")
    check_output(output)
    if export_format == "oci-archive":
        oci_archive(reference, engine_name, output)
        return output
    if export_format in VM_FORMATS:  # hepstack.vm builds disks on top of this package, not under it
        raise HepstackError(f"{export_format} is a VM disk", hint="hepstack export calls hepstack.vm for it")
    from hepstack.registry.convert import cached_image

    kind = {"dir": "charliecloud", "squashfs": "squashfs", "sif": "sif"}[export_format]
    cached = cached_image(reference, engine_name, kind, context, image_id=image_id)
    # Made under a fresh name (mkdtemp, O_EXCL|O_NOFOLLOW): nothing planted in a shared output
    # directory is written through. Renamed into place: a reader never sees half an export.
    if export_format == "dir":
        scratch = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
        # cp keeps symlinks and modes; a tree on a shared filesystem is read by every user.
        proc.run(["cp", "-a", "--reflink=auto", f"{cached}/.", str(scratch)])
        (scratch / ".hepstack-unpacked").unlink(missing_ok=True)
        proc.run(["chmod", "-R", "a+rX", str(scratch)])
    else:
        descriptor, partial = open_exclusive(str(output), 0o644)
        scratch = Path(partial)
        with open(descriptor, "wb") as copy, cached.open("rb") as source:
            shutil.copyfileobj(source, copy)
        scratch.chmod(0o644)  # whatever the umask: an export is for every user of the filesystem
    scratch.rename(output)
    return output


def oci_archive(reference: str, engine_name: str, output: Path) -> None:
    skopeo = proc.require("skopeo", "an OCI archive", SKOPEO_HINT)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".oci-") as scratch:
        layout = Path(scratch) / "layout"
        proc.run(
            [
                skopeo,
                "copy",
                "--dest-oci-accept-uncompressed-layers",
                storage_transport(engine_name, reference),
                f"oci:{layout}:{reference}",
            ]
        )
        _add_docker_manifest(layout, reference)
        partial = Path(scratch) / "image.tar"
        with tarfile.open(partial, "w") as archive:
            for item in sorted(layout.iterdir()):
                archive.add(item, arcname=item.name)
        partial.rename(output)


def _add_docker_manifest(layout: Path, reference: str) -> None:
    """docker-archive's ``manifest.json`` next to the OCI ``index.json``, naming the same blobs."""
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads(_blob(layout, digest).read_text())
    layers = [str(_blob(layout, layer["digest"]).relative_to(layout)) for layer in manifest["layers"]]
    for layer in manifest["layers"]:
        if not layer["mediaType"].endswith(".tar"):
            raise HepstackError(f"layer {layer['digest']} is compressed ({layer['mediaType']})")
    entry = {
        "Config": str(_blob(layout, manifest["config"]["digest"]).relative_to(layout)),
        "RepoTags": [reference],
        "Layers": layers,
    }
    (layout / "manifest.json").write_text(json.dumps([entry]) + "\n")


def _blob(layout: Path, digest: str) -> Path:
    algorithm, _, value = digest.partition(":")
    return layout / "blobs" / algorithm / value


def sif_report(path: Path) -> str:
    """``siftool list`` output (and a clear error when the file is not a valid SIF)."""
    siftool = proc.require("siftool", "checking a SIF image", "apt-get install siftool")
    return proc.run([siftool, "list", str(path)]).stdout
