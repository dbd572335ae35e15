#!/usr/bin/env python3
"""A second `hepstack build` with nothing changed.

Measures, interleaved in one run, (a) `hepstack build SPEC` with every layer cached and (b) a fully
cached `podman build` of the same rendered Containerfiles and contexts (podman's own layer cache, one
`podman build` per layer, no labels), and prints medians and the ratio. Target: (a) <= 1 s.

    .venv/bin/python benchmarks/cached_build.py [SPEC] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hepstack.build.builder import Builder, host_ca_bundle, stage_context
from hepstack.build.engines import BuildRequest, get_engine
from hepstack.build.render import CA_SECRET_ID
from hepstack.context import Context
from hepstack.spec import load_stack

HEPSTACK = str(Path(sys.executable).parent / "hepstack")


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("spec", nargs="?", default="examples/lat/stack.yaml")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    print(f"preparing: hepstack build {args.spec} (builds whatever is missing; not timed)")
    subprocess.run([HEPSTACK, "build", args.spec], check=True, capture_output=True)
    stack = load_stack(Path(args.spec))
    engine = get_engine("podman")
    plan = Builder(stack, engine, Context.from_environment()).plan()
    with tempfile.TemporaryDirectory(prefix="bench-cached-") as scratch:
        podman_builds = []
        for layer in plan:
            work = Path(scratch) / layer.name
            work.mkdir()
            stage_context(stack, layer, work / "context")
            (work / "Containerfile").write_text(layer.containerfile)
            ca = host_ca_bundle()
            request = BuildRequest(
                containerfile=work / "Containerfile",
                context=work / "context",
                tags=[f"localhost/bench-cached/{layer.name}:1"],
                labels={},
                secrets={CA_SECRET_ID: ca} if layer.needs_ca and ca else {},
            )
            podman_builds.append(engine.build_argv(request))
        for argv in podman_builds:  # warm podman's layer cache for these exact Containerfiles
            subprocess.run(argv, check=True, capture_output=True)

        hepstack_times, podman_times = [], []
        for _ in range(args.rounds):  # interleaved: drift hits both alike
            hepstack_times.append(timed([HEPSTACK, "build", args.spec]))
            podman_times.append(sum(timed(argv) for argv in podman_builds))

    ours, theirs = statistics.median(hepstack_times), statistics.median(podman_times)
    print(f"layers: {len(plan)}, rounds: {args.rounds}")
    print(
        f"hepstack build, all cached      median {ours:.3f} s   (min {min(hepstack_times):.3f}, "
        f"max {max(hepstack_times):.3f})"
    )
    print(
        f"podman build x{len(plan)}, all cached  median {theirs:.3f} s   (min {min(podman_times):.3f}, "
        f"max {max(podman_times):.3f})"
    )
    print(f"ratio hepstack / podman: {ours / theirs:.2f}  ({theirs / ours:.1f}x faster)")
    print(f"target <= 1 s: {'met' if ours <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
