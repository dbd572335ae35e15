"""`hepstack images --engine docker` lists what hepstack copied into docker from podman's store
(`run --runtime docker` of a podman build saves and loads it), with docker's own image id."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import hepstack, tool_works
from tests.tiny_images import import_seed, remove_images, remove_stack_images, write_stack

DOCKER = "/usr/bin/docker"


def test_images_engine_docker_lists_the_copies_hepstack_made(tmp_path: Path) -> None:
    if not tool_works("podman", "info") or not tool_works(DOCKER, "info"):
        pytest.skip("needs podman and a running docker daemon (scripts/setup-host.sh)")
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    seed = import_seed(tmp_path)
    spec, stack = write_stack(tmp_path, seed, os.urandom(1000))
    try:
        built = hepstack("build", str(spec), env=env).stdout
        key = re.search(r"│ app\s+│ ([0-9a-f]{12})", built)[1]  # type: ignore[index]
        reference = f"localhost/{stack}/app:{key}"
        before = hepstack("images", "--engine", "docker", "--stack", stack, env=env).stdout
        assert before.startswith("no images"), before

        copied = hepstack("run", "--runtime", "docker", "--print", f"{stack}/app", "--", "true", env=env)
        assert "copying" in copied.stderr  # what `run` does once
        docker_id = subprocess.run(
            [DOCKER, "image", "inspect", "--format", "{{.Id}}", reference],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        listed = hepstack("images", "--engine", "docker", "--stack", stack, env=env).stdout
        row = next(line for line in listed.splitlines() if f"{stack}/app" in line)
        assert key in row and "docker (copy)" in row, listed
        assert docker_id.removeprefix("sha256:")[:12] in row, listed
        assert "podman" not in listed  # only what the docker store holds
        everything = hepstack("images", "--stack", stack, env=env).stdout
        assert "docker" not in everything  # without --engine: the catalog's builds, as before
    finally:
        remove_stack_images(DOCKER, stack)
        remove_stack_images("podman", stack)
        remove_images("podman", seed)


def test_prune_removes_the_copies_of_superseded_builds(tmp_path: Path) -> None:
    if not tool_works("podman", "info") or not tool_works(DOCKER, "info"):
        pytest.skip("needs podman and a running docker daemon (scripts/setup-host.sh)")
    env = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    seed = import_seed(tmp_path)
    stack = f"tiny-{os.urandom(4).hex()}"
    keys = []
    try:
        for _build in range(2):
            spec, _ = write_stack(tmp_path, seed, os.urandom(1000), stack)
            built = hepstack("build", str(spec), env=env).stdout
            keys.append(re.search(r"│ app\s+│ ([0-9a-f]{12})", built)[1])  # type: ignore[index]
            hepstack("run", "--runtime", "docker", "--print", f"{stack}/app", "--", "true", env=env)
        old, new = (f"localhost/{stack}/app:{key}" for key in keys)
        dry = hepstack("prune", "--dry-run", env=env).stdout
        assert re.search(rf"would remove image +{re.escape(old)} \(docker, copy\) ", dry), dry
        assert f"{new} (docker" not in dry, dry
        hepstack("prune", env=env)
        in_docker = subprocess.run(
            [DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}", f"localhost/{stack}/app"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert old not in in_docker and new in in_docker, in_docker
        listed = hepstack("images", "--engine", "docker", "--stack", stack, env=env).stdout
        assert keys[1] in listed and keys[0] not in listed, listed
    finally:
        remove_stack_images(DOCKER, stack)
        remove_stack_images("podman", stack)
        remove_images("podman", seed)
