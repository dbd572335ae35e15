"""A runnable image of a few MB for batch tests: the host's dash, coreutils' env/sleep/true/cat/ls and
their libraries, imported into a podman store. Building the example stack (hundreds of MB) is not
needed to show how a job gets its image; this one converts in a second."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import tool_works

PROGRAMS = {"/bin/dash": "bin/sh", **{f"/usr/bin/{name}": f"usr/bin/{name}" for name in
            ("env", "sleep", "true", "cat", "ls", "id")}}  # fmt: skip
MOUNT_POINTS = ("dev", "proc", "sys", "tmp", "home", "mnt", "run", "var", "var/tmp", "root")  # ch-run's
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "SMALL_IMAGE": "it's small"}


def _libraries(program: str) -> set[str]:
    listing = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    return {word for word in listing.split() if word.startswith("/")}


def write_rootfs(archive: Path) -> None:
    """The root file system as a tar (what `podman import` takes)."""
    with tarfile.open(archive, "w") as tar:
        folders = ("bin", "usr", "usr/bin", "etc", "lib", "lib64", "lib/x86_64-linux-gnu", *MOUNT_POINTS)
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        libraries = set().union(*(_libraries(program) for program in PROGRAMS))
        for source, target in [*PROGRAMS.items(), *((lib, lib.lstrip("/")) for lib in sorted(libraries))]:
            tar.add(str(Path(source).resolve()), arcname=target)
        for name in ("etc/profile", "etc/hosts", "etc/resolv.conf", "etc/passwd", "etc/group"):
            tar.addfile(tarfile.TarInfo(name))


def import_small_image(archive: Path, reference: str, run_as: list[str]) -> str:
    """``reference`` in the podman store of whoever ``run_as`` (a runuser prefix, or []) is; its id."""
    changes = [arg for name, value in ENVIRONMENT.items() for arg in ("--change", f"ENV {name}={value}")]
    subprocess.run([*run_as, "podman", "import", *changes, str(archive), reference], check=True,
                   capture_output=True)  # fmt: skip
    found = subprocess.run([*run_as, "podman", "image", "inspect", "--format", "{{.Id}}", reference],
                           check=True, capture_output=True, text=True)  # fmt: skip
    return f"sha256:{found.stdout.strip().removeprefix('sha256:')}"


@pytest.fixture(scope="session")
def small_image(test_user: pwd.struct_passwd, shared_tmp: Path) -> Iterator[tuple[str, str]]:
    """A few-MB image in the test user's rootless podman store: (reference, image id); removed after."""
    if not tool_works("podman", "--version") or shutil.which("ch-run") is None:
        pytest.skip("podman and ch-run are needed (scripts/setup-host.sh)")
    archive = shared_tmp / "small-rootfs.tar"
    write_rootfs(archive)
    archive.chmod(0o644)
    reference = f"localhost/hepstack-tests/small:{os.getpid()}"
    as_user = ["runuser", "-u", test_user.pw_name, "--"]
    yield reference, import_small_image(archive, reference, as_user)
    subprocess.run([*as_user, "podman", "rmi", "--force", reference], capture_output=True, check=False)
