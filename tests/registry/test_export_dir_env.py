"""An exported `dir` carries the image's environment in `/ch/environment`, where ch-run reads it: plain
`ch-run --set-env DIR` (as docs/publishing.md says a site runs it, without hepstack) sets the image's
ENV, values with spaces and quotes included, exactly as the engine reports them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import hepstack
from tests.tiny_images import remove_stack_images

pytestmark = [pytest.mark.podman, pytest.mark.charliecloud]
STACK = """\
stack: {stack}
release: "1"
layers:
  app:
    from: {base}
    copy: {{note.txt: /opt/note.txt}}
    env: {{EXPORT_CHECK: "two words, one 'quote'", EXPORT_HOME: /opt}}
"""


def _ch_run(tree: Path, *options: str) -> str:
    environment = {"PATH": "/usr/bin:/bin", "USER": os.environ.get("USER", "root"), "EXPORT_CHECK": "host"}
    command = [
        "ch-run",
        *options,
        str(tree),
        "--",
        "/bin/sh",
        "-c",
        'printf "%s|%s" "$EXPORT_CHECK" "$EXPORT_HOME"',
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_exported_dir_gives_ch_run_the_image_environment(
    example_images: dict[str, str], tmp_path: Path
) -> None:
    if shutil.which("ch-run") is None:
        pytest.skip("ch-run not installed")
    stack = f"exportenv-{uuid.uuid4().hex[:8]}"
    (tmp_path / "note.txt").write_text(stack)
    spec = tmp_path / "stack.yaml"
    spec.write_text(STACK.format(stack=stack, base=example_images["base"]))
    try:
        built = hepstack("build", str(spec)).stdout
        key = re.search(r"│ app\s+│ ([0-9a-f]{12})", built)[1]  # type: ignore[index]
        tree = tmp_path / "exported"
        hepstack("export", f"{stack}/app", "--format", "dir", "--output", str(tree))

        inspected = subprocess.run(
            ["podman", "image", "inspect", f"localhost/{stack}/app:{key}"], capture_output=True, check=True
        )
        image_env = json.loads(inspected.stdout)[0]["Config"]["Env"]
        assert "EXPORT_CHECK=two words, one 'quote'" in image_env
        assert (tree / "ch" / "environment").read_text().splitlines() == image_env

        # the documented command: the image's environment, not the host's
        said = _ch_run(tree, "--unset-env=*", "--set-env", "--env-no-expand")
        assert said == "two words, one 'quote'|/opt"
        # ch-run passes the host's environment through unless told (Charliecloud 0.31, ch-run(1)):
        # why the docs say --set-env
        assert _ch_run(tree) == "host|"
    finally:
        remove_stack_images("podman", stack)
