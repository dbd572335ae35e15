"""A lock for tests/data/lock written by hand, and podman stores of their own."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hepstack.release.lockfile import Archive, LayerLock, Lock, PipPin

LOCK_STACK = Path(__file__).resolve().parents[1] / "data" / "lock"
BOOKWORM = Archive("http://deb.debian.org/debian", "bookworm")
PACKAGING_HASHES = (
    "sha256:2ddfb553fdf02fb784c234c7ba6ccc288296ceabec964ad2eae3777778130bc5",
    "sha256:eb82c5e3e56209074766e6885bb04b8c38a0c015d0a30036ebe7ece34c9989e9",
)


def copy_stack(target: Path) -> Path:
    """tests/data/lock copied to ``target`` (a lock is written next to its spec); returns the spec."""
    shutil.copytree(LOCK_STACK, target)
    return target / "stack.yaml"


def hand_lock(six: str = "1.16.0-4", packaging: str = "24.0", app_sha: str = "a" * 64) -> Lock:
    return Lock(
        stack="locktest",
        release="0.1",
        source_date_epoch=1764633600,
        layers={
            "base": LayerLock(apt={"python3": "3.11.2-1+b1"}, archive=BOOKWORM),
            "tools": LayerLock(apt={"python3-six": six}, archive=BOOKWORM),
            "app": LayerLock(
                archive=BOOKWORM,
                pip=[PipPin("packaging", packaging, PACKAGING_HASHES)],
                files={"files/app.py": app_sha},
            ),
        },
    )


def storage_conf(root: Path) -> Path:
    """A containers-storage.conf(5) for a store of its own under ``root`` (a build from nothing).

    Rootless podman ignores ``graphroot`` and takes ``rootless_storage_path``: without it a non-root user's
    "own store" was their real one, and :func:`empty_store` removed every image they had."""
    conf = root / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n'
        f'rootless_storage_path = "{root}/graph"\n',
        encoding="utf-8",
    )
    return conf


def empty_store(conf: Path) -> None:
    """Remove every image (and container) of the store ``conf`` names. Not `podman system reset`: that
    also deletes podman's shared tmp dir (/run/libpod), under every other podman process on the host."""
    subprocess.run(
        ["podman", "rmi", "--all", "--force"],
        env={**os.environ, "CONTAINERS_STORAGE_CONF": str(conf)},
        capture_output=True,
        check=False,  # best effort: a store another test process still holds must not fail a test
    )
    # podman bind-mounts the overlay directory on itself (private propagation). On the same device
    # Path.is_mount cannot tell, so unmount it whether or not it is one (an error is harmless).
    overlay = conf.parent / "graph" / "overlay"
    subprocess.run(["umount", str(overlay)], capture_output=True, check=False)
