#!/usr/bin/env python3
"""A locked stack built twice from nothing gives identical images.

Uses the spec's existing stack.lock (make one first with `hepstack lock SPEC`), then runs
`hepstack build --locked SPEC [LAYERS]` twice, each in a podman store of its own (a fresh
containers-storage.conf under a temporary directory: no image, no layer cache), and prints, per layer,
the image (config) digest and whether every layer digest (RootFS diff IDs) is equal in both stores.

    .venv/bin/python benchmarks/reproducible_build.py examples/lat/stack.yaml            # the whole example
    .venv/bin/python benchmarks/reproducible_build.py examples/lat/stack.yaml legacy     # the bullseye chain
"""

from __future__ import annotations

import argparse
import json
import os
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("spec", nargs="?", default="examples/lat/stack.yaml")
    parser.add_argument("layers", nargs="*", help="layers to build (with their parents); default all")
    args = parser.parse_args()
    stack = load_stack(Path(args.spec))
    names = stack.order(args.layers or None)
    with tempfile.TemporaryDirectory(prefix="hepstack-reproducible-") as scratch:
        environments = []
        for run in ("first", "second"):
            (Path(scratch) / run).mkdir()
            environment = store(Path(scratch) / run)
            started = time.monotonic()
            subprocess.run(
                [HEPSTACK, "build", "--locked", args.spec, *args.layers], env=environment, check=True
            )
            print(f"{run} build from nothing: {time.monotonic() - started:.0f} s", flush=True)
            environments.append(environment)
        print(f"{'layer':<14} {'image digest':<20} {'layers':>6}  identical")
        same_everywhere = True
        for name in names:
            reference = f"localhost/{stack.name}/{name}:{stack.spec.release}"
            first, second = (inspect(environment, reference) for environment in environments)
            rootfs = first["RootFS"]
            assert isinstance(rootfs, dict)
            same = first["Id"] == second["Id"] and first["RootFS"] == second["RootFS"]
            same_everywhere &= same
            verdict = "yes" if same else "NO"
            print(f"{name:<14} {str(first['Id'])[:19]:<20} {len(rootfs['Layers']):>6}  {verdict}")
        for environment in environments:
            subprocess.run(
                ["podman", "system", "reset", "--force"], env=environment, capture_output=True, check=False
            )
    sys.exit(0 if same_everywhere else 1)


if __name__ == "__main__":
    main()
