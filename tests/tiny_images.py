"""Tiny real images for tests that need engine images but not what is in them: a seed imported into
podman from a one-file tarball (no download, no bootstrap) and a copy-only layer on top of it, built by
hepstack in seconds."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from pathlib import Path

STACK = """\
stack: {stack}
release: "1"
layers:
  app:
    from: {seed}
    copy: {{payload.bin: /payload.bin}}
"""


def import_seed(scratch: Path, engine: str = "podman") -> str:
    """``localhost/seed-XXXX:1`` in ``engine``: one file, /etc/seed.txt."""
    name = f"localhost/seed-{uuid.uuid4().hex[:8]}:1"
    archive = scratch / "seed.tar"
    with tarfile.open(archive, "w") as tar:
        data = b"seed\n"
        info = tarfile.TarInfo("etc/seed.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run([engine, "import", str(archive), name], capture_output=True, check=True)
    return name


def write_stack(directory: Path, seed: str, payload: bytes, stack: str | None = None) -> tuple[Path, str]:
    """A one-layer stack (layer ``app``) copying ``payload`` onto ``seed``: its spec and its name."""
    stack = stack or f"tiny-{uuid.uuid4().hex[:8]}"
    (directory / "payload.bin").write_bytes(payload)
    spec = directory / "stack.yaml"
    spec.write_text(STACK.format(stack=stack, seed=seed))
    return spec, stack


def remove_images(engine: str, *names: str) -> None:
    for name in names:
        subprocess.run([engine, "rmi", "--force", name], capture_output=True, check=False)


def remove_stack_images(engine: str, stack: str) -> None:
    """Every tag of every layer of ``stack`` in ``engine`` (build tags, :latest, the release's)."""
    listing = subprocess.run(
        [engine, "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    remove_images(engine, *(n for n in listing.split() if n.startswith(f"localhost/{stack}/")))
