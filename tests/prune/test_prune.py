"""`hepstack prune` against real podman images, a real node cache and real local batch jobs.

Four builds of one copy-only layer (a seed image imported into podman: no download, seconds). Build 1
is used by a running job, build 2 is pinned by a waiting pipeline stream and its ch-run tree is held by
this process through the cache's own use lock (as a running ch-run holds it), build 3 is unused, build
4 is the newest (built twice: --no-cache leaves its first image untagged). Prune keeps 1, 2 with its
entry, and 4, and removes 3 with its entry, 4's first image and a finished job's directory; once the
job ends, the stream is cancelled and the lock dropped, a second prune removes 1 and 2 too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import hepstack, tool_works
from tests.tiny_images import STACK as TINY_STACK
from tests.tiny_images import import_seed, remove_images

pytestmark = [pytest.mark.slow]


PIPELINE = """\
pipeline: pinner
version: 1
defaults: {{scheduler: local, runtime: native}}
steps:
  use:
    image: {stack}/app
    command: ["true"]
"""
CONVERT = (
    "import sys; from hepstack.context import Context; from hepstack.registry.convert import cached_image; "
    "cached_image(sys.argv[1], 'podman', 'charliecloud', Context.from_environment())"
)


def _no_conversion(scratch: Path) -> None:
    raise AssertionError("the entry exists: nothing to convert")


def _podman_ids(stack: str) -> dict[str, str]:
    listing = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", f"localhost/{stack}/app"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split() for line in listing.splitlines())


def _builds(stack: str, keys: list[str]) -> list[str]:
    """The builds (keys, in build order) whose image podman still holds."""
    present = _podman_ids(stack)
    return [key for key in keys if f"localhost/{stack}/app:{key}" in present]


def _exists(image: str) -> bool:
    return subprocess.run(["podman", "image", "exists", image], check=False).returncode == 0


def _wait_for(condition, what: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def seed(tmp_path: Path) -> Iterator[str]:
    if not tool_works("podman", "info"):
        pytest.skip("podman does not work here (run scripts/setup-host.sh)")
    name = import_seed(tmp_path)
    yield name
    remove_images("podman", name)


def test_prune_keeps_what_is_in_use_and_removes_the_rest(seed: str, tmp_path: Path) -> None:
    stack = f"prune-{uuid.uuid4().hex[:8]}"
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    env["HEPSTACK_STATE_DB"] = f"sqlite:///{tmp_path / 'data' / 'state.sqlite'}"
    spec = tmp_path / "stack.yaml"
    spec.write_text(TINY_STACK.format(stack=stack, seed=seed))
    stop = tmp_path / "stop"
    keys = []
    try:
        for build in range(4):
            (tmp_path / "payload.bin").write_bytes(os.urandom(2_000_000))  # 2 MB unique to this build
            out = hepstack("build", str(spec), env=env).stdout
            keys.append(re.search(r"│ app\s+│ ([0-9a-f]{12})", out)[1])  # type: ignore[index]
            if build == 0:  # a job that runs on build 1 until told to stop
                running = hepstack(
                    "submit",
                    "--scheduler",
                    "local",
                    "--runtime",
                    "native",
                    f"{stack}/app",
                    "--",
                    "bash",
                    "-c",
                    f"while [ ! -e {stop} ]; do sleep 0.1; done",
                    env=env,
                ).stdout.split()[2]
                finished = hepstack(
                    "submit",
                    "--scheduler",
                    "local",
                    "--runtime",
                    "native",
                    f"{stack}/app",
                    "--",
                    "true",
                    env=env,
                ).stdout.split()[2]
            if build == 1:  # a pipeline stream, waiting, pins build 2
                (tmp_path / "pin.yaml").write_text(PIPELINE.format(stack=stack))
                hepstack("pipeline", "create", str(tmp_path / "pin.yaml"), "--stream", "s1", env=env)
        first_of_key4 = _podman_ids(stack)[f"localhost/{stack}/app:{keys[3]}"]
        hepstack("build", "--no-cache", str(spec), env=env)  # key 4 again: its first image is left untagged
        ids = _podman_ids(stack)
        assert ids[f"localhost/{stack}/app:{keys[3]}"] != first_of_key4
        reference = {k: f"localhost/{stack}/app:{k}" for k in keys}
        assert all(reference[k] in ids for k in keys)
        _wait_for(lambda: len(list((tmp_path / "data" / "jobs").glob("*/1.exitcode"))) == 1, "job 2 to end")

        # the node cache: ch-run trees of builds 2 and 3, made by a process that then exits; this one
        # then holds build 2's entry through the cache's own use lock, as a running ch-run does
        from hepstack.context import Context
        from hepstack.registry.convert import image_id_of, node_cache

        for key in keys[1:3]:
            subprocess.run(
                [sys.executable, "-c", CONVERT, reference[key]], env={**os.environ, **env}, check=True
            )
        context = Context.from_environment(
            {**os.environ, **env}
        )  # never os.environ itself: later tests read it
        holder = node_cache(context)
        tree2 = holder.get("charliecloud", image_id_of(reference[keys[1]], "podman"), _no_conversion)
        tree3 = tree2.parent / image_id_of(reference[keys[2]], "podman").removeprefix("sha256:")
        assert tree3.is_dir()

        dry = hepstack("prune", "--dry-run", "--older-than", "0s", env=env).stdout
        assert re.search(rf"would remove image +{re.escape(reference[keys[2]])} .*\[2\.\d MB\]", dry), dry
        assert re.search(rf"keep +image +{re.escape(reference[keys[0]])} .*job {running} .*RUNNING", dry), dry
        assert re.search(rf"keep +image +{re.escape(reference[keys[3]])} .*newest build", dry), dry
        assert re.search(rf"keep +image +{re.escape(reference[keys[1]])} .*pipeline pinner stream s1", dry)
        assert re.search(rf"keep +cache +charliecloud/{tree2.name[:12]}: in use", dry), dry
        assert re.search(rf"would remove cache +charliecloud/{tree3.name[:12]} ", dry), dry
        assert re.search(rf"would remove jobdir +job {finished} ", dry), dry
        assert re.search(
            rf"would remove image +{first_of_key4[:12]} \(podman, untagged\) .*built again", dry
        ), dry
        assert re.search(rf"keep +jobdir +job {running} .*RUNNING", dry), dry
        assert _podman_ids(stack) == ids and tree3.exists()  # a dry run removes nothing

        real = hepstack("prune", "--older-than", "0s", env=env).stdout
        assert _builds(stack, keys) == [keys[0], keys[1], keys[3]], real
        assert tree2.exists() and not tree3.exists(), real
        assert _exists(first_of_key4) is False, real
        assert len(list((tmp_path / "data" / "jobs").iterdir())) == 1, real
        freed = int(re.search(r"freed .* \((\d+) bytes\)", real)[1])  # type: ignore[index]
        assert freed >= 2_000_000, real  # at least build 3's unique payload and its tree

        stop.touch()
        _wait_for(lambda: "RUNNING" not in hepstack("jobs", running, env=env).stdout, "the job to end")
        holder.release()
        hepstack("pipeline", "cancel", "pinner/s1", env=env)
        again = hepstack("prune", "--older-than", "0s", env=env).stdout
        assert _builds(stack, keys) == [keys[3]], again
        assert not tree2.exists(), again
    finally:
        stop.touch()
        for name in _podman_ids(stack):
            subprocess.run(["podman", "rmi", "--force", name], capture_output=True, check=False)


def test_an_image_a_container_uses_is_refused_by_the_engine_and_kept(seed: str, tmp_path: Path) -> None:
    """A superseded image that a (stopped) container was made from: podman refuses its removal, so
    prune says `not removed` and keeps its catalog row; without --force nothing a container needs goes."""
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    stack = f"prune-{uuid.uuid4().hex[:8]}"
    spec = tmp_path / "stack.yaml"
    spec.write_text(TINY_STACK.format(stack=stack, seed=seed))
    keys, container = [], ""
    try:
        for _build in range(2):
            (tmp_path / "payload.bin").write_bytes(os.urandom(1000))
            out = hepstack("build", str(spec), env=env).stdout
            keys.append(re.search(r"│ app\s+│ ([0-9a-f]{12})", out)[1])  # type: ignore[index]
        old = f"localhost/{stack}/app:{keys[0]}"
        container = subprocess.run(
            ["podman", "create", old, "/payload.bin"], capture_output=True, text=True, check=True
        ).stdout.strip()
        said = hepstack("prune", env=env).stdout
        assert re.search(rf"not removed image +{re.escape(old)} \(podman\): .*container", said), said
        assert "removed 0 of 1; freed" in said, said
        assert _builds(stack, keys) == keys
        assert keys[0] in hepstack("images", "--stack", stack, env=env).stdout  # its row is kept too
    finally:
        if container:
            subprocess.run(["podman", "rm", "--force", container], capture_output=True, check=False)
        for name in _podman_ids(stack):
            subprocess.run(["podman", "rmi", "--force", name], capture_output=True, check=False)
