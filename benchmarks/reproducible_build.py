#!/usr/bin/env python3
"""A locked stack built twice from nothing gives identical images.

Uses the spec's existing stack.lock (make one first with `hepstack lock SPEC`), then runs
`hepstack build --locked SPEC [LAYERS]` twice, each in a podman store of its own (a fresh
containers-storage.conf under a scratch directory: no image, no layer cache), and prints, per layer,
the image (config) digest of each build and whether the two images and every layer digest (RootFS diff
IDs) are equal. When something differs the two stores are kept (their paths are printed) so the
layers can be compared file by file; `--keep` keeps them always.

    .venv/bin/python benchmarks/reproducible_build.py examples/lat/stack.yaml            # the whole example
    .venv/bin/python benchmarks/reproducible_build.py examples/lat/stack.yaml legacy     # the bullseye chain
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hepstack.spec import load_stack

HEPSTACK = str(Path(sys.executable).parent / "hepstack")


def store(root: Path) -> dict[str, str]:
    conf = root / "storage.conf"
    conf.write_text(f'[storage]\ndriver = "overlay"\ngraphroot = "{root}/graph"\nrunroot = "{root}/run"\n')
    return {**os.environ, "CONTAINERS_STORAGE_CONF": str(conf), "HEPSTACK_DATA_DIR": str(root / "data")}


def inspect(environment: dict[str, str], reference: str) -> dict[str, object]:
    text = subprocess.run(
        ["podman", "image", "inspect", reference], env=environment, capture_output=True, text=True, check=True
    ).stdout
    info: dict[str, object] = json.loads(text)[0]
    return info


def diff_ids(info: dict[str, object]) -> list[str]:
    rootfs = info["RootFS"]
    assert isinstance(rootfs, dict)
    return list(rootfs["Layers"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("spec", nargs="?", default="examples/lat/stack.yaml")
    parser.add_argument("layers", nargs="*", help="layers to build (with their parents); default all")
    parser.add_argument("--keep", action="store_true", help="keep both stores even when all is equal")
    args = parser.parse_args()
    stack = load_stack(Path(args.spec))
    names = stack.order(args.layers or None)
    scratch = Path(tempfile.mkdtemp(prefix="hepstack-reproducible-", dir="/var/tmp"))
    environments = []
    for run in ("first", "second"):
        (scratch / run).mkdir()
        environment = store(scratch / run)
        started = time.monotonic()
        subprocess.run([HEPSTACK, "build", "--locked", args.spec, *args.layers], env=environment, check=True)
        print(f"{run} build from nothing: {time.monotonic() - started:.0f} s", flush=True)
        environments.append(environment)
    print(f"{'layer':<12} {'image digest, build 1':<21} {'image digest, build 2':<21} {'layers':>6}  equal")
    same_everywhere = True
    for name in names:
        reference = f"localhost/{stack.name}/{name}:{stack.spec.release}"
        first, second = (inspect(environment, reference) for environment in environments)
        ids = diff_ids(first), diff_ids(second)
        differing = sum(1 for a, b in zip(*ids, strict=False) if a != b) + abs(len(ids[0]) - len(ids[1]))
        same = first["Id"] == second["Id"] and differing == 0
        same_everywhere &= same
        verdict = "yes" if same else f"NO ({differing} layer digests differ)"
        print(
            f"{name:<12} {str(first['Id'])[:19]:<21} {str(second['Id'])[:19]:<21} {len(ids[0]):>6}  {verdict}"
        )
    if same_everywhere and not args.keep:
        for environment in environments:
            # Not `podman system reset`: it also deletes the shared /run/libpod under other podman processes.
            subprocess.run(
                ["podman", "rmi", "--all", "--force"], env=environment, capture_output=True, check=False
            )
            overlay = Path(environment["CONTAINERS_STORAGE_CONF"]).parent / "graph" / "overlay"
            # podman bind-mounts it on itself (same device: Path.is_mount cannot tell); rmtree cannot
            # remove a mount point, so unmount it whether or not it is one (an error is harmless)
            subprocess.run(["umount", str(overlay)], capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        for environment in environments:
            print(f"kept: CONTAINERS_STORAGE_CONF={environment['CONTAINERS_STORAGE_CONF']}")
    sys.exit(0 if same_everywhere else 1)


if __name__ == "__main__":
    main()
