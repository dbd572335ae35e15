"""A layer's ``env`` reaches the image exactly as the spec writes it: no ``$VAR`` substituted by the
builder (a native run of the layer takes the same values literally), quotes and backslashes kept."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HEPSTACK
from tests.tiny_images import import_seed, remove_images, remove_stack_images, write_stack

VALUE = 'a $HOME ${PATH} $(id) \\ "q" $'


@pytest.mark.parametrize("engine", [pytest.param("podman", marks=pytest.mark.podman),
                                    pytest.param("docker", marks=pytest.mark.docker)])  # fmt: skip
def test_env_values_are_literal_in_the_image(engine: str, tmp_path: Path) -> None:
    seed = import_seed(tmp_path, engine)
    spec, stack = write_stack(tmp_path, seed, b"payload\n")
    spec.write_text(spec.read_text() + f"    env: {{LITERAL: {json.dumps(VALUE)}}}\n")
    environment = {"HEPSTACK_DATA_DIR": str(tmp_path / "data"), "HEPSTACK_CACHE_DIR": str(tmp_path / "cache")}
    try:
        build = subprocess.run(
            [HEPSTACK, "build", str(spec), "--engine", engine],
            capture_output=True,
            text=True,
            env={**_base_environment(), **environment},
            check=False,
        )
        assert build.returncode == 0, build.stderr
        inspected = subprocess.run(
            [engine, "image", "inspect", "--format", "{{json .Config.Env}}", f"localhost/{stack}/app:latest"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"LITERAL={VALUE}" in json.loads(inspected.stdout)
    finally:
        remove_stack_images(engine, stack)
        remove_images(engine, seed)


def _base_environment() -> dict[str, str]:
    import os

    return dict(os.environ)
